"""Self-checks for lesson 3's laptop-experiment exercises (``lpft-mini`` results). Each expected
answer is computed from the learner's own results dict, never hard-coded: a different seed count or
a changed experiment cannot make a check and the lesson disagree."""
from __future__ import annotations

from lpft_edu.exercises import close, not_answered, verdict


def _seed_values(results: dict, method: str, key: str) -> dict[int, float]:
    rows = results["methods"][method]["per_seed"]
    return {int(r["seed"]): float(r[key]) for r in rows if r.get(key) is not None}


def seeds_lp_beats_ft_ood(results: dict) -> int:
    """In how many seeds LP's OOD accuracy is strictly above FT's (the same seed's)."""
    lp, ft = _seed_values(results, "LP", "ood_acc"), _seed_values(results, "FT", "ood_acc")
    return sum(lp[s] > ft[s] for s in lp if s in ft)


def check_seeds_lp_ahead(answer, results: dict) -> None:
    """Exercise: the number of seeds in which LP beats FT out of distribution."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a whole number first.")
    expected = seeds_lp_beats_ft_ood(results)
    n = len(results["methods"]["LP"]["per_seed"])
    if isinstance(answer, bool) or not close(answer, expected, rtol=0, atol=1e-9):
        if close(answer, n - expected, rtol=0, atol=1e-9) and expected != n - expected:
            return verdict(False, "That counts the other way round: the seeds where FT is ahead (or tied).")
        return verdict(False, "Compare LP and FT seed by seed: each method's 'per_seed' list holds one record per "
                              "seed, with the seed number and its 'ood_acc'.")
    spread = ("every seed agrees with the mean" if expected == n else
              "the mean hides seeds that go the other way" if expected > 0 else "no seed has LP ahead")
    return verdict(True, f"LP is ahead out of distribution in {expected} of {n} seeds: {spread}. A difference of "
                         "means is worth believing when it is large next to the seed-to-seed spread.")


def distortion_ratio(results: dict, where: str = "ood") -> float:
    ft = results["methods"]["FT"]["distortion"][where]["relative"]
    lpft = results["methods"]["LP-FT"]["distortion"][where]["relative"]
    return float(ft) / float(lpft)


def check_ood_distortion_ratio(answer, results: dict) -> None:
    """Exercise: FT's relative OOD feature change divided by LP-FT's (means over seeds)."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    expected = distortion_ratio(results, "ood")
    if close(answer, expected, rtol=1e-3):
        return verdict(True, f"FT moved the OOD features {expected:.1f} times as far as LP-FT did (means over "
                             "seeds). LP-FT starts from a head that already fits, so its gradients barely touch the "
                             "features.")
    if close(answer, 1 / expected, rtol=1e-3):
        return verdict(False, "That is LP-FT divided by FT: the question asks how many times farther FT went.")
    if close(answer, distortion_ratio(results, "id"), rtol=1e-3):
        return verdict(False, "That is the ratio on ID inputs: use the OOD side of the distortion record.")
    return verdict(False, "Each method's 'distortion' record has an 'ood' part with the 'relative' change; "
                          "divide FT's by LP-FT's.")


def ood_gap(results: dict) -> float:
    """LP's mean OOD accuracy minus FT's, in accuracy units (0.05 = 5 points)."""
    return float(results["methods"]["LP"]["ood_acc"]) - float(results["methods"]["FT"]["ood_acc"])


def check_knob(answer, without_ood: dict, with_ood: dict) -> None:
    """Exercise (the knob): LP's mean OOD accuracy minus FT's in the run pretrained WITHOUT the OOD
    kind of input; the verdict compares it with the run pretrained with it."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    if not isinstance(without_ood, dict) or not isinstance(with_ood, dict):
        return verdict(False, "Run the experiment with pretrain_ood=False first and store its results in "
                              "`mini_no_ood`.")
    if without_ood.get("config", {}).get("pretrain_ood") is not False:
        return verdict(False, "The first results passed to the check should come from a run with pretrain_ood=False.")
    expected, before = ood_gap(without_ood), ood_gap(with_ood)
    if close(answer, expected, rtol=1e-3, atol=1e-6) or close(answer, 100 * expected, rtol=1e-3, atol=1e-4):
        return verdict(True, f"Without OOD inputs in pretraining, LP - FT out of distribution is {100 * expected:+.1f} "
                             f"points (with them: {100 * before:+.1f}). Now look at the OOD accuracies themselves in "
                             "the table and the figure, and answer the Think! question below.")
    if close(answer, before, rtol=1e-3, atol=1e-6) or close(answer, 100 * before, rtol=1e-3, atol=1e-4):
        return verdict(False, "That is the gap of the first run (pretrained with OOD inputs): use the new run's results.")
    if close(answer, -expected, rtol=1e-3, atol=1e-6) or close(answer, -100 * expected, rtol=1e-3, atol=1e-4):
        return verdict(False, "Check the sign: LP's OOD accuracy minus FT's.")
    return verdict(False, "Use the mean OOD accuracy ('ood_acc') of LP and of FT in the new run's 'methods'.")
