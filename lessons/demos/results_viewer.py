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
# # Lesson 3 results: LP, FT and LP-FT on CIFAR-10 to STL-10
#
# Lesson 3 trains a pretrained image model three ways on CIFAR-10 and tests it both on CIFAR-10
# (in distribution, ID) and on STL-10 (out of distribution, OOD): linear probing (LP), full
# fine-tuning (FT) and LP-FT. This page only *shows* a finished run; nothing trains here. The
# left plot puts each method's ID accuracy against its OOD accuracy next to the numbers reported
# by Kumar et al. (ICLR 2022); the other views show accuracy per epoch and how far each method
# moved the pretrained features (feature distortion). **Unless your instructor has loaded a real
# run, what you see is the example shipped with the package: a smoke run on fake data with a tiny
# model, which checks the pipeline and says nothing about real accuracy — the banner says so.**
# To look at your own run, open its `results.json` (written by `lpft-cifar-stl` under
# `runs/<time>-<id>/`) with the upload button; a missing or malformed file shows what is wrong and
# how to produce one.

# %%
import os

from lpft_edu.apps.results import ResultsViewerApp

# The instructor can point the whole room at a real run: LPFT_RESULTS=path/to/results.json make demos
ResultsViewerApp(os.environ.get("LPFT_RESULTS") or None)
