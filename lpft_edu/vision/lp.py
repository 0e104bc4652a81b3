"""Linear probing: extract penultimate features once, then fit L2-regularised multinomial logistic
regression over a sweep of regularisation strengths, selected on the ID validation set.

Why our own solver rather than sklearn's ``LogisticRegression``: the paper sweeps 50 values of
C on 2048-d features of 45k images; sklearn's lbfgs does that on the CPU in many minutes. The same
objective minimised full-batch with ``torch.optim.LBFGS`` on the GPU, warm-started from the
previous C, takes seconds. tests/test_vision_lp.py checks it against sklearn on the same features.

Objective (sklearn's, divided by n*C):  mean cross-entropy + ||W||^2 / (2 C n), intercept unpenalised.
Features are standardised by one scalar mean and std from the training features (as in the paper).
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lpft_edu.vision.data import Preprocess, Split, batches
from lpft_edu.vision.results import CheckpointError

CACHE_ENV = "LPFT_CACHE"


def cache_dir() -> Path:
    """Where derived files go (features, downloaded weights): ``$LPFT_CACHE`` if set, else
    ``~/.cache/lpft_edu``. Never inside the data root, which may be read-only or shared."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lpft_edu"


def default_feature_dir() -> Path:
    return cache_dir() / "features"


def amp_dtype(device) -> torch.dtype | None:
    """The autocast precision on ``device``: bf16 on GPUs with bfloat16 tensor cores (compute
    capability 8 and up: A100, H100, RTX 30xx and later); fp16 on older GPUs (T4, V100), which have
    fp16 tensor cores but run bf16 slowly, and then training scales its loss (see ``finetune``);
    None (fp32) on a CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    major, _minor = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def precision_name(device) -> str:
    """``amp_dtype`` in words, for results files and printouts."""
    return {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast with loss scaling"}[
        amp_dtype(device)]


def _autocast(device):
    dtype = amp_dtype(device)
    return torch.autocast("cuda", dtype=dtype) if dtype is not None else torch.autocast("cpu", enabled=False)


@torch.no_grad()
def extract_features(model, split: Split, preprocess: Preprocess, batch_size: int = 256, progress=None) -> torch.Tensor:
    """Penultimate features (float32, on the split's device) with the network in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    for xb, _ in batches(split, batch_size):
        with _autocast(xb.device):
            out.append(model.features(preprocess(xb)).float())
        if progress is not None:
            progress.update(len(xb))
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, model.feature_dim, device=split.y.device)


def cache_key(weights_id: str, fingerprint: str, split: str, image_size: int) -> str:
    return hashlib.blake2b(f"{weights_id}|{fingerprint}|{split}|{image_size}".encode(), digest_size=8).hexdigest()


class FeatureCache:
    """Features on disk under ``folder``, one file per (backbone weights, data fingerprint, split, size)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"features-{key}.pt"

    def load(self, key: str, device) -> torch.Tensor | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return torch.load(path, map_location=device, weights_only=True)
        except Exception:  # noqa: BLE001 - a torn or stale cache file is simply recomputed
            return None

    def save(self, key: str, features: torch.Tensor) -> None:
        """Write atomically (temp file + rename); an OSError (read-only, disk full) reaches the caller."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path(key).with_suffix(f".tmp{os.getpid()}")
        try:
            torch.save(features.cpu(), tmp)
            os.replace(tmp, self.path(key))
        finally:
            tmp.unlink(missing_ok=True)


@dataclass
class LinearHead:
    """Logits = W @ ((f - mean) / std) + b, with the standardisation folded in by :meth:`raw`."""

    W: torch.Tensor  # (classes, dim)
    b: torch.Tensor  # (classes,)
    mean: float
    std: float
    C: float

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return ((features - self.mean) / self.std) @ self.W.T + self.b

    def raw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, bias) acting on unstandardised features: what an ``nn.Linear`` head needs for LP-FT."""
        W = self.W / self.std
        return W, self.b - W.sum(1) * self.mean

    def state_dict(self) -> dict:
        """Plain tensors and floats only, so that ``torch.load(weights_only=True)`` can read it back."""
        return {"W": self.W.detach().cpu(), "b": self.b.detach().cpu(), "mean": float(self.mean),
                "std": float(self.std), "C": float(self.C)}

    @classmethod
    def from_state_dict(cls, state, device="cpu") -> "LinearHead":
        """Inverse of :meth:`state_dict`; a ValueError says what does not fit."""
        if not isinstance(state, dict) or set(state) != {"W", "b", "mean", "std", "C"}:
            raise ValueError("not a linear-head state (expected exactly W, b, mean, std, C)")
        W, b = state["W"], state["b"]
        if not (isinstance(W, torch.Tensor) and isinstance(b, torch.Tensor) and W.dim() == 2 and b.dim() == 1
                and W.shape[0] == b.shape[0] and W.is_floating_point() and b.is_floating_point()):
            raise ValueError("W must be a (classes, dim) and b a (classes,) float tensor")
        numbers = [state[k] for k in ("mean", "std", "C")]
        if not all(isinstance(v, float) and math.isfinite(v) for v in numbers) or state["std"] <= 0:
            raise ValueError("mean, std and C must be finite floats, std > 0")
        return cls(W.to(device), b.to(device), *numbers)

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, device="cpu") -> "LinearHead":
        """Read a head written by :meth:`save` with ``weights_only=True`` (no code runs from the file)
        onto ``device`` (a head saved on a GPU loads on a CPU); :class:`CheckpointError` if it cannot."""
        try:
            return cls.from_state_dict(torch.load(path, map_location=device, weights_only=True), device)
        except Exception as exc:  # noqa: BLE001 - unpickling refusals, torn files and wrong contents alike
            raise CheckpointError(f"{path} is not a usable LP head ({_one_line(exc)}). Delete it and run the same "
                                  "--resume command again: LP is then fitted again from the cached features.") from None


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def fit_logreg(X: torch.Tensor, y: torch.Tensor, C: float, num_classes: int = 10, init=None,
               max_iter: int = 200, tol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise mean CE + ||W||^2/(2 C n) over (W, b) with full-batch L-BFGS (strong Wolfe)."""
    n, d = X.shape
    if init is None:
        W = torch.zeros(num_classes, d, dtype=X.dtype, device=X.device, requires_grad=True)
        b = torch.zeros(num_classes, dtype=X.dtype, device=X.device, requires_grad=True)
    else:
        W, b = (t.detach().clone().requires_grad_(True) for t in init)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=max_iter, tolerance_grad=tol, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")
    reg = 1.0 / (2.0 * C * n)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(X @ W.T + b, y) + reg * (W * W).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach(), b.detach()


def default_cs(count: int = 50) -> np.ndarray:
    """The paper's sweep: ``count`` log-spaced inverse regularisation strengths from 1e-7 to 1e2."""
    return np.logspace(-7, 2, count)


def lp_sweep(train_f: torch.Tensor, train_y: torch.Tensor, val_f: torch.Tensor, val_y: torch.Tensor,
             Cs=None, num_classes: int = 10, max_iter: int = 200) -> tuple[LinearHead, list[dict]]:
    """Fit one head per C (strongest regularisation first, each warm-started from the last) and
    return the one with the best ID validation accuracy, plus the whole sweep."""
    Cs = np.sort(np.asarray(default_cs() if Cs is None else Cs, dtype=float))
    mean, std = train_f.mean().item(), train_f.std().item() or 1.0
    Xtr, Xva = (train_f - mean) / std, (val_f - mean) / std
    sweep, best, init = [], None, None
    for C in Cs:
        W, b = fit_logreg(Xtr, train_y, float(C), num_classes, init=init, max_iter=max_iter)
        init = (W, b)
        with torch.no_grad():
            val_acc = ((Xva @ W.T + b).argmax(1) == val_y).float().mean().item()
            train_acc = ((Xtr @ W.T + b).argmax(1) == train_y).float().mean().item()
        sweep.append({"C": float(C), "val_acc": val_acc, "train_acc": train_acc})
        if best is None or val_acc > best[0]:
            best = (val_acc, LinearHead(W, b, mean, std, float(C)))
    return best[1], sweep


@torch.no_grad()
def accuracy_from_features(head: LinearHead, features: torch.Tensor, labels: torch.Tensor) -> float:
    return (head.logits(features).argmax(1) == labels).float().mean().item()
