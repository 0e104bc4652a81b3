"""LP: our full-batch L-BFGS logistic regression agrees with sklearn's on the same features."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sklearn_lm = pytest.importorskip("sklearn.linear_model")

from lpft_edu.vision.distortion import feature_change  # noqa: E402
from lpft_edu.vision.lp import FeatureCache, LinearHead, cache_key, fit_logreg, lp_sweep  # noqa: E402


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
    assert isinstance(LinearHead, type)
