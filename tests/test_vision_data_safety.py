"""Lesson 3 data under hostile or damaged files: no pickle runs code, every damaged file gives a
one-line DataError naming it and the fix, and data is labelled real only when its md5 sums say so."""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import struct
import time

import numpy as np
import pytest

pytest.importorskip("torch")

from lpft_edu.vision import checksums  # noqa: E402
from lpft_edu.vision import data as vdata  # noqa: E402
from lpft_edu.vision.fake import CIFAR_DIR, MARKER, STL_DIR, FakeSizes, write_fake_data  # noqa: E402
from lpft_edu.vision.labels import map_stl_labels  # noqa: E402

SIZES = FakeSizes(cifar_train=100, cifar_test=40, stl_train=20, stl_test=60)
FIX = "python data_scripts/download.py --root"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """The md5 verification cache goes to this test's folder, never the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
    write_fake_data(root, SIZES)
    return root


@pytest.fixture
def unmarked(pristine, tmp_path):
    """A copy of the fake data in the real formats, without the fake markers: it claims to be real."""
    root = tmp_path / "data"
    shutil.copytree(pristine, root, ignore=shutil.ignore_patterns(".fake*"))
    for folder in (CIFAR_DIR, STL_DIR):
        (root / folder / MARKER).unlink()
    return root


def _md5s(root):
    return {rel: hashlib.md5((root / rel).read_bytes()).hexdigest() for files in vdata.USED_FILES.values()
            for rel in files}


# -- pickles that try to run code --------------------------------------------------------------
class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickle_that_calls_os_system_is_refused_and_never_runs(unmarked, tmp_path, protocol):
    marker = tmp_path / "PWNED"
    payload = {"data": _RunsCommand(f"touch {marker}"), "labels": [0]}
    (unmarked / CIFAR_DIR / "data_batch_1").write_bytes(pickle.dumps(payload, protocol=protocol))
    with pytest.raises(vdata.DataError) as err:
        vdata.read_cifar10(unmarked, train=True)
    msg = str(err.value)
    assert not marker.exists()
    assert "data_batch_1 is not a CIFAR-10 batch (it asks to load" in msg and "system" in msg
    assert FIX in msg and "\n" not in msg
    with pytest.raises(vdata.DataError):  # the whole loader too, before any other work
        vdata.load_cifar_stl(unmarked, val_size=10)
    assert not marker.exists()


@pytest.mark.parametrize("module,name", [("builtins", "eval"), ("subprocess", "check_call"), ("numpy", "load"),
                                         ("numpy.lib.format", "read_array"), ("copy_reg", "_reconstructor"),
                                         ("numpy.matrixlib.defmatrix", "matrix")])
def test_any_global_outside_the_format_is_refused(unmarked, module, name):
    # A hand-written protocol-2 pickle: GLOBAL module name, an empty tuple, REDUCE.
    evil = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."
    path = unmarked / CIFAR_DIR / "test_batch"
    path.write_bytes(evil)
    with pytest.raises(vdata.DataError, match=f"asks to load {module}.{name}"):
        vdata.read_cifar10(unmarked, train=False)


def test_object_arrays_and_persistent_ids_are_refused(unmarked):
    path = unmarked / CIFAR_DIR / "test_batch"
    path.write_bytes(pickle.dumps({b"data": np.array([os.getcwd], dtype=object), b"labels": [0]}, protocol=4))
    with pytest.raises(vdata.DataError, match="test_batch is corrupt"):
        vdata.read_cifar10(unmarked, train=False)
    path.write_bytes(b"\x80\x02X\x01\x00\x00\x00xQ.")  # BINPERSID
    with pytest.raises(vdata.DataError, match="test_batch is corrupt"):
        vdata.read_cifar10(unmarked, train=False)


def test_the_real_python2_format_still_reads(unmarked):
    """The fake writer's files are the real format (numpy 2 writes numpy._core); the real files were
    written by numpy 1 (numpy.core): both names load."""
    path = unmarked / CIFAR_DIR / "test_batch"
    x, y = vdata.read_cifar10(unmarked, train=False)
    path.write_bytes(path.read_bytes().replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    x2, y2 = vdata.read_cifar10(unmarked, train=False)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


# -- damaged CIFAR batches -----------------------------------------------------------------------
def _batch(x=None, labels=None, **extra):
    x = np.zeros((4, 3072), np.uint8) if x is None else x
    entry = {b"data": x, b"labels": [0, 1, 2, 3] if labels is None else labels, **extra}
    return pickle.dumps(entry, protocol=4)


CIFAR_DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty file": lambda raw: b"",
    "random bytes": lambda raw: np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
    "not a dict": lambda raw: pickle.dumps([1, 2, 3], protocol=4),
    "no labels entry": lambda raw: pickle.dumps({b"data": np.zeros((4, 3072), np.uint8)}, protocol=4),
    "fewer labels than images": lambda raw: _batch(labels=[0, 1, 2]),
    "label 10": lambda raw: _batch(labels=[0, 1, 10, 3]),
    "label -1": lambda raw: _batch(labels=[0, -1, 2, 3]),
    "string labels": lambda raw: _batch(labels=[b"cat"] * 4),
    "float images": lambda raw: _batch(x=np.zeros((4, 3072))),
    "wrong row length": lambda raw: _batch(x=np.zeros((4, 3000), np.uint8)),
    "flat images": lambda raw: _batch(x=np.zeros(4 * 3072, np.uint8)),
    "no images": lambda raw: _batch(x=np.zeros((0, 3072), np.uint8), labels=[]),
    "images as a list": lambda raw: _batch(x=[[0] * 3072] * 4),
}


@pytest.mark.parametrize("damage", list(CIFAR_DAMAGE))
def test_damaged_cifar_batch_gives_one_line_corrupt_message(unmarked, damage):
    path = unmarked / CIFAR_DIR / "data_batch_3"
    path.write_bytes(CIFAR_DAMAGE[damage](path.read_bytes()))
    with pytest.raises(vdata.DataError) as err:
        vdata.read_cifar10(unmarked, train=True)
    msg = str(err.value)
    assert msg.startswith(f"{path} is corrupt (") and f"re-download with {FIX} {unmarked}" in msg
    assert "\n" not in msg


def test_damaged_fake_data_says_how_to_rewrite_it(pristine, tmp_path):
    root = tmp_path / "fake"
    shutil.copytree(pristine, root)
    (root / CIFAR_DIR / "test_batch").write_bytes(b"\x80\x02}q")
    with pytest.raises(vdata.DataError, match=f"corrupt .*re-create it with python data_scripts/make_fake_data.py --root {root}"):
        vdata.read_cifar10(root, train=False)


# -- damaged STL files ---------------------------------------------------------------------------
def _set_stl_label(root, index, value):
    path = root / STL_DIR / "test_y.bin"
    y = np.fromfile(path, np.uint8)
    y[index] = value
    y.tofile(path)


def test_stl_label_zero_is_refused_not_wrapped_to_truck(unmarked):
    _set_stl_label(unmarked, 5, 0)  # on disk 1..10: a 0 would become -1, which indexes "truck"
    with pytest.raises(vdata.DataError, match=r"test_y.bin is corrupt \(label 0 is outside 1..10\)"):
        vdata.read_stl10(unmarked, "test")
    with pytest.raises(ValueError, match="0..9"):
        map_stl_labels(np.array([0, -1]))


def test_stl_label_eleven_is_refused(unmarked):
    _set_stl_label(unmarked, 0, 11)
    with pytest.raises(vdata.DataError, match=r"label 11 is outside 1..10"):
        vdata.load_cifar_stl(unmarked, val_size=10)


@pytest.mark.parametrize("damage", ["truncated images", "one label too many", "empty", "no shared class"])
def test_damaged_stl_files_give_one_line_corrupt_message(unmarked, damage):
    xp, yp = unmarked / STL_DIR / "test_X.bin", unmarked / STL_DIR / "test_y.bin"
    if damage == "truncated images":
        xp.write_bytes(xp.read_bytes()[:-1000])
    elif damage == "one label too many":
        yp.write_bytes(yp.read_bytes() + b"\x01")
    elif damage == "empty":
        xp.write_bytes(b"")
        yp.write_bytes(b"")
    else:
        np.full(len(np.fromfile(yp, np.uint8)), 8, np.uint8).tofile(yp)  # all monkeys (8 on disk)
    with pytest.raises(vdata.DataError) as err:
        vdata.load_cifar_stl(unmarked, val_size=10)
    msg = str(err.value)
    assert " is corrupt (" in msg and f"{FIX} {unmarked}" in msg and "\n" not in msg


def test_missing_file_is_a_data_error_with_both_fixes(unmarked):
    (unmarked / STL_DIR / "test_y.bin").unlink()
    with pytest.raises(vdata.DataMissingError) as err:
        vdata.load_cifar_stl(unmarked, val_size=10)
    assert isinstance(err.value, vdata.DataError) and isinstance(err.value, FileNotFoundError)
    assert "test_y.bin is missing" in str(err.value) and "make_fake_data.py" in str(err.value)


def test_limits_below_one_are_refused(pristine):
    with pytest.raises(ValueError, match="limit_train=0"):
        vdata.load_cifar_stl(pristine, val_size=10, limit_train=0)


# -- what the data is: real, fake or unknown -----------------------------------------------------
def test_data_without_marker_and_unknown_md5_is_unknown_not_real(unmarked):
    d = vdata.load_cifar_stl(unmarked, val_size=10)
    assert d.kind == "unknown" and not d.fake
    assert d.summary()["kind"] == "unknown" and d.summary()["kind_by_dataset"] == {"cifar10": "unknown",
                                                                                   "stl10": "unknown"}
    assert vdata.data_kind(unmarked) == "unknown"
    assert "UNKNOWN ORIGIN" in vdata.KIND_NOTES["unknown"]


def test_data_matching_the_published_md5s_is_real(unmarked, monkeypatch):
    published = _md5s(unmarked)
    monkeypatch.setattr(vdata, "known_data_md5s", lambda: published)
    d = vdata.load_cifar_stl(unmarked, val_size=10)
    assert d.kind == "real" and d.kinds == {"cifar10": "real", "stl10": "real"}
    # one changed byte in one file: no longer real
    path = unmarked / STL_DIR / "test_X.bin"
    raw = bytearray(path.read_bytes())
    raw[100] ^= 1
    path.write_bytes(bytes(raw))
    assert vdata.dataset_kinds(unmarked) == {"cifar10": "real", "stl10": "unknown"}
    assert vdata.data_kind(unmarked) == "unknown"


def test_fake_marker_wins(pristine, unmarked):
    assert vdata.data_kind(pristine) == "fake"
    (unmarked / STL_DIR / MARKER).write_text("fake")  # a mixture is not real either
    assert vdata.dataset_kinds(unmarked) == {"cifar10": "unknown", "stl10": "fake"}
    assert vdata.data_kind(unmarked) == "fake"


def test_verification_is_cached_until_the_file_changes(unmarked, monkeypatch):
    calls = []
    real_md5sum = checksums.md5sum
    monkeypatch.setattr(checksums, "md5sum", lambda p, *a: calls.append(p) or real_md5sum(p, *a))
    published = _md5s(unmarked)
    monkeypatch.setattr(vdata, "known_data_md5s", lambda: published)
    assert vdata.data_kind(unmarked) == "real" and len(calls) == 8
    assert vdata.data_kind(unmarked) == "real" and len(calls) == 16  # files written < 2 s ago: not remembered
    later = time.time_ns() + 10 * checksums.RACY_NS
    monkeypatch.setattr(checksums, "_now_ns", lambda: later)  # as if the files had settled
    assert vdata.data_kind(unmarked) == "real" and len(calls) == 24
    assert vdata.data_kind(unmarked) == "real" and len(calls) == 24  # now all from the cache
    assert checksums.verify_cache_file().is_file()
    # tamper with one file keeping its size and restoring its mtime: its ctime still changes
    path = unmarked / CIFAR_DIR / "data_batch_2"
    st = path.stat()
    while time.time_ns() < st.st_ctime_ns + 50_000_000:  # wait out the filesystem's timestamp tick
        time.sleep(0.01)
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size
    assert vdata.data_kind(unmarked) == "unknown" and calls[-1] == path and len(calls) == 25


def test_a_damaged_verification_cache_is_ignored(unmarked, monkeypatch):
    published = _md5s(unmarked)
    monkeypatch.setattr(vdata, "known_data_md5s", lambda: published)
    cache = checksums.verify_cache_file()
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert vdata.data_kind(unmarked) == "real"


def test_data_fingerprint_follows_the_files(unmarked, pristine):
    fp = vdata.data_fingerprint(unmarked)
    assert fp == vdata.data_fingerprint(unmarked) and len(fp) == 16
    assert vdata.data_fingerprint(pristine) == fp  # same bytes, marker or not
    yp = unmarked / STL_DIR / "test_y.bin"
    y = np.fromfile(yp, np.uint8)
    y[0] = 1 + y[0] % 10
    y.tofile(yp)
    assert vdata.data_fingerprint(unmarked) != fp


def test_hand_written_python2_pickle_with_bytes_keys(unmarked):
    """A minimal pickle exactly as Python 2's cPickle writes CIFAR batches (SHORT_BINSTRING keys,
    numpy.core.multiarray._reconstruct): the allow-list is exactly what this needs."""
    data = np.arange(2 * 3072, dtype=np.uint8) % 251
    body = (b"\x80\x02}q\x00(U\x04dataq\x01cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00"
            b"\x85U\x01b\x87Rq\x04(K\x01K\x02M\x00\x0c\x86cnumpy\ndtype\nq\x05U\x02u1K\x00K\x01\x87Rq\x06(K\x03U\x01|NNNJ"
            b"\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T" + struct.pack("<i", data.nbytes) + data.tobytes()
            + b"tbU\x06labelsq\x07]q\x08(K\x03K\x07eu.")
    path = unmarked / CIFAR_DIR / "test_batch"
    path.write_bytes(body)
    x, y = vdata.read_cifar10(unmarked, train=False)
    assert x.shape == (2, 3, 32, 32) and y.tolist() == [3, 7]
    np.testing.assert_array_equal(x.reshape(2, -1), data.reshape(2, -1))
