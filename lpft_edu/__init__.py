"""lpft-edu: interactive lessons on linear probing, fine-tuning and LP-FT (Kumar et al., ICLR 2022).

Layers, from data to display (imports only go downwards):
  toy, linear, theory   pure numpy/scipy computation (no torch, no widgets, no plotting)
  figures               drawing on a given matplotlib Axes
  apps                  ipywidgets apps, one per demo, each with update()
  exercises             self-check functions for the lessons' exercises
  vision                lesson 3 only (torch, torchvision); never imported by the rest
"""

__version__ = "0.1.0"
