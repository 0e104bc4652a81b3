"""Download and verify the real CIFAR-10 and STL-10, through torchvision's dataset classes.

URLs and md5 sums are torchvision's own (``CIFAR10.url``/``tgz_md5``/``train_list``...), so they
are never retyped here. What this adds to ``torchvision.datasets.CIFAR10(root, download=True)``:

* an interrupted archive download *resumes*: bytes go to ``<archive>.part`` and a re-run asks the
  server for the rest (HTTP Range); the archive gets its real name only after its md5 matches, so
  a half-written file is never mistaken for a finished one;
* re-running is safe and cheap: extracted files whose md5 sums match are left alone;
* offline or a bad checksum gives a message naming the file, the URL and the fix.

After the archive is verified, torchvision extracts it and checks every extracted file's md5.
Command line: ``python data_scripts/download.py [--root DIR] [--only cifar10|stl10]``.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lpft_edu.vision.data import DATA_ENV, default_root


class DownloadError(RuntimeError):
    """Download or verification failed; the message names the file, the URL and the fix."""


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


def md5sum(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def members_ok(archive: Archive, root: Path) -> bool:
    return all((root / p).is_file() and md5sum(root / p) == m for p, m in archive.members())


def _offline_error(filename: str, url: str, root: Path, reason) -> DownloadError:
    return DownloadError(
        f"Could not download {filename} from {url} ({reason}). Are you offline or behind a proxy? Fix: connect and run "
        f"`python data_scripts/download.py --root {root}` again (a partial download resumes), or download {url} "
        f"by other means and put it at {root / filename}, then run the command again to verify and extract it.")


def fetch(url: str, target: Path, md5: str, progress: bool = True, timeout: float = 60, chunk: int = 1 << 20) -> str:
    """Download ``url`` to ``target`` (resuming ``target.part``), verify ``md5``; returns what it did."""
    target = Path(target)
    root = target.parent
    if target.exists():
        if md5sum(target) == md5:
            return "verified existing archive"
        target.unlink()  # only verified files get this name: a mismatch means it was damaged later
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "lpft-edu"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to fetch: the part file is complete
            response = None
        else:
            raise _offline_error(target.name, url, root, f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        raise _offline_error(target.name, url, root, getattr(exc, "reason", exc)) from None
    action = "resumed" if offset else "downloaded"
    if response is not None:
        with response:
            if offset and response.status != 206:  # the server ignored the Range header: restart cleanly
                offset, action = 0, "restarted"
            length = response.length
            total = (offset + length) if length is not None else None
            bar = None
            if progress:
                from tqdm.auto import tqdm
                bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=target.name)
            try:
                with open(part, "ab" if offset else "wb") as f:
                    while block := response.read(chunk):
                        f.write(block)
                        if bar is not None:
                            bar.update(len(block))
            except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
                raise _offline_error(target.name, url, root, f"connection lost: {exc}") from None
            finally:
                if bar is not None:
                    bar.close()
    got = md5sum(part)
    if got != md5:
        part.unlink()
        raise DownloadError(
            f"{target.name} downloaded from {url} failed its checksum (md5 {got}, expected {md5}). The damaged "
            f"file was removed. Fix: run `python data_scripts/download.py --root {root}` again; if it fails again, "
            f"the server or a proxy is altering the file: download {url} by other means, put it at {target}, "
            "and re-run to verify it.")
    os.replace(part, target)
    return action


def prepare(archive: Archive, root: Path, progress: bool = True, keep_archive: bool = True, log=print) -> str:
    """Make ``root`` hold ``archive``'s verified, extracted files; returns what it did."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if members_ok(archive, root):
        return f"{archive.name}: already present and verified in {root / archive.dataset_cls.base_folder}"
    action = fetch(archive.url, root / archive.filename, archive.md5, progress)
    log(f"{archive.name}: {action} {archive.filename}; extracting")
    try:
        # torchvision finds the verified archive, extracts it and checks every file's md5
        kwargs = {"split": "test"} if "split" in archive.dataset_cls.__init__.__code__.co_varnames else {"train": False}
        archive.dataset_cls(str(root), download=True, **kwargs)
    except RuntimeError as exc:
        raise DownloadError(f"{archive.name}: extracting {root / archive.filename} failed ({exc}). Fix: delete "
                            f"{root / archive.dataset_cls.base_folder} and {root / archive.filename} and run "
                            f"`python data_scripts/download.py --root {root}` again.") from None
    if not members_ok(archive, root):
        raise DownloadError(f"{archive.name}: files under {root / archive.dataset_cls.base_folder} fail their "
                            f"checksums after extraction. Fix: delete that folder and re-run the download.")
    if not keep_archive:
        (root / archive.filename).unlink(missing_ok=True)
    return f"{archive.name}: ready in {root / archive.dataset_cls.base_folder}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python data_scripts/download.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=None,
                   help=f"data directory (default ${DATA_ENV} if set, else ~/.cache/lpft_edu)")
    p.add_argument("--only", choices=("cifar10", "stl10"), action="append", help="fetch only this data set (repeatable)")
    p.add_argument("--delete-archives", action="store_true", help="remove the .tar.gz files after extraction")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    root = args.root or default_root()
    try:
        for key, archive in archives().items():
            if args.only and key not in args.only:
                continue
            print(prepare(archive, root, not args.no_progress, not args.delete_archives))
    except DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Data ready under {root}. Run: lpft-cifar-stl --root {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
