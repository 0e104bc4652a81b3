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
ACC_TOP = 150  # accuracy axes end here: a two-line legend fits above bars of 100 %


class NothingToDraw(ValueError):
    """The results hold nothing for this figure (e.g. no per-epoch records); the message says what
    to look at instead."""


def _methods(results: dict) -> list[str]:
    return [m for m in ORDER if m in results.get("methods", {})]


def _pct(v):
    return np.nan if v is None else 100.0 * v


def _status(m) -> str:
    return m.get("status", "complete") if isinstance(m, dict) else "complete"


def _file_text(value, limit: int = 40) -> str:
    """A string from a results file, ready for a matplotlib Text drawn with ``parse_math=False``:
    cut short so a long one cannot swamp the figure."""
    s = str(value)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _grouped_bars(ax, names, id_vals, ood_vals, annotate=True, id_err=None, ood_err=None, notes=None, top=118):
    """ID (solid) and OOD (hatched) bars per method; ``*_err`` are error-bar half-lengths (NaN for
    none); ``notes`` a word per method drawn where its bars would be (e.g. "diverged")."""
    x = np.arange(len(names))
    w = 0.38
    for i, name in enumerate(names):
        c = METHOD_COLORS.get(name, "#555555")
        for dx, vals, err, kw in ((-w / 2, id_vals, id_err, {}), (w / 2, ood_vals, ood_err, {"alpha": OOD_ALPHA, "hatch": "//"})):
            e = None if err is None or not np.isfinite(err[i]) else err[i]
            ax.bar(x[i] + dx, vals[i], w, color=c, edgecolor=c, yerr=e, capsize=3 if e is not None else 0,
                   error_kw={"ecolor": "#222222", "lw": 1}, **kw)
            if annotate and np.isfinite(vals[i]):
                end = vals[i] + (e or 0)
                ax.text(x[i] + dx, end + 1, f"{vals[i]:.1f}", ha="center", va="bottom", fontsize=8)
        if notes and notes[i]:
            ax.text(x[i], 4, notes[i], ha="center", va="bottom", fontsize=9, color="#8a1c1c", weight="bold",
                    rotation=90 if len(notes[i]) > 8 else 0)
    ax.set_xticks(x, names)
    ax.set_ylim(0, top)  # room above 100 % for the value labels and the legend
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("accuracy (%)")
    ax.grid(axis="y", alpha=0.3)


def _id_ood_key(ax, id_label="ID: CIFAR-10 test", ood_label="OOD: STL-10 test", ncol=2):
    from matplotlib.patches import Patch
    legend = ax.legend(handles=[Patch(facecolor="#888888", label=id_label),
                                Patch(facecolor="#888888", alpha=OOD_ALPHA, hatch="//", label=ood_label)],
                       loc="upper left", fontsize=8, frameon=False, ncol=ncol)
    for text in legend.get_texts():  # the labels may hold names from the file: never mathtext
        text.set_parse_math(False)


_KIND_WORDS = {"real": "real data", "fake": "fake data", "unknown": "data of unknown origin"}
DEFAULT_DATASETS = {"id": "CIFAR-10 test", "ood": "STL-10 test"}
NO_PAPER_NOTE = "The paper has no numbers for this laptop experiment"


def experiment(results: dict) -> str:
    """``"cifar-stl"`` (lesson 3, the default) or ``"lpft-mini"`` (the laptop experiment)."""
    return results.get("experiment") or "cifar-stl"


def dataset_names(results: dict) -> tuple[str, str]:
    """Short names of the ID and OOD test sets, for labels: the file's ``datasets`` (cut short;
    drawn with ``parse_math=False``), else CIFAR-10/STL-10, marked when the data is not real."""
    d = results.get("datasets")
    if isinstance(d, dict) and isinstance(d.get("id"), str) and isinstance(d.get("ood"), str):
        return _file_text(d["id"], 30), _file_text(d["ood"], 30)
    kind = results.get("data_kind")
    if kind == "fake":
        return "fake " + DEFAULT_DATASETS["id"], "fake " + DEFAULT_DATASETS["ood"]
    if kind != "real":
        return DEFAULT_DATASETS["id"] + " (unverified)", DEFAULT_DATASETS["ood"] + " (unverified)"
    return DEFAULT_DATASETS["id"], DEFAULT_DATASETS["ood"]


def seed_count(results: dict) -> int:
    m = results["methods"]
    return max((len(m[n].get("per_seed") or []) for n in _methods(results)), default=0)


def has_std(results: dict) -> bool:
    m = results["methods"]
    return any(m[n].get(k) is not None for n in _methods(results) for k in ("id_acc_std", "ood_acc_std"))


def draw_accuracy(ax_ours, ax_paper, results: dict) -> None:
    """ID vs OOD accuracy per method: this run (left, with +-1 std error bars when the file has
    them) beside the paper's Table 1 (right, labelled). For ``lpft-mini`` the right panel says
    that the paper has no numbers for that experiment instead: its CIFAR-10 -> STL-10 numbers
    are not comparable with a laptop run on other data."""
    names = _methods(results)
    m = results["methods"]
    std = lambda key: [100.0 * m[n][key] if m[n].get(key) is not None else np.nan for n in names]  # noqa: E731
    notes = [None if _status(m[n]) == "complete" else _status(m[n]) for n in names]
    _grouped_bars(ax_ours, names, [_pct(m[n].get("id_acc")) for n in names], [_pct(m[n].get("ood_acc")) for n in names],
                  id_err=std("id_acc_std"), ood_err=std("ood_acc_std"), notes=notes, top=ACC_TOP)
    kind = _KIND_WORDS.get(results.get("data_kind"), "data not read")
    backbone = (results.get("config") or {}).get("backbone")
    what = kind if backbone is None else f"{kind}, {_file_text(backbone, 24)}"
    mini = experiment(results) == "lpft-mini"
    seeds = seed_count(results)
    spread = ""
    if has_std(results):
        spread = f"\nmean of {seeds} seeds, bars \u00b11 std" if seeds > 1 else "\nbars \u00b11 std"
    elif seeds > 1:
        spread = f"\nmean of {seeds} seeds"
    ax_ours.set_title(f"{'lpft-mini' if mini else 'This run'} ({what}){spread}", fontsize=10, parse_math=False)
    id_name, ood_name = dataset_names(results)
    _id_ood_key(ax_ours, f"ID: {id_name}", f"OOD: {ood_name}", ncol=1)
    if mini:
        ax_paper.set_axis_off()
        ax_paper.text(0.0, 0.75, NO_PAPER_NOTE.replace(" for ", "\nfor ") + ".", ha="left", va="center",
                      fontsize=11, weight="bold", transform=ax_paper.transAxes, linespacing=1.3)
        ax_paper.text(0.0, 0.55, "Kumar et al. (2022) report CIFAR-10 \u2192 STL-10\nwith a ResNet-50. "
                      "lpft-mini is a different,\nmuch smaller experiment: its accuracies\nare not comparable "
                      "with the paper's.", ha="left", va="top", fontsize=11, transform=ax_paper.transAxes,
                      linespacing=1.4)
        return
    ref = paper_numbers.CIFAR_STL
    pnames = [n for n in ORDER if n in ref]
    _grouped_bars(ax_paper, pnames, [ref[n][0] for n in pnames], [ref[n][1] for n in pnames], top=ACC_TOP)
    ax_paper.set_title("Paper: " + ref["source"].replace(" (", "\n("), fontsize=8.5)
    _id_ood_key(ax_paper, ncol=1)


def draw_epochs(ax, results: dict) -> None:
    """Accuracy after every epoch for FT and LP-FT (ID solid, OOD dashed); LP as thin lines."""
    m = results["methods"]
    drawn = False
    for name in ("FT", "LP-FT"):
        if name not in m or not m[name].get("epochs"):
            continue
        ep = m[name]["epochs"]
        x = [e["epoch"] for e in ep]
        c = METHOD_COLORS[name]
        suffix = "" if _status(m[name]) == "complete" else f" ({_status(m[name])})"
        ax.plot(x, [_pct(e.get("id_acc")) for e in ep], "-o", color=c, ms=4, label=f"{name} ID{suffix}")
        ax.plot(x, [_pct(e.get("ood_acc")) for e in ep], "--s", color=c, ms=4, label=f"{name} OOD{suffix}")
        drawn = True
    if not drawn:
        raise NothingToDraw("This results file has no per-epoch records for FT or LP-FT (not run, diverged before "
                            "an epoch, or an experiment that records final accuracies only): choose "
                            "'ID vs OOD accuracy' above.")
    if "LP" in m and m["LP"].get("id_acc") is not None:
        c = METHOD_COLORS["LP"]
        ax.axhline(_pct(m["LP"]["id_acc"]), color=c, lw=1.2, label="LP ID")
        if m["LP"].get("ood_acc") is not None:
            ax.axhline(_pct(m["LP"]["ood_acc"]), color=c, lw=1.2, ls="--", label="LP OOD")
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy after each epoch: would stopping early\nrescue FT's OOD accuracy?", fontsize=10)
    ax.grid(alpha=0.3)
    # Outside the axes (callers leave a right margin): never hides a curve, and no loc="best" search.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _has_distortion(m) -> bool:
    d = m.get("distortion")
    return isinstance(d, dict) and isinstance(d.get("id"), dict) and isinstance(d.get("ood"), dict)


def draw_distortion(ax, results: dict, key: str = "relative") -> None:
    """How far the features moved from the pretrained ones, on ID vs OOD examples, per method."""
    m = results["methods"]
    names = [n for n in ORDER if n in m and _has_distortion(m[n])]
    if not names:
        raise NothingToDraw("This results file records no feature distortion (no method finished, or an "
                            "experiment that does not measure it): choose 'ID vs OOD accuracy' above.")
    idv = [m[n]["distortion"]["id"].get(key) for n in names]
    oodv = [m[n]["distortion"]["ood"].get(key) for n in names]
    idv = [np.nan if v is None else v for v in idv]
    oodv = [np.nan if v is None else v for v in oodv]
    _grouped_bars(ax, names, idv, oodv, annotate=False)
    top = np.nanmax(idv + oodv + [1e-9])
    from matplotlib.ticker import AutoLocator
    ax.yaxis.set_major_locator(AutoLocator())  # not the accuracy ticks _grouped_bars set
    ax.set_ylim(0, top * 1.35)  # room for the legend above the tallest bar
    for i, (a, b) in enumerate(zip(idv, oodv)):
        for dx, v in ((-0.19, a), (0.19, b)):
            if np.isfinite(v):
                ax.text(i + dx, v + top * 0.02, f"{v:.3g}", ha="center", va="bottom", fontsize=8)
    label = {"relative": "mean ||phi - phi0|| / mean ||phi0||", "mean_l2": "mean ||phi - phi0||"}[key]
    ax.set_ylabel(label)
    ax.set_title("Feature distortion: change of penultimate features from the pretrained ones", fontsize=10)
    id_name, ood_name = dataset_names(results)
    _id_ood_key(ax, f"ID: {id_name}", f"OOD: {ood_name}", ncol=1)


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
            try:
                draw(ax, results)
            except NothingToDraw:  # e.g. every FT/LP-FT learning rate diverged: no epochs to plot
                continue
        if results.get("banner"):
            fig.text(0.5, 0.985, _file_text(results["banner"], 100), ha="center", va="top", fontsize=9,
                     color="#8a1c1c", weight="bold", parse_math=False)
        path = folder / f"{name}.png"
        fig.savefig(path)
        paths.append(str(path))
    return paths
