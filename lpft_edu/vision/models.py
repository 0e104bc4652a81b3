"""Backbones that expose penultimate features, plus a linear head.

Backbones (``--backbone``):

* ``resnet18-imagenet`` (default): torchvision's ResNet-18 with ImageNet weights
  (``ResNet18_Weights.IMAGENET1K_V1``, 512-d features). Why the default: a workshop run must take
  minutes on one GPU. ResNet-18 needs less than half of ResNet-50's compute per image (1.8 vs
  4.1 GFLOPs at 224 px), so LP + FT + LP-FT over 10 epochs fits the 10-minute budget, and its
  ImageNet features are good enough for linear probing on CIFAR-10 to be meaningful - the
  precondition for seeing FT distort them. Caveat: STL-10's images were drawn from ImageNet, so with
  these *supervised* ImageNet weights the OOD test images overlap the labelled pretraining data (the
  backbone may have been trained on them, with labels). The paper used MoCo-v2, which is
  self-supervised: it saw ImageNet's images, not their labels. Results with this default are
  therefore not the paper's setting; ``resnet50-moco-v2`` is.
* ``resnet50-imagenet``: ResNet-50, ``IMAGENET1K_V2`` weights (2048-d), closer to the paper, ~2.5x slower.
* ``resnet50-moco-v2``: the paper's backbone, MoCo-v2 800-epoch ResNet-50, from ``--weights``
  (a local path or URL; default the official URL below). The checkpoint's keys are prefixed
  ``module.encoder_q.``; the MLP projection head (``fc.*``), the key encoder and the queue are dropped.
* ``tiny-cnn``: four conv layers, random initialisation, no download: only for the CPU smoke path.
* ``resnet18-random`` / ``resnet50-random``: the same architectures without pretrained weights, for
  timing benchmarks on machines that cannot download weights (and as a from-scratch reference).
"""
from __future__ import annotations

import urllib.error
from pathlib import Path

import torch
from torch import nn

MOCO_V2_URL = "https://dl.fbaipublicfiles.com/moco/moco_checkpoints/moco_v2_800ep/moco_v2_800ep_pretrain.pth.tar"
MOCO_PREFIX = "module.encoder_q."
BACKBONES = ("resnet18-imagenet", "resnet50-imagenet", "resnet50-moco-v2", "tiny-cnn", "resnet18-random",
             "resnet50-random")
DEFAULT_BACKBONE = "resnet18-imagenet"
MAX_IMAGE_SIZE = 1024  # the images are 32 px (CIFAR-10) and 96 px (STL-10): larger inputs only cost memory


def min_image_size(backbone: str) -> int:
    """Smallest input (pixels) a backbone is run at. The tiny CNN halves the image three times (8 px
    leaves a 1x1 map); a ResNet halves it five times, and below 32 px its last stages would see
    less than one pixel of real image."""
    return 8 if backbone == "tiny-cnn" else 32


class WeightsError(RuntimeError):
    """Pretrained weights could not be obtained or do not fit; the message says how to fix it."""


class FeatureModel(nn.Module):
    """``features(x)`` is the penultimate representation; ``forward(x) = head(features(x))``."""

    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int = 10):
        super().__init__()
        self.backbone = backbone
        self.feature_dim = feature_dim
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class TinyCNN(nn.Sequential):
    """A small conv net for smoke runs: 3 -> 16 -> 32 -> 64 -> 64 channels, global average pool."""

    def __init__(self, width: int = 16):
        layers, c_in = [], 3
        for i, c in enumerate((width, 2 * width, 4 * width, 4 * width)):
            layers += [nn.Conv2d(c_in, c, 3, stride=1 if i == 0 else 2, padding=1, bias=False),
                       nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        super().__init__(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_dim = c_in


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, images, preprocess, batch_size: int = 256) -> None:
    """Set BatchNorm running statistics to those of ``images`` (uint8 tensor), weights untouched.

    Only for the random-init ``tiny-cnn``: its default statistics (mean 0, var 1) are meaningless, so
    in eval mode (feature extraction, LP-FT) its features would be badly scaled. Real pretrained
    backbones keep their own statistics."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for a in range(0, len(images), batch_size):
        model.features(preprocess(images[a:a + batch_size]))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def moco_backbone_state(checkpoint: dict) -> dict[str, torch.Tensor]:
    """The query encoder's weights from a MoCo checkpoint, prefix stripped, projection head dropped."""
    state = checkpoint.get("state_dict", checkpoint)
    out = {k[len(MOCO_PREFIX):]: v for k, v in state.items() if k.startswith(MOCO_PREFIX)}
    if not out:
        raise WeightsError(f"no '{MOCO_PREFIX}*' keys in the checkpoint: is it a MoCo checkpoint? "
                           f"The paper's is {MOCO_V2_URL}")
    return {k: v for k, v in out.items() if not k.startswith("fc.")}


def _fetch(url: str, cache: Path) -> Path:
    target = cache / "weights" / url.rsplit("/", 1)[-1]
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, str(target), progress=True)  # writes a temp file, then renames
        except (urllib.error.URLError, OSError) as exc:
            raise WeightsError(f"could not download {url} ({exc}). Check the network, or download it by hand "
                               f"and pass --weights /path/to/{target.name}") from exc
    return target


def load_moco_resnet50(weights: str | Path, cache: Path | None = None) -> nn.Module:
    """torchvision ResNet-50 (fc = Identity) with MoCo-v2 query-encoder weights from a path or URL."""
    from torchvision.models import resnet50
    path = Path(weights)
    if str(weights).startswith(("http://", "https://")):
        path = _fetch(str(weights), cache or Path.home() / ".cache" / "lpft_edu")
    if not path.exists():
        raise WeightsError(f"MoCo checkpoint {path} not found. Pass --weights PATH, or --weights {MOCO_V2_URL}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem gets the same advice
        raise WeightsError(f"could not read {path} as a torch checkpoint ({exc}); download it again.") from exc
    model = resnet50(weights=None)
    model.fc = nn.Identity()
    missing, unexpected = model.load_state_dict(moco_backbone_state(checkpoint), strict=False)
    if missing or unexpected:
        raise WeightsError(f"{path} does not fit a ResNet-50: missing {missing[:3]}..., unexpected {unexpected[:3]}...")
    return model


def build_model(backbone: str = DEFAULT_BACKBONE, weights: str | None = None, num_classes: int = 10,
                seed: int = 0, cache: Path | None = None) -> FeatureModel:
    """A :class:`FeatureModel` with pretrained features and a seeded random head."""
    torch.manual_seed(seed)
    if backbone == "tiny-cnn":
        net = TinyCNN()
        dim = net.out_dim
    elif backbone == "resnet50-moco-v2":
        net, dim = load_moco_resnet50(weights or MOCO_V2_URL, cache), 2048
    elif backbone in ("resnet18-random", "resnet50-random"):
        from torchvision import models as tvm
        net = tvm.resnet18(weights=None) if backbone.startswith("resnet18") else tvm.resnet50(weights=None)
        dim = net.fc.in_features
        net.fc = nn.Identity()
    elif backbone in ("resnet18-imagenet", "resnet50-imagenet"):
        from torchvision import models as tvm
        ctor, w = ((tvm.resnet18, tvm.ResNet18_Weights.IMAGENET1K_V1) if backbone.startswith("resnet18")
                   else (tvm.resnet50, tvm.ResNet50_Weights.IMAGENET1K_V2))
        try:
            net = ctor(weights=w)  # torchvision downloads to $TORCH_HOME and checks the file's hash
        except (urllib.error.URLError, OSError) as exc:
            raise WeightsError(f"could not download {w.url} ({exc}). Run once with network access "
                               "(torchvision caches it under $TORCH_HOME), or use --smoke for an offline test.") from exc
        dim = net.fc.in_features
        net.fc = nn.Identity()
    else:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    torch.manual_seed(seed + 1)
    return FeatureModel(net, dim, num_classes)


def weights_id(backbone: str, weights: str | None) -> str:
    """What identifies the pretrained features (for the feature cache key)."""
    if backbone == "resnet50-moco-v2":
        return f"{backbone}:{weights or MOCO_V2_URL}"
    if backbone == "tiny-cnn" or backbone.endswith("-random"):
        return f"{backbone}:random-init"
    return f"{backbone}:torchvision"
