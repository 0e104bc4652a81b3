"""FT / LP-FT training loop: BatchNorm modes, resuming from a checkpoint gives the uninterrupted result,
divergence is detected where it happens, and the best epoch is chosen as the official summary does."""
from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from lpft_edu.vision.data import Preprocess, load_cifar_stl  # noqa: E402
from lpft_edu.vision.fake import FakeSizes, write_fake_data  # noqa: E402
from lpft_edu.vision.models import build_model, calibrate_batchnorm  # noqa: E402
from lpft_edu.vision.results import CheckpointError  # noqa: E402
from lpft_edu.vision.train import Diverged, Interrupted, TrainConfig, _check_losses, best_epoch, finetune  # noqa: E402


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


def test_an_exploding_learning_rate_raises_diverged_with_epoch_and_batch(setup, tmp_path):
    data, pre, model = setup
    ckpt = tmp_path / "ft.pt"
    with pytest.raises(Diverged) as exc:
        finetune(copy.deepcopy(model), data.train, {"val": data.val}, TrainConfig("FT", 1e6, 2, 32, True), pre, ckpt)
    d = exc.value
    assert d.lr_related and d.epoch == 1 and d.batch >= 2 and f"epoch 1, batch {d.batch}" in d.reason
    assert d.history["epochs"] == [] and not ckpt.exists()  # no epoch of a blown-up model is ever recorded


def test_a_non_finite_model_is_not_blamed_on_the_learning_rate(setup):
    data, pre, model = setup
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.head.weight[0, 0] = float("nan")
    with pytest.raises(Diverged, match="on the first batch, before any update") as exc:
        finetune(broken, data.train, {}, TrainConfig("FT", 1e-3, 1, 32, True), pre)
    assert not exc.value.lr_related


def test_loss_checks_flag_nan_inf_and_explosions_at_the_right_batch():
    _check_losses([2.0, 3.0, 1999.0], 0, 1, 2000.0, {})  # below the threshold: fine
    with pytest.raises(Diverged, match="exploded to 2.5e\\+03 at epoch 3, batch 13"):
        _check_losses([2.0, 2500.0], 11, 3, 2000.0, {})
    with pytest.raises(Diverged, match="loss became inf at epoch 2, batch 2"):
        _check_losses([1.0, float("inf")], 0, 2, None, {})
    with pytest.raises(Diverged, match="loss became nan at epoch 1, batch 5"):
        _check_losses([float("nan")], 4, 1, 2000.0, {})


def test_best_epoch_is_the_first_with_the_highest_validation_accuracy():
    epochs = [{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.7}, {"epoch": 3, "val_acc": 0.7},
              {"epoch": 4, "val_acc": 0.6}]
    assert best_epoch(epochs)["epoch"] == 2
    with pytest.raises(ValueError):
        best_epoch([])


def test_an_unreadable_checkpoint_names_the_file_and_the_fix(setup, tmp_path):
    data, pre, model = setup
    ckpt = tmp_path / "ft-lr0.03.pt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="ft-lr0.03.pt is not a usable checkpoint.*Delete it"):
        finetune(copy.deepcopy(model), data.train, {}, TrainConfig("FT", 0.03, 1, 32, True), pre, ckpt)


def test_autocast_precision_follows_the_gpu_bf16_on_ampere_and_later_fp16_on_a_t4_fp32_on_a_cpu(monkeypatch):
    """A T4 (compute capability 7.5) has fp16 tensor cores but no bf16 ones: bf16 autocast there runs
    slowly, so it gets fp16 (and training scales the loss); A100/H100 (8.x, 9.x) get bf16."""
    import torch

    from lpft_edu.vision import lp

    assert lp.amp_dtype("cpu") is None and lp.precision_name("cpu") == "fp32"
    for capability, dtype in (((7, 5), torch.float16), ((7, 0), torch.float16), ((8, 0), torch.bfloat16),
                              ((9, 0), torch.bfloat16)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert lp.amp_dtype("cuda") is dtype, capability
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert lp.precision_name("cuda:0") == "fp16 autocast with loss scaling"
