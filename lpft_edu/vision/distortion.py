"""Feature distortion: how far the penultimate features moved from the pretrained ones.

For examples x, with pretrained features phi0(x) and fine-tuned features phi(x):

* ``mean_l2``  = mean over x of ||phi(x) - phi0(x)||_2
* ``relative`` = mean_l2 / mean over x of ||phi0(x)||_2   (comparable across backbones)

What the paper describes (Kumar et al. 2022; their observation, not one of ours): under FT, features
of ID examples move more than those of OOD examples, and LP-FT moves features less than FT. Here
both are computed in eval mode on the same fixed subsets.
"""
from __future__ import annotations

import torch


@torch.no_grad()
def feature_change(f0: torch.Tensor, f1: torch.Tensor) -> dict:
    if f0.shape != f1.shape:
        raise ValueError(f"feature shapes differ: {tuple(f0.shape)} vs {tuple(f1.shape)}")
    f0, f1 = f0.double(), f1.double()
    mean_l2 = (f1 - f0).norm(dim=1).mean().item()
    base = f0.norm(dim=1).mean().item()
    return {"mean_l2": mean_l2, "relative": mean_l2 / base if base > 0 else float("nan"), "n": int(len(f0))}
