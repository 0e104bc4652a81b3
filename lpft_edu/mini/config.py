"""Options of the laptop experiment: one dataclass, its rules and its command-line flags.

Each field's metadata gives its flag, help text and allowed range; :meth:`MiniConfig.validate`
checks every field against them and the CLI builds its options from the same metadata, so a rule
lives in one place. A ValueError from :meth:`~MiniConfig.validate` is one line that names the flag
and the allowed range.

``fast`` (default: :func:`lpft_edu.config.fast_mode`, i.e. ``LPFT_FAST=1``) shrinks the run for
tests and CI: at most :data:`FAST_LIMITS` of each size, applied by :meth:`MiniConfig.resolved`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from lpft_edu.config import fast_mode

MAX_SEEDS = 100
# In fast mode each of these fields is capped at this value (tests and CI: seconds, not a result).
FAST_LIMITS = {"hidden": 64, "pretrain_epochs": 4, "epochs": 4, "lp_cs": 5}


def _opt(default, flag: str, help: str, low=None, high=None, kind=int, factory=None):
    """A config field: its command-line ``flag``, ``help`` and allowed range [low, high] of type ``kind``."""
    meta = {"flag": flag, "help": help, "low": low, "high": high, "kind": kind}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def rule_problem(value, meta) -> str | None:
    """What is wrong with ``value`` under a field's metadata (None when it is allowed)."""
    kind, low, high = meta["kind"], meta["low"], meta["high"]
    if kind is bool:
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int and not (numeric and isinstance(value, int)):
        return f"must be a whole number from {low} to {high}, got {value!r}"
    if kind is float and not (numeric and math.isfinite(value)):
        return f"must be a finite number from {low:g} to {high:g}, got {value!r}"
    if not low <= value <= high:
        span = f"from {low} to {high}" if kind is int else f"from {low:g} to {high:g}"
        return f"must be {span}, got {value!r}"
    return None


@dataclass
class MiniConfig:
    """LP, FT and LP-FT on moved digits, over seeds 0..seeds-1 (see :mod:`lpft_edu.mini`)."""

    seeds: int = _opt(5, "--seeds", "number of seeds (runs 0, 1, ..., N-1; means and spread over all)", 1, MAX_SEEDS)
    pretrain_ood: bool = _opt(True, "--pretrain-ood", "pretraining data include the OOD kind of input (moved "
                              "digits) as well as centred ones; --no-pretrain-ood: centred only", kind=bool)
    shift: int = _opt(2, "--shift", "pixels the OOD digits are moved to the right (of 8)", 1, 4)
    hidden: int = _opt(128, "--hidden", "width of the network's two hidden ReLU layers (= feature size)", 8, 1024)
    pretrain_fraction: float = _opt(0.5, "--pretrain-fraction", "share of the 1,797 digits used for pretraining "
                                    "(the rest is the downstream task)", 0.1, 0.8, float)
    pretrain_epochs: int = _opt(20, "--pretrain-epochs", "pretraining epochs", 1, 200)
    epochs: int = _opt(20, "--epochs", "FT and LP-FT epochs", 1, 200)
    batch_size: int = _opt(32, "--batch-size", "training batch size", 2, 512)
    lr_pretrain: float = _opt(0.05, "--lr-pretrain", "pretraining learning rate", 1e-6, 1.0, float)
    lr_ft: float = _opt(0.03, "--lr-ft", "FT learning rate", 1e-6, 1.0, float)
    lr_lpft: float = _opt(0.003, "--lr-lpft", "LP-FT learning rate (10x smaller than FT's, as in lpft-cifar-stl)",
                          1e-6, 1.0, float)
    sweep_lr: bool = _opt(False, "--sweep-lr", "train FT at 0.003,0.01,0.03,0.1 and LP-FT at 0.01,0.003,0.001,0.0003 and "
                          "keep, per seed, the rate with the best ID validation accuracy (4x the fine-tuning time)",
                          kind=bool)
    lp_cs: int = _opt(19, "--lp-cs", "number of C values from 1e-7 to 1e2 for LP (chosen on ID validation)", 1, 100)
    fast: bool = _opt(None, "--fast", "small version for tests and CI (default: on when LPFT_FAST=1)", kind=bool,
                      factory=fast_mode)
    progress: bool = _opt(True, "--progress", "progress bars (--no-progress: none)", kind=bool)

    def validate(self) -> "MiniConfig":
        """Raise a one-line ValueError naming the flag and the allowed range; return ``self``."""
        for f in fields(self):
            problem = rule_problem(getattr(self, f.name), f.metadata)
            if problem:
                raise ValueError(f"{f.metadata['flag']} {problem}")
        return self

    def resolved(self) -> "MiniConfig":
        """The sizes actually run: in fast mode each field of :data:`FAST_LIMITS` is capped."""
        if not self.fast:
            return self
        return replace(self, **{k: min(getattr(self, k), cap) for k, cap in FAST_LIMITS.items()})

    def command(self) -> str:
        """The ``lpft-mini`` command line that asks for this config (flags that differ from the defaults)."""
        default, parts = MiniConfig(fast=False), ["lpft-mini"]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "progress" or value == getattr(default, f.name):
                continue
            flag = f.metadata["flag"]
            parts.append((flag if value else "--no-" + flag[2:]) if isinstance(value, bool) else f"{flag} {value:g}")
        return " ".join(parts)

    def to_dict(self) -> dict:
        """Plain JSON values, as recorded in results.json."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def flag_fields():
    """The fields in declaration order (each has a command-line flag)."""
    return list(fields(MiniConfig))
