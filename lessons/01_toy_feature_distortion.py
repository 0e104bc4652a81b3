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
# *About 25 minutes. Part of [lpft-edu](../README.md): lessons on Kumar et al., "Fine-Tuning can
# Distort Pretrained Features and Underperform Out-of-Distribution" (ICLR 2022).*
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
# 3. predict from the quality of the pretrained features whether LP or FT does better OOD;
# 4. explain why starting fine-tuning from the linear-probe head prevents the distortion.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lpft_edu import paper_numbers
from lpft_edu.apps.toy import ToyApp
from lpft_edu.exercises.toy import check_ft_ood_error, check_lp_head, check_no_distortion_head
from lpft_edu.figures.toy import plot_angle_sweep, plot_toy
from lpft_edu.quiz import Guess, PopQuiz
from lpft_edu.toy import X_ID, X_OOD, ToySetup, run_toy, sweep_angles

# %% [markdown]
# ## Pop quiz first
#
# The paper's talk opens with this question. A ResNet-50 pretrained on ImageNet is adapted to
# **Living-17**: classify 17 kinds of animals. The training images show some breeds of each
# animal; the OOD test set shows *other* breeds. Before reading on, guess the accuracies of linear
# probing and of full fine-tuning, and which one does better OOD.

# %%
living = paper_numbers.LIVING17
PopQuiz(
    "Living-17 with a pretrained ResNet-50: guess each method's accuracy (%).",
    [Guess("LP, ID", living["LP"][0]), Guess("LP, OOD", living["LP"][1]),
     Guess("FT, ID", living["FT"][0]), Guess("FT, OOD", living["FT"][1])],
    source=living["source"],
    choice=("Which does better out of distribution?", ["LP", "FT"], "LP"),
    explanation="FT wins ID by a little and loses OOD by a lot. The rest of this lesson shows why.",
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
# * the pretrained feature $b_0$ is a unit vector at some **angle** to $w^\star$: a small angle means good
#   features.
#
# We minimise the squared error on the training point, $L(v, b) = (v\,(b\cdot x_{id}) - y_{id})^2$, by
# gradient descent:
#
# * **LP** trains $v$ with $b = b_0$ frozen: $w$ can only slide along the line through $b_0$.
# * **FT** trains $v$ and $b$ from $(v_0, b_0)$. The gradient with respect to $b$ is
#   $2\,r\,v\,x_{id}$ (with residual $r$): **it points along $x_{id}$**. So FT can change how the
#   feature responds to ID directions, but $b \cdot x_{ood}$ never changes, while the head $v$ is
#   rescaled to fit $x_{id}$. The OOD prediction $v\,(b\cdot x_{ood})$ therefore gets rescaled by a head
#   that was tuned for a *changed* ID feature: that mismatch is **feature distortion**.
# * **LP-FT** first probes, then fine-tunes from the probed head.
#
# Let's run all three with good features (10° from $w^\star$) and a zero initial head for FT.

# %%
setup = ToySetup(angle_deg=-10, v0=0.0, step=0.1, steps=300)
result = run_toy(setup)
for method, errors in result.summary().items():
    print(f"{method:6s} ID error {errors['id_error']:.2e}   OOD error {errors['ood_error']:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
plot_toy(axes, result)
plt.show()

# %% [markdown]
# All three fit the training point (ID error ≈ 0: every path ends on the dashed line), yet their OOD
# errors differ: FT's is the largest. **The invariant behind it**, to machine precision:

# %%
print("pretrained   b0 . x_ood =", repr(float(setup.b0 @ X_OOD)))
print("fine-tuned   b  . x_ood =", repr(float(result.ft.b[-1] @ X_OOD)))
print("fine-tuned   b  . x_id  =", repr(float(result.ft.b[-1] @ X_ID)), " (was", repr(float(setup.b0 @ X_ID)), ")")
print("largest change of b . x_ood over all FT steps:", result.ood_feature_drift())

# %% [markdown]
# FT changed the feature's response to $x_{id}$ and left its response to $x_{ood}$ exactly where it
# was. The head grew or shrank to fit the *changed* ID feature, and applying that head to the
# unchanged OOD feature gives the wrong answer.
#
# ## Explore
#
# Move the sliders. The play button animates training; the table shows each method's final ID and
# OOD error, and the invariant. Things to try:
#
# 1. **Perfect features**, angle 0: LP and LP-FT are exact, yet FT from $v_0 = 0$ still ends with OOD
#    error > 0. Good features do not protect FT.
# 2. **Features on the ID axis**, angle −45°: $b_0 \cdot x_{ood} = 0$, nothing can be distorted and
#    LP and FT agree (both are blind to $x_{ood}$).
# 3. **The head matters**: set $v_0$ so that FT starts out already fitting $x_{id}$ (exercise 3
#    asks for it). What happens to FT's path?
# 4. **Too big a step**: push the step size up until the app tells you gradient descent diverged.

# %%
app = ToyApp(ToySetup(angle_deg=-10, v0=0.0, step=0.1, steps=300))
app

# %% [markdown]
# ## When does LP beat FT out of distribution?
#
# Run both to convergence at every angle. (The FT endpoint has a closed form here: the flow keeps
# $v^2 - |b|^2$ constant and keeps $b\cdot x_{ood}$ fixed; see `lpft_edu.toy.ft_endpoint`.)

# %%
sweep = sweep_angles(np.arange(-80, 41, 1))
wins = sweep.angles_deg[sweep.lp_wins()]
print(f"LP has the lower OOD error for angles from {wins.min():.0f} to {wins.max():.0f} degrees")
fig, ax = plt.subplots(figsize=(8, 3.6))
plot_angle_sweep(ax, sweep)
plt.show()

# %% [markdown]
# With good pretrained features (small angles) LP wins OOD; with poor ones (large angles) FT's freedom
# to change the feature helps. This is the paper's message in miniature: **FT can underperform LP OOD
# when the features are good and the shift is large.**

# %% [markdown]
# ## Exercises
#
# Each exercise ends with a self-check. Replace the solution with your own code, then run the cell.
#
# **Exercise 1.** For features at 30° from $w^\star$, which head $v$ does linear probing converge to?
# (Hint: LP must fit $x_{id}$ exactly with $b = b_0$.)

# %%
setup_30 = ToySetup(angle_deg=30)
# BEGIN SOLUTION
answer = setup_30.y_id / (setup_30.b0 @ X_ID)
# END SOLUTION
check_lp_head(answer, angle_deg=30)

# %% [markdown]
# **Exercise 2.** Run the toy at angle 30°, $v_0 = 0$, step 0.1, 200 steps. What is FT's final OOD
# squared error? Is it above or below LP's at that angle, and why?

# %%
# BEGIN SOLUTION
answer = run_toy(ToySetup(angle_deg=30, v0=0.0, step=0.1, steps=200)).ft.ood_error[-1]
# END SOLUTION
check_ft_ood_error(answer, angle_deg=30, v0=0.0, step=0.1, steps=200)

# %% [markdown] tags=["solution"]
# *Instructor note.* At 30° the features are poor: LP's fixed direction $b_0$ is far from $w^\star$, so
# its OOD error is large (about 7.5). FT's change of $b$ along $x_{id}$ moves $w$ towards $w^\star$ and
# helps here: the same mechanism that hurts with good features helps with bad ones.

# %% [markdown]
# **Exercise 3.** At angle 30°, find an initial head $v_0$ for which fine-tuning leaves the feature
# $b$ exactly where it started. What does that tell you about LP-FT?

# %%
# BEGIN SOLUTION
answer = setup_30.y_id / (setup_30.b0 @ X_ID)  # the LP head: the residual is zero, so no gradient flows
# END SOLUTION
check_no_distortion_head(answer, angle_deg=30)

# %% [markdown]
# ## Why LP-FT works (and what this toy cannot show)
#
# LP-FT starts fine-tuning from the probed head. If that head already fits the training data, the
# residual is zero, every gradient is zero, and the features are not distorted. In this toy, with one
# training point, LP already fits perfectly, so LP-FT simply *is* LP. With real networks and data the
# linear probe does not fit perfectly; FT from a good head then improves ID accuracy while changing the
# features far less than FT from a random head. The paper reports that on CIFAR-10 → STL-10
# (Table 1, numbers labelled as the paper's):

# %%
table = paper_numbers.CIFAR_STL
print(table["source"])
print(f"{'method':8s}" + "".join(f"{c:>18s}" for c in table["columns"]))
for method in ("LP", "FT", "LP-FT"):
    print(f"{method:8s}" + "".join(f"{x:18.1f}" for x in table[method]))

# %% [markdown]
# Lesson 2 proves these statements for two-layer linear networks in any dimension, and lesson 3 runs
# LP, FT and LP-FT on real images.
#
# ## Summary
#
# * Fine-tuning changes features only in directions the training data spans; features for the other
#   directions stay as pretrained (here: $b\cdot x_{ood}$ is fixed, to machine precision).
# * The head is retuned to the changed ID features and then applied to unchanged OOD features: the
#   **distortion** that costs FT its OOD accuracy when the pretrained features were good.
# * Linear probing cannot distort features; it wins OOD when features are good, loses when they are poor.
# * **LP-FT** starts fine-tuning from the probed head, so there is little residual to drive distortion.
#
# ## References
#
# * A. Kumar, A. Raghunathan, R. Jones, T. Ma, P. Liang. *Fine-Tuning can Distort Pretrained Features
#   and Underperform Out-of-Distribution.* ICLR 2022. [arXiv:2202.10054](https://arxiv.org/abs/2202.10054)
#   (Figure 2 is this lesson's toy; Section 3 the theory).
# * Official code: <https://github.com/AnanyaKumar/transfer_learning>.
