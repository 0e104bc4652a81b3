"""Self-checks for lesson 3's exercises (CIFAR-10 -> STL-10). Expected answers are computed from
the library and from the learner's own results file, never hard-coded."""
from __future__ import annotations

import numpy as np

from lpft_edu.exercises import close, not_answered, verdict
from lpft_edu.vision.labels import CIFAR10_CLASSES, STL10_CLASSES, STL_TO_CIFAR


def check_label_map(answer) -> None:
    """Exercise 1: a dict {STL-10 index: CIFAR-10 index} for the classes both data sets share."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a dict like {0: 0, ...} first.")
    if not isinstance(answer, dict):
        return verdict(False, "`answer` should be a dict {stl_index: cifar_index}.")
    try:
        got = {int(k): int(v) for k, v in answer.items()}
    except (TypeError, ValueError):
        return verdict(False, "Keys and values should be integer class indices (0-9).")
    monkey = STL10_CLASSES.index("monkey")
    if monkey in got:
        return verdict(False, f"STL-10 class {monkey} is 'monkey': CIFAR-10 has no monkey class, so drop it.")
    wrong = {s: c for s, c in got.items() if STL_TO_CIFAR.get(s) != c}
    if wrong:
        s, c = next(iter(wrong.items()))
        return verdict(False, f"STL '{STL10_CLASSES[s] if 0 <= s < 10 else s}' -> CIFAR index {c} "
                              f"('{CIFAR10_CLASSES[c] if 0 <= c < 10 else c}') is not the same class. Compare the two class lists.")
    if len(got) != len(STL_TO_CIFAR):
        return verdict(False, f"{len(got)} classes mapped; the data sets share {len(STL_TO_CIFAR)}.")
    return verdict(True, "9 shared classes. Note the order differs (STL's 'bird' is index 1, CIFAR's is 2), "
                         "and CIFAR's 'frog' has no STL counterpart: the head stays 10-way.")


def distortion_exercise_features(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(pretrained, fine-tuned) features of 50 examples, 8 dimensions, for exercise 2."""
    rng = np.random.default_rng(seed)
    f0 = rng.normal(0, 1, (50, 8))
    return f0, f0 + rng.normal(0, 0.3, (50, 8))


def check_feature_distortion(answer, seed: int = 0) -> None:
    """Exercise 2: the mean Euclidean distance between fine-tuned and pretrained features, per example."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    f0, f1 = distortion_exercise_features(seed)
    expected = float(np.linalg.norm(f1 - f0, axis=1).mean())
    if close(answer, expected, rtol=1e-6):
        return verdict(True, f"Mean ||phi(x) - phi0(x)|| = {expected:.4f}; the lesson divides it by the mean "
                             "||phi0(x)|| so that backbones with different feature scales can be compared.")
    if close(answer, float(np.linalg.norm(f1 - f0)), rtol=1e-6):
        return verdict(False, "That is the norm of the whole difference matrix: take one norm per example (axis=1), then the mean.")
    return verdict(False, "Take the difference per example, its Euclidean norm (axis=1), then the mean over examples.")


def _distortion(results: dict, method: str, where: str) -> float:
    return float(results["methods"][method]["distortion"][where]["relative"])


def check_distortion_ratio(answer, results: dict) -> None:
    """Exercise 3: FT's relative ID feature distortion divided by LP-FT's, from this run's results."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    expected = _distortion(results, "FT", "id") / _distortion(results, "LP-FT", "id")
    if close(answer, expected, rtol=1e-3):
        return verdict(True, f"In this run FT moved the ID features {expected:.1f}x as far as LP-FT did.")
    return verdict(False, "Read results['methods'][m]['distortion']['id']['relative'] for m = 'FT' and 'LP-FT', "
                          "and divide the first by the second.")


def check_best_ft_ood_epoch(answer, results: dict) -> None:
    """Exercise 4: FT's best OOD accuracy over all epochs (what perfect early stopping could get)."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    ft = [e["ood_acc"] for e in results["methods"]["FT"]["epochs"]]
    expected = max(ft)
    if close(answer, expected, rtol=1e-6) or close(answer, 100 * expected, rtol=1e-6):
        if results.get("data_kind") != "real":
            return verdict(True, f"FT's best OOD accuracy over epochs is {expected:.3f}. These are fake data (the "
                                 "smoke path): you read the per-epoch records correctly, but the number says nothing "
                                 "about CIFAR-10 or STL-10.")
        lpft = results["methods"].get("LP-FT", {}).get("ood_acc")
        tail = ("" if lpft is None else
                f" LP-FT's final OOD accuracy is {lpft:.3f}: " + ("even the best epoch of FT does not reach it."
                                                                   if expected < lpft else "in this run the best FT "
                                                                   "epoch does reach it."))
        return verdict(True, f"FT's best OOD accuracy over epochs is {expected:.3f}." + tail)
    return verdict(False, "Take the maximum of e['ood_acc'] over e in results['methods']['FT']['epochs'].")
