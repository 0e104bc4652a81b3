"""Class names and the STL-10 -> CIFAR-10 label map (classes matched by name; STL-10's monkey dropped).
No torch here."""
from __future__ import annotations

import numpy as np

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
STL10_CLASSES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
MONKEY = STL10_CLASSES.index("monkey")  # 7 (0-based); has no CIFAR-10 counterpart: dropped

# 0-based STL-10 label -> CIFAR-10 label: each STL-10 class to the CIFAR-10 class of the same name (car ->
# automobile). The official configuration loads STL-10 through its own "CIFAR-style" STL-10 dataset
# class (configs/adaptation/datasets_cifar_stl.yaml in github.com/AnanyaKumar/transfer_learning).
# CIFAR's frog (6) has no STL counterpart: the head stays 10-way (trained with frog) and is evaluated
# on the 9 shared classes.
STL_TO_CIFAR = {0: 0, 1: 2, 2: 1, 3: 3, 4: 4, 5: 5, 6: 7, 8: 8, 9: 9}


def map_stl_labels(stl_labels) -> tuple[np.ndarray, np.ndarray]:
    """Map 0-based STL-10 labels to CIFAR-10 labels. Returns (keep mask, mapped labels of kept)."""
    stl_labels = np.asarray(stl_labels)
    if stl_labels.size and (not np.issubdtype(stl_labels.dtype, np.integer)
                            or stl_labels.min() < 0 or stl_labels.max() > 9):
        # a negative label would silently index the table from the end (-1 -> truck)
        raise ValueError(f"0-based STL-10 labels must be integers in 0..9; got values from "
                         f"{stl_labels.min()} to {stl_labels.max()}")
    lut = np.full(10, -1, dtype=np.int64)
    for s, c in STL_TO_CIFAR.items():
        lut[s] = c
    mapped = lut[stl_labels]
    keep = mapped >= 0
    return keep, mapped[keep]
