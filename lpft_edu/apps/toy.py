"""Lesson 1 app: the 2D toy of feature distortion with sliders and a play control."""
from __future__ import annotations

import html

import ipywidgets as widgets

from lpft_edu.apps.base import FigureApp
from lpft_edu.figures import METHOD_COLORS
from lpft_edu.figures.style import fit_for_room
from lpft_edu.figures.toy import OodErrorPanel, PredictorSpacePanel
from lpft_edu.toy import ANGLE_RANGE, CONTROL_NAMES, X_ID, X_OOD, ToySetup, not_converged_note, run_toy

FRAME_NAME = "show step"
STEPS_MAX = 1000  # caps the work of one slider move: 3 runs of at most this many steps each


class ToyApp(FigureApp):
    """Sliders for the feature angle, the initial head, the step size and the number of steps;
    a play control animates the trajectories. ``update()`` redraws (tests call it directly)."""

    def __init__(self, setup: ToySetup = ToySetup()):
        # 820 x 360 px: beside a 29em column of controls in a page 1280 px wide or more.
        super().__init__(figsize=(10.25, 4.5), dpi=80)
        style = {"description_width": "11em"}
        wide = widgets.Layout(width="28em")
        lo, hi, step = ANGLE_RANGE
        self.angle = widgets.FloatSlider(value=setup.angle_deg, min=lo, max=hi, step=step,
                                         description=CONTROL_NAMES["angle_deg"], style=style, layout=wide,
                                         continuous_update=False)
        # Wide enough for exercise 3 (the LP head at 30 degrees is 3.86) and beyond.
        self.v0 = widgets.FloatSlider(value=setup.v0, min=-5, max=5, step=0.01, description=CONTROL_NAMES["v0"],
                                      style=style, layout=wide, continuous_update=False)
        # 0.001 to 3.16: below 2 LP is stable at every angle, above 2 it diverges (the app says so).
        self.step = widgets.FloatLogSlider(value=setup.step_factor, base=10, min=-3, max=0.5, step=0.05,
                                        description=CONTROL_NAMES["step_factor"], style=style, layout=wide,
                                        continuous_update=False)
        self.steps = widgets.IntSlider(value=setup.steps, min=5, max=STEPS_MAX, step=5,
                                       description=CONTROL_NAMES["steps"], style=style, layout=wide,
                                       continuous_update=False)
        # Beside the play buttons: a shorter label and track, so both fit the controls' column.
        self.frame = widgets.IntSlider(value=2 * setup.steps, min=0, max=2 * setup.steps, description=FRAME_NAME,
                                       style={"description_width": "6em"}, layout=widgets.Layout(width="17em"))
        self.play = widgets.Play(value=2 * setup.steps, min=0, max=2 * setup.steps, step=max(1, setup.steps // 40),
                                 interval=150, description="animate")
        # A link in Python, not jslink: it works under every widget manager (Colab's included), and
        # since both widgets start at the last frame the readout is right when the page loads.
        self.play_link = widgets.link((self.play, "value"), (self.frame, "value"))
        self.table = widgets.HTML(layout=widgets.Layout(margin="6px 0 0 0"))
        self.result = None
        self._key = None

        axes = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.2]})
        self.figure.subplots_adjust(left=0.08, right=0.975, bottom=0.14, top=0.87, wspace=0.3)
        self.panels = (PredictorSpacePanel(axes[0]), OodErrorPanel(axes[1]))
        self.text_pt = fit_for_room(self.figure)  # every text at least 12 px on screen
        self.controls = [self.angle, self.v0, self.step, self.steps, self.frame]
        self._resizing = False
        self.observe_all([self.angle, self.v0, self.step, self.frame])
        self.steps.observe(self._on_steps, names="value")
        controls = widgets.VBox([self.angle, self.v0, self.step, self.steps, widgets.HBox([self.play, self.frame]),
                                 self.table])
        self.widget = self.beside(controls, "29em")
        self.update()

    @property
    def setup(self) -> ToySetup:
        return ToySetup(angle_deg=self.angle.value, v0=self.v0.value, step_factor=self.step.value,
                        steps=self.steps.value)

    def _on_steps(self, change) -> None:
        # A new run length: show its end and let the play control span it, then draw once
        # (the frame slider's own observer would otherwise render a second time).
        self._resizing = True
        try:
            self.frame.max = self.play.max = 2 * change["new"]
            self.ranges[self.frame] = (0, 2 * change["new"])
            self.frame.value = 2 * change["new"]
            self.play.step = max(1, change["new"] // 40)
        finally:
            self._resizing = False
        self.update()

    def update(self, *change) -> None:
        if not self._resizing:
            super().update(*change)

    def show_message(self, text: str | None) -> None:
        super().show_message(text)
        if text:
            # The table describes the last good run, not the settings on screen: clear it, and
            # forget that run so the next valid setting is computed afresh.
            self.table.value = ""
            self.result, self._key = None, None

    def draw(self) -> None:
        setup = self.setup
        if setup != self._key:  # sliders other than the frame need new runs
            self.result, self._key = None, None
            self.result = run_toy(setup)  # raises ToyError (a ValueError) with a fix for the learner
            self._key = setup
            self.table.value = self._summary_html()
        for panel in self.panels:
            panel.update(self.result, self.frame.value)

    def describe(self) -> str:
        r, s = self.result, self.setup
        final = ", ".join(f"{t.name} {t.ood_error[-1]:.1e}" for t in r.runs)
        frame = self.frame.value
        when = "" if frame >= 2 * s.steps else f" The picture shows step {frame} of {2 * s.steps}."
        late = r.not_converged()
        note = f" Not converged: {', '.join(late)}." if late else ""
        return (f"left, the paths of LP (blue), FT (red) and LP-FT (green, dashed) towards w* (star) at angle "
                f"{s.angle_deg:g} degrees, v0 = {s.v0:g}; right, their OOD error over training, ending at {final}."
                f"{when}{note}")

    def _summary_html(self) -> str:
        r = self.result
        no = "<b style='color:#b71c1c'>NO</b>"
        rows = "".join(
            f"<tr><td style='color:{METHOD_COLORS[t.name]}'><b>{t.name}</b></td><td>{t.id_error[-1]:.2e}</td>"
            f"<td>{t.ood_error[-1]:.3e}</td><td>{'yes' if t.converged else no}</td></tr>"
            for t in r.runs
        )
        note = not_converged_note(r)
        note_html = (f"<p class='lpft-not-converged' style='font-size:90%;color:#8a1c1c;background:#fdecea;"
                     f"padding:2px 6px'>&#9888; {html.escape(note)}</p>") if note else ""
        b0_ood = float(r.setup.b0 @ X_OOD)
        bft_ood = float(r.ft.b[-1] @ X_OOD)
        return (
            # line-height: the widget's default (one control row per line) spreads the readout out.
            "<div style='line-height:1.35'>"
            "<table style='font-size:90%'><tr><th>method</th><th>ID error</th><th>OOD error</th><th>converged</th></tr>"
            f"{rows}</table>{note_html}"
            "<p style='font-size:90%'><b>The invariant:</b> FT only moves b along x_id, so<br>"
            f"b0 &middot; x_ood = {html.escape(repr(b0_ood))}<br>"
            f"b_FT &middot; x_ood = {html.escape(repr(bft_ood))}<br>"
            f"largest change over training: {r.ood_feature_drift():.1e}<br>"
            f"(b &middot; x_id went from {float(r.setup.b0 @ X_ID):.4f} to {float(r.ft.b[-1] @ X_ID):.4f})</p></div>"
        )
