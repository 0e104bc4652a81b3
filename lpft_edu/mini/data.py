"""The laptop experiment's data: scikit-learn's bundled 8x8 handwritten digits, as scanned and moved.

These are real images, not generated ones: the 1,797 digits that ship inside scikit-learn
(``sklearn.datasets.load_digits``, a copy of the test part of the UCI "Optical Recognition of
Handwritten Digits" set: NIST scans of 13 writers, each 32x32 bitmap reduced to 8x8 by counting the
inked pixels in every 4x4 block, so a value runs from 0 = blank paper to 16 = all ink). Nothing is
downloaded.

The shift, in two sentences a student can read: in distribution (ID), a digit is where the scanner
put it, centred in its 8x8 box; out of distribution (OOD), the same digit is moved ``shift`` pixels
to the right (2 pixels of the 8x8 grid are 8 pixels of the original scan), with blank paper filling
in on the left. A person reads both equally well; a network trained only on centred digits has
never seen ink in those places.

Every seed draws its own split of the 1,797 images (seeds are 0, 1, ..., n-1; nothing is chosen):

* ``pretrain``: ``pretrain_fraction`` of them, the "broad" pretraining data. With ``pretrain_ood``
  it holds every one of these images twice, centred and moved (both kinds of input); without it,
  centred only.
* the rest, disjoint from the pretraining images, is the downstream task: half of it ``train``
  (centred only), a sixth ``val`` (centred, ID validation: chooses LP's C) and the remaining third
  ``id_test`` (centred) and ``ood_test`` (the same test digits, moved).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lpft_edu.vision.data import Split

SOURCE = ("scikit-learn's bundled 8x8 handwritten digits (sklearn.datasets.load_digits: 1,797 real scans "
          "from the UCI Optical Recognition of Handwritten Digits set, shipped inside scikit-learn; no download)")
ID_NAME = "digits, centred"
MAX_VALUE = 16.0  # a pixel counts the inked pixels of a 4x4 block of the scan: 0 (blank) to 16 (all ink)
SIDE = 8


def ood_name(shift: int) -> str:
    return f"digits, moved {shift} px right"


def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """(images (1797, 64) float32 in [0, 1], 1 = all ink; labels (1797,) int64), in the shipped order."""
    from sklearn.datasets import load_digits  # scikit-learn is imported only when the digits are needed
    digits = load_digits()
    x = torch.tensor(np.asarray(digits.data, dtype=np.float32) / MAX_VALUE)
    y = torch.tensor(np.asarray(digits.target, dtype=np.int64))
    return x, y


def move_right(x: torch.Tensor, shift: int) -> torch.Tensor:
    """The OOD kind of input: every 8x8 image moved ``shift`` pixels right, blank (0) filling in on
    the left. Ink pushed past the right edge is lost: over all 1,797 digits that is 0.3% of the ink
    for 1 px, 6.5% for 2 px (the default) and 26% for 3 px, so 2 px leaves each digit readable."""
    if not 0 <= shift < SIDE:
        raise ValueError(f"shift must be between 0 and {SIDE - 1} pixels, got {shift}")
    images = x.reshape(-1, SIDE, SIDE)
    out = torch.zeros_like(images)
    out[:, :, shift:] = images[:, :, :SIDE - shift]
    return out.reshape(x.shape)


@dataclass
class MiniData:
    """One seed's splits (float images of 64 values in [0, 1] and labels, on the CPU)."""

    pretrain: Split
    train: Split
    val: Split
    id_test: Split
    ood_test: Split

    def sizes(self) -> dict:
        return {name: len(getattr(self, name)) for name in ("pretrain", "train", "val", "id_test", "ood_test")}


def make_splits(x: torch.Tensor, y: torch.Tensor, seed: int, shift: int, pretrain_fraction: float,
                pretrain_ood: bool) -> MiniData:
    """The splits of one seed (see the module docstring); the permutation depends only on ``seed``."""
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_pre = int(round(pretrain_fraction * len(y)))
    pre, rest = order[:n_pre], order[n_pre:]
    n = len(rest)
    train, val, test = rest[:n // 2], rest[n // 2:n // 2 + n // 6], rest[n // 2 + n // 6:]
    ood = ood_name(shift)
    if pretrain_ood:
        pretrain = Split("pretrain", f"{ID_NAME} and {ood}", torch.cat([x[pre], move_right(x[pre], shift)]),
                         torch.cat([y[pre], y[pre]]))
    else:
        pretrain = Split("pretrain", ID_NAME, x[pre], y[pre])
    return MiniData(pretrain=pretrain,
                    train=Split("train", ID_NAME, x[train], y[train]),
                    val=Split("val", ID_NAME, x[val], y[val]),
                    id_test=Split("id_test", ID_NAME, x[test], y[test]),
                    ood_test=Split("ood_test", ood, move_right(x[test], shift), y[test]))


class AsIs:
    """The ``preprocess`` that lpft_edu.vision's training loop and feature extractor call on every
    batch: the digits are already floats in [0, 1], so nothing to do."""

    channels_last = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x
