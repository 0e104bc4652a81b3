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
# # Lesson 3 results: LP, FT and LP-FT, in and out of distribution
#
# **Try this**
#
# 1. Compare the hatched (OOD) bars: which method keeps the most accuracy out of distribution, in this run and in the paper's panel?
# 2. Click **Feature distortion**: which method moved the pretrained features most, and is that the one that lost most OOD accuracy?
# 3. Click **Open results.json** and choose your own run's `results.json` (in `runs/<time>-<id>/`): a red banner warns if its data is fake or unverified, or the run did not finish.

# %%
import os

from lpft_edu.apps.results import ResultsViewerApp

# The instructor can point the whole room at a real run: LPFT_RESULTS=path/to/results.json make demos
ResultsViewerApp(os.environ.get("LPFT_RESULTS") or None)

# %% [markdown]
# Lesson 3 trains a pretrained image model three ways on CIFAR-10 and tests it both on CIFAR-10
# (in distribution, ID) and on STL-10 (out of distribution, OOD): linear probing (LP), full
# fine-tuning (FT) and LP-FT. This page only *shows* a finished run; nothing trains here. The
# left plot puts each method's ID accuracy against its OOD accuracy next to the numbers reported
# by Kumar et al. (ICLR 2022); the other views show accuracy per epoch and how far each method
# moved the pretrained features (feature distortion). **Unless your instructor has loaded a real
# run, what you see is the example shipped with the package: a smoke run on fake data with a tiny
# model, which checks the pipeline and says nothing about real accuracy — the banner says so.**
#
# The viewer also opens results of `lpft-mini`, the laptop experiment on scikit-learn's digits:
# there the bars are means over seeds with ±1 standard deviation, and the paper's panel is
# replaced by a note, because the paper has no numbers for that experiment. A results file is only
# data: a file that is malformed, too large (over 5 MB), unfinished or diverged shows a message or a
# banner saying so, never someone else's code.
