"""FT / LP-FT training loop: BatchNorm modes, and resuming from a checkpoint gives the uninterrupted result."""
from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from lpft_edu.vision.data import Preprocess, load_cifar_stl  # noqa: E402
from lpft_edu.vision.fake import FakeSizes, write_fake_data  # noqa: E402
from lpft_edu.vision.models import build_model, calibrate_batchnorm  # noqa: E402
from lpft_edu.vision.train import Interrupted, TrainConfig, finetune  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake")
    write_fake_data(root, FakeSizes(cifar_train=260, cifar_test=60, stl_train=10, stl_test=60))
    data = load_cifar_stl(root, val_size=40)
    pre = Preprocess(24, "cpu")
    model = build_model("tiny-cnn", seed=0)
    calibrate_batchnorm(model, data.train.x, pre)
    return data, pre, model


def test_resume_after_interruption_matches_uninterrupted(setup, tmp_path):
    data, pre, model = setup
    cfg = TrainConfig("FT", lr=0.03, epochs=3, batch_size=32, bn_train=True)
    evals = {"val": data.val, "ood": data.ood_test}
    full = finetune(copy.deepcopy(model), data.train, evals, cfg, pre)

    ckpt = tmp_path / "ft.pt"
    with pytest.raises(Interrupted):
        finetune(copy.deepcopy(model), data.train, evals, cfg, pre, ckpt, stop_after_epoch=1)
    assert ckpt.exists()
    resumed_model = copy.deepcopy(model)
    resumed = finetune(resumed_model, data.train, evals, cfg, pre, ckpt)
    assert len(resumed["epochs"]) == 3
    for a, b in zip(full["epochs"], resumed["epochs"]):
        assert a["val_acc"] == b["val_acc"] and a["ood_acc"] == b["ood_acc"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    # a checkpoint from another configuration is not resumed
    other = finetune(copy.deepcopy(model), data.train, evals, TrainConfig("FT", 0.01, 1, 32, True), pre, ckpt)
    assert len(other["epochs"]) == 1


def test_lpft_keeps_batchnorm_statistics_ft_changes_them(setup):
    data, pre, model = setup
    bn_before = model.backbone[1].running_mean.clone()
    lpft = copy.deepcopy(model)
    finetune(lpft, data.train, {}, TrainConfig("LP-FT", 1e-4, 1, 32, bn_train=False), pre)
    torch.testing.assert_close(lpft.backbone[1].running_mean, bn_before)
    ft = copy.deepcopy(model)
    finetune(ft, data.train, {}, TrainConfig("FT", 1e-2, 1, 32, bn_train=True), pre)
    assert not torch.allclose(ft.backbone[1].running_mean, bn_before)
