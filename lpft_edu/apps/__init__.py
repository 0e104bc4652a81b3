"""Thin ipywidgets apps, one per demo. Each owns its widgets, calls the pure layer, draws with
lpft_edu.figures, and exposes ``update()`` so tests can drive it without a browser."""
