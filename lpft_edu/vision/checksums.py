"""Every known checksum in one place: the data sets' (torchvision's) and the MoCo-v2 checkpoint's.

The CIFAR-10 and STL-10 URLs and md5 sums are torchvision's own class attributes
(``CIFAR10.url``/``tgz_md5``/``train_list``...), never retyped here. Verifying a data file costs
one md5 pass (0.7 s for the 400 MB that lesson 3 reads), so results are remembered in a small JSON
file in the user's cache directory, keyed by the file's path, size, mtime, ctime and inode. Why
those keys: editing or replacing a file changes size/mtime/ctime, and copying it changes its inode
and ctime, so a remembered verdict never outlives the bytes it was computed on. Why not beside the
data: a folder received from someone else could carry a forged cache; the user's own cache cannot.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# MoCo-v2 800-epoch ResNet-50, the paper's backbone. facebookresearch/moco's README publishes only
# the first 8 hex digits of each checkpoint's md5 ("a04e12f8" for this file); no full md5 or sha256
# is published. We check that prefix: it catches a truncated or swapped file, not a deliberate
# forgery (32 bits), which is why the checkpoint is also read with torch.load(weights_only=True).
# Checkpoints from other URLs have no known hash and are used unverified (with a note saying so).
MOCO_V2_URL = "https://dl.fbaipublicfiles.com/moco/moco_checkpoints/moco_v2_800ep/moco_v2_800ep_pretrain.pth.tar"
KNOWN_WEIGHTS_MD5 = {MOCO_V2_URL: "a04e12f8"}

VERIFY_CACHE_NAME = "md5-verified.json"
# A file changed twice within one timestamp tick keeps its stamp ("racy git"), so verdicts on files
# touched in the last two seconds are not remembered: they are simply computed again next time.
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Archive:
    name: str
    dataset_cls: type  # a torchvision dataset class: url, filename, tgz_md5, base_folder, file lists

    @property
    def url(self) -> str:
        return self.dataset_cls.url

    @property
    def filename(self) -> str:
        return self.dataset_cls.filename

    @property
    def md5(self) -> str:
        return self.dataset_cls.tgz_md5

    @property
    def folder(self) -> str:
        return self.dataset_cls.base_folder

    def members(self) -> list[tuple[str, str]]:
        """(path inside the data folder, md5) of every extracted file torchvision checks."""
        cls = self.dataset_cls
        items = list(cls.train_list) + list(cls.test_list)
        meta = getattr(cls, "meta", None)
        if isinstance(meta, dict) and "md5" in meta:
            items.append([meta["filename"], meta["md5"]])
        return [(f"{cls.base_folder}/{f}", m) for f, m in items]


def archives() -> dict[str, Archive]:
    from torchvision.datasets import CIFAR10, STL10
    return {"cifar10": Archive("CIFAR-10", CIFAR10), "stl10": Archive("STL-10", STL10)}


def known_data_md5s() -> dict[str, str]:
    """``{"cifar-10-batches-py/data_batch_1": md5, ..., "stl10_binary/test_X.bin": md5, ...}``."""
    return {path: md5 for a in archives().values() for path, md5 in a.members()}


def md5sum(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def md5_matches(got: str, expected: str) -> bool:
    """True when ``got`` equals ``expected``, or starts with it when only a prefix is published."""
    return len(expected) >= 8 and got.lower().startswith(expected.lower())


def verify_cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lpft_edu" / VERIFY_CACHE_NAME


def _file_key(path: Path) -> tuple[str, list[int]]:
    st = path.stat()
    return str(path.resolve()), [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _read_cache(cache: Path) -> dict:
    try:
        entries = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}  # missing or damaged: it only saves time, so start afresh
    return entries if isinstance(entries, dict) else {}


def _write_cache(cache: Path, entries: dict) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".md5-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(entries, f)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache directory only costs time


def _now_ns() -> int:
    return time.time_ns()


def cached_md5(path: Path) -> str:
    """``md5sum(path)``, remembered in :func:`verify_cache_file` until the file changes."""
    path = Path(path)
    key, stamp = _file_key(path)
    cache = verify_cache_file()
    entries = _read_cache(cache)
    entry = entries.get(key)
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("md5"), str):
        return entry["md5"]
    digest = md5sum(path)
    if _file_key(path)[1] == stamp and _now_ns() - max(stamp[1], stamp[2]) > RACY_NS:  # settled, unchanged
        entries = {k: v for k, v in entries.items() if os.path.exists(k)}  # forget deleted files
        entries[key] = {"stamp": stamp, "md5": digest}
        _write_cache(cache, entries)
    return digest
