"""Text sizes that read in a room: the apps' figures are shown on a projector or a 1366x768 laptop.

A text of ``pt`` points in a figure rendered at ``dpi`` is ``pt * dpi / 72`` pixels tall in the PNG,
and the browser scales the PNG by (displayed width / PNG width). The apps show their PNG at its own
width (scale 1, see :class:`lpft_edu.apps.base.FigureApp`), so every text at or above
:func:`min_points` for the figure's dpi is at least ``MIN_TEXT_PX`` pixels on screen.

:func:`fit_for_room` raises every text of a figure (tick labels included, present and future) to
that size; :func:`smallest_text_px` measures the result. The lessons' one-off figures are left as
they are: they are read up close in a notebook.
"""
from __future__ import annotations

from matplotlib.text import Text

MIN_TEXT_PX = 12.0


def text_px(points: float, dpi: float, scale: float = 1.0) -> float:
    """Height in screen pixels of a ``points``-point font rendered at ``dpi`` and shown at ``scale``
    (displayed width / figure width in pixels)."""
    return points * dpi / 72.0 * scale


def min_points(dpi: float, px: float = MIN_TEXT_PX) -> float:
    """The smallest font size in points that is ``px`` pixels at ``dpi`` (rounded up to 0.1 pt)."""
    return -(-round(px * 72.0 / dpi * 10, 6) // 1) / 10


def fit_for_room(figure, px: float = MIN_TEXT_PX) -> float:
    """Raise every text in ``figure`` smaller than ``px`` pixels to that size; returns the point size.

    Call once the artists exist (the apps' panels create theirs once and then only move them).
    Tick labels are set through ``tick_params`` so that ticks created later get the size too."""
    pt = min_points(figure.dpi, px)
    for ax in figure.axes:
        ax.tick_params(axis="both", which="both", labelsize=pt)
    for text in _texts(figure, ticks=False):
        if text.get_fontsize() < pt:
            text.set_fontsize(pt)
    return pt


def _texts(figure, ticks: bool) -> list[Text]:
    """Every text of ``figure``: titles, axis labels, annotations, legends, figure texts, and with
    ``ticks`` the tick labels (those exist only once the figure has been drawn with data)."""
    out = list(figure.texts)
    for legend in figure.legends:
        out += legend.get_texts() + [legend.get_title()]
    for ax in figure.axes:
        out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            out += legend.get_texts() + [legend.get_title()]
        if ticks:
            for axis in (ax.xaxis, ax.yaxis):
                out += axis.get_ticklabels(which="both") + [axis.get_offset_text()]
    return out


def visible_texts(figure) -> list[Text]:
    """The texts a reader sees: visible and non-empty (call after a render, for the tick labels)."""
    return [t for t in _texts(figure, ticks=True) if t.get_visible() and t.get_text().strip()]


def smallest_text_px(figure, scale: float = 1.0) -> float:
    """The smallest visible text of ``figure`` in screen pixels when shown at ``scale``."""
    figure.canvas.draw()  # ticks and their labels exist only once the figure is drawn
    sizes = [t.get_fontsize() for t in visible_texts(figure)]
    return text_px(min(sizes), figure.dpi, scale) if sizes else float("inf")
