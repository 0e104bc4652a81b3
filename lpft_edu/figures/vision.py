"""Lesson 3 figures: they take a results dict (the JSON a run writes) and draw on given Axes.

Nothing here computes or imports torch, so the results viewer and the Voila demo can use it
where torch is absent. Paper figures are always drawn in their own panel, titled with their source.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lpft_edu import paper_numbers
from lpft_edu.figures import METHOD_COLORS

ORDER = ("LP", "FT", "LP-FT")
OOD_ALPHA = 0.45


def _methods(results: dict) -> list[str]:
    return [m for m in ORDER if m in results.get("methods", {})]


def _pct(v):
    return np.nan if v is None else 100.0 * v


def _grouped_bars(ax, names, id_vals, ood_vals, annotate=True):
    x = np.arange(len(names))
    w = 0.38
    for i, name in enumerate(names):
        c = METHOD_COLORS.get(name, "#555555")
        ax.bar(x[i] - w / 2, id_vals[i], w, color=c, edgecolor=c)
        ax.bar(x[i] + w / 2, ood_vals[i], w, color=c, alpha=OOD_ALPHA, edgecolor=c, hatch="//")
        if annotate:
            for dx, v in ((-w / 2, id_vals[i]), (w / 2, ood_vals[i])):
                if np.isfinite(v):
                    ax.text(x[i] + dx, v + 1, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("accuracy (%)")
    ax.grid(axis="y", alpha=0.3)


def _id_ood_key(ax):
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(facecolor="#888888", label="ID: CIFAR-10 test"),
                       Patch(facecolor="#888888", alpha=OOD_ALPHA, hatch="//", label="OOD: STL-10 test")],
              loc="upper left", fontsize=8, frameon=False, ncol=2)


def draw_accuracy(ax_ours, ax_paper, results: dict) -> None:
    """ID vs OOD accuracy per method: this run (left) beside the paper's Table 1 (right, labelled)."""
    names = _methods(results)
    m = results["methods"]
    _grouped_bars(ax_ours, names, [_pct(m[n]["id_acc"]) for n in names], [_pct(m[n]["ood_acc"]) for n in names])
    kind = results.get("data_kind") or "?"
    backbone = results.get("config", {}).get("backbone", "?")
    ax_ours.set_title(f"This run ({kind} data, {backbone})", fontsize=10)
    _id_ood_key(ax_ours)
    ref = paper_numbers.CIFAR_STL
    pnames = [n for n in ORDER if n in ref]
    _grouped_bars(ax_paper, pnames, [ref[n][0] for n in pnames], [ref[n][1] for n in pnames])
    ax_paper.set_title("Paper: " + ref["source"].replace(" (", "\n("), fontsize=8.5)
    _id_ood_key(ax_paper)


def draw_epochs(ax, results: dict) -> None:
    """Accuracy after every epoch for FT and LP-FT (ID solid, OOD dashed); LP as thin lines."""
    m = results["methods"]
    for name in ("FT", "LP-FT"):
        if name not in m or not m[name].get("epochs"):
            continue
        ep = m[name]["epochs"]
        x = [e["epoch"] for e in ep]
        c = METHOD_COLORS[name]
        ax.plot(x, [_pct(e.get("id_acc")) for e in ep], "-o", color=c, ms=4, label=f"{name} ID")
        ax.plot(x, [_pct(e.get("ood_acc")) for e in ep], "--s", color=c, ms=4, label=f"{name} OOD")
    if "LP" in m:
        c = METHOD_COLORS["LP"]
        ax.axhline(_pct(m["LP"]["id_acc"]), color=c, lw=1.2, label="LP ID")
        ax.axhline(_pct(m["LP"]["ood_acc"]), color=c, lw=1.2, ls="--", label="LP OOD")
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy after each epoch: would stopping early\nrescue FT's OOD accuracy?", fontsize=10)
    ax.grid(alpha=0.3)
    # Outside the axes (callers leave a right margin): never hides a curve, and no loc="best" search.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def draw_distortion(ax, results: dict, key: str = "relative") -> None:
    """How far the features moved from the pretrained ones, on ID vs OOD examples, per method."""
    m = results["methods"]
    names = [n for n in ORDER if n in m and m[n].get("distortion")]
    idv = [m[n]["distortion"]["id"].get(key) for n in names]
    oodv = [m[n]["distortion"]["ood"].get(key) for n in names]
    idv = [np.nan if v is None else v for v in idv]
    oodv = [np.nan if v is None else v for v in oodv]
    _grouped_bars(ax, names, idv, oodv, annotate=False)
    top = np.nanmax(idv + oodv + [1e-9])
    ax.set_ylim(0, top * 1.25)
    for i, (a, b) in enumerate(zip(idv, oodv)):
        for dx, v in ((-0.19, a), (0.19, b)):
            if np.isfinite(v):
                ax.text(i + dx, v + top * 0.02, f"{v:.3g}", ha="center", va="bottom", fontsize=8)
    label = {"relative": "mean ||phi - phi0|| / mean ||phi0||", "mean_l2": "mean ||phi - phi0||"}[key]
    ax.set_ylabel(label)
    ax.set_title("Feature distortion: change of penultimate features from the pretrained ones", fontsize=10)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(facecolor="#888888", label="ID examples (CIFAR-10 test)"),
                       Patch(facecolor="#888888", alpha=OOD_ALPHA, hatch="//", label="OOD examples (STL-10 test)")],
              loc="upper left", fontsize=8, frameon=False)


def draw_examples(fig, cifar, stl, names) -> None:
    """Two rows of images: CIFAR-10 (ID) above STL-10 (OOD), one column per shared class."""
    n = len(names)
    axes = fig.subplots(2, n)
    for j in range(n):
        for row, imgs in enumerate((cifar, stl)):
            ax = axes[row, j]
            ax.imshow(imgs[j], interpolation="nearest" if row == 0 else "antialiased")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, j].set_title(names[j], fontsize=8)
    axes[0, 0].set_ylabel("CIFAR-10\n32x32 (ID)", fontsize=8)
    axes[1, 0].set_ylabel("STL-10\n96x96 (OOD)", fontsize=8)


def banner_text(results: dict) -> str | None:
    return results.get("banner")


def save_run_figures(results: dict, folder: Path) -> list[str]:
    """Write the three lesson figures of a run as PNGs; returns their paths."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw, size, right in (("accuracy", None, (10, 4), 0.98), ("epochs", draw_epochs, (8.5, 4.2), 0.8),
                                    ("distortion", draw_distortion, (7, 4.2), 0.97)):
        fig = Figure(figsize=size, dpi=90)
        FigureCanvasAgg(fig)
        if draw is None:
            a, b = fig.subplots(1, 2)
            fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.84, wspace=0.22)
            draw_accuracy(a, b, results)
        else:
            ax = fig.subplots()
            fig.subplots_adjust(left=0.1, right=right, bottom=0.12, top=0.85)
            draw(ax, results)
        if results.get("banner"):
            fig.text(0.5, 0.985, results["banner"], ha="center", va="top", fontsize=9, color="#8a1c1c",
                     weight="bold")
        path = folder / f"{name}.png"
        fig.savefig(path)
        paths.append(str(path))
    return paths
