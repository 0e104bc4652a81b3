"""Every lesson 1 self-check accepts the instructor solution and rejects wrong or missing answers."""
import pytest

from lpft_edu.exercises import passed
from lpft_edu.exercises.toy import check_ft_ood_error, check_lp_head, check_no_distortion_head
from lpft_edu.toy import X_ID, ToySetup, lp_head_closed_form, run_toy


def test_check_lp_head():
    s = ToySetup(angle_deg=30)
    assert passed(check_lp_head, s.y_id / (s.b0 @ X_ID), angle_deg=30)
    assert not passed(check_lp_head, 1.0, angle_deg=30)
    assert not passed(check_lp_head, None)
    assert not passed(check_lp_head, "three")


def test_check_ft_ood_error():
    good = run_toy(ToySetup(angle_deg=30, v0=0.0, step=0.1, steps=200)).ft.ood_error[-1]
    assert passed(check_ft_ood_error, good, angle_deg=30, v0=0.0, step=0.1, steps=200)
    lp = run_toy(ToySetup(angle_deg=30, v0=0.0, step=0.1, steps=200)).lp.ood_error[-1]
    assert not passed(check_ft_ood_error, lp, angle_deg=30, v0=0.0, step=0.1, steps=200)
    assert not passed(check_ft_ood_error, ...)


@pytest.mark.parametrize("angle", [30.0, -10.0])
def test_check_no_distortion_head(angle):
    s = ToySetup(angle_deg=angle)
    assert passed(check_no_distortion_head, lp_head_closed_form(s.b0, s.y_id), angle_deg=angle)
    assert not passed(check_no_distortion_head, 0.0, angle_deg=angle)
    assert not passed(check_no_distortion_head, lp_head_closed_form(s.b0, s.y_id) * 1.01, angle_deg=angle)


def test_checks_print_a_verdict(capsys):
    check_lp_head(0.0)
    assert capsys.readouterr().out.startswith("Not yet.")
