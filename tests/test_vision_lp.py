"""LP: our full-batch L-BFGS logistic regression agrees with sklearn's on the same features; the LP head
is stored as plain tensors and read with weights_only; the feature cache stays out of the data root."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sklearn_lm = pytest.importorskip("sklearn.linear_model")

from lpft_edu.vision.distortion import feature_change  # noqa: E402
from lpft_edu.vision.lp import (FeatureCache, LinearHead, cache_key, default_feature_dir, fit_logreg,  # noqa: E402
                                lp_sweep)
from lpft_edu.vision.results import CheckpointError  # noqa: E402


def _features(n=400, d=20, k=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1.0, (k, d))
    y = rng.integers(0, k, n)
    X = centers[y] + rng.normal(0, 1.5, (n, d))
    return X, y


@pytest.mark.parametrize("C", [1e-3, 0.1, 10.0])
def test_logreg_matches_sklearn(C):
    X, y = _features()
    sk = sklearn_lm.LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y)
    W, b = fit_logreg(torch.tensor(X), torch.tensor(y), C, num_classes=4, max_iter=2000, tol=1e-10)
    # Same objective (sklearn's divided by C n); the penalised W is unique, so are the probabilities.
    np.testing.assert_allclose(W.numpy(), sk.coef_, atol=2e-4, rtol=2e-3)
    ours = torch.softmax(torch.tensor(X) @ W.T + b, 1).numpy()
    np.testing.assert_allclose(ours, sk.predict_proba(X), atol=1e-4)


def test_sweep_selects_on_validation_and_head_folds_standardisation():
    X, y = _features(600)
    Xt, yt = torch.tensor(X[:400], dtype=torch.float32) * 3 + 5, torch.tensor(y[:400])
    Xv, yv = torch.tensor(X[400:], dtype=torch.float32) * 3 + 5, torch.tensor(y[400:])
    head, sweep = lp_sweep(Xt, yt, Xv, yv, Cs=np.logspace(-7, 2, 10), num_classes=4)
    assert [s["C"] for s in sweep] == sorted(s["C"] for s in sweep)
    assert head.C == max(sweep, key=lambda s: s["val_acc"])["C"]
    assert max(s["val_acc"] for s in sweep) > 0.8 and sweep[0]["train_acc"] <= sweep[-1]["train_acc"]
    W, b = head.raw()  # an nn.Linear on raw features must give the standardised head's logits
    torch.testing.assert_close(Xv @ W.T + b, head.logits(Xv), rtol=1e-4, atol=1e-4)


def test_feature_cache_roundtrip(tmp_path):
    cache = FeatureCache(tmp_path / "features")
    k1 = cache_key("tiny-cnn:random-init:seed0", "abc", "train", 32)
    assert k1 != cache_key("tiny-cnn:random-init:seed0", "abd", "train", 32)
    assert k1 != cache_key("resnet18-imagenet:torchvision", "abc", "train", 32)
    assert cache.load(k1, "cpu") is None
    f = torch.randn(5, 3)
    cache.save(k1, f)
    torch.testing.assert_close(cache.load(k1, "cpu"), f)
    cache.path(k1).write_bytes(b"torn")  # a damaged cache file is recomputed, not fatal
    assert cache.load(k1, "cpu") is None


def test_feature_change():
    f0 = torch.tensor([[3.0, 4.0], [0.0, 5.0]])
    d = feature_change(f0, f0 + torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    assert d["mean_l2"] == pytest.approx(1.0) and d["relative"] == pytest.approx(0.2) and d["n"] == 2


def test_lp_head_is_stored_as_plain_tensors_and_read_with_weights_only(tmp_path):
    head = LinearHead(torch.randn(10, 6), torch.randn(10), 0.5, 2.0, 0.01)
    path = tmp_path / "lp_head.pt"
    head.save(path)
    state = torch.load(path, weights_only=True)  # would raise if anything but tensors and numbers were pickled
    assert set(state) == {"W", "b", "mean", "std", "C"} and isinstance(state["C"], float)
    again = LinearHead.load(path, "cpu")
    f = torch.randn(4, 6)
    torch.testing.assert_close(again.logits(f), head.logits(f))
    assert (again.mean, again.std, again.C) == (0.5, 2.0, 0.01)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("content", ["payload", "head object", "bad values", "garbage"])
def test_a_head_file_that_is_not_plain_tensors_is_refused_without_running_it(tmp_path, content):
    path, marker = tmp_path / "lp_head.pt", tmp_path / "PWNED"
    head = LinearHead(torch.randn(10, 6), torch.randn(10), 0.5, 2.0, 0.01)
    if content == "payload":
        path.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    elif content == "head object":  # what the old code wrote: a pickled LinearHead
        torch.save(head, path)
    elif content == "bad values":
        torch.save({"W": head.W, "b": head.b, "mean": 0.0, "std": -1.0, "C": 1.0}, path)
    else:
        path.write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="lp_head.pt is not a usable LP head.*Delete it"):
        LinearHead.load(path)
    assert not marker.exists()


def test_feature_cache_directory_is_the_cache_never_the_data(tmp_path, monkeypatch):
    monkeypatch.setenv("LPFT_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("LPFT_DATA", str(tmp_path / "data"))
    assert default_feature_dir() == tmp_path / "c" / "features"
    monkeypatch.delenv("LPFT_CACHE")
    assert default_feature_dir() == Path.home() / ".cache" / "lpft_edu" / "features"


def test_the_run_uses_its_own_folder_when_the_cache_cannot_be_created(tmp_path, monkeypatch):
    from lpft_edu.vision.experiment import feature_cache_for
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a regular file where the cache folder should be: even root cannot mkdir there
    monkeypatch.setenv("LPFT_CACHE", str(blocker))
    assert feature_cache_for(tmp_path / "run").folder == tmp_path / "run" / "features"
