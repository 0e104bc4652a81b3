"""Read CIFAR-10 and STL-10 from their on-disk formats and keep the images on the device.

Why our own readers rather than ``torchvision.datasets.CIFAR10``/``STL10``: those classes verify
every file's md5 sum on construction, which fake files (tests, the smoke run) cannot pass, and they
hand out one PIL image at a time. The readers below parse the same formats (checked against
torchvision's in tests/test_vision_data.py); the md5 verification of real downloads stays in
:mod:`lpft_edu.vision.download`, which goes through torchvision.

Why on the device: the whole of CIFAR-10 is 180 MB as uint8, STL-10 test 220 MB. Holding them as
uint8 tensors on the GPU and resizing/normalising a batch there (one ``interpolate`` call) keeps
the GPU from waiting on per-image Python work (PIL decode, resize, ToTensor) in DataLoader workers.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lpft_edu.vision.fake import CIFAR_DIR, MARKER, STL_DIR
from lpft_edu.vision.labels import MONKEY, map_stl_labels

DATA_ENV = "LPFT_DATA"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)  # torchvision's ImageNet normalisation, as in the official code


class DataMissingError(FileNotFoundError):
    """A data file is missing; the message says which and the command that fixes it."""


def default_root() -> Path:
    """Data cache: ``$LPFT_DATA`` if set, else ``~/.cache/lpft_edu``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lpft_edu"


def _missing(path: Path, root: Path) -> DataMissingError:
    return DataMissingError(
        f"{path} is missing. Download the real data with `python data_scripts/download.py --root {root}` "
        f"(or set {DATA_ENV}), or write fake data for a smoke test with "
        f"`python data_scripts/make_fake_data.py --root {root}`.")


def read_cifar10(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 python pickles -> uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    root = Path(root)
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    xs, ys = [], []
    for name in names:
        path = root / CIFAR_DIR / name
        if not path.exists():
            raise _missing(path, root)
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="bytes")  # Python-2 pickles; keys come back as b"data"
        xs.append(np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(entry[b"labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def read_stl10(root: Path, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """STL-10 binary -> uint8 images (N, 3, 96, 96) and 0-based int64 labels (N,)."""
    root = Path(root)
    xp, yp = root / STL_DIR / f"{split}_X.bin", root / STL_DIR / f"{split}_y.bin"
    for path in (xp, yp):
        if not path.exists():
            raise _missing(path, root)
    x = np.fromfile(xp, dtype=np.uint8).reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)  # stored column-major
    y = np.fromfile(yp, dtype=np.uint8).astype(np.int64) - 1
    if len(x) != len(y):
        raise ValueError(f"{xp} holds {len(x)} images but {yp} holds {len(y)} labels: the files are corrupt; "
                         "download them again.")
    return np.ascontiguousarray(x), y


def is_fake(root: Path) -> bool:
    root = Path(root)
    return (root / CIFAR_DIR / MARKER).exists() or (root / STL_DIR / MARKER).exists()


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

    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "val": self.val, "id_test": self.id_test, "ood_test": self.ood_test}

    def summary(self) -> dict:
        return {
            "root": self.root,
            "kind": "fake" if self.fake else "real",
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
    tr_x, tr_y = read_cifar10(root, train=True)
    te_x, te_y = read_cifar10(root, train=False)
    st_x, st_y = read_stl10(root, "test")
    keep, st_mapped = map_stl_labels(st_y)
    monkey = int((st_y == MONKEY).sum())
    st_x = st_x[keep]

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
        root=str(root), fake=is_fake(root), monkey_dropped=monkey, fingerprint=fp)


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
