"""Read CIFAR-10 and STL-10 from their on-disk formats and keep the images on the device.

Why our own readers rather than ``torchvision.datasets.CIFAR10``/``STL10``: those classes verify
every file's md5 sum on construction, which fake files (tests, the smoke run) cannot pass, and they
hand out one PIL image at a time. The readers below parse the same formats (checked against
torchvision's in tests/test_vision_data.py) and treat every file as untrusted data:

* data that claims to be real (no ``FAKE_DATA.txt`` marker) is checked against torchvision's md5
  sums before it is read (remembered per file, see :mod:`~lpft_edu.vision.checksums`); data whose
  sums differ is labelled "unknown" origin, never "real";
* the CIFAR-10 pickles are read by a restricted unpickler (:mod:`~lpft_edu.vision.safe_pickle`)
  that builds only dicts, lists, bytes, ints and plain numpy arrays, so a tampered file cannot run
  code even when unverified;
* label ranges, image/label counts, dtypes and non-empty splits are checked; anything wrong raises
  :class:`DataError` with a one-line message naming the file and the command that fixes it.

Why on the device: the whole of CIFAR-10 is 180 MB as uint8, STL-10 test 220 MB. Holding them as
uint8 tensors on the GPU and resizing/normalising a batch there (one ``interpolate`` call) keeps
the GPU from waiting on per-image Python work (PIL decode, resize, ToTensor) in DataLoader workers.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lpft_edu.vision.checksums import cached_md5, known_data_md5s, md5_matches, md5sum
from lpft_edu.vision.errors import DataError, DataMissingError  # noqa: F401 - DataError re-exported here
from lpft_edu.vision.fake import CIFAR_DIR, MARKER, STL_DIR
from lpft_edu.vision.labels import MONKEY, map_stl_labels
from lpft_edu.vision.safe_pickle import ForbiddenGlobal, restricted_loads

DATA_ENV = "LPFT_DATA"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
# torchvision's ImageNet constants, which its pretrained weights were trained with. The official code's
# config (configs/adaptation/datasets_cifar_stl.yaml) uses 0.228 for red: a 0.4% difference in one
# channel's scale; we follow the weights we load.
IMAGENET_STD = (0.229, 0.224, 0.225)


CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_FILES = ("test_batch",)
CIFAR_ROW = 3 * 32 * 32        # one CIFAR-10 image: R, G, B planes of 32x32
STL_IMAGE = 3 * 96 * 96        # one STL-10 image
# The files lesson 3 reads, per data set (paths relative to the data root).
USED_FILES = {
    "cifar10": tuple(f"{CIFAR_DIR}/{n}" for n in CIFAR_TRAIN_FILES + CIFAR_TEST_FILES),
    "stl10": (f"{STL_DIR}/test_X.bin", f"{STL_DIR}/test_y.bin"),
}
KIND_NOTES = {
    "real": "real CIFAR-10 and STL-10 (every file read matches its published md5)",
    "fake": "FAKE data (a FAKE_DATA.txt marker): not real CIFAR-10/STL-10 accuracy",
    "unknown": ("DATA OF UNKNOWN ORIGIN: no fake marker, but the files' md5 sums are not the published "
                "CIFAR-10/STL-10 ones, so these are not real CIFAR-10/STL-10 results"),
}


def default_root() -> Path:
    """Data cache: ``$LPFT_DATA`` if set, else ``~/.cache/lpft_edu``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lpft_edu"


def _missing(path: Path, root: Path) -> DataMissingError:
    return DataMissingError(
        f"{path} is missing. Download the real data with `python data_scripts/download.py --root {root}` "
        f"(or set {DATA_ENV}), or write fake data for a smoke test with "
        f"`python data_scripts/make_fake_data.py --root {root}`.")


def fix_command(root: Path, folder: str) -> str:
    """The command that rewrites ``root/folder``: the fake writer for fake data, else the downloader."""
    if (Path(root) / folder / MARKER).exists():
        return f"python data_scripts/make_fake_data.py --root {root}"
    return f"python data_scripts/download.py --root {root}"


def _corrupt(path: Path, root: Path, folder: str, why: str) -> DataError:
    verb = "re-create it with" if (Path(root) / folder / MARKER).exists() else "re-download with"
    return DataError(f"{path} is corrupt ({why}): {verb} {fix_command(root, folder)}")


def _require(path: Path, root: Path) -> Path:
    if not path.is_file():
        raise _missing(path, root)
    return path


def _read_cifar_batch(path: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch pickle -> (uint8 images (N, 3, 32, 32), int64 labels (N,)), validated."""
    _require(path, root)
    try:
        # Python-2 pickles: with encoding="bytes" their str keys come back as b"data"
        entry = restricted_loads(path.read_bytes(), encoding="bytes")
    except ForbiddenGlobal as exc:
        raise DataError(f"{path} is not a CIFAR-10 batch (it asks to load {exc.name}): re-download with "
                        f"python data_scripts/download.py --root {root}") from None
    except Exception as exc:  # noqa: BLE001 - only allow-listed code ran; any failure means a damaged file
        raise _corrupt(path, root, CIFAR_DIR, f"unreadable pickle: {type(exc).__name__}") from None
    if not isinstance(entry, dict):
        raise _corrupt(path, root, CIFAR_DIR, f"holds a {type(entry).__name__}, not a dict")
    entry = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in entry.items()}
    if "data" not in entry or "labels" not in entry:
        raise _corrupt(path, root, CIFAR_DIR, "no 'data' and 'labels' entries")
    x, labels = entry["data"], entry["labels"]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8:
        kind = f"{x.dtype} array" if isinstance(x, np.ndarray) else type(x).__name__
        raise _corrupt(path, root, CIFAR_DIR, f"images are a {kind}, not uint8")
    if x.ndim != 2 or x.shape[1] != CIFAR_ROW or x.shape[0] == 0:
        raise _corrupt(path, root, CIFAR_DIR, f"images have shape {x.shape}, expected (N > 0, {CIFAR_ROW})")
    if not isinstance(labels, (list, np.ndarray)) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
        raise _corrupt(path, root, CIFAR_DIR, "labels are not a list of integers")
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(y) != len(x):
        raise _corrupt(path, root, CIFAR_DIR, f"{len(x)} images but {len(y)} labels")
    if y.min() < 0 or y.max() > 9:
        bad = int(y[(y < 0) | (y > 9)][0])
        raise _corrupt(path, root, CIFAR_DIR, f"label {bad} is outside 0..9")
    return x.reshape(-1, 3, 32, 32), y


def read_cifar10(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 python pickles -> uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    root = Path(root)
    names = CIFAR_TRAIN_FILES if train else CIFAR_TEST_FILES
    paths = [_require(root / CIFAR_DIR / name, root) for name in names]  # all missing files before any work
    xs, ys = zip(*(_read_cifar_batch(path, root) for path in paths))
    return np.concatenate(xs), np.concatenate(ys)


def read_stl10(root: Path, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """STL-10 binary -> uint8 images (N, 3, 96, 96) and 0-based int64 labels (N,)."""
    root = Path(root)
    xp, yp = root / STL_DIR / f"{split}_X.bin", root / STL_DIR / f"{split}_y.bin"
    for path in (xp, yp):
        _require(path, root)
    size = xp.stat().st_size
    if size == 0 or size % STL_IMAGE:
        raise _corrupt(xp, root, STL_DIR, f"{size} bytes is not a whole number of 3x96x96 images")
    y = np.fromfile(yp, dtype=np.uint8).astype(np.int64)
    if len(y) != size // STL_IMAGE:
        raise _corrupt(xp, root, STL_DIR, f"it holds {size // STL_IMAGE} images but {yp.name} holds {len(y)} labels")
    if y.min() < 1 or y.max() > 10:  # 1-based on disk: a 0 would wrap to the last class
        bad = int(y[(y < 1) | (y > 10)][0])
        raise _corrupt(yp, root, STL_DIR, f"label {bad} is outside 1..10")
    x = np.fromfile(xp, dtype=np.uint8).reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)  # stored column-major
    return np.ascontiguousarray(x), y - 1


def is_fake(root: Path) -> bool:
    root = Path(root)
    return (root / CIFAR_DIR / MARKER).exists() or (root / STL_DIR / MARKER).exists()


def dataset_kinds(root: Path, known_md5s: dict[str, str] | None = None) -> dict[str, str]:
    """``{"cifar10": kind, "stl10": kind}`` with kind "fake" (marker), "real" (every file lesson 3
    reads matches its published md5) or "unknown" (no marker, some md5 differs)."""
    root = Path(root)
    kinds = {}
    for key, files in USED_FILES.items():
        folder = files[0].split("/")[0]
        if (root / folder / MARKER).exists():
            kinds[key] = "fake"
            continue
        known = known_data_md5s() if known_md5s is None else known_md5s
        paths = [_require(root / rel, root) for rel in files]
        ok = all(rel in known and md5_matches(cached_md5(p), known[rel]) for rel, p in zip(files, paths))
        kinds[key] = "real" if ok else "unknown"
    return kinds


def combined_kind(kinds: dict[str, str]) -> str:
    """One label for a run: "fake" if any data set is fake, "real" only if all are, else "unknown"."""
    values = set(kinds.values())
    return "fake" if "fake" in values else "real" if values == {"real"} else "unknown"


def data_kind(root: Path, known_md5s: dict[str, str] | None = None) -> str:
    """"real" | "fake" | "unknown" for the data under ``root`` (see :func:`dataset_kinds`)."""
    return combined_kind(dataset_kinds(root, known_md5s))


def data_fingerprint(root: Path) -> str:
    """A short hash of the md5 sums of every file lesson 3 reads: equal iff the files are equal.

    For a resume check before loading anything: real data's sums come from the verification cache
    (free after the first run); fake data is hashed afresh (it is small, and never verified)."""
    root = Path(root)
    h = hashlib.blake2b(digest_size=8)
    for files in USED_FILES.values():
        folder = files[0].split("/")[0]
        digest = md5sum if (root / folder / MARKER).exists() else cached_md5
        for rel in files:
            h.update(f"{rel}={digest(_require(root / rel, root))};".encode())
    return h.hexdigest()


@dataclass
class Split:
    """uint8 images (N, 3, H, W) and int64 labels, both on one device."""

    name: str
    description: str
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.y.cpu(), minlength=10).tolist()

    def subset(self, n: int | None, seed: int = 0) -> "Split":
        """A fixed random subset of ``n`` examples (all of them when n is None or larger)."""
        if n is None or n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].sort().values
        idx = idx.to(self.y.device)
        return Split(self.name, self.description, self.x[idx], self.y[idx])


@dataclass
class VisionData:
    """CIFAR-10 train/val (ID), CIFAR-10 test (ID) and STL-10 test mapped to CIFAR labels (OOD)."""

    train: Split
    val: Split
    id_test: Split
    ood_test: Split
    root: str
    fake: bool
    monkey_dropped: int
    fingerprint: str = field(default="")
    kind: str = field(default="")                    # "real" | "fake" | "unknown" (see data_kind)
    kinds: dict = field(default_factory=dict)        # the same per data set: {"cifar10": ..., "stl10": ...}

    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "val": self.val, "id_test": self.id_test, "ood_test": self.ood_test}

    def summary(self) -> dict:
        return {
            "root": self.root,
            "kind": self.kind or ("fake" if self.fake else "unknown"),
            "kind_by_dataset": dict(self.kinds),
            "fingerprint": self.fingerprint,
            "sizes": {k: len(s) for k, s in self.splits().items()},
            "class_counts": {k: s.class_counts() for k, s in self.splits().items()},
            "descriptions": {k: s.description for k, s in self.splits().items()},
            "ood_monkey_dropped": self.monkey_dropped,
        }


def _fingerprint(arrays, extra: str) -> str:
    h = hashlib.blake2b(digest_size=8)
    h.update(extra.encode())
    for a in arrays:
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def load_cifar_stl(root: Path | None = None, val_size: int = 5000, seed: int = 0, device="cpu",
                   limit_train: int | None = None, limit_eval: int | None = None) -> VisionData:
    """Load the four splits onto ``device`` as uint8 tensors.

    The ID validation set is a seeded random ``val_size`` examples of CIFAR-10 train (the official
    code selected on CIFAR-10 test, which leaks the test set into model selection).
    ``limit_train``/``limit_eval`` cap the split sizes (seeded subsets) for quick runs.
    """
    root = Path(root) if root is not None else default_root()
    for name, n in (("limit_train", limit_train), ("limit_eval", limit_eval)):
        if n is not None and n < 1:
            raise ValueError(f"{name}={n} must be at least 1 (or None for all examples).")
    kinds = dataset_kinds(root)  # md5 verification of data claiming to be real, before reading it
    tr_x, tr_y = read_cifar10(root, train=True)
    te_x, te_y = read_cifar10(root, train=False)
    st_x, st_y = read_stl10(root, "test")
    keep, st_mapped = map_stl_labels(st_y)
    monkey = int((st_y == MONKEY).sum())
    st_x = st_x[keep]
    if len(st_mapped) == 0:
        raise _corrupt(root / STL_DIR / "test_y.bin", root, STL_DIR, "no test image of the 9 classes shared with CIFAR-10")

    if not 0 < val_size < len(tr_y):
        raise ValueError(f"val_size={val_size} must be between 1 and {len(tr_y) - 1} (CIFAR-10 train has {len(tr_y)}).")
    perm = np.random.default_rng(seed).permutation(len(tr_y))
    val_idx, train_idx = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    if limit_train is not None:
        train_idx = np.sort(np.random.default_rng(seed + 1).permutation(train_idx)[:limit_train])

    def cap(x, y, s):
        if limit_eval is None or limit_eval >= len(y):
            return x, y
        idx = np.sort(np.random.default_rng(seed + s).permutation(len(y))[:limit_eval])
        return x[idx], y[idx]

    va_x, va_y = cap(tr_x[val_idx], tr_y[val_idx], 2)
    te_x, te_y = cap(te_x, te_y, 3)
    st_x, st_mapped = cap(st_x, st_mapped, 4)
    arrays = [tr_x[train_idx], tr_y[train_idx], va_x, va_y, te_x, te_y, st_x, st_mapped]
    fp = _fingerprint(arrays, f"val={val_size};seed={seed}")

    def split(name, desc, x, y):
        return Split(name, desc, torch.from_numpy(np.ascontiguousarray(x)).to(device),
                     torch.from_numpy(np.ascontiguousarray(y)).to(device))

    return VisionData(
        train=split("train", "CIFAR-10 train minus the validation hold-out (ID)", arrays[0], arrays[1]),
        val=split("val", "CIFAR-10 train hold-out for model selection (ID)", va_x, va_y),
        id_test=split("id_test", "CIFAR-10 test (ID)", te_x, te_y),
        ood_test=split("ood_test", "STL-10 test mapped to CIFAR-10 labels, monkey dropped (OOD)", st_x, st_mapped),
        root=str(root), fake=combined_kind(kinds) == "fake", monkey_dropped=monkey, fingerprint=fp,
        kind=combined_kind(kinds), kinds=kinds)


class Preprocess:
    """uint8 batch on the device -> resized, normalised float batch (channels_last on CUDA).

    One bilinear ``interpolate`` per batch (antialiased when shrinking, like PIL's resize), then the
    ImageNet normalisation."""

    def __init__(self, image_size: int, device, channels_last: bool | None = None):
        self.image_size = image_size
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255
        self.channels_last = (torch.device(device).type == "cuda") if channels_last is None else channels_last

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.image_size)
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def batches(split: Split, batch_size: int, shuffle: bool = False, seed: int = 0, drop_last: bool = False):
    """Yield (uint8 images, labels) batches of ``split`` by indexing on the device (no DataLoader)."""
    n = len(split)
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(split.y.device)
    else:
        order = None
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for a in range(0, stop, batch_size):
        if order is None:
            yield split.x[a:a + batch_size], split.y[a:a + batch_size]
        else:
            idx = order[a:a + batch_size]
            yield split.x[idx], split.y[idx]


def example_images(root: Path | None = None, per_class: int = 1, seed: int = 0):
    """A few CIFAR-10 test and STL-10 test images per shared class, for the lesson's side-by-side.

    Returns (cifar HWC uint8 list, stl HWC uint8 list, CIFAR class names) for the 9 shared classes."""
    from lpft_edu.vision.labels import CIFAR10_CLASSES, STL_TO_CIFAR
    root = Path(root) if root is not None else default_root()
    cx, cy = read_cifar10(root, train=False)
    sx, sy = read_stl10(root, "test")
    rng = np.random.default_rng(seed)
    cif, stl, names = [], [], []
    for s, c in STL_TO_CIFAR.items():
        ci = rng.choice(np.flatnonzero(cy == c), per_class, replace=False)
        si = rng.choice(np.flatnonzero(sy == s), per_class, replace=False)
        cif += [cx[i].transpose(1, 2, 0) for i in ci]
        stl += [sx[i].transpose(1, 2, 0) for i in si]
        names += [CIFAR10_CLASSES[c]] * per_class
    return cif, stl, names
