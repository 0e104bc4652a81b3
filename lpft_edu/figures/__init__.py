"""Drawing functions: they take results and draw on a given matplotlib Axes, computing nothing.
One module per lesson; colours shared so LP, FT and LP-FT look the same everywhere."""

METHOD_COLORS = {"LP": "#1f77b4", "FT": "#d62728", "LP-FT": "#2ca02c", "Scratch": "#7f7f7f"}
TARGET_COLOR = "#111111"
