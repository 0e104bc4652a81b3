"""Lesson 1 app: the 2D toy of feature distortion with sliders and a play control."""
from __future__ import annotations

import html

import ipywidgets as widgets

from lpft_edu.apps.base import FigureApp
from lpft_edu.figures.toy import OodErrorPanel, PredictorSpacePanel
from lpft_edu.toy import X_OOD, ToySetup, run_toy


class ToyApp(FigureApp):
    """Sliders for the feature angle, the initial head, the step size and the number of steps;
    a play control animates the trajectories. ``update()`` redraws (tests call it directly)."""

    def __init__(self, setup: ToySetup = ToySetup()):
        super().__init__(figsize=(10.0, 4.2), dpi=80)
        style = {"description_width": "10em"}
        wide = widgets.Layout(width="26em")
        self.angle = widgets.FloatSlider(value=setup.angle_deg, min=-85, max=85, step=1, description="angle(b0, w*) [deg]",
                                         style=style, layout=wide, continuous_update=False)
        self.v0 = widgets.FloatSlider(value=setup.v0, min=-2, max=2, step=0.05, description="FT initial head v0",
                                      style=style, layout=wide, continuous_update=False)
        self.step = widgets.FloatLogSlider(value=setup.step, base=10, min=-3, max=0.5, step=0.05, description="step size",
                                           style=style, layout=wide, continuous_update=False)
        self.steps = widgets.IntSlider(value=setup.steps, min=5, max=1000, step=5, description="steps per method",
                                       style=style, layout=wide, continuous_update=False)
        self.frame = widgets.IntSlider(value=2 * setup.steps, min=0, max=2 * setup.steps, description="show step",
                                       style=style, layout=wide)
        # Start the play control at the end too: jslink copies its value onto the frame slider
        # when the page loads, which would otherwise reset the readout to 0.
        self.play = widgets.Play(value=2 * setup.steps, min=0, max=2 * setup.steps, step=max(1, setup.steps // 40), interval=150,
                                 description="animate")
        widgets.jslink((self.play, "value"), (self.frame, "value"))
        self.table = widgets.HTML()
        self.result = None
        self._key = None

        axes = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.2]})
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.28)
        self.panels = (PredictorSpacePanel(axes[0]), OodErrorPanel(axes[1]))
        self.controls = [self.angle, self.v0, self.step, self.steps, self.frame]
        self._resizing = False
        self.observe_all([self.angle, self.v0, self.step, self.frame])
        self.steps.observe(self._on_steps, names="value")
        controls = widgets.VBox([self.angle, self.v0, self.step, self.steps, widgets.HBox([self.play, self.frame])])
        self.widget = widgets.VBox([widgets.HBox([controls, self.table]), self.message, self.image])
        self.update()

    @property
    def setup(self) -> ToySetup:
        return ToySetup(angle_deg=self.angle.value, v0=self.v0.value, step=self.step.value, steps=self.steps.value)

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

    def draw(self) -> None:
        setup = self.setup
        if setup != self._key:  # sliders other than the frame need new runs
            self.result, self._key = None, None
            self.result = run_toy(setup)  # raises ToyError (a ValueError) with a fix for the learner
            self._key = setup
            self.table.value = self._summary_html()
        for panel in self.panels:
            panel.update(self.result, self.frame.value)

    def _summary_html(self) -> str:
        r = self.result
        rows = "".join(
            f"<tr><td style='color:{c}'><b>{name}</b></td><td>{s['id_error']:.2e}</td><td>{s['ood_error']:.3e}</td></tr>"
            for (name, s), c in zip(r.summary().items(), ("#1f77b4", "#d62728", "#2ca02c"))
        )
        b0_ood = float(r.setup.b0 @ X_OOD)
        bft_ood = float(r.ft.b[-1] @ X_OOD)
        return (
            "<table style='font-size:90%'><tr><th>method</th><th>ID error</th><th>OOD error</th></tr>"
            f"{rows}</table>"
            "<p style='font-size:90%'><b>The invariant:</b> FT only moves b along x_id, so<br>"
            f"b0 &middot; x_ood = {html.escape(repr(b0_ood))}<br>"
            f"b_FT &middot; x_ood = {html.escape(repr(bft_ood))}<br>"
            f"largest change over training: {r.ood_feature_drift():.1e}</p>"
        )
