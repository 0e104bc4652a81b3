# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # When does fine-tuning distort features? The linear theory, live
#
# **Try this**
#
# 1. Move **principal angle** from 30 to 80: the shaded floor under FT's OOD loss (red) sinks, since features far from S-perp are hard to distort.
# 2. Set **head alignment error phi** to 0: the lower bound becomes vacuous, since a head that starts aligned need not distort the features.
# 3. Set **feature error eps** to 0: LP-FT's OOD loss (green, dashed) falls to 0 while FT stays above its bound.

# %%
from lpft_edu.apps.theory import TheoryApp

TheoryApp()

# %% [markdown]
# A two-layer linear network: pretrained features **B0** (k of them, in d = 10 input dimensions)
# and a linear head **v**. The training data span a subspace **S**; the directions it never sees
# form **S-perp**. Fine-tuning (FT) cannot change what the features do on S-perp. When the
# pretrained feature space reaches into S-perp (a *small* **principal angle** theta_max between
# them, i.e. a large cos theta_max) and the fresh head starts far from the right one (a large
# **head alignment error** phi = sqrt|(v0 . v*)^2 - |v*|^4|), FT's out-of-distribution (OOD) loss
# stays above a floor: the black dashed line on the left, a lower bound of the shape of the paper's
# Theorem 3.3, proved in this project's [docs/theory.md](../../docs/theory.md). The shaded region
# below it is ruled out for FT; where the bound says nothing the plot says "vacuous".
#
# Each slider move builds a new instance with exactly these values, plus the **feature error** eps
# of the pretrained features, k features and **dim S** training directions, and trains linear
# probing (LP), FT and LP-FT by gradient descent. One move takes 50 to 80 ms of computation (the
# median for each slider, measured in Python on a 2-core machine with `benchmarks/run_all.py`; the
# browser adds its round trip). The readout says whether each run has settled by the end of training (LP, whose limit is
# known exactly, can still be falling at small angles: the dotted line shows where it is going) and
# when the sliders leave a result's hypotheses. Settings the theory does not cover (it needs
# dim S < d - k) show a message that names the slider to move. *Theory from Kumar et al., ICLR 2022,
# Section 3; the losses shown are computed here, not quoted from the paper.*
