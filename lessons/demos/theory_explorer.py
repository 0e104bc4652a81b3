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
# A two-layer linear network: pretrained features **B0** (k of them, in d = 10 input dimensions)
# and a linear head **v**. The training data span a subspace **S**; the directions it never sees
# form **S-perp**. Fine-tuning (FT) cannot change what the features do on S-perp, so when the
# pretrained feature space reaches into S-perp (a small **principal angle** theta_max between
# them, i.e. a large cos theta_max) and the fresh head starts far from the right one (a large
# **head alignment error** phi), FT's out-of-distribution (OOD) loss stays above a floor: the
# lower bound of Theorem 3.3 (the black dashed line on the left; the shaded region
# below it is ruled out for FT). Each slider move builds a new instance
# with exactly these values, plus the **feature error** eps of the pretrained features, k features
# and **dim S** training directions, and trains linear probing (LP), FT and LP-FT by gradient
# descent (about a tenth of a second). Watch FT stay above the bound while LP-FT, which starts
# from the LP head, does not pay it. The theory needs dim S < d - k; settings outside its
# assumptions show a message that says which slider to move. *Theory from Kumar et al.,
# ICLR 2022, Section 3; the losses shown are computed here, not quoted from the paper.*

# %%
from lpft_edu.apps.theory import TheoryApp

TheoryApp()
