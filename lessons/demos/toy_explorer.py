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
# # Feature distortion in two dimensions
#
# **Try this**
#
# 1. Set **angle(b0, w\*)** to 0: LP (blue) and LP-FT (green) reach w\* exactly, while FT (red) stops short on the OOD axis.
# 2. Set it to 30: now FT ends with the lower OOD error (right panel), because the pretrained feature was far from w\*.
# 3. Press &#9654; beside **show step** to replay training: LP-FT starts where LP ended and stays there.

# %%
from lpft_edu.apps.toy import ToyApp

ToyApp()

# %% [markdown]
# A pretrained model gives one feature direction **b0**; the true predictor is **w\***. We fit a
# single training point on the x-axis three ways: **linear probing** (LP, train only the head),
# **fine-tuning** (FT, train head and feature from a fresh head **v0**) and **LP-FT** (LP first,
# then FT from the probed head). Fine-tuning only ever moves the feature along the training
# direction, so its answer on the out-of-distribution direction (the y-axis) stays what the
# pretrained feature said while the head is rescaled: the feature is *distorted*.
#
# Move the **angle** between b0 and w\* (negative: turned towards the training direction) and the
# **initial head** and watch the right panel. Close to perfect features (a small angle, on either
# side) LP ends with the lower out-of-distribution error; with v0 = 0 that holds from -45 to about
# +7 degrees, and beyond +7 degrees FT wins. LP-FT starts from the converged probe, fits already,
# and stays exactly at LP's answer. Each method takes its own step size, the **step size ×
# curvature** factor divided by the curvature of its loss; above 2 gradient descent diverges. The
# table lists in- and out-of-distribution errors and flags any run that has not converged; press
# play to animate training. Settings that cannot train (b0 perpendicular to the training point at
# 45 degrees, or a step so large that training diverges) show a message instead of a plot.
# *Toy setting after Kumar et al., ICLR 2022, Figure 2; all numbers here are computed live.*
