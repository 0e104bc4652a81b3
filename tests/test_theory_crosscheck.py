"""Lesson 1's closed-form toy and lesson 2's bounds, checked against each other.

Independent of lesson 2's simulator: in 2D with perfect features b0 = w* = (cos a, sin a), one
training direction x_id = (1, 0) and v0 = 0, FT's gradient flow ends in closed form
(lpft_edu.toy.ft_endpoint). There cos theta_max(R0, S-perp) = |sin a|, phi = 1, ||w*|| = 1, k = 1,
eps = 0. The limit a -> 0 of sqrt(L_ood) / sin a is 1 - 1/sqrt((1 + sqrt 5) / 2) = 0.2139...
"""
import numpy as np
import pytest

from lpft_edu import theory
from lpft_edu.toy import ft_endpoint


def toy_sqrt_ood_loss(a_deg: float) -> tuple[float, float]:
    a = np.deg2rad(a_deg)
    b0 = np.array([np.cos(a), np.sin(a)])
    v, b = ft_endpoint(b0, 0.0, y_id=float(np.cos(a)))
    return abs(v * b[1] - np.sin(a)), abs(np.sin(a))


@pytest.mark.parametrize("a_deg", [0.5, 2.0, 5.0])
def test_transcribed_constant_is_crossed_in_the_2d_toy(a_deg):
    sqrt_loss, cos_theta = toy_sqrt_ood_loss(a_deg)
    assert sqrt_loss / cos_theta == pytest.approx(1 - 1 / np.sqrt((1 + np.sqrt(5)) / 2), abs=2e-3)
    assert sqrt_loss < theory.paper_notes_bound(cos_theta, phi=1.0, w_norm=1.0, k=1, eps=0.0)


@pytest.mark.parametrize("a_deg", [0.5, 2.0, 5.0, 20.0, 45.0, 70.0])
def test_lesson_2_bound_holds_in_the_2d_toy(a_deg):
    sqrt_loss, cos_theta = toy_sqrt_ood_loss(a_deg)
    assert sqrt_loss >= theory.ft_lower_bound(cos_theta, phi=1.0, w_norm=1.0, eps=0.0) > 0
