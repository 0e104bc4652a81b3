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
    result = run_toy(ToySetup(angle_deg=30))
    assert passed(check_ft_ood_error, result.ft.ood_error[-1], angle_deg=30)
    assert not passed(check_ft_ood_error, result.lp.ood_error[-1], angle_deg=30)
    assert not passed(check_ft_ood_error, result.ft.ood_error[0], angle_deg=30)
    assert not passed(check_ft_ood_error, ...)


def test_check_ft_ood_error_explains_the_step_0_mistake(capsys):
    check_ft_ood_error(run_toy(ToySetup(angle_deg=30)).ft.ood_error[0], angle_deg=30)
    assert "step 0" in capsys.readouterr().out


@pytest.mark.parametrize("angle", [30.0, -10.0])
def test_check_no_distortion_head(angle):
    s = ToySetup(angle_deg=angle)
    assert passed(check_no_distortion_head, lp_head_closed_form(s.b0, s.y_id), angle_deg=angle)
    assert not passed(check_no_distortion_head, 0.0, angle_deg=angle)
    assert not passed(check_no_distortion_head, lp_head_closed_form(s.b0, s.y_id) * 1.01, angle_deg=angle)
    assert not passed(check_no_distortion_head, "x", angle_deg=angle)


@pytest.mark.parametrize("check, answer", [(check_lp_head, 0.0), (check_ft_ood_error, 123.0),
                                           (check_no_distortion_head, 0.0)])
def test_checks_print_a_verdict_return_none_and_hand_over_no_code(check, answer, capsys):
    assert check(answer) is None
    out = capsys.readouterr().out
    assert out.startswith("Not yet.")
    assert "run_toy(" not in out and ".ood_error[" not in out and "ToySetup(" not in out
