"""Figures for lesson 1: the toy's predictor space and its OOD error over training.

Each panel is a small class that creates its artists once on a given Axes and then only moves
them (``update``). Measured on a 2-core machine, clearing and re-plotting plus an automatic
layout engine cost more than the 150 ms a slider may take; moving artists and fixed margins
do not. Nothing here computes: the runs come from :mod:`lpft_edu.toy`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import LogLocator, NullLocator

from lpft_edu.figures import METHOD_COLORS, TARGET_COLOR
from lpft_edu.toy import W_STAR, ToyResult

LOG_FLOOR = 1e-16  # errors of exactly 0 (to machine precision) are drawn at this floor
METHODS = ("LP", "FT", "LP-FT")
GUIDE = "#616161"


def frame_index(length: int, frame: int | None) -> int:
    """Index into a run of ``length`` points for animation frame ``frame`` (None: the end)."""
    return length - 1 if frame is None else int(np.clip(frame, 0, length - 1))


class PredictorSpacePanel:
    """Trajectories of w = v b for LP, FT and LP-FT in the plane (ID axis, OOD axis)."""

    def __init__(self, ax):
        self.ax = ax
        self.b0_line, = ax.plot([], [], color="#9e9e9e", lw=1, ls=":")
        self.id_line = ax.axvline(1.0, color=GUIDE, lw=1.2, ls="--")
        self.ghost = {m: ax.plot([], [], color=METHOD_COLORS[m], lw=2, alpha=0.3)[0] for m in METHODS}
        # LP-FT dashed: where it coincides with LP (it starts FT at the LP solution) both stay visible.
        self.path = {m: ax.plot([], [], color=METHOD_COLORS[m], lw=1.6 if m == "LP-FT" else 2.4, ls="--" if m == "LP-FT" else "-", label=m)[0]
                     for m in METHODS}
        self.dot = {m: ax.plot([], [], "o", color=METHOD_COLORS[m], ms=7, mec="white", mew=1)[0] for m in METHODS}
        ax.plot(*W_STAR, marker="*", color=TARGET_COLOR, ms=15, ls="none")
        # Direct labels instead of a legend: cheaper to draw and easier to read.
        self.star_label = ax.annotate("w*", W_STAR, xytext=(6, 4), textcoords="offset points", fontsize=9)
        self.id_label = ax.text(1.0, 0.02, " fits x_id", transform=ax.get_xaxis_transform(), color=GUIDE, fontsize=8)
        ax.set_aspect("equal", adjustable="box")  # equal axes: angles in the picture are true angles
        ax.set_xlabel("w . x_id   (in-distribution direction)")
        ax.set_ylabel("w . x_ood   (OOD direction)")
        ax.set_title("Effective predictor w = v b\n(dotted: span of b0, where LP moves)", fontsize=9)
        ax.grid(alpha=0.3)

    def update(self, result: ToyResult, frame: int | None = None) -> None:
        setup = result.setup
        pts = np.vstack([t.w for t in result.runs] + [W_STAR[None, :], np.zeros((1, 2))])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        half = 0.5 * max(float(np.max(hi - lo)), 1.0) * 1.15
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
        self.ax.set_xlim(lo[0], hi[0])
        self.ax.set_ylim(lo[1], hi[1])


class OodErrorPanel:
    """OOD squared error over gradient-descent steps (log scale), with the current frame marked."""

    def __init__(self, ax):
        self.ax = ax
        self.curve = {m: ax.semilogy([1], [1], color=METHOD_COLORS[m], lw=2, label=m)[0] for m in METHODS}
        self.now = ax.axvline(0, color=GUIDE, lw=1)
        self.lp_phase = ax.axvspan(0, 1, color=METHOD_COLORS["LP"], alpha=0.06)
        self.phase_text = ax.text(0, 0.97, "LP-FT: LP phase | FT phase ", ha="center", va="top", fontsize=7,
                                  transform=ax.get_xaxis_transform())
        # Few labelled decades and no minor ticks: tick text dominates the render time.
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("gradient-descent step")
        ax.set_ylabel("OOD squared error")
        ax.set_title("OOD error over training", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=7)

    def update(self, result: ToyResult, frame: int | None = None) -> None:
        steps = result.setup.steps
        errs = np.concatenate([np.maximum(t.ood_error, LOG_FLOOR) for t in result.runs])
        self.ax.set_ylim(10 ** np.floor(np.log10(errs.min()) - 1), 10 ** np.ceil(np.log10(errs.max()) + 0.5))
        for traj in result.runs:
            err = np.maximum(traj.ood_error, LOG_FLOOR)
            self.curve[traj.name].set_data(np.arange(len(err)), err)
        self.now.set_xdata([2 * steps if frame is None else frame] * 2)
        self.lp_phase.set_x(0)
        self.lp_phase.set_width(steps)
        self.phase_text.set_x(steps)
        self.ax.set_xlim(0, 2 * steps)


def plot_toy(axes, result: ToyResult, frame: int | None = None):
    """Both panels of lesson 1 on two Axes; returns the panels for later in-place updates."""
    panels = (PredictorSpacePanel(axes[0]), OodErrorPanel(axes[1]))
    for panel in panels:
        panel.update(result, frame)
    return panels


def plot_angle_sweep(ax, sweep) -> None:
    """Final OOD error of LP and FT against the pretrained feature's angle to w*."""
    ax.semilogy(sweep.angles_deg, np.maximum(sweep.lp_ood, LOG_FLOOR), color=METHOD_COLORS["LP"], lw=2, label="LP")
    ax.semilogy(sweep.angles_deg, np.maximum(sweep.ft_ood, LOG_FLOOR), color=METHOD_COLORS["FT"], lw=2, label="FT (v0 = 0)")
    wins = sweep.lp_wins()
    ax.fill_between(sweep.angles_deg, 0, 1, where=wins, color=METHOD_COLORS["LP"], alpha=0.08,
                    transform=ax.get_xaxis_transform(), label="LP better OOD")
    ax.axvline(0, color=GUIDE, lw=1, ls=":")
    # LP is exact at 0 degrees (error ~1e-30); clip so that spike does not flatten the rest.
    ax.set_ylim(bottom=1e-5)
    ax.annotate("LP exact at 0 deg", (0, 1e-5), xytext=(6, 8), textcoords="offset points", fontsize=8,
                color=METHOD_COLORS["LP"])
    ax.set_xlabel("angle between pretrained feature b0 and w*  [degrees]")
    ax.set_ylabel("final OOD squared error")
    ax.set_title("Good features (small angle): LP beats FT out of distribution", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
