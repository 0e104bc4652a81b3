"""Lesson 1's closed-form toy and lesson 2's lower bound, checked against each other.

Independent of lesson 2's simulator: in 2D with perfect features b0 = w* = (cos a, sin a), one
training direction x_id = (1, 0) and v0 = 0, FT's gradient flow ends in closed form
(lpft_edu.toy.ft_endpoint). There cos theta_max(R0, S-perp) = |sin a|, phi = 1, ||w*|| = 1, k = 1,
eps = 0. The limit a -> 0 of sqrt(L_ood) / sin a is 1 - 1/sqrt((1 + sqrt 5) / 2) = 0.2139..., and the
package's bound must stay below the exact flow at every angle.
"""
import numpy as np
import pytest

from lpft_edu import theory
from lpft_edu.toy import ft_endpoint

GOLDEN_LIMIT = 1 - 1 / np.sqrt((1 + np.sqrt(5)) / 2)


def toy_sqrt_ood_loss(a_deg: float) -> tuple[float, float]:
    a = np.deg2rad(a_deg)
    b0 = np.array([np.cos(a), np.sin(a)])
    v, b = ft_endpoint(b0, 0.0, y_id=float(np.cos(a)))
    return abs(v * b[1] - np.sin(a)), abs(np.sin(a))


@pytest.mark.parametrize("a_deg", [0.5, 2.0, 5.0])
def test_toy_flow_ends_at_the_golden_ratio_limit_for_small_angles(a_deg):
    sqrt_loss, cos_theta = toy_sqrt_ood_loss(a_deg)
    assert sqrt_loss / cos_theta == pytest.approx(GOLDEN_LIMIT, abs=2e-3)


@pytest.mark.parametrize("a_deg", [0.5, 2.0, 5.0, 20.0, 45.0, 70.0])
def test_package_bound_holds_under_the_exact_toy_flow(a_deg):
    sqrt_loss, cos_theta = toy_sqrt_ood_loss(a_deg)
    assert sqrt_loss >= theory.ft_lower_bound(cos_theta, phi=1.0, w_norm=1.0, eps=0.0) > 0


def test_package_bound_is_within_a_factor_two_of_the_exact_toy_flow_at_small_angles():
    # The head term for phi = ||w*|| = 1 against the exact limit 0.2139: a floor, but not a loose one.
    assert 0.5 < theory.head_term(1.0, 1.0) / GOLDEN_LIMIT < 1.0
