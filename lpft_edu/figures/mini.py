"""Lesson 3's laptop-experiment figures (``lpft-mini`` results): every seed as a dot, the mean over
seeds with a bar of one sample standard deviation, and the feature distortion of FT and LP-FT.

They take a results dict and draw on given Axes; nothing here imports torch or computes a result.
"""
from __future__ import annotations

import numpy as np

from lpft_edu.figures import METHOD_COLORS

ORDER = ("LP", "FT", "LP-FT")


def _per_seed(results: dict, method: str, key) -> np.ndarray:
    """One value per seed (``key`` a field name, or a callable on the seed's record), in percent where
    the value is an accuracy; NaN where a seed has none (diverged)."""
    rows = (results.get("methods", {}).get(method) or {}).get("per_seed") or []
    out = []
    for row in rows:
        try:
            v = key(row) if callable(key) else row.get(key)
        except (KeyError, TypeError):
            v = None
        out.append(np.nan if v is None else float(v))
    return np.asarray(out, dtype=float)


def _dots_and_bar(ax, x: float, values: np.ndarray, color: str, scale: float, rng) -> None:
    values = values[np.isfinite(values)] * scale
    if not len(values):
        ax.text(x, 0, "diverged", ha="center", va="bottom", fontsize=9, rotation=90)
        return
    jitter = rng.uniform(-0.08, 0.08, len(values))
    ax.scatter(x + jitter, values, s=22, color=color, alpha=0.55, edgecolor="none", zorder=3)
    mean = values.mean()
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    ax.errorbar([x + 0.22], [mean], yerr=[std], fmt="o", color=color, ecolor="black", elinewidth=1.4,
                capsize=5, markersize=7, markeredgecolor="black", zorder=4)


def n_seeds(results: dict) -> int:
    return max((len((m or {}).get("per_seed") or []) for m in results.get("methods", {}).values()), default=0)


def draw_accuracy_spread(ax_id, ax_ood, results: dict, title_suffix: str = "") -> None:
    """ID and OOD accuracy per method: one dot per seed, the mean with +- 1 sample std (black bar)."""
    rng = np.random.default_rng(0)  # the jitter only: the same picture every time
    names = results.get("datasets") or {}
    for ax, key, label in ((ax_id, "id_acc", f"ID: {names.get('id', 'in distribution')}"),
                           (ax_ood, "ood_acc", f"OOD: {names.get('ood', 'out of distribution')}")):
        methods = [m for m in ORDER if m in results.get("methods", {})]
        for i, m in enumerate(methods):
            _dots_and_bar(ax, i, _per_seed(results, m, key), METHOD_COLORS[m], 100.0, rng)
        ax.set_xticks(range(len(methods)), methods)
        ax.set_xlim(-0.5, len(methods) - 0.3)
        ax.set_ylabel("accuracy (%)")
        ax.set_title(label + title_suffix, fontsize=11)
        ax.grid(axis="y", alpha=0.3)


def draw_distortion(ax, results: dict, title_suffix: str = "") -> None:
    """Relative feature change (mean ||phi - phi0|| / mean ||phi0||) of FT and LP-FT on ID and OOD
    test inputs: dots per seed, mean +- 1 sample std. LP is 0 by construction (frozen features)."""
    rng = np.random.default_rng(1)
    ticks, labels = [], []
    x = 0.0
    for side, name in (("id", "ID inputs"), ("ood", "OOD inputs")):
        for m in ("FT", "LP-FT"):
            if m not in results.get("methods", {}):
                continue
            vals = _per_seed(results, m, lambda r, s=side: r["distortion"][s]["relative"])
            _dots_and_bar(ax, x, vals, METHOD_COLORS[m], 1.0, rng)
            ticks.append(x)
            labels.append(f"{m}\n{name}")
            x += 1.0
        x += 0.4
    ax.set_xticks(ticks, labels)
    ax.set_ylabel("relative feature change")
    ax.set_ylim(bottom=0)
    ax.set_title("How far fine-tuning moved the features" + title_suffix, fontsize=11)
    ax.grid(axis="y", alpha=0.3)


def spread_figure(results: dict, title: str = ""):
    """A figure with ID accuracy, OOD accuracy and feature change side by side."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    draw_accuracy_spread(axes[0], axes[1], results)
    draw_distortion(axes[2], results)
    n = n_seeds(results)
    fig.suptitle((title + "  " if title else "") + f"({n} seeds: dots = seeds, black bar = mean +- 1 std)",
                 fontsize=11)
    fig.tight_layout()
    return fig


def draw_digits(fig, centred, moved, labels, n: int = 8, shift: int | None = None) -> None:
    """The first ``n`` digits as the network sees them: centred (ID, top row) and moved (OOD, bottom
    row). ``centred``/``moved``: arrays (N, 64) or (N, 8, 8) with 0 = blank paper, 1 = all ink."""
    centred = np.asarray(centred, dtype=float).reshape(-1, 8, 8)[:n]
    moved = np.asarray(moved, dtype=float).reshape(-1, 8, 8)[:n]
    axes = fig.subplots(2, len(centred))
    rows = (("ID: centred", centred), (f"OOD: moved {shift} px right" if shift else "OOD: moved", moved))
    for r, (name, imgs) in enumerate(rows):
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            ax.imshow(img, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(int(labels[c])), fontsize=11)
            if c == 0:
                ax.set_ylabel(name.replace(": ", ":\n"), fontsize=10, rotation=0, ha="right", va="center")
