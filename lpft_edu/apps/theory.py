"""Lesson 2 app: the lower bound on FT's OOD loss, live. Sliders for the principal angle between the
pretrained feature space and S-perp, the initial head's alignment error, the feature error eps, the
number of features k and dim S; the figure shows FT's OOD loss over training against the bound, with
LP and LP-FT alongside, and a readout says which results' hypotheses hold at the sliders' values."""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from lpft_edu.apps.base import FigureApp
from lpft_edu.figures import METHOD_COLORS
from lpft_edu.figures.style import fit_for_room
from lpft_edu.figures.theory import IdPanel, OodBoundPanel
from lpft_edu.linear import METHODS, LinearSetupError, construct_instance, lp_head, run_methods

D = 10  # input dimension: small enough for fast slider moves, large enough for k up to 4 and dim S up to 8
APP_STEPS = 1200
APP_RECORD_EVERY = 12
# Step constant of the step rule eta = c / lambda_hat (lpft_edu.linear): twice the library default,
# so 1200 steps reach t = 20, where every run at the default settings has settled.
APP_STEP_C = 0.1
SHORTER, LONGER = "shorter than v*", "longer than v*"
# LP counts as at its limit when its losses are within 1% (or 1e-10) of the exact limit's.
LP_RTOL, LP_ATOL = 0.01, 1e-10
# Which keyword of construct_instance each control sets (messages from the library name these).
PARAMETERS = {"angle": "angle_deg", "phi": "phi", "head": "branch", "eps": "eps", "k": "k", "m": "m"}


class TheoryApp(FigureApp):
    """The bound, live. ``update()`` redraws (tests call it directly).

    Every slider move builds an instance with exactly the requested cos theta_max(R0, S-perp),
    head alignment error phi and feature error eps (``linear.construct_instance``, fixed seed), then
    trains LP, FT and LP-FT in one batch of gradient descent (``APP_STEPS`` steps of the step rule
    with c = ``APP_STEP_C``, one step size shared by the three runs). LP's limit is known exactly
    (``linear.lp_head``); the readout says whether each run's final numbers are settled.
    """

    def __init__(self, angle_deg: float = 30.0, phi: float = 0.9, eps: float = 0.01, k: int = 2, m: int = 4,
                 head: str = SHORTER, seed: int = 0):
        # 800 x 360 px: beside a 31.2em column of controls in a page 1280 px wide or more.
        super().__init__(figsize=(10.0, 4.5), dpi=80)
        style = {"description_width": "12.5em"}
        wide = widgets.Layout(width="31em")
        self.angle = widgets.FloatSlider(value=angle_deg, min=0, max=90, step=1, description="principal angle [deg]",
                                         style=style, layout=wide, continuous_update=False)
        self.phi = widgets.FloatSlider(value=phi, min=0, max=3, step=0.05, description="head alignment error phi",
                                       style=style, layout=wide, continuous_update=False)
        self.head = widgets.ToggleButtons(options=[SHORTER, LONGER], value=head, description="initial head v0 is",
                                          style={"description_width": "12.5em", "button_width": "8.8em"},
                                          # flex: its label beside the buttons, like the sliders' labels
                                          layout=widgets.Layout(width="31em", display="flex", align_items="center"))
        self.eps = widgets.FloatSlider(value=eps, min=0, max=0.3, step=0.005, readout_format=".3f",
                                       description="feature error eps", style=style, layout=wide, continuous_update=False)
        self.k = widgets.IntSlider(value=k, min=1, max=4, description="features k", style=style, layout=wide,
                                   continuous_update=False)
        self.m = widgets.IntSlider(value=m, min=1, max=D - 2, description="dim S (training span)", style=style,
                                   layout=wide, continuous_update=False)
        self.seed = seed
        self.table = widgets.HTML(layout=widgets.Layout(width="31em", margin="6px 0 0 0"))
        self.instance = None
        self.runs = None
        self.lp_limit = None  # LP's exact limit: {"train", "id", "ood"}
        self._last_change = None

        axes = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.65, 1.0]})
        self.figure.subplots_adjust(left=0.08, right=0.985, bottom=0.13, top=0.92, wspace=0.3)
        self.ood_panel, self.id_panel = OodBoundPanel(axes[0]), IdPanel(axes[1])
        self.text_pt = fit_for_room(self.figure)  # every text at least 12 px on screen
        self.controls = [self.angle, self.phi, self.head, self.eps, self.k, self.m]
        self.observe_all(self.controls)
        sliders = widgets.VBox([self.angle, self.phi, self.head, self.eps, self.k, self.m, self.table])
        self.widget = self.beside(sliders, "31.2em")
        self.update()

    # -- naming the controls in messages ---------------------------------------------------------
    def control_name(self, attribute: str) -> str:
        """How messages name a control: its label as the learner sees it, and what kind it is."""
        control = getattr(self, attribute)
        kind = "buttons" if isinstance(control, widgets.ToggleButtons) else "slider"
        return f"the '{control.description}' {kind}"

    @property
    def parameter_names(self) -> dict[str, str]:
        """construct_instance's keywords -> the control that sets each (for LinearSetupError.render)."""
        return {param: self.control_name(attr) for attr, param in PARAMETERS.items()}

    def update(self, *change) -> None:
        # Remember which control moved: a message with no better advice names it.
        if change and isinstance(change[0], dict) and change[0].get("owner") in self.controls:
            self._last_change = change[0]
        super().update(*change)

    def show_message(self, text: str | None) -> None:
        # The readout describes the last good picture: hide it with the picture while a message shows.
        super().show_message(text)
        self.table.layout.visibility = "hidden" if text else "visible"

    def _fallback(self, what: str) -> ValueError:
        """A message for a failure no control is responsible for: name the control that just moved."""
        if self._last_change is not None:
            owner = self._last_change["owner"]
            attr = next(a for a in PARAMETERS if getattr(self, a) is owner)
            fix = f"move {self.control_name(attr)} back to {self._last_change['old']!r}"
        else:
            fix = f"move {self.control_name('angle')} to 30 to start from the default setting"
        return ValueError(f"{what} Please report these settings, then {fix}.")

    # -- drawing ---------------------------------------------------------------------------------
    def draw(self) -> None:
        try:
            inst = construct_instance(D, int(self.k.value), int(self.m.value), angle_deg=float(self.angle.value),
                                      phi=float(self.phi.value), eps=float(self.eps.value),
                                      branch="below" if self.head.value == SHORTER else "above", seed=self.seed)
        except LinearSetupError as exc:
            try:
                raise ValueError(exc.render(self.parameter_names)) from exc
            except KeyError:  # the message asks for a parameter no control sets: say what, not how
                raise self._fallback(f"These settings cannot be built "
                                     f"({exc.render({p: p for p in exc.parameters}).split(':')[0]}).") from exc
        try:
            runs = run_methods(inst, steps=APP_STEPS, record_every=APP_RECORD_EVERY, c=APP_STEP_C)
        except (LinearSetupError, np.linalg.LinAlgError) as exc:  # divergence: the step rule should prevent it
            raise self._fallback("Gradient descent failed at these settings.") from exc
        v_lp = lp_head(inst)
        self.instance, self.runs = inst, runs
        self.lp_limit = {"train": float(inst.train_loss(v_lp, inst.B0)), "id": float(inst.id_loss(v_lp, inst.B0)),
                         "ood": float(inst.ood_loss(v_lp, inst.B0))}
        loss_bound = inst.loss_bound()
        self.ood_panel.update(runs, loss_bound, lp_limit=None if self.lp_settled else self.lp_limit["ood"])
        self.id_panel.update(runs)
        self.table.value = self.readout_html(loss_bound)

    def describe(self) -> str:
        bound = self.instance.loss_bound()
        floor = f"above its lower bound {bound:.1e} (black dashed)" if bound > 0 else "with the lower bound vacuous here"
        final = ", ".join(f"{m} {float(self.runs[m].ood_loss[-1]):.1e}" for m in METHODS)
        return (f"left, OOD loss over training of LP (blue), FT (red) and LP-FT (green, dashed), FT {floor}, "
                f"ending at {final}; right, their ID loss on S.")

    # -- what the numbers mean ---------------------------------------------------------------------
    @property
    def lp_settled(self) -> bool:
        """LP's final numbers are its limit (to 1%): LP is least squares, so its limit is known exactly."""
        lp = self.runs["LP"]
        return all(abs(float(getattr(lp, f"{key}_loss")[-1]) - self.lp_limit[key]) <= LP_RTOL * self.lp_limit[key] + LP_ATOL
                   for key in ("id", "ood"))

    def status(self, method: str) -> str:
        """'settled' or 'still changing' for the table (LP: compared with its exact limit)."""
        if method == "LP":
            return "at its limit" if self.lp_settled else "still falling"
        return "settled" if self.runs[method].settled() else "still changing"

    def hypothesis_notes(self) -> list[str]:
        """Plain sentences: where the sliders leave a result's hypotheses, and what happens then."""
        inst, notes = self.instance, []
        eps_name, k_name, m_name = self.control_name("eps"), self.control_name("k"), self.control_name("m")
        angle_name = self.control_name("angle")
        rank = inst.feature_rank
        if rank == 0:
            notes.append(f"rank(X B0^T) = 0: every feature lies in S-perp, so the training data see none of them. "
                         "LP cannot move (v stays 0), and LP-FT starts where every gradient is zero and never moves. "
                         f"Proposition 3.7 needs rank(X B0^T) = k: move {angle_name} above 0.")
        elif rank < inst.k:
            notes.append(f"rank(X B0^T) = {rank} < k = {inst.k}: the training data see only {rank} of the {inst.k} "
                         "feature directions, so LP cannot learn the unseen part of v*. Proposition 3.7 needs "
                         "rank(X B0^T) = k: at eps = 0 LP-FT starts with zero training residual and never moves, so "
                         f"it keeps LP's OOD loss ({self.lp_limit['ood']:.2e} here), not 0. "
                         f"Move {k_name} down to {inst.m} or less.")
        if inst.features_inside_S:
            notes.append("R0 lies inside S: no feature reads S-perp, so there is nothing FT could distort. At eps = 0 "
                         "FT also reaches OOD loss 0 once it fits the training data, and the lower bound is 0.")
        if inst.eps > 0 and rank == inst.k and not inst.features_inside_S:
            notes.append(f"Proposition 3.7 (LP-FT keeps OOD loss 0) is about perfect features: set {eps_name} "
                         "to 0 to see it.")
        if inst.k >= inst.m and rank == inst.m:
            notes.append(f"k = {inst.k} >= dim S = {inst.m}: LP already fits S exactly, so FT has no ID advantage "
                         f"here. The ID claim needs k < dim S: move {m_name} up or {k_name} down.")
        elif inst.eps == 0:
            notes.append("eps = 0: w* lies in rowspace(B0), so LP fits S exactly too and FT has no ID advantage. "
                         f"Raise {eps_name} to see FT win ID.")
        return notes

    def _bound_html(self, loss_bound: float) -> str:
        inst = self.instance
        ft_min = float(self.runs["FT"].ood_loss.min())
        if loss_bound > 0:
            margin = "never below it" if ft_min >= loss_bound else "BELOW IT (please report this)"
            return (f"lower bound on FT's OOD loss: <b>{loss_bound:.2e}</b><br>"
                    f"FT's lowest OOD loss: {ft_min:.2e} ({margin})")
        if inst.phi == 0:
            why = "phi = 0, so h(phi, ||w*||) = 0"
        elif inst.cos_theta_max < 1e-12:  # some feature direction lies inside S
            why = "cos theta_max(R0, S-perp) = 0: a feature direction lies inside S"
        else:
            why = (f"eps ||w*|| = {inst.eps * inst.w_norm:.3f} &ge; cos theta_max &middot; h(phi, ||w*||) = "
                   f"{inst.vacuous_from_eps * inst.w_norm:.3f}")
        return f"lower bound: <b>vacuous</b> here ({why})"

    def readout_html(self, loss_bound: float) -> str:
        inst, runs = self.instance, self.runs
        t_end = float(runs["FT"].t[-1])
        rows = "".join(
            f"<tr><td style='color:{METHOD_COLORS[m]}'><b>{m}</b></td><td>{runs[m].id_loss[-1]:.1e}</td>"
            f"<td>{runs[m].ood_loss[-1]:.2e}</td><td>{self.status(m)}</td></tr>" for m in METHODS)
        lim = self.lp_limit
        rows += (f"<tr><td style='color:{METHOD_COLORS['LP']}'>LP, t &rarr; &infin;</td><td>{lim['id']:.1e}</td>"
                 f"<td>{lim['ood']:.2e}</td><td>exact</td></tr>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.hypothesis_notes())
        return (
            "<div style='font-size:90%;line-height:1.35'>"
            f"<b>Instance</b> (d = {inst.d}, k = {inst.k}, dim S = {inst.m}, ||w*|| = {inst.w_norm:.2f}): "
            f"cos theta_max(R0, S-perp) = {inst.cos_theta_max:.4f}, phi = {inst.phi:.4f}, eps = {inst.eps:.4f}, "
            f"rank(X B0^T) = {inst.feature_rank}<br>{self._bound_html(loss_bound)}"
            f"<table><tr><th>method</th><th>ID loss</th><th>OOD loss</th><th>at t = {t_end:.1f}</th></tr>"
            f"{rows}</table>"
            + (f"<ul style='margin:2px 0 0 1.2em;padding:0'>{notes}</ul>" if notes else "")
            + "<i>Numbers computed here by gradient descent; LP's limit in closed form. LP-FT starts from "
              "that limit, not from LP's run. 'settled': no loss moved by more than 1% over the last tenth "
              "of the run.</i></div>"
        )
