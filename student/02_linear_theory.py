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
# # Lesson 2 · The linear-network theorems, live
#
# **Duration: about 45 minutes.**
# **Prerequisites:** lesson 1; linear algebra (row space, orthogonal projection, singular values);
# gradient descent on a squared loss. Terms are defined in the [glossary](../docs/glossary.md), and
# every proof this lesson relies on is written out in [the linear theory](../docs/theory.md).
#
# *Part of [lpft-edu](../README.md): lessons on Kumar et al., "Fine-Tuning can Distort Pretrained
# Features and Underperform Out-of-Distribution" (ICLR 2022). Lesson 1 showed feature distortion in
# two dimensions; this lesson is the paper's Section 3 in any dimension.*
#
# The heart of the paper is a proof about **two-layer linear networks**. Here you turn the knobs the
# theory is about and watch fine-tuning's OOD loss and a lower bound on it move together, and you see
# each result fail as soon as the settings leave its hypotheses.
#
# **Learning goals.** After this lesson you can
# 1. state the setting: features $Bx$, head $v$, training inputs spanning a subspace $S$;
# 2. name the two quantities FT conserves, and check them numerically;
# 3. explain what the principal angle $\theta_{max}(R_0, S^\perp)$ and the head alignment error
#    $\varphi$ measure, and why a *small* angle (features reaching far into directions the training data
#    never span) together with a large head error forces FT's OOD loss up, while a large angle makes
#    the lower bound weak, and at 90° vacuous;
# 4. explain, each with its hypotheses, why LP beats FT out of distribution as the features get better
#    (Theorem 3.4), why LP-FT does not distort perfect features (Proposition 3.7), and when FT wins in
#    distribution.

# %% [markdown]
# **Student version.** Each exercise has a line such as `answer = ...  # YOUR CODE HERE`: write your own code there and run the cell; the self-check below it prints **Correct!** or **Not yet** with a hint. Answers to the *Think!* questions are folded: open one once you have your own answer.

# %% [markdown] tags=["launch-badges"]
# **Run this lesson online** (nothing to install; Colab needs a Google account):
#
# * Student version (exercises to do): [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lpft-edu/lpft-edu/blob/main/student/02_linear_theory.ipynb) [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/lpft-edu/lpft-edu/HEAD?labpath=student%2F02_linear_theory.ipynb)

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
from scipy.linalg import subspace_angles

from lpft_edu import paper_numbers, theory
from lpft_edu.apps.theory import TheoryApp
from lpft_edu.config import pick
from lpft_edu.exercises.theory import (check_bound, check_cos_theta_max, check_lpft_head, check_ratio_slope,
                                       exercise_instance)
from lpft_edu.figures.theory import (plot_invariants, plot_loss_curves, plot_phase_diagram, plot_ratio_sweep,
                                     plot_setup_3d)
from lpft_edu.linear import (construct_instance, drift_by_step, lp_head, phase_diagram, ratio_sweep, run_methods,
                             train)
from lpft_edu.quiz import Guess, PopQuiz

# %% [markdown]
# ## Pop quiz first
#
# Averaged over ten distribution shifts, how accurate were linear probing and full fine-tuning out of
# distribution? And a question about the theory you are about to see.

# %%
avg = paper_numbers.TEN_SHIFT_AVERAGE
PopQuiz(
    "Average over 10 distribution shifts: guess each method's OOD accuracy (%).",
    [Guess("LP, OOD", avg["LP"][1]), Guess("FT, OOD", avg["FT"][1]), Guess("LP-FT, OOD", avg["LP-FT"][1])],
    source=avg["source"],
    choice=("A linear network has PERFECT pretrained features, and every feature direction reaches into directions "
            "the training inputs never span. FT starts from a random Gaussian head. At every time of training, "
            "its OOD loss is ...", ["exactly 0, like LP's", "strictly above 0"], "strictly above 0"),
    explanation="Fine-tuning from a random head distorts even perfect features when they reach into directions the "
                "training data never span (Proposition 3.7 below; 'with probability 1' over the random head). If "
                "instead every feature direction lay inside the training span, FT would reach 0 as well once it "
                "fits the training data.",
)

# %% [markdown]
# ## The setting in pictures
#
# * Input $x \in \mathbb{R}^d$, **features** $Bx$ with $B \in \mathbb{R}^{k\times d}$, **head** $v \in \mathbb{R}^k$;
#   the network predicts $v^\top B x$, i.e. the linear predictor $w = B^\top v$.
# * The truth is $y = w_\star^\top x$ with $w_\star = B_\star^\top v_\star$. The pretrained $B_0$ and $B_\star$ have
#   orthonormal rows; the **feature error** is $\varepsilon = \min_U \|B_0 - U B_\star\|_2$ over orthogonal $U$
#   (an orthogonal Procrustes problem: `scipy.linalg.orthogonal_procrustes`).
# * The training inputs span a subspace $S$ of dimension $m$, with $1 \le m < d - k$: there are
#   directions ($S^\perp$) the training data **never** covers. OOD inputs do reach them.
# * Training loss $\|XB^\top v - Y\|^2$; OOD loss $(B^\top v - w_\star)^\top \Sigma (B^\top v - w_\star)$ with
#   $\Sigma = E[xx^\top]$ ($\Sigma = I$ here unless said otherwise); ID loss: the squared error on $S$.
# * The theorems are about **gradient flow** (gradient descent with an infinitely small step); the code runs
#   gradient descent with a small step and measures time as steps × step size.
#
# In $d = 3$ with one feature ($k = 1$) and one training direction ($m = 1$): $S$ is a line, $S^\perp$ a
# plane, the feature $b_0$ an arrow. The principal angle between the feature's span $R_0$ and
# $S^\perp$ is the angle between the arrow and the plane.

# %%
setup3d = construct_instance(3, 1, 1, angle_deg=35, eps=0.35, phi=1.5, branch="above", rotate=False, seed=2)
ft3d = train(setup3d, "FT", steps=3000)
fig = plt.figure(figsize=(8.5, 7.5))
ax = fig.add_subplot(projection="3d")
ax.view_init(elev=15, azim=-40)
plot_setup_3d(ax, setup3d, ft3d)
plt.show()

# %% [markdown]
# The gradient with respect to $B$ is $2\,v\,(X^\top r)^\top$ with residual $r$: its rows are
# combinations of training inputs, so they lie in $S$. **FT can only move the feature along $S$**
# (the red path is parallel to the $S$ axis). Whatever $b_0$ says about $S^\perp$ stays as pretrained.
#
# ## The two invariants of fine-tuning
#
# For gradient flow from $(v_0, B_0)$ (proofs: [the linear theory](../docs/theory.md), section 2):
# 1. $B(t)\,x = B_0\,x$ for every $x \in S^\perp$ (also exact for gradient descent);
# 2. **balancedness:** $v(t)v(t)^\top - B(t)B(t)^\top = v_0v_0^\top - B_0B_0^\top$ (gradient descent drifts by
#    $O(\text{step})$: the first-order terms cancel, the second-order ones remain).
#
# We train with gradient descent at three step sizes over the same training time. The step rule is
# $\eta = c/\hat\lambda$, with $\hat\lambda$ a bound on the loss's curvature at the start and $c$ the
# *step constant* (see `lpft_edu.linear`).

# %%
inv_inst = construct_instance(10, 2, 4, angle_deg=30, eps=0.05, seed=2)
runs_by_c = drift_by_step(inv_inst, cs=(0.1, 0.05, 0.025))
sperp = {c: theory.sperp_feature_change(r.B, inv_inst.B0, inv_inst.S_perp) for c, r in runs_by_c.items()}
drift = {c: theory.balancedness_drift(r.v, r.B) for c, r in runs_by_c.items()}
predicted = {c: theory.balancedness_drift_bound(r.eta, r.train_loss[0] - r.train_loss[-1], c) for c, r in runs_by_c.items()}
for c in runs_by_c:
    print(f"c = {c:<6g} S-perp change max {sperp[c].max():.1e}   balancedness drift {drift[c][-1]:.2e}"
          f"   (predicted at most {predicted[c]:.2e})")
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plot_invariants(axes, runs_by_c, sperp, drift, predicted)
fig.subplots_adjust(wspace=0.3)
plt.show()

# %% [markdown]
# Invariant 1 holds at the level of rounding error (of order $10^{-15}$, below $10^{-14}$): not approximately, exactly.
# Invariant 2 drifts, and halving the step halves the drift, which stays under the dashed prediction
# $\eta \times$ (decrease of the training loss). Gradient descent with a small step is a faithful stand-in
# for the gradient flow of the theorems.
#
# **Think!** Why is invariant 1 exact for gradient descent too, while invariant 2 is not?
#
# <details><summary>Answer</summary>
#
# A gradient-descent step adds $-2\eta\, v\,(Me)^\top$ to $B$ (with $M = X^\top X$): every row of the change
# lies in $S$, whatever the step size, so $B x$ for $x \in S^\perp$ never changes. For invariant 2, one step
# changes $vv^\top - BB^\top$ by terms of order $\eta$, which cancel exactly as in the gradient-flow proof,
# plus $\eta^2(gg^\top - GG^\top)$ with the gradients $g$, $G$: those do not cancel, and they add up to a
# drift of order $\eta$ over a fixed training time.
#
# </details>
#
# ## A lower bound on FT's OOD loss, live
#
# Two quantities decide how badly FT can do out of distribution:
#
# * the **principal angle** $\theta_{max}(R_0, S^\perp)$ between the pretrained feature space $R_0 = \mathrm{rowspace}(B_0)$
#   and $S^\perp$. $\cos\theta_{max}(R_0, S^\perp)$ is the smallest length of the part in $S^\perp$ of a unit
#   vector of $R_0$. A *small* angle (cosine near 1) means every feature reads a lot of $S^\perp$, exactly where
#   FT cannot repair it; at 90° some feature direction lies inside $S$;
# * the **head alignment error** $\varphi = \sqrt{|(v_0^\top v_\star)^2 - (v_\star^\top v_\star)^2|}$. It is what
#   balancedness remembers of the initial head: balancedness ties head changes to feature changes, so a head
#   that must change drags the features with it.
#
# **The bound** (proved in [the linear theory](../docs/theory.md), section 3): for every training time $t$,
# $$\sqrt{L_{ood}(v_{ft}(t), B_{ft}(t))} \;\ge\; \sqrt{\sigma_{min}(\Sigma)}\,\Big(\cos\theta_{max}(R_0, S^\perp)\; h(\varphi, \|w_\star\|) - \varepsilon\,\|w_\star\|\Big),$$
# where the head term $h$ (`lpft_edu.theory.head_term`) is $0$ at $\varphi = 0$ and grows with $\varphi$. It has
# the shape of the paper's Theorem 3.3: it grows with $\cos\theta_{max}(R_0, S^\perp)$ and with $\varphi$, and
# falls with $\varepsilon$. The constant is this project's own, derived from the two invariants; for the
# paper's statement see its Section 3. It is **vacuous** (the right side is $\le 0$, so it says nothing)
# once $\varepsilon\,\|w_\star\| \ge \cos\theta_{max}(R_0, S^\perp)\, h(\varphi, \|w_\star\|)$.
#
# Move the sliders: the red FT curve stays out of the shaded region below the dashed bound. (The bound is
# proved for gradient flow and the app runs gradient descent, which follows the flow to within its small
# step; the tests try the app across its ranges and FT never crosses, and the readout would say so if it
# did.) LP (blue) and LP-FT (green, dashed) are on the same axes. The readout gives the instance's measured angle, head error
# and eps (they match the sliders to rounding error), the losses at the end of the run with whether each
# has settled, LP's exact limit, and a note whenever the sliders leave a result's hypotheses.

# %%
app = TheoryApp()
app

# %% [markdown]
# Things to try:
# 1. **Angle towards 0°**: every feature reads more of $S^\perp$ and the bound grows. At exactly 0° every
#    feature lies in $S^\perp$: the training data see none of them, LP learns nothing and LP-FT never moves
#    (the readout says why). Towards 90° the bound weakens; at 90° it is vacuous.
# 2. **Head error**: the app builds its initial head along $v_\star$ ($v_0 = \beta\, v_\star/\|v_\star\|$ with $\beta \ge 0$,
#    shorter or longer than $v_\star$), and for *those* heads $\varphi = 0$ means $v_0 = v_\star$: FT barely distorts.
#    For other heads $\varphi = 0$ means much less (next cell). Switch the head to *longer than $v_\star$*: at the
#    same $\varphi$ the bound is the same, and FT's OOD loss nearly so (0.071 against 0.073 at the defaults), so a
#    head that is too long distorts about as much as one that is too short.
# 3. **eps**: worse features lower the bound and raise LP's loss. At the defaults the bound is vacuous from
#    eps = 0.085 on (the readout says "vacuous" and why).
# 4. **Small angles, e.g. 10°**: LP is still falling at the end of the run (it learns slowly when its features
#    barely see $S$); the table marks it and the dotted blue line shows LP's exact limit.
# 5. **k = 3 with dim S = 2 and eps = 0**: Proposition 3.7's hypothesis fails, and LP-FT does not reach 0.
# 6. **dim S** up to $d - k$: the app tells you which slider to move.
#
# What $\varphi = 0$ does and does not mean: $\varphi = 0$ exactly when $v_0^\top v_\star = \pm\|v_\star\|^2$, so for
# $v_0 = v_\star$, but also for $v_0 = -v_\star$ and for $v_\star$ plus any part orthogonal to $v_\star$.

# %%
default = construct_instance(10, 2, 4, angle_deg=30, phi=0.9, eps=0.01, seed=0)
default_runs = run_methods(default, steps=1500)
print(f"app defaults: bound on FT's OOD loss {default.loss_bound():.3e}; FT's lowest OOD loss "
      f"{default_runs['FT'].ood_loss.min():.3e}; vacuous from eps = {default.vacuous_from_eps:.4f}")
flipped = default.with_v0(-default.v_star)  # phi = 0, but the head points the wrong way
flipped_ft = train(flipped, "FT", steps=4000)
print(f"v0 = -v*: phi = {flipped.phi:.1e}, bound {flipped.loss_bound():.1e} (vacuous), "
      f"FT's lowest OOD loss {flipped_ft.ood_loss.min():.2f}")
# The drawn bound is for gradient flow. For the gradient-descent run itself, the bound with the measured
# balancedness drift (docs/theory.md, section 3) holds at every recorded step:
ft = default_runs["FT"]
gd_bound = [theory.ft_lower_bound(default.cos_theta_max, default.phi, default.w_norm, default.eps, drift=float(D))
            for D in theory.balancedness_drift(ft.v, ft.B)]
print(f"gradient descent: sqrt(OOD loss) minus its drift-corrected bound is at least "
      f"{np.min(np.sqrt(ft.ood_loss) - gd_bound):.3f} over the run")

# %% [markdown]
# **Think!** With $v_0 = -v_\star$ the head alignment error is 0, yet FT's OOD loss stays far above 0. Does
# that contradict the bound?
#
# <details><summary>Answer</summary>
#
# No. The bound is a floor, and with $\varphi = 0$ its head term is 0, so it is vacuous: it claims nothing.
# It would be wrong to read $\varphi = 0$ as "the head is right"; that reading holds only for heads along
# $+v_\star$, like the app's. From $-v_\star$ the head has to turn around, balancedness drags the features along
# $S$ with it, and the features on $S^\perp$ stay as pretrained: FT distorts badly.
#
# </details>
#
# ## Theorem 3.4: with good features, LP beats FT out of distribution
#
# As $B_0 \to B_\star$, $L_{ood}(\text{LP}) / L_{ood}(\text{FT at any } t) \to 0$, under two non-degeneracy
# conditions: $\cos\theta_{max}(R_\star, S) \ne 0$ and $\cos\theta_{max}(R_\star, S^\perp) \ne 0$, with
# $R_\star = \mathrm{rowspace}(B_\star)$ (the paper also assumes training inputs with a density on $S$). LP's
# OOD loss shrinks as the features improve, while FT's stays above the bound, which is positive once $\varepsilon$
# is small. Below: FT from a random
# Gaussian head, divided by FT's *best* OOD loss over training (so no early-stopping time rescues FT), at
# the app's angle of 30°, and twice outside the hypotheses. In these sweeps $B_\star$ approaches $B_0$, so the
# conditions on $R_\star$ become conditions on $R_0$:
#
# * at $\theta_{max} = 90°$, $R_0$ lies inside $S$ and $\cos\theta_{max}(R_\star, S^\perp) \to 0$: FT cannot distort
#   anything, both methods miss the part of $w_\star$ in $S^\perp$ and LP also the part in $S$ outside $R_0$, all
#   of order $\varepsilon$, so the ratio stays at 1.58;
# * with $k = 3$ features and $\dim S = 2$, some direction of $R_\star$ is orthogonal to $S$, so
#   $\cos\theta_{max}(R_\star, S) = 0$: LP cannot learn the part of $v_\star$ along the feature the data never see, even
#   with perfect features, and the ratio levels off at about 0.071.

# %%
eps_grid = np.geomspace(0.3, 1e-3, pick(10, 6))
sweep = ratio_sweep(eps_grid)
sweep_90 = ratio_sweep(eps_grid, angle_deg=90.0)
sweep_k3 = ratio_sweep(eps_grid, k=3, m=2)
for name, s in (("30 deg, k = 2, dim S = 4", sweep), ("90 deg", sweep_90), ("k = 3 > dim S = 2", sweep_k3)):
    print(f"{name:25s} ratio at eps = {s.eps[0]:.3f}: {s.ratio[0]:.3g}   at eps = {s.eps[-1]:.3f}: {s.ratio[-1]:.3g}")
fig, ax = plt.subplots(figsize=(7.5, 4))
plot_ratio_sweep(ax, {"theta_max = 30 deg, k = 2, dim S = 4 (hypotheses hold)": sweep,
                      "theta_max = 90 deg (cos theta_max(R*, S-perp) -> 0)": sweep_90,
                      "k = 3 > dim S = 2 (cos theta_max(R*, S) = 0)": sweep_k3},
                 title="Theorem 3.4: LP / FT OOD loss as the features improve")
plt.show()

# %% [markdown]
# ## Proposition 3.7: LP-FT keeps perfect features perfect
#
# With perfect features ($\varepsilon = 0$) and $\mathrm{rank}(XB_0^\top) = k$ (the training data see every
# feature direction), linear probing finds the head $v_\star$ itself, which fits the training data exactly.
# Fine-tuning from there sees zero residual, zero gradient: nothing moves, the OOD loss stays at 0. FT from a
# random head has to move the head, balancedness makes the features move with it, and when every feature
# direction reaches into $S^\perp$ ($\cos\theta_{max}(R_0, S^\perp) > 0$) the bound keeps its OOD loss above 0 (a random
# head has $\varphi > 0$ with probability 1).
#
# Both hypotheses matter:
# * with $k = 3$ features but $\dim S = 2$, $\mathrm{rank}(XB_0^\top) \le 2 < k$: LP cannot learn the part of
#   $v_\star$ the data cannot see, LP-FT starts at zero residual anyway and never moves, and it stays at LP's
#   OOD loss (0.61 below);
# * when $R_0$ lies inside $S$ (angle 90°), the features read nothing of $S^\perp$, so there is nothing FT could
#   distort: once it fits the training data its OOD loss is 0 too ([the linear theory](../docs/theory.md), section 5).

# %%
perfect = construct_instance(10, 2, 4, angle_deg=30, eps=0.0, seed=1)  # v0: a random Gaussian head
perfect_runs = run_methods(perfect, steps=2000)
print(f"LP-FT: largest OOD loss over training {perfect_runs['LP-FT'].ood_loss.max():.1e}")
print(f"FT from a random head: lowest OOD loss {perfect_runs['FT'].ood_loss.min():.3e}; "
      f"bound {perfect.loss_bound():.3e} (phi = {perfect.phi:.3f})")
unseen = construct_instance(10, 3, 2, angle_deg=30, eps=0.0, seed=1)  # k = 3 > dim S = 2
unseen_runs = run_methods(unseen, steps=2000)
print(f"k = 3 > dim S = 2: rank(X B0^T) = {unseen.feature_rank}; LP-FT's OOD loss stays between "
      f"{unseen_runs['LP-FT'].ood_loss.min():.2f} and {unseen_runs['LP-FT'].ood_loss.max():.2f}")
inside = construct_instance(10, 2, 4, angle_deg=90, eps=0.0, seed=1)  # R0 inside S
inside_runs = run_methods(inside, steps=2000)
print(f"R0 inside S: FT's final OOD loss {inside_runs['FT'].ood_loss[-1]:.1e}")
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
plot_loss_curves(axes[0], {"FT (random head)": perfect_runs["FT"], "LP-FT": perfect_runs["LP-FT"]},
                 loss_bound=perfect.loss_bound(), bound_label="lower bound on this FT run",
                 title="Hypotheses hold: LP-FT stays at 0 (drawn at 1e-16)")
plot_loss_curves(axes[1], {"LP-FT, k = 3 > dim S = 2": unseen_runs["LP-FT"], "FT, R0 inside S": inside_runs["FT"]},
                 title="Outside them: LP-FT stuck above 0; FT reaches 0")
plt.show()

# %% [markdown]
# **Think!** At $k = 3 > \dim S = 2$, LP-FT's OOD loss is far from 0, yet LP-FT does not move at all. Why not?
#
# <details><summary>Answer</summary>
#
# With $\varepsilon = 0$ the labels are $Y = XB_0^\top v_\star$, which LP can fit exactly with any head that agrees
# with $v_\star$ on the directions the data see. LP's gradient descent from $v = 0$ never touches the unseen
# direction, so it ends at $v_\star$ minus its unseen part: zero training residual, but the wrong prediction on
# OOD inputs. LP-FT starts there, with zero residual, so every gradient is zero and nothing moves. Fine-tuning
# can only repair what the training data reveal.
#
# </details>
#
# ## The in-distribution side: when FT wins ID
#
# When $w_\star$ is not in the row space of $B_0$ (here $\varepsilon = 0.2$) and there are fewer features than
# training directions ($k < \dim S$), in general no head on the frozen features fits the training data: LP's
# ID loss stalls. FT can change the features along $S$, fits the training data and reaches a lower ID loss.
# This is the linear picture of why FT usually wins in distribution, and LP-FT, which also fine-tunes, keeps
# that advantage. With $k \ge \dim S$ the claim fails: $X B_0^\top$ then has rank $\dim S$ (at every angle
# above 0° here), so LP already fits $S$ exactly.

# %%
id_inst = construct_instance(10, 2, 4, angle_deg=30, eps=0.2, seed=3)
id_runs = run_methods(id_inst, steps=2000)
lp_limit = float(id_inst.id_loss(lp_head(id_inst), id_inst.B0))
print(f"k = 2 < dim S = 4: ID loss of LP (converged) {lp_limit:.3e}   FT {id_runs['FT'].id_loss[-1]:.1e}   "
      f"LP-FT {id_runs['LP-FT'].id_loss[-1]:.1e}")
square = construct_instance(10, 2, 2, angle_deg=30, eps=0.2, seed=3)  # k = dim S = 2
print(f"k = 2 = dim S: ID loss of LP (converged) {float(square.id_loss(lp_head(square), square.B0)):.1e}")
fig, ax = plt.subplots(figsize=(7.5, 3.8))
plot_loss_curves(ax, id_runs, key="id_loss", title="ID loss, k = 2 < dim S = 4: FT and LP-FT fit S, LP cannot")
plt.show()

# %% [markdown]
# ## The whole landscape: a phase diagram
#
# The sliders move you through this map. Left: FT's best OOD loss over training for each (angle, head error)
# (with the app's defaults for the rest: $d = 10$, $k = 2$, $\dim S = 4$, $\varepsilon = 0.01$); right: the bound
# (blank where it is vacuous). The cross marks the app's default.
#
# Where the head error dominates (here for $\varphi \gtrsim 0.5$ and angles up to about 80°), FT's best OOD
# loss rises towards small angles and towards large head errors, and so does the bound wherever it is not
# vacuous. For smaller head errors, and near 90°, FT's loss sits near a floor of order
# $\varepsilon^2\|w_\star\|^2 = 10^{-4}$ set by the feature error: there the map is nearly flat, at 90° the head
# error does not matter at all, and at $\varphi = 0$ the loss even falls slightly towards small angles. The
# bound is below FT everywhere.

# %%
pd = phase_diagram(np.linspace(0, 90, pick(19, 7)), np.linspace(0, 1, pick(16, 6)))
print("bound never above FT anywhere on the grid:", bool((pd.ft_best_ood >= pd.bound).all()))
fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.2), sharey=True)
images = plot_phase_diagram(axes, pd, marker=(30, 0.9))
fig.colorbar(images[0], ax=list(axes), label="OOD loss", shrink=0.9)
plt.show()

# %% [markdown]
# ## Exercises
#
# Each exercise ends with a self-check that prints **Correct!** or **Not yet.** with a hint. Write your code
# where the cell computes `answer`, then run the cell.
#
# **Exercise 1.** For `inst = exercise_instance(1)`, compute $\cos\theta_{max}(R_0, S^\perp)$ yourself with
# `scipy.linalg.subspace_angles` (imported above). You need `inst.B0` (the $k \times d$ pretrained features, one
# feature per row) and `inst.S_perp` (a $d \times (d - m)$ matrix whose orthonormal *columns* span $S^\perp$).
# `subspace_angles(A, B)` takes matrices whose *columns* span the two subspaces and returns the angles, largest
# first.

# %%
inst = exercise_instance(1)
answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below
check_cos_theta_max(answer)

# %% [markdown]
# **Exercise 2.** For `inst = exercise_instance(2)` (the app's default), compute the bound on FT's OOD *loss*
# (not its square root) with `theory.ft_lower_bound(cos_theta, phi, w_norm, eps)`, which returns the bound on
# the square root. Use the instance's measured quantities: `inst.cos_theta_max`, `inst.phi`, `inst.eps`, and
# $\|w_\star\|$ from `inst.w_star`. Remember what a negative value means.

# %%
inst = exercise_instance(2)
answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below
check_bound(answer)

# %% [markdown]
# **Exercise 3.** `exercise_instance(3)` has perfect features. Find a head $v$ (a vector of length $k$) from which
# fine-tuning keeps the OOD loss at zero for the whole run. You may use `inst.X` (the training inputs, one per
# row), `inst.Y` (their labels) and `inst.B0`. (Hint: which head makes every gradient zero?)

# %%
inst = exercise_instance(3)
answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below
check_lpft_head(answer)

# %% [markdown]
# **Exercise 4.** From the Theorem 3.4 sweep at 30° above (`sweep`, with arrays `sweep.eps` and `sweep.ratio`),
# estimate the slope of $\log(\text{ratio})$ against $\log\varepsilon$.
#
# **Think!** Before computing: what slope do you predict, and why?
#
# <details><summary>Answer</summary>
#
# About 2. LP's head is a least-squares fit on features that are off by $\varepsilon$: its OOD error is at most of
# order $\varepsilon$, so its OOD loss is of order $\varepsilon^2$. FT's OOD loss stays above the bound, which tends to
# a positive constant as $\varepsilon \to 0$ (a random head has $\varphi > 0$). So the ratio falls like
# $\varepsilon^2$: slope 2 on log-log axes. The two sweeps outside the hypotheses flatten out instead (slope near 0
# at small $\varepsilon$).
#
# </details>

# %%
answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below
check_ratio_slope(answer)

# %% [markdown]
# ## Summary
#
# Each result with what it needs ([the linear theory](../docs/theory.md), section 5, has the details):
#
# * FT's gradient on the features lies in the span $S$ of the training inputs, so features of unseen
#   directions never change (invariant 1, exact even for gradient descent), and head and feature changes are
#   tied by balancedness (invariant 2, exact for gradient flow; gradient descent drifts by $O(\text{step})$).
# * **Lower bound** (the shape of Theorem 3.3, proved in [the linear theory](../docs/theory.md)): if the
#   features reach into unseen directions ($\cos\theta_{max}(R_0, S^\perp) > 0$) and $\varphi > 0$, FT's OOD loss under
#   gradient flow stays at or above $\sigma_{min}(\Sigma)\,\max\big(0,\ \cos\theta_{max}\, h(\varphi, \|w_\star\|) - \varepsilon\|w_\star\|\big)^2$
#   at every time. A
#   small angle makes it strong, a large one weak. It is **vacuous** once
#   $\varepsilon\|w_\star\| \ge \cos\theta_{max}(R_0, S^\perp)\, h(\varphi, \|w_\star\|)$: at the app's defaults from
#   $\varepsilon \approx 0.085$ on, and always at $\varphi = 0$, where it says nothing (and $\varphi = 0$ does not mean
#   the head is right: from $v_0 = -v_\star$ FT's OOD loss stays above 2).
# * **Theorem 3.4:** when $\cos\theta_{max}(R_\star, S) \ne 0$ and $\cos\theta_{max}(R_\star, S^\perp) \ne 0$, LP's OOD
#   loss vanishes with the feature error while FT's (from a random head) does not, so with good features LP
#   beats FT OOD by an arbitrarily large factor. At 90° the ratio stays at 1.58; with $k > \dim S$ it levels off.
# * **Proposition 3.7:** with perfect features and $\mathrm{rank}(XB_0^\top) = k$, LP-FT starts from a head that
#   already fits, nothing moves, and its OOD loss stays 0, while FT's (from a random head, $\varphi > 0$) stays
#   above 0 when $\cos\theta_{max}(R_0, S^\perp) > 0$. With $k = 3 > \dim S = 2$ LP-FT stays at LP's OOD loss (0.61 here); when
#   $R_0$ lies inside $S$, FT reaches 0 too.
# * **ID side:** when $w_\star \notin \mathrm{rowspace}(B_0)$ and $k < \dim S$, LP in general cannot fit the training
#   data, while FT, once it fits them, has ID loss 0: FT wins in distribution, and LP-FT keeps that advantage.
#   With $k \ge \dim S$, LP already fits $S$ exactly.
#
# Lesson 3 runs LP, FT and LP-FT on real, nonlinear networks: a laptop experiment on handwritten digits,
# then CIFAR-10 → STL-10 on a GPU.
#
# ## References
#
# * A. Kumar, A. Raghunathan, R. Jones, T. Ma, P. Liang. *Fine-Tuning can Distort Pretrained Features
#   and Underperform Out-of-Distribution.* ICLR 2022. [arXiv:2202.10054](https://arxiv.org/abs/2202.10054)
#   (Section 3: the linear theory; Theorems 3.3, 3.4, Proposition 3.7).
# * Official code: <https://github.com/AnanyaKumar/transfer_learning>.
# * [The linear theory](../docs/theory.md): this project's statement and proof of the lower bound, and what each
#   result needs.
# * A. V. Knyazev, M. E. Argentati. *Principal angles between subspaces in an A-based scalar product.* SIAM J.
#   Sci. Comput. 23(6), 2002: the algorithm behind `scipy.linalg.subspace_angles`.
