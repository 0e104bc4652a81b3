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
# 1. Compare the hatched (OOD) bars: which method keeps the most accuracy out of distribution? Are the differences large next to the error bars (± 1 standard deviation over 5 seeds)?
# 2. Click **Feature distortion**: which method moved the pretrained features most, and is that the one that lost most OOD accuracy?
# 3. Click **Open results.json** and choose your own run's `results.json` (in `runs/<time>-<id>/`): a red banner warns if its data is fake or unverified, or the run did not finish.

# %%
import os

from lpft_edu.apps.results import ResultsViewerApp, example_mini_path

# The instructor can point the whole room at another run: LPFT_RESULTS=path/to/results.json make demos
ResultsViewerApp(os.environ.get("LPFT_RESULTS") or example_mini_path())

# %% [markdown]
# Lesson 3 adapts a pretrained network three ways, linear probing (LP), full fine-tuning (FT) and
# LP-FT, and tests it in distribution (ID: data like the training data) and out of distribution
# (OOD: shifted data). This page only *shows* a finished run; nothing trains here. The first view
# puts each method's ID accuracy beside its OOD accuracy; the others show accuracy per epoch and
# how far each method moved the pretrained features (feature distortion).
#
# **Unless your instructor has loaded another run, what you see is the example shipped with the
# package: a real run of `lpft-mini --seeds 5`, lesson 3's laptop experiment** (a small network
# pretrained on scikit-learn's handwritten digits, centred and moved; then trained on centred digits
# only and tested on centred (ID) and moved (OOD) ones). Its bars are means over the 5 seeds with
# ±1 sample standard deviation, and the paper's panel is replaced by a note, because the paper has
# no numbers for that experiment. A CIFAR-10 → STL-10 run from `lpft-cifar-stl` shows the
# paper's Table 1 beside it instead; a run on fake data (`--smoke`) only checks the pipeline, and
# its banner says so. A results file is only data: a file that is malformed, too large (over 5 MB),
# unfinished or diverged shows a message or a banner saying so, never someone else's code.
