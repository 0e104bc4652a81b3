"""FT and LP-FT: SGD with momentum, cosine schedule, per-epoch evaluation and checkpoints.

FT starts from a random head with BatchNorm in train mode. LP-FT starts from the LP head, uses a
smaller learning rate and keeps BatchNorm in eval mode (running statistics frozen at their
pretrained values; its affine weights still train), for the same number of epochs (equal compute).
On CUDA the forward/backward runs under autocast with channels_last inputs: bf16 on GPUs that have
bfloat16 tensor cores, fp16 with a gradient scaler on older ones such as the T4 (``lp.amp_dtype``).

Divergence: the loss of every batch is kept on the device and checked every few steps (every step
on a CPU, where checking costs nothing; every ``CHECK_EVERY_CUDA`` steps on a GPU, so the check does
not stall the pipeline) and at the end of each epoch together with the weights. A non-finite loss,
or one above ``EXPLODE_FACTOR`` times the first batch's loss (at least 1), raises :class:`Diverged`
with the epoch and batch where it happened; no accuracy of a diverged model is ever returned.

Resuming: after every epoch the model, optimiser, schedule and history are written atomically to
``checkpoint`` (temp file + ``os.replace``). Data order depends only on (seed, epoch), so a run
resumed after an interruption continues exactly where the uninterrupted run would have been.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lpft_edu.vision.data import Preprocess, Split, batches
from lpft_edu.vision.lp import _autocast, _one_line, amp_dtype
from lpft_edu.vision.results import CheckpointError

FT_LR_GRID = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)    # paper's FT grid
LPFT_LR_GRID = (1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7)  # paper's LP-FT grid


EXPLODE_FACTOR = 1e3     # a loss this many times the first batch's (at least 1) has blown up
CHECK_EVERY_CUDA = 20   # on a GPU, look at the losses every this many steps (each look waits for the GPU)


class Interrupted(KeyboardInterrupt):
    """Raised by the ``stop_after_epoch`` test hook, like a Ctrl-C after that epoch's checkpoint."""


class Diverged(RuntimeError):
    """Training blew up. ``reason`` is one line ("loss became nan at epoch 2, batch 17"); ``history``
    holds the epochs completed before it; ``lr_related`` is False when the very first loss, computed
    before any update, was already non-finite (then no learning rate is to blame)."""

    def __init__(self, reason: str, epoch: int, batch: int | None, loss: float | None, history: dict,
                 lr_related: bool = True):
        super().__init__(reason)
        self.reason, self.epoch, self.batch, self.loss = reason, epoch, batch, loss
        self.history, self.lr_related = history, lr_related


def best_epoch(epochs: list[dict], key: str = "val_acc") -> dict:
    """The epoch record with the highest ``key`` (ID validation accuracy), the first of equals:
    the early-stopping rule of the official code's results summary."""
    if not epochs:
        raise ValueError("no epochs to choose from")
    return max(epochs, key=lambda e: e[key])  # max keeps the first of equal values


def _check_losses(losses: list[float], first_index: int, epoch: int, threshold: float | None, history: dict):
    """Raise :class:`Diverged` at the first non-finite or exploding loss (1-based batch numbers)."""
    for i, value in enumerate(losses, start=first_index + 1):
        if not math.isfinite(value):
            before_update = epoch == 1 and i == 1
            where = "on the first batch, before any update" if before_update else f"at epoch {epoch}, batch {i}"
            raise Diverged(f"loss became {value} {where}", epoch, i, value, history, not before_update)
        if threshold is not None and value > threshold:
            raise Diverged(f"loss exploded to {value:.3g} at epoch {epoch}, batch {i} (over {EXPLODE_FACTOR:g} "
                           f"times the first batch's)", epoch, i, value, history)


@dataclass
class TrainConfig:
    method: str          # "FT" or "LP-FT"
    lr: float
    epochs: int
    batch_size: int
    bn_train: bool       # FT: True; LP-FT: False
    momentum: float = 0.9
    weight_decay: float = 0.0
    seed: int = 0


def start_head(model, lp_head=None, seed: int = 0) -> None:
    """Set ``model.head`` where fine-tuning starts: LP-FT from the linear probe's head (``lp_head``,
    a :class:`~lpft_edu.vision.lp.LinearHead`), FT (``lp_head`` None) from a fresh random head drawn
    with ``seed``, as the paper's FT does."""
    if lp_head is not None:
        W, b = lp_head.raw()
        with torch.no_grad():
            model.head.weight.copy_(W)
            model.head.bias.copy_(b)
    else:
        torch.manual_seed(seed)
        model.head.reset_parameters()


def set_bn_eval(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


@torch.no_grad()
def evaluate(model, split: Split, preprocess: Preprocess, batch_size: int = 512) -> float:
    was_training = model.training
    model.eval()
    correct = torch.zeros((), device=split.y.device)
    for xb, yb in batches(split, batch_size):
        with _autocast(xb.device):
            correct += (model(preprocess(xb)).argmax(1) == yb).sum()
    model.train(was_training)
    return correct.item() / max(1, len(split))


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def finetune(model, train: Split, evals: dict[str, Split], cfg: TrainConfig, preprocess: Preprocess,
             checkpoint: Path | None = None, progress=None, stop_after_epoch: int | None = None,
             eval_batch_size: int = 512) -> dict:
    """Train ``model`` in place; returns the history (per-epoch accuracies, losses, timings)."""
    device = train.y.device
    model.to(device)
    if preprocess.channels_last:
        model.to(memory_format=torch.channels_last)
    steps_per_epoch = len(train) // cfg.batch_size if len(train) >= cfg.batch_size else 1
    total = cfg.epochs * steps_per_epoch
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    # fp16 (GPUs without bf16 tensor cores) needs loss scaling so small gradients do not underflow;
    # disabled, the scaler is a pass-through (bf16 and fp32 need none).
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype(device) == torch.float16)
    history = {"config": asdict(cfg), "epochs": [], "train_images": 0, "train_seconds": 0.0}
    start_epoch = 0
    if checkpoint is not None and Path(checkpoint).exists():
        try:  # weights_only: tensors and plain containers only; map_location: a GPU run resumes on a CPU
            state = torch.load(checkpoint, map_location=device, weights_only=True)
            if state["history"]["config"] == asdict(cfg):
                model.load_state_dict(state["model"])
                opt.load_state_dict(state["optimizer"])
                sched.load_state_dict(state["scheduler"])
                if state.get("scaler"):  # empty when saved without fp16 scaling
                    scaler.load_state_dict(state["scaler"])
                history = state["history"]
                start_epoch = len(history["epochs"])
        except Exception as exc:  # noqa: BLE001 - refused unpickling, torn file, foreign contents alike
            raise CheckpointError(f"{checkpoint} is not a usable checkpoint ({_one_line(exc)}). Delete it and run the "
                                  f"same command again: {cfg.method} at this learning rate then starts from epoch 1."
                                  ) from None
    check_every = CHECK_EVERY_CUDA if device.type == "cuda" else 1
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        if not cfg.bn_train:
            set_bn_eval(model)
        t0, seen = time.perf_counter(), 0
        losses = torch.zeros(steps_per_epoch, device=device)
        checked = 0

        def check(upto: int) -> None:
            nonlocal checked
            if upto > checked:
                values = losses[checked:upto].tolist()
                if "first_loss" not in history:
                    history["first_loss"] = values[0]  # the loss before any update (epoch 1, batch 1)
                first = history["first_loss"]
                threshold = EXPLODE_FACTOR * max(first, 1.0) if math.isfinite(first) else None
                _check_losses(values, checked, epoch + 1, threshold, history)
                checked = upto

        step = 0
        for step, (xb, yb) in enumerate(batches(train, cfg.batch_size, shuffle=True, seed=cfg.seed * 1000 + epoch,
                                                drop_last=True), start=1):
            with _autocast(device):
                loss = F.cross_entropy(model(preprocess(xb)), yb)
            losses[step - 1] = loss.detach()
            if step % check_every == 0:
                check(step)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            seen += len(yb)
            if progress is not None:
                progress.update(len(yb))
        check(step)
        if not torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all().item():
            raise Diverged(f"weights became non-finite in epoch {epoch + 1}", epoch + 1, None, None, history)
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_s = time.perf_counter() - t0
        row = {"epoch": epoch + 1, "train_loss": losses[:step].sum().item() / max(1, steps_per_epoch),
               "train_seconds": train_s, "images_per_second": seen / train_s if train_s > 0 else None}
        t1 = time.perf_counter()
        for name, split in evals.items():
            row[f"{name}_acc"] = evaluate(model, split, preprocess, eval_batch_size)
        row["eval_seconds"] = time.perf_counter() - t1
        history["epochs"].append(row)
        history["train_images"] += seen
        history["train_seconds"] += train_s
        if checkpoint is not None:
            _save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                          "scaler": scaler.state_dict(), "history": history}, Path(checkpoint))
        if progress is not None:
            progress.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k.endswith("_acc")})
        if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch and epoch + 1 < cfg.epochs:
            raise Interrupted(f"{cfg.method} stopped after epoch {epoch + 1} (test hook)")
    history["images_per_second"] = (history["train_images"] / history["train_seconds"]
                                    if history["train_seconds"] > 0 else None)
    return history
