"""Figures for lesson 2: the linear-network theorems. They draw results from :mod:`lpft_edu.linear`
and :mod:`lpft_edu.theory` on given Axes and compute nothing beyond picking what to show.

The app's panels are classes that create their artists once and then only move them (fixed
margins, no legend placement search): at slider rates re-plotting and layout engines cost more
than the 150 ms budget. The lesson's one-off figures are plain functions.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from lpft_edu.figures import METHOD_COLORS, TARGET_COLOR
from lpft_edu.linear import METHODS, Instance, PhaseDiagram, RatioSweep, Run

LOG_FLOOR = 1e-16  # losses of exactly 0 (to rounding) are drawn at this floor
BOUND_COLOR = TARGET_COLOR
GUIDE = "#616161"
S_COLOR = "#ff7f0e"
SPERP_COLOR = "#9467bd"


def _floor(x) -> np.ndarray:
    return np.maximum(np.asarray(x, float), LOG_FLOOR)


def _plain_power(y, _pos) -> str:
    return f"1e{int(round(np.log10(y)))}" if y > 0 else "0"


def _log_axis(ax, numticks: int = 6) -> None:
    # Few labelled decades, no minor ticks and plain-text labels ("1e-4", not mathtext): tick text
    # dominated the render time, and the app must redraw in well under 150 ms.
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=numticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(_plain_power))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))


def _decade_limits(values, pad_low: float = 0.7, pad_high: float = 0.4) -> tuple[float, float]:
    logs = np.log10(_floor(values))
    return 10 ** (np.floor(logs.min() - pad_low)), 10 ** (np.ceil(logs.max() + pad_high))


# -- the main app's panels ------------------------------------------------------------------------

class OodBoundPanel:
    """OOD loss over training time for LP, FT and LP-FT, with the lower bound on FT (Theorem 3.3's shape)
    and, when LP has not reached it yet, LP's exact limit."""

    def __init__(self, ax):
        self.ax = ax
        _log_axis(ax)
        ax.set_ylim(1e-6, 1.0)  # placeholder limits (update sets the real ones): no singular-limit warning
        self.forbidden = ax.axhspan(LOG_FLOOR, LOG_FLOOR, color=BOUND_COLOR, alpha=0.08, lw=0)
        self.bound_line = ax.axhline(1.0, color=BOUND_COLOR, lw=1.6, ls="--")
        self.bound_text = ax.text(0.01, 1.0, "", ha="left", va="bottom", fontsize=8, color=BOUND_COLOR,
                                  transform=ax.get_yaxis_transform())
        self.curve = {m: ax.plot([0, 1], [1, 1], color=METHOD_COLORS[m], lw=2.2 if m == "FT" else 1.8,
                                 ls="--" if m == "LP-FT" else "-")[0] for m in METHODS}
        self.label = {m: ax.text(1.0, 1.0, f" {m}", color=METHOD_COLORS[m], fontsize=9, fontweight="bold",
                                 va="center", ha="left", clip_on=False) for m in METHODS}
        self.vacuous = ax.text(0.5, 0.04, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=8,
                               color=GUIDE, bbox={"fc": "white", "ec": "#bdbdbd", "pad": 2})
        self.lp_limit_line = ax.axhline(1.0, color=METHOD_COLORS["LP"], lw=1.0, ls=":")
        self.lp_limit_text = ax.text(0.5, 1.0, "LP's limit (t → ∞)", ha="center", va="bottom", fontsize=8,
                                     color=METHOD_COLORS["LP"], transform=ax.get_yaxis_transform())
        ax.set_xlabel("training time t")
        ax.set_ylabel("OOD loss")
        ax.set_title("OOD loss (shaded: ruled out for FT)", fontsize=9.5)
        ax.grid(alpha=0.3)

    def update(self, runs: dict[str, Run], loss_bound: float, lp_limit: float | None = None) -> None:
        """``lp_limit``: LP's exact limiting OOD loss, drawn when LP's run has not reached it (else None)."""
        t_end = max(float(r.t[-1]) for r in runs.values())
        values = ([r.ood_loss for r in runs.values()] + ([[loss_bound]] if loss_bound > 0 else [])
                  + ([[lp_limit]] if lp_limit is not None else []))
        lo, hi = _decade_limits(np.concatenate([np.ravel(v) for v in values]))
        lo = max(lo, LOG_FLOOR)
        for name, run in runs.items():
            y = _floor(run.ood_loss)
            self.curve[name].set_data(run.t, y)
            self.label[name].set_position((t_end * 1.005, float(np.clip(y[-1], lo, hi))))
        # Labels at the right end can overlap (LP and LP-FT often end together): nudge apart in log space.
        order = sorted(METHODS, key=lambda m: self.label[m].get_position()[1])
        last = None
        for m in order:
            x, y = self.label[m].get_position()
            if last is not None and np.log10(y) - np.log10(last) < 0.12 * np.log10(hi / lo) / 2:
                y = last * 10 ** (0.06 * np.log10(hi / lo))
                self.label[m].set_position((x, y))
            last = y
        if loss_bound > 0:
            self.bound_line.set_visible(True)
            self.bound_line.set_ydata([loss_bound, loss_bound])
            self.forbidden.set_visible(True)
            self.forbidden.set_y(lo)
            self.forbidden.set_height(loss_bound - lo)
            self.bound_text.set_text("lower bound on FT (shape of Thm 3.3; docs/theory.md)")
            self.bound_text.set_y(loss_bound)
            self.vacuous.set_text("")
            self.vacuous.set_visible(False)
        else:
            self.bound_line.set_visible(False)
            self.forbidden.set_visible(False)
            self.bound_text.set_text("")
            self.vacuous.set_visible(True)
            self.vacuous.set_text("lower bound vacuous here (it says nothing)")
        self.lp_limit_line.set_visible(lp_limit is not None)
        self.lp_limit_text.set_visible(lp_limit is not None)
        if lp_limit is not None:
            y = max(lp_limit, lo)
            self.lp_limit_line.set_ydata([y, y])
            self.lp_limit_text.set_y(y)
        self.ax.set_xlim(0, t_end)
        self.ax.set_ylim(lo, hi)


class IdPanel:
    """ID loss (on S) over training time for LP, FT and LP-FT."""

    def __init__(self, ax):
        self.ax = ax
        _log_axis(ax, numticks=5)
        self.curve = {m: ax.plot([0, 1], [1, 1], color=METHOD_COLORS[m], lw=2.2 if m == "FT" else 1.8,
                                 ls="--" if m == "LP-FT" else "-")[0] for m in METHODS}
        ax.set_xlabel("training time t")
        ax.set_title("ID loss (on S)", fontsize=9.5)
        ax.grid(alpha=0.3)

    def update(self, runs: dict[str, Run]) -> None:
        t_end = max(float(r.t[-1]) for r in runs.values())
        lo, hi = _decade_limits(np.concatenate([r.id_loss for r in runs.values()]))
        for name, run in runs.items():
            self.curve[name].set_data(run.t, _floor(run.id_loss))
        self.ax.set_xlim(0, t_end)
        self.ax.set_ylim(max(lo, LOG_FLOOR), hi)


# -- lesson figures -------------------------------------------------------------------------------

def plot_setup_3d(ax, inst: Instance, ft: Run | None = None) -> None:
    """d = 3, k = 1: S (a line), S-perp (a plane), the pretrained feature b0, w*, and FT's b(t).

    Needs an instance built with ``rotate=False`` so S is the first coordinate axis.
    """
    if inst.d != 3 or inst.k != 1 or inst.m != 1:
        raise ValueError("The 3D picture needs d = 3, k = 1 and dim S = 1.")
    s, (p1, p2) = inst.S[:, 0], inst.S_perp.T
    grid = np.linspace(-1.2, 1.2, 2)
    g1, g2 = np.meshgrid(grid, grid)
    plane = g1[..., None] * p1 + g2[..., None] * p2
    ax.plot_surface(plane[..., 0], plane[..., 1], plane[..., 2], color=SPERP_COLOR, alpha=0.15, lw=0)
    for edge in (plane[0], plane[-1], plane[:, 0], plane[:, -1]):
        ax.plot(*edge.T, color=SPERP_COLOR, lw=0.8, alpha=0.6)
    ax.plot(*np.outer([-1.4, 1.4], s).T, color=S_COLOR, lw=3)
    ax.text(*(1.5 * s), "S (training data)", color=S_COLOR, fontsize=9)
    ax.text(*(1.2 * p1 - 1.2 * p2), "S-perp (never seen)", color=SPERP_COLOR, fontsize=9)
    b0 = inst.B0[0]
    ax.quiver(0, 0, 0, *b0, color=METHOD_COLORS["LP"], lw=3, arrow_length_ratio=0.15)
    ax.text(*(b0 + [0.12, 0.0, -0.22]), "b0 (pretrained)", color=METHOD_COLORS["LP"], fontsize=9)
    # The part of b0 in S-perp, and the dashed drop from b0 to it: the angle theta_max lives here.
    b0_perp = inst.S_perp @ (inst.S_perp.T @ b0)
    ax.plot(*np.vstack([np.zeros(3), b0_perp]).T, color=SPERP_COLOR, lw=1.5, ls=":")
    ax.plot(*np.vstack([b0_perp, b0]).T, color=GUIDE, lw=1, ls="--")
    w = inst.w_star
    ax.quiver(0, 0, 0, *w, color=TARGET_COLOR, lw=1.5, arrow_length_ratio=0.12)
    ax.text(*(w + [-0.05, 0.0, 0.12]), "w*", color=TARGET_COLOR, fontsize=9)
    if ft is not None:
        path = ft.B[:, 0, :]
        ax.plot(*path.T, color=METHOD_COLORS["FT"], lw=2.2)
        ax.scatter(*path[-1], color=METHOD_COLORS["FT"], s=25)
        ax.text(*(path[-1] + [-0.55, 0.0, 0.3]), "b after FT", color=METHOD_COLORS["FT"], fontsize=9)
    ax.set_xlim(-1.2, 1.2)
    ax.set_ylim(-1.2, 1.2)
    ax.set_zlim(-1.2, 1.2)
    ax.set_xlabel("x1 (= S)")
    ax.set_ylabel("x2")
    ax.set_zlabel("x3")
    ax.set_box_aspect((1, 1, 1))
    ax.set_title(f"FT moves b only along S (red path)\ncos theta_max(R0, S-perp) = {inst.cos_theta_max:.3f}",
                 fontsize=10)


def plot_invariants(axes, runs_by_c: dict[float, Run], sperp_change: dict[float, np.ndarray],
                    drift: dict[float, np.ndarray], drift_bound: dict[float, float]) -> None:
    """Left: invariant 1 (S-perp part of B(t) - B0). Right: invariant 2 (balancedness drift)."""
    shades = ("#d62728", "#ff9896", "#8c564b", "#c49c94")
    for (c, run), colour in zip(runs_by_c.items(), shades):
        axes[0].semilogy(run.t, _floor(sperp_change[c]), color=colour, lw=1.8, label=f"step constant c = {c:g}")
        axes[1].plot(run.t, drift[c], color=colour, lw=1.8, label=f"c = {c:g} (eta = {run.eta:.2g})")
        axes[1].axhline(drift_bound[c], color=colour, lw=1, ls="--")
    axes[0].set_ylim(1e-18, 1e-8)
    axes[1].set_ylim(0, 1.2 * max(drift_bound.values()))
    axes[0].set_title("Invariant 1: features of S-perp do not move\n(exactly 0 in exact arithmetic)", fontsize=9.5)
    axes[0].set_ylabel("max over unit x in S-perp of |(B(t) - B0) x|", fontsize=8.5)
    axes[1].set_title("Invariant 2: balancedness drifts by O(step)\n(dashed: eta x loss decrease, the predicted size)",
                      fontsize=9.5)
    axes[1].set_ylabel("|(v v^T - B B^T)(t) - (v v^T - B B^T)(0)|_F", fontsize=8.5)
    for ax, loc in zip(axes, ("lower right", "center right")):
        ax.set_xlabel("training time t")
        ax.grid(alpha=0.3)
        ax.legend(loc=loc, fontsize=8)


def plot_loss_curves(ax, runs: dict[str, Run], key: str = "ood_loss", loss_bound: float | None = None,
                     title: str = "", bound_label: str = "lower bound on FT (shape of Thm 3.3)") -> None:
    """Loss over training time (log scale) for a few runs, optionally with a bound line.

    Each run is coloured by its method, read from the start of its label ("LP-FT, k = 3" is LP-FT).
    """
    for name, run in runs.items():
        method = name.split(" ")[0].rstrip(",")
        colour = METHOD_COLORS.get(method, GUIDE)
        ax.semilogy(run.t, _floor(getattr(run, key)), color=colour, lw=2, ls="--" if method == "LP-FT" else "-",
                    label=name)
    if loss_bound is not None and loss_bound > 0:
        ax.axhline(loss_bound, color=BOUND_COLOR, ls="--", lw=1.4, label=bound_label)
    ax.set_xlabel("training time t")
    ax.set_ylabel({"ood_loss": "OOD loss", "id_loss": "ID loss (on S)", "train_loss": "training loss"}[key])
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="center right", fontsize=8)


def plot_ratio_sweep(ax, sweeps: dict[str, RatioSweep], title: str = "") -> None:
    """Theorem 3.4: LP/FT OOD ratio against eps on log-log axes, one line per labelled sweep.

    No fitted slope and no guide line: estimating the slope is lesson 2's exercise 4.
    """
    markers = "os^D"
    for (label, sweep), marker, colour in zip(sweeps.items(), markers, (METHOD_COLORS["LP"], GUIDE, "#9467bd", "#8c564b")):
        ax.loglog(sweep.eps, sweep.ratio, marker + "-", color=colour, lw=2, ms=5, label=label)
    ax.axhline(1.0, color=METHOD_COLORS["FT"], lw=1, ls="--")
    ax.text(0.02, 1.15, "above: FT better OOD", fontsize=8, color=METHOD_COLORS["FT"], transform=ax.get_yaxis_transform())
    ax.set_xlabel("feature error eps = d(B0, B*)")
    ax.set_ylabel("L_ood(LP) / min_t L_ood(FT(t))")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def plot_phase_diagram(axes, pd: PhaseDiagram, marker: tuple[float, float] | None = None):
    """FT's best OOD loss (left) and the bound (right) over (angle, head error), one colour scale."""
    values = np.concatenate([pd.ft_best_ood.ravel(), pd.bound[pd.bound > 0].ravel()])
    norm = LogNorm(vmin=max(_floor(values).min(), 1e-8), vmax=values.max())
    # Each cell is centred on its grid point (half a grid step beyond the first and last values).
    da = (pd.angles_deg[-1] - pd.angles_deg[0]) / max(len(pd.angles_deg) - 1, 1)
    dp = (pd.phis[-1] - pd.phis[0]) / max(len(pd.phis) - 1, 1)
    extent = (pd.angles_deg[0] - da / 2, pd.angles_deg[-1] + da / 2, pd.phis[0] - dp / 2, pd.phis[-1] + dp / 2)
    images = []
    for ax, data, title in ((axes[0], pd.ft_best_ood, "FT: best OOD loss over training"),
                            (axes[1], np.where(pd.bound > 0, pd.bound, np.nan), "lower bound on FT (blank: vacuous)")):
        images.append(ax.imshow(data, origin="lower", aspect="auto", extent=extent, norm=norm, cmap="magma_r",
                                interpolation="nearest"))
        ax.set_xlabel("principal angle theta_max(R0, S-perp)  [degrees]")
        ax.set_title(title, fontsize=10)
        if marker is not None:
            ax.plot(*marker, marker="x", color="#00bcd4", ms=10, mew=2)
    axes[0].set_ylabel("head alignment error phi")
    return images
