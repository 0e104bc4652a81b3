"""Figures for lesson 1: the toy's predictor space and its OOD error over training.

Each panel is a small class that creates its artists once on a given Axes and then only moves
them (``update``). Measured on a 2-core machine, clearing and re-plotting plus an automatic
layout engine cost more than the 150 ms a slider may take; moving artists and fixed margins
do not. Nothing here computes: the runs come from :mod:`lpft_edu.toy`.

LP-FT often coincides with LP (it starts fine-tuning at the probed head), so the methods are
drawn so that each stays visible on top of the others: LP as a wide solid line at the bottom,
FT in between, LP-FT as a thin dashed line on top, distinct end markers, and a text label next
to each method's current point instead of a legend.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from lpft_edu.figures import METHOD_COLORS, TARGET_COLOR
from lpft_edu.toy import W_STAR, ToyResult

LOG_FLOOR = 1e-16  # errors of exactly 0 (to machine precision) are drawn at this floor
METHODS = ("LP", "FT", "LP-FT")
GUIDE = "#616161"
WARN = "#b71c1c"
# Bottom to top; widths so that a line drawn on top of another leaves the one below visible.
LINE_STYLE = {
    "LP": dict(lw=5.0, ls="-", zorder=3),
    "FT": dict(lw=2.4, ls="-", zorder=4),
    "LP-FT": dict(lw=1.8, ls=(0, (4, 3)), zorder=5),
}
MARKER_STYLE = {"LP": dict(marker="o", ms=11, zorder=6), "FT": dict(marker="s", ms=8, zorder=7),
                "LP-FT": dict(marker="D", ms=5, zorder=8)}
# Each label sits on its own side of its point, so labels of coinciding points never overlap.
LABEL_OFFSET = {"LP": dict(xytext=(-9, 7), ha="right"), "FT": dict(xytext=(9, 7), ha="left"),
                "LP-FT": dict(xytext=(9, -12), ha="left")}
# Over training, LP-FT ends at the right edge: its label goes to the left there.
CURVE_LABEL_OFFSET = {**LABEL_OFFSET, "LP-FT": dict(xytext=(-9, -12), ha="right")}


def frame_index(length: int, frame: int | None) -> int:
    """Index into a run of ``length`` points for animation frame ``frame`` (None: the end)."""
    return length - 1 if frame is None else int(np.clip(frame, 0, length - 1))


def _method_artists(ax, name: str, offsets=LABEL_OFFSET):
    """The line, end marker and direct text label of one method."""
    color = METHOD_COLORS[name]
    line, = ax.plot([], [], color=color, label=name, solid_capstyle="butt", **LINE_STYLE[name])
    dot, = ax.plot([], [], ls="none", color=color, mec="white", mew=1, label=f"_{name} now", **MARKER_STYLE[name])
    text = ax.annotate(name, (0, 0), textcoords="offset points", va="center", fontsize=9, fontweight="bold",
                       color=color, zorder=9, annotation_clip=False, **offsets[name])
    return line, dot, text


def convergence_label(result: ToyResult) -> str:
    """Short note for a figure: which shown runs have not converged ('' when all have)."""
    names = result.not_converged()
    return f"NOT CONVERGED: {', '.join(names)}" if names else ""


class PredictorSpacePanel:
    """Trajectories of w = v b for LP, FT and LP-FT in the plane (ID axis, OOD axis)."""

    def __init__(self, ax):
        self.ax = ax
        self.b0_line, = ax.plot([], [], color="#9e9e9e", lw=1, ls=":")
        self.id_line = ax.axvline(1.0, color=GUIDE, lw=1.2, ls="--")
        self.ghost = {m: ax.plot([], [], color=METHOD_COLORS[m], lw=LINE_STYLE[m]["lw"], alpha=0.25,
                                 zorder=2, label=f"_{m} whole run")[0] for m in METHODS}
        self.path, self.dot, self.text = {}, {}, {}
        for m in METHODS:
            self.path[m], self.dot[m], self.text[m] = _method_artists(ax, m)
        ax.plot(*W_STAR, marker="*", color=TARGET_COLOR, ms=15, ls="none", zorder=10)
        self.star_label = ax.annotate("w*", W_STAR, xytext=(6, -12), textcoords="offset points", fontsize=9)
        self.id_label = ax.text(1.0, 0.02, " fits x_id", transform=ax.get_xaxis_transform(), color=GUIDE, fontsize=8)
        ax.set_aspect("equal", adjustable="box")  # equal axes: angles in the picture are true angles
        for axis in (ax.xaxis, ax.yaxis):  # few tick labels: their text dominates the render time
            axis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel("w . x_id   (in-distribution direction)")
        ax.set_ylabel("w . x_ood   (OOD direction)")
        ax.set_title("Effective predictor w = v b\n(dotted: span of b0, where LP moves)", fontsize=9)
        ax.grid(alpha=0.3)

    def update(self, result: ToyResult, frame: int | None = None) -> None:
        setup = result.setup
        pts = np.vstack([t.w for t in result.runs] + [W_STAR[None, :], np.zeros((1, 2))])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        half = 0.5 * max(float(np.max(hi - lo)), 1.0) * 1.2
        mid = (lo + hi) / 2
        lo, hi = mid - half, mid + half  # a square window, so the equal aspect fills the box
        b0 = setup.b0
        reach = 4 * half + np.abs(mid).max()
        self.b0_line.set_data([-reach * b0[0], reach * b0[0]], [-reach * b0[1], reach * b0[1]])
        self.id_line.set_xdata([setup.y_id, setup.y_id])
        self.id_label.set_x(setup.y_id)
        for traj in result.runs:
            i = frame_index(len(traj.v), frame)
            self.ghost[traj.name].set_data(traj.w[:, 0], traj.w[:, 1])
            self.path[traj.name].set_data(traj.w[: i + 1, 0], traj.w[: i + 1, 1])
            self.dot[traj.name].set_data([traj.w[i, 0]], [traj.w[i, 1]])
            self.text[traj.name].xy = (traj.w[i, 0], traj.w[i, 1])
        self.ax.set_xlim(lo[0], hi[0])
        self.ax.set_ylim(lo[1], hi[1])


class OodErrorPanel:
    """OOD squared error over gradient-descent steps (log scale), with the current frame marked
    and a warning when a shown run has not converged."""

    def __init__(self, ax):
        self.ax = ax
        self.curve, self.dot, self.text = {}, {}, {}
        for m in METHODS:
            self.curve[m], self.dot[m], self.text[m] = _method_artists(ax, m, CURVE_LABEL_OFFSET)
            self.curve[m].set_data([1], [1])
        self.now = ax.axvline(0, color=GUIDE, lw=1)
        self.lp_phase = ax.axvspan(0, 1, color=METHOD_COLORS["LP"], alpha=0.06)
        self.phase_text = ax.text(0, 0.97, "LP-FT: LP phase | FT phase ", ha="center", va="top", fontsize=7,
                                  transform=ax.get_xaxis_transform())
        self.warning = ax.text(0.02, 0.03, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=9,
                               fontweight="bold", color=WARN, zorder=10,
                               bbox=dict(boxstyle="round,pad=0.3", fc="#fdecea", ec=WARN, lw=1))
        ax.set_yscale("log")
        # Few labelled decades and no minor ticks: tick text dominates the render time.
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("gradient-descent step (own step size per method)")
        ax.set_ylabel("OOD squared error")
        ax.set_title("OOD error over training", fontsize=10)
        ax.grid(alpha=0.3)

    def update(self, result: ToyResult, frame: int | None = None) -> None:
        steps = int(result.setup.steps)
        errs = np.concatenate([np.maximum(t.ood_error, LOG_FLOOR) for t in result.runs])
        self.ax.set_ylim(10 ** np.floor(np.log10(errs.min()) - 1), 10 ** np.ceil(np.log10(errs.max()) + 0.5))
        for traj in result.runs:
            err = np.maximum(traj.ood_error, LOG_FLOOR)
            i = frame_index(len(err), frame)
            self.curve[traj.name].set_data(np.arange(len(err)), err)
            self.dot[traj.name].set_data([i], [err[i]])
            self.text[traj.name].xy = (i, err[i])
        self.now.set_xdata([2 * steps if frame is None else frame] * 2)
        self.lp_phase.set_x(0)
        self.lp_phase.set_width(steps)
        self.phase_text.set_x(steps)
        self.ax.set_xlim(0, 2 * steps)
        note = convergence_label(result)
        self.warning.set_text(note)
        self.warning.set_visible(bool(note))


def plot_toy(axes, result: ToyResult, frame: int | None = None):
    """Both panels of lesson 1 on two Axes; returns the panels for later in-place updates."""
    panels = (PredictorSpacePanel(axes[0]), OodErrorPanel(axes[1]))
    for panel in panels:
        panel.update(result, frame)
    return panels


def plot_angle_sweep(ax, sweep, interval: tuple[float, float], v0: float = 0.0) -> None:
    """Final OOD error of LP and FT against the pretrained feature's angle to w*, with the
    interval where LP wins (computed by :func:`lpft_edu.toy.lp_wins_interval`) shaded."""
    lo, hi = interval
    a = sweep.angles_deg
    gap = np.flatnonzero(np.diff(a) > 1.5 * np.min(np.diff(a)))  # angles left out around 45 degrees
    lp = np.maximum(sweep.lp_ood, LOG_FLOOR)
    ft = np.maximum(sweep.ft_ood, LOG_FLOOR)
    lp_line, ft_line = np.insert(lp, gap + 1, np.nan), np.insert(ft, gap + 1, np.nan)
    a_line = np.insert(a, gap + 1, np.nan)
    ax.semilogy(a_line, lp_line, color=METHOD_COLORS["LP"], lw=2.4, label="LP")
    ax.semilogy(a_line, ft_line, color=METHOD_COLORS["FT"], lw=2, label=f"FT (v0 = {v0:g})")
    ax.axvspan(lo, hi, color=METHOD_COLORS["LP"], alpha=0.1, label="LP better OOD")
    for end in (lo, hi):
        ax.axvline(end, color=METHOD_COLORS["LP"], lw=1, ls="--")
        ax.annotate(f"{end:.2f}°", (end, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=8, color=METHOD_COLORS["LP"])
    ax.axvline(0, color=GUIDE, lw=1, ls=":")
    ax.axvline(45, color=GUIDE, lw=1, ls=":")
    ax.annotate("b0 perpendicular\nto x_id:\nLP undefined", (45, 1e-4), xytext=(4, 0), textcoords="offset points", fontsize=7,
                color=GUIDE)
    # LP is exact at 0 degrees (error ~1e-32); clip so that spike does not flatten the rest.
    ax.set_ylim(bottom=1e-5)
    ax.annotate("LP exact at 0°", (0, 1e-5), xytext=(4, 8), textcoords="offset points", fontsize=8,
                color=METHOD_COLORS["LP"])
    ax.set_xlabel("angle of b0 from w* [degrees]   (< 0: turned towards x_id,  > 0: towards x_ood)")
    ax.set_ylabel("converged OOD squared error")
    ax.set_title(f"Gradient flow, v0 = {v0:g}: LP beats FT out of distribution only between "
                 f"{lo:.2f}° and {hi:.2f}°\n(and on both sides of 0°, as Theorem 3.4's limit says)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
