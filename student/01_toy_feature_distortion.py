# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 · Feature distortion in two dimensions
#
# **Duration: about 30 minutes.**
# **Prerequisites:** dot products and vectors in the plane, gradient descent on a squared loss, and
# reading a short numpy expression. No deep learning is needed. Terms are defined in the
# [glossary](../docs/glossary.md).
#
# *Part of [lpft-edu](../README.md): lessons on Kumar et al., "Fine-Tuning can Distort Pretrained
# Features and Underperform Out-of-Distribution" (ICLR 2022).*
#
# You have a pretrained model and a new labelled task. Two standard ways to adapt it:
#
# * **Linear probing (LP):** freeze the features, train only the last linear layer (the *head*).
# * **Fine-tuning (FT):** train everything, starting from a fresh head.
#
# FT usually wins on test data that looks like the training data (in-distribution, **ID**). This
# lesson shows, in a picture small enough to hold in your head, why FT can lose on data that looks
# different (out-of-distribution, **OOD**), and why *first probing, then fine-tuning* (**LP-FT**)
# avoids the problem.
#
# **Learning goals.** After this lesson you can
# 1. explain what "feature distortion" means, using a 2D example;
# 2. say which directions of the input fine-tuning changes, and which it cannot change;
# 3. find, in the toy, the pretrained features for which LP beats FT out of distribution, explain from
#    the formulas where that set ends, and state what the paper's Theorem 3.4 does (and does not)
#    promise;
# 4. explain why starting fine-tuning from the converged linear-probe head prevents the distortion.

# %% [markdown]
# **Student version.** Each exercise has a line such as `answer = ...  # YOUR CODE HERE`: write your own code there and run the cell; the self-check below it prints **Correct!** or **Not yet** with a hint. Answers to the *Think!* questions are folded: open one once you have your own answer.

# %% [markdown] tags=["launch-badges"]
# **Run this lesson online** (nothing to install; Colab needs a Google account):
#
# * Student version (exercises to do): [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lpft-edu/lpft-edu/blob/main/student/01_toy_feature_distortion.ipynb) [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/lpft-edu/lpft-edu/HEAD?labpath=student%2F01_toy_feature_distortion.ipynb)

# %% tags=["colab-install"]
# On Google Colab, install lpft-edu first (about a minute). Anywhere else (Jupyter, Voila,
# Binder, your laptop) this cell does nothing: the package is already installed there.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet",
                           "lpft-edu @ git+https://github.com/lpft-edu/lpft-edu"])

# %%
import matplotlib.pyplot as plt
import numpy as np

from lpft_edu import paper_numbers
from lpft_edu.apps.toy import ToyApp
from lpft_edu.exercises.toy import check_ft_ood_error, check_lp_head, check_no_distortion_head
from lpft_edu.figures.toy import plot_angle_sweep, plot_toy
from lpft_edu.quiz import Guess, PopQuiz
from lpft_edu.toy import X_ID, X_OOD, ToySetup, lp_wins_interval, run_toy, slider_angles, sweep_angles

# %% [markdown]
# ## Pop quiz first
#
# The authors' talk on this paper (given by Ananya Kumar) asks this question. A pretrained ResNet-50
# is adapted to **Living-17**, a task built from ImageNet: sort photos into 17 kinds of animals. The
# training photos show some sub-groups of each kind (some ImageNet classes); the OOD test photos show
# *other* sub-groups.
# Before reading on, guess the accuracies of linear probing and of full fine-tuning, and which one
# does better OOD.

# %%
living = paper_numbers.LIVING17
PopQuiz(
    "Living-17 with a pretrained ResNet-50: guess each method's accuracy (%).",
    [Guess("LP, ID", living["LP"][0]), Guess("LP, OOD", living["LP"][1]),
     Guess("FT, ID", living["FT"][0]), Guess("FT, OOD", living["FT"][1])],
    source=living["source"],
    choice=("Which does better out of distribution?", ["LP", "FT"], "LP"),
    explanation="FT wins ID by a little and loses OOD by a lot. The rest of this lesson shows one way that happens.",
)

# %% [markdown]
# ## The smallest model that shows it
#
# The paper's Figure 2 uses a two-layer *linear* network on inputs $x \in \mathbb{R}^2$:
#
# * one feature: $b \in \mathbb{R}^2$ (a row vector; the "feature extractor"), so the feature is $b \cdot x$;
# * a scalar head $v$, so the model predicts $f(x) = v\,(b \cdot x)$, i.e. the linear predictor $w = v\,b$;
# * the truth is $y = w^\star \cdot x$ with $w^\star = (1, 1)$;
# * **one training point** $x_{id} = (1, 0)$ on the horizontal axis; OOD inputs point along $x_{ood} = (0, 1)$;
# * the pretrained feature $b_0$ is a unit vector at some **angle** to $w^\star$, counted
#   counter-clockwise: 0° means perfect features; a negative angle turns $b_0$ towards $x_{id}$ (at
#   −45° it lies on the $x_{id}$ axis), a positive one towards $x_{ood}$ (at +45° it is perpendicular to
#   the training point, and no head can fit it).
#
# We minimise the squared error on the training point, $L(v, b) = (v\,(b\cdot x_{id}) - y_{id})^2$:
#
# * **LP** trains $v$ with $b = b_0$ frozen: $w$ can only slide along the line through $b_0$.
# * **FT** trains $v$ and $b$ from $(v_0, b_0)$; we take $v_0 = 0$ unless said otherwise (the paper
#   leaves $v_0$ open). The gradient with respect to $b$ is $2\,r\,v\,x_{id}$ (with residual
#   $r = v\,(b\cdot x_{id}) - y_{id}$): **it points along $x_{id}$**. So FT can change how the feature
#   responds to ID directions, but $b \cdot x_{ood}$ never changes, while the head $v$ is rescaled to
#   fit $x_{id}$. The OOD prediction $v\,(b\cdot x_{ood})$ therefore gets rescaled by a head that was
#   tuned for a *changed* ID feature: that mismatch is **feature distortion**.
# * **LP-FT** first probes until the probe has converged, then fine-tunes from the probed head.
#
# **Gradient flow and gradient descent.** *Gradient descent* takes steps $\theta \leftarrow \theta -
# \eta\,\nabla L(\theta)$ of size $\eta$. *Gradient flow* is its limit as $\eta \to 0$: the parameters
# follow the curve $\frac{d\theta}{dt} = -\nabla L(\theta)$. The theory (the closed forms below, and
# lesson 2) is stated for gradient flow; the runs you see use gradient descent with a small step,
# which ends close to where the flow ends.
#
# **Step sizes.** LP's loss is a parabola in $v$ with curvature $2\,(b_0\cdot x_{id})^2$, and gradient
# descent with step $\eta$ shrinks its residual by the factor $|1 - \eta \cdot \text{curvature}|$ each
# step: it converges when $0 < \eta \cdot \text{curvature} < 2$ and blows up above 2. That curvature
# goes from 2 (at −45°) down to almost 0 (near +45°, where $b_0$ turns towards $x_{ood}$), so no single
# step size suits every angle. Each method therefore gets its own step, $\eta = $ *step factor* /
# curvature (for FT, whose loss is not a parabola, an upper bound on the curvature along its
# gradient-flow path, `lpft_edu.toy.ft_curvature_bound`), much as the paper tunes each method's
# learning rate separately. The default factor is 0.1. A run counts as **converged** when, at its last
# step, the ID residual and the gradient norm are both at most $10^{-6}$; the app and the figures say
# so when a run shown has not converged.
#
# Let's run all three with good features, $b_0$ at **−10°** (turned 10° from $w^\star$ towards
# $x_{id}$), and $v_0 = 0$.

# %%
setup = ToySetup(angle_deg=-10)
print(f"angle {setup.angle_deg:g} degrees, v0 = {setup.v0:g}, step factor {setup.step_factor:g}, {setup.steps} steps")
result = run_toy(setup)
for run in result.runs:
    print(f"{run.name:6s} ID error {run.id_error[-1]:.1e}   OOD error {run.ood_error[-1]:.4f}   "
          f"converged: {run.converged}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
plot_toy(axes, result)
plt.show()

# %% [markdown]
# All three fit the training point (ID error ≈ 0: every path ends on the dashed line), yet their OOD
# errors differ: here FT's is the largest, and LP-FT ends exactly where LP does (its dashed green line
# runs on top of LP's wide blue one). **The invariant behind it**, to machine precision:

# %%
print("pretrained   b0 . x_ood =", repr(float(setup.b0 @ X_OOD)))
print("fine-tuned   b  . x_ood =", repr(float(result.ft.b[-1] @ X_OOD)))
print("fine-tuned   b  . x_id  =", repr(float(result.ft.b[-1] @ X_ID)), " (was", repr(float(setup.b0 @ X_ID)), ")")
print("largest change of b . x_ood over all FT steps:", result.ood_feature_drift())

# %% [markdown]
# FT changed the feature's response to $x_{id}$ and left its response to $x_{ood}$ exactly where it
# was. The head was retuned to fit the *changed* ID feature, and that head, applied to the unchanged
# OOD feature, gives the wrong answer.
#
# ## Explore
#
# Move the sliders. The play button animates training; the table shows each method's final ID and
# OOD error, whether each run converged, and the invariant. Things to try:
#
# 1. **Perfect features**, angle 0: LP and LP-FT are exact, yet FT from $v_0 = 0$ still ends with OOD
#    error ≈ 0.14. Good features alone do not protect FT.
# 2. **Features on the ID axis**, angle −45°: $b_0 \cdot x_{ood} = 0$, so there is nothing to distort:
#    LP and FT both predict 0 on $x_{ood}$ (OOD error 1).
# 3. **The other side**: set the angle to **+10°**, as good a feature as −10°. Which method wins OOD now?
# 4. **The head matters**: move $v_0$ and watch how far FT moves $b$ (the last line of the table). Is
#    there a $v_0$ for which $b$ does not move at all? (Exercise 3 asks for it.)
# 5. **Step sizes**: push *step size × curvature* above 2 and the app tells you gradient descent
#    diverged; lower *steps per method* to 5 and it marks the runs as not converged.

# %%
app = ToyApp(ToySetup(angle_deg=-10))
app

# %% [markdown]
# **Think!** At +10°, which method wins OOD, and is that a contradiction of "good features favour LP"?
#
# <details><summary>Answer</summary>
#
# FT wins at +10° (in the app about 0.059 for FT against 0.183 for LP), although the feature is exactly
# as far from $w^\star$ as at −10°, where LP wins. "Good features favour LP" is not true angle by angle;
# what is true is a limit statement, and the toy is lopsided. The next section measures where LP wins
# and explains why.
#
# </details>
#
# ## When does LP beat FT out of distribution?
#
# Run both to convergence at every angle of the app's slider, with FT from $v_0 = 0$. Under gradient
# flow both end points have closed forms: LP ends at $v = y_{id} / (b_0\cdot x_{id})$, and FT keeps
# $b\cdot x_{ood}$ fixed and conserves $v^2 - |b|^2$, which pins down where it stops (see
# `lpft_edu.toy.ft_endpoint`). `lp_wins_interval` finds the angles where LP's OOD error is the lower
# one, to $10^{-10}$ degrees.

# %%
low, high = lp_wins_interval()
print(f"LP has the lower OOD error exactly for angles in ({low:.2f}, {high:.2f}) degrees")
sweep = sweep_angles(slider_angles())
fig, ax = plt.subplots(figsize=(9, 3.8))
plot_angle_sweep(ax, sweep, (low, high))
plt.show()

# %% [markdown]
# So in this toy LP wins for every feature turned towards $x_{id}$ (down to −45°, where the two tie),
# but only up to
# about **+7.05°** for a feature turned towards $x_{ood}$; beyond that FT wins. (The app's gradient
# descent, at its default settings, agrees on every slider angle: LP wins from −44.75° to 7°.)
#
# **Why the toy is lopsided.** Write $s = b_0\cdot x_{id}$ and $u = b_0\cdot x_{ood}$. LP predicts
# $u/s = \tan(45° + \text{angle})$ on $x_{ood}$, where the truth is 1. Under gradient flow from
# $v_0 = 0$, FT keeps $u$ and keeps $v^2 - (b\cdot x_{id})^2 = -s^2$ while it fits
# $v\,(b\cdot x_{id}) = 1$; that ends at $b\cdot x_{id} = \beta$ with
# $\beta^2 = \big(s^2 + \sqrt{s^4 + 4}\big)/2 > 1 \ge s^2$ and the sign of $s$, so FT predicts
# $u/\beta$: *LP's prediction shrunk by the factor $s/\beta$, between 0 and 1*, which is always below
# the truth. Below 0° LP undershoots too, and less than FT, so LP wins. Above 0° LP overshoots; its
# overshoot $\tan(45° + \text{angle}) - 1$ grows fast while FT's undershoot shrinks, and from 7.05° on
# LP's is the larger error. (Past ±45° both predictions have the wrong sign, and FT's shrinking
# towards 0 helps there too.)
#
# **What the theory promises.** The paper's Theorem 3.4 is a *limit*: under non-degeneracy conditions,
# as the feature error goes to 0, the ratio of LP's OOD loss to FT's (at any training time) goes to 0,
# in probability over the training data. It says nothing about a fixed angle such as 10°. The toy
# shows the limit directly: near 0° LP's error shrinks like $(2 \cdot \text{angle in radians})^2$ while
# FT's stays near 0.14, so LP wins on *both* sides of 0°. (The theorem is stated for lesson 2's
# setting, which needs more input dimensions than training directions plus features; the toy, with
# one training direction and one feature in two dimensions, is too small for that, so here we check the
# limit numerically instead of quoting it.)

# %%
near = sweep_angles([-5.0, -1.0, -0.1, 0.1, 1.0, 5.0])
print("angle [deg]   LP OOD error   FT OOD error   LP / FT")
for a, lp_err, ft_err in zip(near.angles_deg, near.lp_ood, near.ft_ood):
    print(f"{a:10.1f}   {lp_err:12.2e}   {ft_err:12.4f}   {lp_err / ft_err:8.1e}")

# %% [markdown]
# This is the paper's message in miniature, stated with its hypotheses: **FT can underperform LP OOD
# when the features are good enough and the shift is large** (here the OOD direction is perpendicular
# to the only training direction). "Good enough" is a limit, not a threshold on the angle.

# %% [markdown]
# ## Exercises
#
# Each exercise ends with a self-check that prints its verdict. Write your code where the cell says so,
# then run the cell.
#
# **Exercise 1.** For features at 30° from $w^\star$, which head $v$ does linear probing converge to?
# The cell defines `setup_30 = ToySetup(angle_deg=30)`. You need its attributes `setup_30.b0` (the
# pretrained feature, a numpy array of shape `(2,)`) and `setup_30.y_id` (the label of the training
# point), and the training point `X_ID`. Set `answer` to the head (a number).
# *Hint:* with $b$ frozen at $b_0$, what must the prediction on $x_{id}$ equal once LP has converged?

# %%
setup_30 = ToySetup(angle_deg=30)
answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below
check_lp_head(answer, angle_deg=30)

# %% [markdown]
# **Exercise 2.** Train the toy at 30° with $v_0 = 0$ and the default optimiser settings
# (`ToySetup(angle_deg=30)`). `run_toy(setup)` returns a `ToyResult`; its attribute `.ft` is FT's
# `Trajectory`, whose attribute `.ood_error` is a numpy array with the OOD squared error at every step
# (index 0 is before training). Set `answer` to FT's OOD squared error at the last step.

# %%
answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below
check_ft_ood_error(answer, angle_deg=30)

# %% [markdown]
# **Think!** The sweep above shows FT beating LP at 30°, by a lot. The mechanism that hurts FT near
# 0° helps it here. How?
#
# <details><summary>Answer</summary>
#
# At 30° the feature is turned far towards $x_{ood}$: $b_0 = (0.26, 0.97)$. LP cannot turn it, so to
# fit $x_{id}$ its head must be $1/0.26 \approx 3.86$, and on $x_{ood}$ it predicts
# $3.86 \times 0.97 = \tan 75° \approx 3.73$ instead of 1 (OOD error ≈ 7.46). FT grows
# $b\cdot x_{id}$ from 0.26 to about 1.02, so its head only needs to be about 0.98, and applied to the
# unchanged $b\cdot x_{ood} = 0.97$ it predicts about 0.95: nearly right. Changing only the feature's
# ID response (and with it the head) hurts when LP's ratio $u/s$ was already close to right (angles
# near 0°) and helps when the head LP needs would blow a large $u$ up (angles towards +45°).
#
# </details>
#
# **Exercise 3.** At 30°, find an initial head $v_0$ from which fine-tuning leaves the feature $b$
# exactly where it started. Try the app first: set the angle slider to 30 and move *FT initial head v0* while you
# watch the table's last line ("b · x_id went from … to …"). Then set `answer` to the exact value (a
# number; you may compute it from the attributes of `setup_30` named in exercise 1).
# *Hint:* every gradient of the loss is a multiple of the residual on $x_{id}$.

# %%
answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below
check_no_distortion_head(answer, angle_deg=30)

# %% [markdown]
# **Think!** What does exercise 3 tell you about LP-FT?
#
# <details><summary>Answer</summary>
#
# LP-FT starts fine-tuning from the converged probe head, which is exactly the head of exercise 3:
# the residual is zero, so the gradients with respect to $v$ and $b$ are zero and nothing moves. In
# this toy LP-FT therefore *is* LP, at every angle (the app checks it: at its default settings every
# run converges, and LP-FT ends at LP's head, feature and OOD error). If the probe has not converged,
# the FT phase starts with a residual and does move $b$; the app marks such runs as not converged.
#
# </details>
#
# ## Why LP-FT works (and what this toy cannot show)
#
# LP-FT starts fine-tuning from the probed head. If that head already fits the training data, the
# residual is zero, every gradient is zero, and the features are not distorted. In this toy, with one
# training point, the converged probe fits perfectly, so LP-FT simply *is* LP, and FT's extra freedom
# is never used. With real networks and data the linear probe does not fit perfectly; FT from a good
# head then improves ID accuracy while changing the features far less than FT from a random head
# (reported by Kumar et al. 2022, who measure how far the features move under each method).
#
# The paper measures this on real images. Its ResNet-50 was pretrained without labels on ImageNet by
# **MoCo-v2** (a contrastive self-supervised method: it learns features by making two augmented views
# of the same photo agree and views of different photos differ). The task is CIFAR-10 (ID); the OOD test sets are **STL-10** (photos of the
# same kinds of objects from another source) and **CIFAR-10.1** (a new test set collected later
# following CIFAR-10's recipe, a small shift). Table 1 of the paper reports (accuracy, %):

# %%
table = paper_numbers.CIFAR_STL
print(table["source"])
print(f"{'method':8s}" + "".join(f"{c:>18s}" for c in table["columns"]))
for method in ("LP", "FT", "LP-FT"):
    print(f"{method:8s}" + "".join(f"{x:18.1f}" for x in table[method]))

# %% [markdown]
# On STL-10, a large shift, LP beats FT OOD and LP-FT beats both. On CIFAR-10.1, a small shift, FT
# beats LP: the paper's claim is about good features *and* large shifts. Lesson 2 states the paper's
# theorems behind this toy for two-layer linear networks in any dimension, with their hypotheses, and
# checks them numerically; lesson 3 runs LP, FT and LP-FT on real, nonlinear networks.
#
# ## Summary
#
# * Fine-tuning changes features only in directions the training data spans (exactly so in linear
#   networks); features for the other directions stay as pretrained (here: $b\cdot x_{ood}$ is fixed, to
#   machine precision).
# * The head is retuned to the changed ID features and then applied to unchanged OOD features: the
#   **distortion**.
# * Linear probing cannot distort features. In the toy (gradient flow, FT from $v_0 = 0$) LP wins OOD
#   exactly for angles between −45° and 7.05°: always close enough to perfect features, on both sides
#   (the limit that Theorem 3.4 is about), but not for every "good" angle, because FT's answer is a
#   shrunken copy of LP's, which puts FT ahead whenever LP overshoots by more than FT undershoots.
# * **LP-FT** starts fine-tuning from the converged probed head, so there is little (here: no)
#   residual to drive distortion; in the toy it equals LP at every angle the app allows.
#
# ## References
#
# * A. Kumar, A. Raghunathan, R. Jones, T. Ma, P. Liang. *Fine-Tuning can Distort Pretrained Features
#   and Underperform Out-of-Distribution.* ICLR 2022. [arXiv:2202.10054](https://arxiv.org/abs/2202.10054)
#   (Figure 2 is this lesson's toy; Section 3 the theory, including Theorem 3.4; Table 1 the CIFAR-10
#   numbers).
# * The authors' talk on this paper, given by Ananya Kumar: the source of the Living-17 pop quiz.
# * Official code: <https://github.com/AnanyaKumar/transfer_learning>.
