"""Lesson 3 data: fake files in the real formats, read by our readers exactly as torchvision reads them."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from lpft_edu.vision import data as vdata  # noqa: E402
from lpft_edu.vision.fake import FakeSizes, has_fake_data, write_fake_data  # noqa: E402
from lpft_edu.vision.labels import CIFAR10_CLASSES, MONKEY, STL10_CLASSES, STL_TO_CIFAR, map_stl_labels  # noqa: E402

SIZES = FakeSizes(cifar_train=300, cifar_test=100, stl_train=50, stl_test=120, stl_unlabeled=20)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("fake")
    write_fake_data(r, SIZES)
    return r


def test_fake_cifar_matches_torchvision_reader(root, monkeypatch):
    # torchvision checks the real md5 sums on construction; fake files cannot pass, so skip only that.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    for train, n in ((True, SIZES.cifar_train), (False, SIZES.cifar_test)):
        ds = torchvision.datasets.CIFAR10(str(root), train=train)
        x, y = vdata.read_cifar10(root, train)
        assert x.shape == (n, 3, 32, 32) and x.dtype == np.uint8 and y.shape == (n,)
        np.testing.assert_array_equal(x.transpose(0, 2, 3, 1), ds.data)  # torchvision holds HWC
        np.testing.assert_array_equal(y, ds.targets)
        assert ds.classes == list(CIFAR10_CLASSES)


def test_fake_stl_matches_torchvision_reader(root, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.STL10, "_check_integrity", lambda self: True)
    for split, n in (("train", SIZES.stl_train), ("test", SIZES.stl_test)):
        ds = torchvision.datasets.STL10(str(root), split=split)
        x, y = vdata.read_stl10(root, split)
        assert x.shape == (n, 3, 96, 96) and y.min() >= 0 and y.max() <= 9
        np.testing.assert_array_equal(x, ds.data)
        np.testing.assert_array_equal(y, ds.labels)
        assert ds.classes == list(STL10_CLASSES)
    folds = torchvision.datasets.STL10(str(root), split="train", folds=3)
    assert len(folds) == SIZES.stl_train // 10
    unl = np.fromfile(root / "stl10_binary" / "unlabeled_X.bin", dtype=np.uint8)
    assert unl.size == SIZES.stl_unlabeled * 3 * 96 * 96


def test_stl_column_major_layout(tmp_path):
    # One image with a gradient along x only: after reading, rows must be identical (x is the last axis).
    img = np.tile(np.arange(96, dtype=np.uint8), (3, 96, 1))  # (C, H, W), value = column index
    d = tmp_path / "stl10_binary"
    d.mkdir()
    img.transpose(0, 2, 1).tofile(d / "test_X.bin")  # the on-disk order is column-major
    np.array([1], dtype=np.uint8).tofile(d / "test_y.bin")
    x, y = vdata.read_stl10(tmp_path, "test")
    np.testing.assert_array_equal(x[0], img)
    assert y.tolist() == [0]


def test_label_mapping_drops_monkey():
    keep, mapped = map_stl_labels(np.arange(10))
    assert keep.tolist() == [i != MONKEY for i in range(10)]
    for s, c in STL_TO_CIFAR.items():
        assert STL10_CLASSES[s].replace("car", "automobile") == CIFAR10_CLASSES[c]
    assert sorted(mapped.tolist()) == [0, 1, 2, 3, 4, 5, 7, 8, 9]  # frog (6) has no STL counterpart


def test_load_cifar_stl_splits_counts_and_mapping(root):
    d = vdata.load_cifar_stl(root, val_size=60, seed=0)
    sizes = d.summary()["sizes"]
    _, stl_y = vdata.read_stl10(root, "test")
    n_monkey = int((stl_y == MONKEY).sum())
    assert sizes == {"train": 240, "val": 60, "id_test": 100, "ood_test": SIZES.stl_test - n_monkey}
    assert d.monkey_dropped == n_monkey > 0
    assert d.fake and has_fake_data(root)
    counts = d.summary()["class_counts"]
    assert sum(counts["train"]) == 240 and counts["ood_test"][6] == 0  # no frog in STL
    assert all(c > 0 for i, c in enumerate(counts["ood_test"]) if i != 6)
    assert d.train.x.dtype == torch.uint8 and d.ood_test.x.shape[1:] == (3, 96, 96)
    # validation is a disjoint hold-out of CIFAR train
    x_all, _ = vdata.read_cifar10(root, True)
    flat = {bytes(r) for r in x_all.reshape(len(x_all), -1)}
    tr = {bytes(r) for r in d.train.x.reshape(len(d.train), -1).numpy()}
    va = {bytes(r) for r in d.val.x.reshape(len(d.val), -1).numpy()}
    assert tr | va <= flat and not tr & va
    # mapped labels agree with the raw STL labels
    keep, mapped = map_stl_labels(stl_y)
    np.testing.assert_array_equal(d.ood_test.y.numpy(), mapped)
    # the fingerprint changes with the split
    assert vdata.load_cifar_stl(root, val_size=50).fingerprint != d.fingerprint


def test_preprocess_and_batches(root):
    d = vdata.load_cifar_stl(root, val_size=60, limit_train=100)
    assert len(d.train) == 100
    pre = vdata.Preprocess(48, "cpu")
    seen = 0
    for xb, yb in vdata.batches(d.ood_test, 32):
        out = pre(xb)
        assert out.shape == (len(yb), 3, 48, 48) and out.dtype == torch.float32
        seen += len(yb)
    assert seen == len(d.ood_test)
    grey = torch.full((1, 3, 32, 32), 124, dtype=torch.uint8)
    norm = pre(grey)[0, :, 0, 0]
    expected = (124 / 255 - torch.tensor(vdata.IMAGENET_MEAN)) / torch.tensor(vdata.IMAGENET_STD)
    torch.testing.assert_close(norm, expected)
    a = [y.tolist() for _, y in vdata.batches(d.train, 30, shuffle=True, seed=3, drop_last=True)]
    b = [y.tolist() for _, y in vdata.batches(d.train, 30, shuffle=True, seed=3, drop_last=True)]
    assert a == b and len(a) == 3


def test_missing_data_message_says_how_to_fix(tmp_path):
    with pytest.raises(vdata.DataMissingError) as err:
        vdata.load_cifar_stl(tmp_path)
    msg = str(err.value)
    assert "data_scripts/download.py" in msg and "make_fake_data.py" in msg and str(tmp_path) in msg


def test_fake_writer_refuses_to_overwrite_real_data(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"real")
    with pytest.raises(FileExistsError):
        write_fake_data(tmp_path, SIZES)


def test_example_images(root):
    cif, stl, names = vdata.example_images(root, per_class=1)
    assert len(cif) == len(stl) == len(names) == 9
    assert cif[0].shape == (32, 32, 3) and stl[0].shape == (96, 96, 3)
