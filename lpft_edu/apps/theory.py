"""Lesson 2 app: Theorem 3.3 live. Sliders for the principal angle between the pretrained feature space
and S-perp, the initial head's alignment error, the feature error eps, the number of features k and
dim S; the figure shows FT's OOD loss over training against the bound, with LP and LP-FT alongside."""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from lpft_edu.apps.base import FigureApp
from lpft_edu.figures import METHOD_COLORS
from lpft_edu.figures.theory import IdPanel, OodBoundPanel
from lpft_edu.linear import METHODS, construct_instance, run_methods

D = 10  # input dimension: small enough for fast slider moves, large enough for k up to 4 and dim S up to 8
APP_STEPS = 1200
APP_RECORD_EVERY = 12
SHORTER, LONGER = "shorter than v*", "longer than v*"


class TheoryApp(FigureApp):
    """Theorem 3.3, live. ``update()`` redraws (tests call it directly).

    Every slider move builds an instance with exactly the requested cos theta_max(R0, S-perp),
    head alignment error phi and feature error eps (``linear.construct_instance``, fixed seed), then
    trains LP, FT and LP-FT in one batch of gradient descent (``APP_STEPS`` steps with the step rule
    eta = 0.05 / lambda_hat of ``lpft_edu.linear``, shared by the three runs). Nothing else is cached
    because every slider changes the instance; the batch keeps a move well under 150 ms.
    """

    def __init__(self, angle_deg: float = 30.0, phi: float = 0.9, eps: float = 0.01, k: int = 2, m: int = 4,
                 head: str = SHORTER, seed: int = 0):
        super().__init__(figsize=(10.0, 4.0), dpi=80)
        style = {"description_width": "14em"}
        wide = widgets.Layout(width="31em")
        self.angle = widgets.FloatSlider(value=angle_deg, min=0, max=90, step=1, description="principal angle [deg]",
                                         style=style, layout=wide, continuous_update=False)
        self.phi = widgets.FloatSlider(value=phi, min=0, max=3, step=0.05, description="head alignment error phi",
                                       style=style, layout=wide, continuous_update=False)
        self.head = widgets.ToggleButtons(options=[SHORTER, LONGER], value=head, description="initial head v0 is",
                                          style={"description_width": "14em", "button_width": "9em"})
        self.eps = widgets.FloatSlider(value=eps, min=0, max=0.3, step=0.005, readout_format=".3f",
                                       description="feature error eps", style=style, layout=wide, continuous_update=False)
        self.k = widgets.IntSlider(value=k, min=1, max=4, description="features k", style=style, layout=wide,
                                   continuous_update=False)
        self.m = widgets.IntSlider(value=m, min=1, max=D - 2, description="dim S (training span)", style=style,
                                   layout=wide, continuous_update=False)
        self.seed = seed
        self.table = widgets.HTML(layout=widgets.Layout(width="22em"))
        self.instance = None
        self.runs = None

        axes = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.65, 1.0]})
        self.figure.subplots_adjust(left=0.075, right=0.985, bottom=0.13, top=0.91, wspace=0.3)
        self.ood_panel, self.id_panel = OodBoundPanel(axes[0]), IdPanel(axes[1])
        self.controls = [self.angle, self.phi, self.head, self.eps, self.k, self.m]
        self.observe_all(self.controls)
        sliders = widgets.VBox([self.angle, self.phi, self.head, self.eps, self.k, self.m])
        self.widget = widgets.VBox([widgets.HBox([sliders, self.table]), self.message, self.image])
        self.update()

    def draw(self) -> None:
        # construct_instance raises LinearSetupError (a ValueError) naming the slider to move.
        inst = construct_instance(D, int(self.k.value), int(self.m.value), angle_deg=float(self.angle.value),
                                  phi=float(self.phi.value), eps=float(self.eps.value),
                                  branch="below" if self.head.value == SHORTER else "above", seed=self.seed)
        runs = run_methods(inst, steps=APP_STEPS, record_every=APP_RECORD_EVERY)
        self.instance, self.runs = inst, runs
        loss_bound = inst.loss_bound()
        self.ood_panel.update(runs, loss_bound)
        self.id_panel.update(runs)
        self.table.value = self._summary_html(loss_bound)

    def _summary_html(self, loss_bound: float) -> str:
        inst, runs = self.instance, self.runs
        ft_min = float(runs["FT"].ood_loss.min())
        rows = "".join(
            f"<tr><td style='color:{METHOD_COLORS[m]}'><b>{m}</b></td><td>{runs[m].id_loss[-1]:.1e}</td>"
            f"<td>{runs[m].ood_loss[-1]:.2e}</td></tr>" for m in METHODS)
        margin = "never crosses it" if ft_min >= loss_bound else "CROSSES IT (please report this)"
        bound_line = (f"bound on FT's OOD loss: <b>{loss_bound:.2e}</b><br>FT's lowest OOD loss: {ft_min:.2e} ({margin})"
                      if loss_bound > 0 else "bound: vacuous (&le; 0) at these settings")
        return (
            "<div style='font-size:88%'>"
            f"<b>Instance</b> (d = {inst.d}, k = {inst.k}, dim S = {inst.m}, ||w*|| = {np.linalg.norm(inst.w_star):.2f})<br>"
            f"cos theta_max(R0, S-perp) = {inst.cos_theta_max:.4f}<br>"
            f"head alignment error phi = {inst.phi:.4f}<br>"
            f"feature error eps = {inst.eps:.4f}<br>{bound_line}"
            "<table><tr><th>method</th><th>final ID loss</th><th>final OOD loss</th></tr>"
            f"{rows}</table><i>{html.escape('Numbers computed here, by gradient descent.')}</i></div>"
        )
