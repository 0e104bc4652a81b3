"""Shared machinery for the interactive apps.

Why a PNG in an ``ipywidgets.Image`` rather than ``%matplotlib widget`` or re-displaying a figure
in an Output: the app keeps one persistent matplotlib Figure (no pyplot, so nothing leaks into
the notebook's global figure list), moves its artists in place, and sends the re-rendered PNG.
This works the same in JupyterLab, Voila and Binder with no extra front-end extension, never
flickers (the Output is not cleared), and gives tests something concrete to compare:
``app.image.value`` changes exactly when the picture does.
"""
from __future__ import annotations

import html
import io
import math

import ipywidgets as widgets
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# PNG compression level 1: several times faster to encode than the default 6, for images
# only a little larger. Slider latency is dominated by this encode.
_PNG_KWARGS = {"compress_level": 1}


class DescribedImage(widgets.Image):
    """An ``ipywidgets.Image`` whose ``tooltip`` works.

    The front end sets a widget's tooltip as its ``title`` only when ``description`` is empty, and
    reads ``description.length``; Image has no description, so in ipywidgets 8.1 a tooltip on an
    Image throws in the browser and the view is never created. An empty synced ``description``
    (same model, one more attribute) lets the tooltip through, here and under any widget manager."""

    description = traitlets.Unicode("").tag(sync=True)


class FigureApp:
    """Base class: a persistent figure, an image widget that shows it, and a message line.

    Subclasses build their controls and artists, lay them out in ``self.widget``, list their
    value widgets in ``self.controls`` (benchmarks and browser tests move these), and implement
    ``draw()``, which recomputes and updates the artists in place (raising ``ValueError`` with a
    learner-facing message for settings that make no sense). Set fixed margins with
    ``self.figure.subplots_adjust``; layout engines are too slow for slider rates.
    """

    def __init__(self, figsize=(9.0, 4.0), dpi: int = 80):
        # No layout engine: constrained layout alone took ~150 ms a render here. Subclasses set
        # fixed margins with subplots_adjust.
        self.figure = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(self.figure)
        # Shown at its own pixel width (scale 1), so a text of lpft_edu.figures.style.min_points(dpi)
        # points is MIN_TEXT_PX pixels on screen; max_width shrinks it only in a narrower column.
        self.width_px = int(round(figsize[0] * dpi))
        self.image = DescribedImage(format="png", layout=widgets.Layout(width=f"{self.width_px}px", max_width="100%",
                                                                 height="auto"))
        self.message = widgets.HTML(layout=widgets.Layout(min_height="1.5em"))
        self.message.add_class("lpft-message")
        # An <img> from ipywidgets has no alt attribute: the picture is described by its tooltip
        # (the title attribute) and by this visible line under it, both set from describe().
        self.description = widgets.HTML(layout=widgets.Layout(max_width=f"{self.width_px}px"))
        self.description.add_class("lpft-plot-description")
        self.error: str | None = None
        self.controls: list[widgets.ValueWidget] = []
        # The allowed values of each control, recorded in Python when the app is built. The
        # browser's slider limits are no protection: a crafted comm message can set a widget's
        # ``max`` and then its ``value``, so every move is checked against these instead.
        self.ranges: dict[widgets.Widget, tuple] = {}
        self.widget: widgets.Widget = widgets.VBox([self.message, self.image, self.description])

    # -- to be provided by subclasses -------------------------------------------------------
    def draw(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str | None:
        """One line saying what the current picture shows (its alt text), or None to keep the last."""
        return None

    # -- shared behaviour --------------------------------------------------------------------
    def freeze_ranges(self) -> None:
        """Record every control's allowed values (min/max, or options) as built in Python.

        Call once the controls exist; a subclass whose range legitimately changes (a frame slider
        that follows the run length) updates ``self.ranges[control]`` itself."""
        for control in self.controls:
            if hasattr(control, "options"):
                self.ranges[control] = ("options", tuple(control._options_values))  # values, not (label, value) pairs
            elif hasattr(control, "min") and hasattr(control, "max"):
                self.ranges[control] = (control.min, control.max)

    def check_controls(self) -> None:
        """Raise ``ValueError`` (shown to the learner) when a control holds a value outside the
        range recorded by :meth:`freeze_ranges`; nothing is computed for such a value."""
        for control, allowed in self.ranges.items():
            value = control.value
            name = (control.description or type(control).__name__).strip()
            if allowed and allowed[0] == "options":
                if value not in allowed[1]:
                    raise ValueError(f"'{name}' cannot be {value!r}: choose one of its buttons.")
                continue
            lo, hi = allowed
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"'{name}' must be a number between {lo:g} and {hi:g}: move the slider.")
            if isinstance(control, widgets.FloatLogSlider):  # min/max are exponents of the base
                value = math.log(value, control.base) if value > 0 else -math.inf
                lo, hi = control.base ** lo, control.base ** hi
                value = control.base ** value if math.isfinite(value) else 0.0
            if not (lo <= value <= hi):
                raise ValueError(f"'{name}' = {control.value:g} is outside its range {lo:g} to {hi:g}: "
                                 "move the slider back into its range (reload the page to restore it).")

    def update(self, *_change) -> None:
        """Recompute and redraw; a ``ValueError`` becomes a message in the app, not a traceback."""
        try:
            if not self.ranges:
                self.freeze_ranges()
            self.check_controls()
            self.draw()
        except ValueError as exc:
            self.show_message(str(exc))
            return
        self.show_message(None)
        self.render()
        text = self.describe()
        if text is not None:
            self.set_description(text)

    def render(self) -> None:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", pil_kwargs=_PNG_KWARGS)
        self.image.value = buf.getvalue()

    def set_description(self, text: str) -> None:
        """Describe the picture: the image's tooltip and the visible line under it."""
        self.image.tooltip = text
        self.description.value = (f'<div style="color:#424242;line-height:1.35">'
                                  f'<b>Plot:</b> {html.escape(text)}</div>')

    def column(self, *above, width: str | None = None) -> widgets.VBox:
        """The picture's column: ``above`` (e.g. nothing), the message line, the image, its description."""
        return widgets.VBox([*above, self.message, self.image, self.description],
                            layout=widgets.Layout(width=width or f"{self.width_px + 4}px", max_width="100%"))

    def beside(self, controls: widgets.Widget, controls_width: str) -> widgets.Box:
        """The room layout: ``controls`` in a column on the left, the picture's column on the right,
        top-aligned, so a move and its effect are on screen together (1366x768 and up). In a page
        too narrow for both (a notebook beside a file browser) the picture wraps to directly below."""
        controls.layout.width = controls_width
        controls.layout.margin = "0 16px 8px 0"
        return widgets.Box([controls, self.column()],
                           layout=widgets.Layout(display="flex", flex_flow="row wrap", align_items="flex-start"))

    def show_message(self, text: str | None) -> None:
        self.error = text
        # Hide (but keep the space of) the last good picture while a message explains why there is
        # no new one: a stale plot under an error is easy to misread as the answer to the new input.
        self.image.layout.visibility = "hidden" if text else "visible"
        self.description.layout.visibility = "hidden" if text else "visible"
        if text is None:
            self.message.value = ""
        else:
            self.message.value = (
                '<div style="color:#8a1c1c;background:#fdecea;border-left:4px solid #c62828;'
                f'padding:4px 8px">&#9888; {html.escape(text)}</div>'
            )

    def observe_all(self, controls) -> None:
        """Redraw whenever any of ``controls`` changes value."""
        for control in controls:
            control.observe(self.update, names="value")

    def _repr_mimebundle_(self, **kwargs):
        # Lets a notebook show the app by naming it on the last line of a cell.
        return self.widget._repr_mimebundle_(**kwargs)
