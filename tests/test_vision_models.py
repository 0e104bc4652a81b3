"""Backbones: MoCo-v2 checkpoint loading on a locally written checkpoint with the official key layout."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torchvision.models import resnet50  # noqa: E402

from lpft_edu.vision.models import (MOCO_PREFIX, FeatureModel, WeightsError, build_model, calibrate_batchnorm,  # noqa: E402
                                    load_moco_resnet50, moco_backbone_state)


def _write_moco_checkpoint(path):
    """A checkpoint laid out like moco_v2_800ep_pretrain.pth.tar: 'module.encoder_q.*' for the query
    ResNet-50 with a 2-layer MLP head (fc.0, fc.2), a few key-encoder entries and the queue."""
    torch.manual_seed(0)
    q = resnet50(weights=None)
    q.fc = nn.Sequential(nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 128))
    state = {MOCO_PREFIX + k: v for k, v in q.state_dict().items()}
    state["module.encoder_k.conv1.weight"] = torch.zeros(64, 3, 7, 7)
    state["module.queue"] = torch.zeros(128, 16)
    state["module.queue_ptr"] = torch.zeros(1, dtype=torch.long)
    torch.save({"epoch": 800, "arch": "resnet50", "state_dict": state, "optimizer": {}}, path)
    return q


def test_moco_checkpoint_loads_query_encoder_without_projection_head(tmp_path):
    path = tmp_path / "moco_v2_800ep_pretrain.pth.tar"
    q = _write_moco_checkpoint(path)
    model = load_moco_resnet50(path)
    assert isinstance(model.fc, nn.Identity)
    ref = {k: v for k, v in q.state_dict().items() if not k.startswith("fc.")}
    got = model.state_dict()
    assert set(got) == set(ref)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k])
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 2048)


def test_moco_state_rejects_other_checkpoints():
    with pytest.raises(WeightsError, match="module.encoder_q"):
        moco_backbone_state({"state_dict": {"conv1.weight": torch.zeros(1)}})


def test_missing_weights_file_says_what_to_pass(tmp_path):
    with pytest.raises(WeightsError, match="--weights"):
        build_model("resnet50-moco-v2", weights=str(tmp_path / "nope.pth.tar"))


def test_unknown_backbone():
    with pytest.raises(ValueError, match="tiny-cnn"):
        build_model("vgg")


def test_tiny_cnn_features_and_head():
    m = build_model("tiny-cnn", seed=0)
    assert isinstance(m, FeatureModel) and m.feature_dim == 64 and m.head.out_features == 10
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    pre = lambda b: b.float() / 255  # noqa: E731
    calibrate_batchnorm(m, x, pre, batch_size=4)
    assert not m.training
    assert m.features(pre(x)).shape == (8, 64) and m(pre(x)).shape == (8, 10)
    same = build_model("tiny-cnn", seed=0)
    torch.testing.assert_close(same.head.weight, build_model("tiny-cnn", seed=0).head.weight)


def test_minimum_image_sizes_per_backbone():
    from lpft_edu.vision.models import BACKBONES, MAX_IMAGE_SIZE, min_image_size
    assert min_image_size("tiny-cnn") == 8
    assert all(min_image_size(b) == 32 for b in BACKBONES if b.startswith("resnet"))
    m = build_model("tiny-cnn", seed=0).eval()  # the smallest allowed input still gives features
    with torch.no_grad():
        assert m.features(torch.zeros(2, 3, 8, 8)).shape == (2, 64)
    assert MAX_IMAGE_SIZE >= 224
