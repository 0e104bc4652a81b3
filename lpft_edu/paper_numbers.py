"""Figures reported by Kumar et al. (ICLR 2022) and the accompanying talk.

Every number here is the paper's (or the talk's), never ours. Anything that displays one
must label it with :data:`SOURCE` (or the entry's own ``source``), so a learner can never
mistake a reported figure for one this package measured.
"""
from __future__ import annotations

SOURCE = "reported by Kumar et al. 2022"
CITATION = (
    "A. Kumar, A. Raghunathan, R. Jones, T. Ma, P. Liang. Fine-Tuning can Distort Pretrained "
    "Features and Underperform Out-of-Distribution. ICLR 2022. arXiv:2202.10054"
)
PAPER_URL = "https://arxiv.org/abs/2202.10054"
OFFICIAL_CODE_URL = "https://github.com/AnanyaKumar/transfer_learning"

# CIFAR-10 -> STL-10 and CIFAR-10.1, ResNet-50 MoCo-v2, mean of 3 runs (accuracy, %).
CIFAR_STL = {
    "source": SOURCE + " (Table 1, ResNet-50 MoCo-v2, mean of 3 runs)",
    "columns": ("ID: CIFAR-10", "OOD: STL-10", "OOD: CIFAR-10.1"),
    "FT": (97.3, 82.4, 92.3),
    "LP": (91.8, 85.1, 82.7),
    "LP-FT": (97.5, 90.7, 93.5),
}

# Average over the paper's 10 distribution shifts (talk slides): (ID, OOD) accuracy, %.
TEN_SHIFT_AVERAGE = {
    "source": SOURCE + " (talk slides, average over 10 distribution shifts)",
    "LP": (82.9, 66.2),
    "FT": (85.1, 59.3),
    "LP-FT": (85.7, 68.9),
}

# Living-17 pop quiz from the talk: (ID, OOD) accuracy, %.
LIVING17 = {
    "source": SOURCE + " (talk, Living-17 pop quiz)",
    "Scratch": (92.4, 58.2),
    "LP": (96.5, 82.2),
    "FT": (97.1, 77.7),
}
