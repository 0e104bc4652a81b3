"""Fake CIFAR-10 and STL-10 in the exact real on-disk formats, with images a model can learn.

Why fake data at all: tests and the CPU smoke run must never touch the network, and the real
archives are 160 MB + 2.5 GB. The files written here are byte-for-byte the formats torchvision
reads (only the contents and md5 sums differ), so the same readers serve fake and real data:

* CIFAR-10 "python version": ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``,
  Python-2 pickles of dicts whose keys are Python-2 ``str`` (they load as ``b"data"`` with
  ``encoding="bytes"`` and as ``"data"`` with ``encoding="latin1"``, like the originals), with
  ``data`` a uint8 array N x 3072 (R plane, G plane, B plane, each 32x32 row-major) and ``labels``
  a list of ints.
* STL-10 binary: ``stl10_binary/{train_X.bin, train_y.bin, test_X.bin, test_y.bin,
  class_names.txt, fold_indices.txt}``; images uint8 3x96x96 stored column-major, labels uint8
  1..10. ``unlabeled_X.bin`` (100k images) is not needed by lesson 3 and is written only on request.

A ``FAKE_DATA.txt`` marker in each folder lets the loader label results as fake; the real
archives never contain it. Each folder is written into a temporary folder beside it and renamed
into place complete (marker last), under a lock on ``<root>/.fake-data.lock``: two first smoke runs
at once write it once, and a run killed while writing leaves only a ``.fake-tmp-*`` folder that is
never read and is removed by the next writer. Image content: every class has its own colour, stripe orientation and
stripe frequency; STL-10 images share the class patterns (mapped to CIFAR classes) with a shift
(other contrast, brightness and noise) so "OOD" is a real, learnable shift.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lpft_edu.vision.errors import DataError
from lpft_edu.vision.labels import CIFAR10_CLASSES, STL10_CLASSES, STL_TO_CIFAR

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent first runs there are not protected
    fcntl = None

MARKER = "FAKE_DATA.txt"
CIFAR_DIR = "cifar-10-batches-py"
STL_DIR = "stl10_binary"
LOCK_NAME = ".fake-data.lock"
TMP_PREFIX = ".fake-tmp-"


class FakeDataConflict(DataError, FileExistsError):
    """The target folder holds data without the fake marker; the writer will not replace it."""


@dataclass(frozen=True)
class FakeSizes:
    cifar_train: int = 1000  # split over the five data_batch files
    cifar_test: int = 500
    stl_train: int = 100
    stl_test: int = 450
    stl_unlabeled: int = 0


SMOKE = FakeSizes()
FULL = FakeSizes(cifar_train=50000, cifar_test=10000, stl_train=5000, stl_test=8000, stl_unlabeled=0)


# -- Python-2 pickles -------------------------------------------------------------------------
class _Py2Str(bytes):
    """Bytes pickled as a Python-2 ``str`` (SHORT_BINSTRING/BINSTRING), as in the real CIFAR files."""


class _Py2Pickler(pickle._Pickler):  # the pure-Python pickler lets us add one opcode writer
    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2str(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + bytes(obj))
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + bytes(obj))

    dispatch[_Py2Str] = _save_py2str

    def _save_ndarray(self, obj):
        # numpy's own reduction, with the raw buffer as a Python-2 str like the real files
        # (protocol 2 would otherwise store bytes via a latin-1 text round trip, 25% larger).
        func, args, state = obj.__reduce__()
        self.save_reduce(func, (args[0], args[1], _Py2Str(args[2])), state[:4] + (_Py2Str(state[4]),), obj=obj)

    dispatch[np.ndarray] = _save_ndarray


def _dump_py2(obj, path: Path) -> None:
    with open(path, "wb") as f:
        _Py2Pickler(f, protocol=2).dump(obj)


# -- class-dependent images -------------------------------------------------------------------
_PALETTE = np.array([
    [0.55, 0.70, 0.95], [0.90, 0.20, 0.20], [0.95, 0.85, 0.30], [0.85, 0.55, 0.30], [0.45, 0.65, 0.25],
    [0.70, 0.50, 0.40], [0.25, 0.75, 0.35], [0.60, 0.40, 0.20], [0.20, 0.40, 0.80], [0.50, 0.50, 0.55],
    [0.80, 0.40, 0.80],  # 10: STL's monkey, which has no CIFAR class
])


def class_images(protos: np.ndarray, size: int, rng: np.random.Generator, shift: bool = False) -> np.ndarray:
    """uint8 images (N, 3, size, size) whose colour and stripes depend on ``protos`` (0..10).

    ``shift`` renders the STL-10 style: lower contrast, brighter, noisier (a distribution shift
    that keeps the class patterns)."""
    n = len(protos)
    u = (np.arange(size, dtype=np.float32) + 0.5) / size
    yy, xx = np.meshgrid(u, u, indexing="ij")
    theta = protos * (np.pi / 11) + rng.normal(0, 0.12, n)
    freq = 2.0 + (protos % 4) * 1.5 + rng.normal(0, 0.15, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    proj = np.cos(theta)[:, None, None] * xx + np.sin(theta)[:, None, None] * yy
    stripes = np.sin(2 * np.pi * freq[:, None, None] * proj + phase[:, None, None]).astype(np.float32)
    colour = _PALETTE[protos] + rng.normal(0, 0.08, (n, 3))
    contrast, bright, noise = (0.22, 0.12, 0.16) if shift else (0.30, 0.0, 0.10)
    img = colour[:, :, None, None] * (0.75 + contrast * stripes[:, None]) + bright
    img = img + rng.normal(0, noise, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _balanced_labels(n: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % classes)


def _chunks(n: int, size: int = 4000):
    for start in range(0, n, size):
        yield start, min(n, start + size)


# -- writers ------------------------------------------------------------------------------------
def marker_text(dataset: str, **params) -> str:
    """The marker's content: what the folder is, and the parameters it was written with."""
    args = " ".join(f"{k}={v}" for k, v in params.items())
    return (f"Fake {dataset} written by lpft_edu.vision.fake: NOT the real data set.\n"
            f"parameters: {args}\n")


@contextlib.contextmanager
def _writer_lock(root: Path):
    """Hold an exclusive lock on ``root`` for the fake writer; clear what killed writers left."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_NAME, "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for leftover in root.glob(TMP_PREFIX + "*"):  # every writer holds this lock: these are orphans
                shutil.rmtree(leftover, ignore_errors=True)
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _check_replaceable(target: Path) -> None:
    if target.exists() and any(target.iterdir()) and not (target / MARKER).exists():
        raise FakeDataConflict(
            f"{target} holds files without a {MARKER} marker (real data, or data of unknown origin): refusing "
            f"to overwrite it with fake data. Choose another --root, or delete {target} if it is a leftover.")


def _write_folder_atomically(root: Path, name: str, write) -> Path:
    """Run ``write(folder)`` on a temporary folder beside ``root/name``, then rename it into place.

    Caller holds :func:`_writer_lock`. A reader sees the old folder or the complete new one, never a
    partial one; a crash leaves only the temporary folder (or, between the two renames, no folder)."""
    target = root / name
    _check_replaceable(target)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=root))
    try:
        folder = tmp / name
        folder.mkdir()
        write(folder)
        if target.exists():
            os.rename(target, tmp / "replaced")
        os.rename(folder, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write_cifar_files(folder: Path, n_train: int, n_test: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    per_batch = np.diff(np.linspace(0, n_train, 6).astype(int))
    files = [(f"data_batch_{i + 1}", int(m), f"training batch {i + 1} of 5") for i, m in enumerate(per_batch)]
    files.append(("test_batch", n_test, "testing batch 1 of 1"))
    for name, m, batch_label in files:
        labels = _balanced_labels(m, 10, rng)
        data = np.empty((m, 3072), dtype=np.uint8)
        for a, b in _chunks(m):
            data[a:b] = class_images(labels[a:b], 32, rng).reshape(b - a, 3072)
        _dump_py2({
            _Py2Str(b"batch_label"): _Py2Str(batch_label.encode()),
            _Py2Str(b"labels"): [int(v) for v in labels],
            _Py2Str(b"data"): data,
            _Py2Str(b"filenames"): [_Py2Str(f"fake_{name}_{i:05d}.png".encode()) for i in range(m)],
        }, folder / name)
    _dump_py2({
        _Py2Str(b"num_cases_per_batch"): int(max(per_batch.max(), n_test)),
        _Py2Str(b"label_names"): [_Py2Str(c.encode()) for c in CIFAR10_CLASSES],
        _Py2Str(b"num_vis"): 3072,
    }, folder / "batches.meta")
    (folder / MARKER).write_text(marker_text("CIFAR-10", n_train=n_train, n_test=n_test, seed=seed))


def _stl_protos(stl_labels: np.ndarray) -> np.ndarray:
    lut = np.array([STL_TO_CIFAR.get(s, 10) for s in range(10)])
    return lut[stl_labels]


def _write_stl_images(path: Path, labels: np.ndarray | None, n: int, rng: np.random.Generator) -> None:
    with open(path, "wb") as f:
        for a, b in _chunks(n, 2000):
            protos = _stl_protos(labels[a:b]) if labels is not None else rng.integers(0, 11, b - a)
            img = class_images(protos, 96, rng, shift=True)
            # STL-10 stores each channel column-major: write the (N, 3, W, H) transpose.
            f.write(np.ascontiguousarray(img.transpose(0, 1, 3, 2)).tobytes())


def _write_stl_files(folder: Path, n_train: int, n_test: int, n_unlabeled: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for split, m in (("train", n_train), ("test", n_test)):
        labels = _balanced_labels(m, 10, rng)
        _write_stl_images(folder / f"{split}_X.bin", labels, m, rng)
        (labels + 1).astype(np.uint8).tofile(folder / f"{split}_y.bin")  # 1-based on disk
    if n_unlabeled:
        _write_stl_images(folder / "unlabeled_X.bin", None, n_unlabeled, rng)
    (folder / "class_names.txt").write_text("\n".join(STL10_CLASSES) + "\n")
    folds = np.array_split(rng.permutation(n_train), 10)
    (folder / "fold_indices.txt").write_text("".join(" ".join(map(str, f)) + " \n" for f in folds))
    (folder / MARKER).write_text(marker_text("STL-10", n_train=n_train, n_test=n_test, n_unlabeled=n_unlabeled,
                                             seed=seed))


def _plans(sizes: FakeSizes, seed: int) -> dict:
    """folder -> (expected marker text, writer) for :func:`write_fake_data`'s sizes and seed."""
    c = dict(n_train=sizes.cifar_train, n_test=sizes.cifar_test, seed=seed)
    s = dict(n_train=sizes.stl_train, n_test=sizes.stl_test, n_unlabeled=sizes.stl_unlabeled, seed=seed + 1)
    return {CIFAR_DIR: (marker_text("CIFAR-10", **c), lambda folder: _write_cifar_files(folder, **c)),
            STL_DIR: (marker_text("STL-10", **s), lambda folder: _write_stl_files(folder, **s))}


def write_fake_cifar10(root: Path, n_train: int, n_test: int, seed: int = 0) -> Path:
    root = Path(root)
    with _writer_lock(root):
        return _write_folder_atomically(root, CIFAR_DIR, lambda f: _write_cifar_files(f, n_train, n_test, seed))


def write_fake_stl10(root: Path, n_train: int, n_test: int, n_unlabeled: int = 0, seed: int = 1) -> Path:
    root = Path(root)
    with _writer_lock(root):
        return _write_folder_atomically(root, STL_DIR,
                                        lambda f: _write_stl_files(f, n_train, n_test, n_unlabeled, seed))


def write_fake_data(root: Path, sizes: FakeSizes = SMOKE, seed: int = 0, force: bool = False) -> Path:
    """Write fake CIFAR-10 and STL-10 under ``root``, atomically and under a lock.

    A folder already holding fake data written with the same sizes and seed is kept (the writer is
    deterministic, so rewriting would produce the same bytes, and a concurrent reader keeps its
    files) unless ``force``; other fake folders are replaced. Folders without the fake marker are
    never touched (:class:`FakeDataConflict`)."""
    root = Path(root)
    plans = _plans(sizes, seed)
    with _writer_lock(root):
        for name in plans:
            _check_replaceable(root / name)  # refuse before writing anything
        for name, (text, write) in plans.items():
            marker = root / name / MARKER
            if not force and marker.is_file() and marker.read_text() == text:
                continue
            _write_folder_atomically(root, name, write)
    return root


def has_fake_data(root: Path) -> bool:
    """Both folders hold complete fake data (the marker is written last, then the folder renamed)."""
    root = Path(root)
    return (root / CIFAR_DIR / MARKER).exists() and (root / STL_DIR / MARKER).exists()
