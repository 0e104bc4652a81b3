"""The laptop experiment: pretrain a small ReLU network, then LP, FT and LP-FT, over seeds.

Per seed (the data split, the network's initialisation and the data order all follow the seed):

1. **Pretraining**: a two-hidden-layer ReLU network (64 -> hidden -> hidden; the features are the
   second hidden layer) learns to name the digits of the pretraining images, with both kinds of
   input when ``pretrain_ood`` (centred and moved digits), else centred ones only.
2. **LP**: logistic regression on the frozen features of the centred training digits, its C chosen
   on ID validation (:func:`lpft_edu.vision.lp.lp_sweep`).
3. **FT**: all weights trained on the centred training digits from a fresh random head
   (:func:`lpft_edu.vision.train.finetune`, as ``lpft-cifar-stl`` does).
4. **LP-FT**: the same, starting from the LP head, at a 10x smaller learning rate.

With ``sweep_lr`` (``--sweep-lr``) FT and LP-FT each train at every rate of a grid and keep, per
seed, the one with the best ID validation accuracy (the paper's rule); ties keep the first rate in
grid order, and with the default 149 validation digits ties are common.

Every model is scored on centred test digits (ID) and on the same test digits moved (OOD); feature
distortion (:func:`lpft_edu.vision.distortion.feature_change`) compares each fine-tuned network's
features of those test digits with the pretrained ones. There is one implementation of each step:
the vision package's; this module only wires the digits into it.

``id_acc``/``ood_acc`` of a method are means over seeds 0..n-1 (all of them, none left out);
``*_std`` are sample standard deviations (ddof=1), null for a single seed. A seed whose training
loss blew up makes its method ``diverged`` (no mean is reported for it) and the run ``diverged``.
"""
from __future__ import annotations

import copy
import math
import os
import platform
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lpft_edu.mini.config import MiniConfig
from lpft_edu.mini.data import ID_NAME, SOURCE, AsIs, MiniData, load_digits_tensors, make_splits, ood_name
from lpft_edu.vision import results as res
from lpft_edu.vision.distortion import feature_change
from lpft_edu.vision.lp import accuracy_from_features, extract_features, lp_sweep
from lpft_edu.vision.models import FeatureModel
from lpft_edu.vision.train import Diverged, TrainConfig, evaluate, finetune, start_head

EXPERIMENT = "lpft-mini"
METHODS = ("LP", "FT", "LP-FT")
LR_FLAG = {"pretrain": "--lr-pretrain", "FT": "--lr-ft", "LP-FT": "--lr-lpft"}
SPREAD = "id_acc_std and ood_acc_std are sample standard deviations over the seeds (ddof=1); null for one seed"
FAST_BANNER = "FAST RUN (LPFT_FAST / --fast): a few epochs to check the pipeline - not the lesson's result"
# --sweep-lr grids, in lpft-cifar-stl's order (FT ascending, LP-FT descending); ties keep the first
FT_SWEEP = (0.003, 0.01, 0.03, 0.1)
LPFT_SWEEP = (0.01, 0.003, 0.001, 0.0003)
# One thread: the network is tiny, so a second only adds overhead, and on a loaded 2-core machine it is
# ruinous (measured 2026-12-02, 5 seeds, load ~5: 1 thread 20 s, 2 threads 171 s; same numbers).
THREADS = 1
PREPROCESS = AsIs()


def build_network(hidden: int, seed: int) -> FeatureModel:
    """64 pixels -> hidden -> hidden (ReLU after each): the features; a linear head names the digit."""
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
    return FeatureModel(body, hidden, num_classes=10)


@contextmanager
def _threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _images(split_len: int, epochs: int, batch_size: int) -> int:
    steps = split_len // batch_size if split_len >= batch_size else 1
    return epochs * steps * min(batch_size, split_len)


def _diverged(seed: int, stage: str, exc: Diverged, cfg: MiniConfig, lr: float, swept: bool = False) -> dict:
    where = "pretraining" if stage == "pretrain" else stage
    fix = (f"every learning rate of the --sweep-lr grid diverged (the last, {lr:g}: {exc.reason}); run without "
           f"--sweep-lr and a smaller {LR_FLAG[stage]}" if swept else
           f"{exc.reason}: lower {LR_FLAG[stage]} (now {lr:g}), e.g. {lr / 10:g}")
    return {"seed": seed, "status": "diverged", "id_acc": None, "ood_acc": None, "error": f"{where} (seed {seed}) {fix}"}


def lr_grid(cfg: MiniConfig, method: str) -> tuple[float, ...]:
    """The learning rates FT or LP-FT trains with: the one of --lr-ft/--lr-lpft, or with --sweep-lr the
    whole grid (the one with the best ID validation accuracy is kept)."""
    if cfg.sweep_lr:
        return FT_SWEEP if method == "FT" else LPFT_SWEEP
    return (cfg.lr_ft if method == "FT" else cfg.lr_lpft,)


def fine_tune(method: str, lr: float, net: FeatureModel, head, data: MiniData, feats: dict, cfg: MiniConfig,
              seed: int, bar=None) -> dict:
    """FT (fresh random head) or LP-FT (the LP head) of a copy of the pretrained ``net`` at ``lr``, on the
    centred training digits; its per-seed record. Raises :class:`~lpft_edu.vision.train.Diverged`."""
    model = copy.deepcopy(net)
    start_head(model, head if method == "LP-FT" else None, seed + 11)
    evals = {"val": data.val, "id": data.id_test, "ood": data.ood_test}
    history = finetune(model, data.train, evals, TrainConfig(method, lr, cfg.epochs, cfg.batch_size,
                                                             bn_train=(method == "FT"), seed=seed), PREPROCESS,
                       progress=bar)
    epochs = [{k: row[k] for k in ("epoch", "val_acc", "id_acc", "ood_acc")} for row in history["epochs"]]
    moved = {side: feature_change(feats[name], extract_features(model, getattr(data, name), PREPROCESS))
             for side, name in (("id", "id_test"), ("ood", "ood_test"))}
    last = epochs[-1]  # the model as trained: accuracies of the last epoch (no early stopping)
    return {"seed": seed, "status": "complete", "lr": lr, "id_acc": last["id_acc"], "ood_acc": last["ood_acc"],
            "val_acc": last["val_acc"], "distortion_id": moved["id"]["relative"],
            "distortion_ood": moved["ood"]["relative"],
            "distortion": {k: {"mean_l2": v["mean_l2"], "relative": v["relative"]} for k, v in moved.items()},
            "epochs": epochs}


def run_seed(seed: int, cfg: MiniConfig, data: MiniData, bar=None) -> dict:
    """One seed of the experiment on that seed's splits (:func:`~lpft_edu.mini.data.make_splits`):
    {"pretraining": record, "LP"/"FT"/"LP-FT": per-seed records, "sizes": split sizes}."""
    net = build_network(cfg.hidden, seed)
    try:
        finetune(net, data.pretrain, {}, TrainConfig("pretrain", cfg.lr_pretrain, cfg.pretrain_epochs, cfg.batch_size,
                                                     bn_train=True, seed=seed), PREPROCESS, progress=bar)
    except Diverged as exc:
        failed = _diverged(seed, "pretrain", exc, cfg, cfg.lr_pretrain)
        return {"pretraining": failed, **{m: dict(failed) for m in METHODS}}
    out = {"pretraining": {"seed": seed, "status": "complete", "id_acc": evaluate(net, data.id_test, PREPROCESS),
                           "ood_acc": evaluate(net, data.ood_test, PREPROCESS)}}
    feats = {name: extract_features(net, getattr(data, name), PREPROCESS)
             for name in ("train", "val", "id_test", "ood_test")}

    head, _sweep = lp_sweep(feats["train"], data.train.y, feats["val"], data.val.y, np.logspace(-7, 2, cfg.lp_cs))
    zero = {"mean_l2": 0.0, "relative": 0.0}
    out["LP"] = {"seed": seed, "status": "complete",
                 "id_acc": accuracy_from_features(head, feats["id_test"], data.id_test.y),
                 "ood_acc": accuracy_from_features(head, feats["ood_test"], data.ood_test.y),
                 "val_acc": accuracy_from_features(head, feats["val"], data.val.y), "C": head.C,
                 "distortion_id": 0.0, "distortion_ood": 0.0, "distortion": {"id": zero, "ood": dict(zero)}}

    for method in ("FT", "LP-FT"):
        grid = lr_grid(cfg, method)
        chosen, sweep, failure = None, [], None
        for lr in grid:
            try:
                record = fine_tune(method, lr, net, head, data, feats, cfg, seed, bar)
            except Diverged as exc:
                sweep.append({"lr": lr, "status": "diverged", "error": exc.reason})
                failure = (lr, exc)
                continue
            sweep.append({"lr": lr, "status": "complete", "val_acc": record["val_acc"]})
            if chosen is None or record["val_acc"] > chosen["val_acc"]:  # first of equals wins, in grid order
                chosen = record
        if chosen is None:
            out[method] = _diverged(seed, method, failure[1], cfg, failure[0], swept=cfg.sweep_lr)
        else:
            out[method] = {**chosen, "lr_sweep": sweep if cfg.sweep_lr else None}
    out["sizes"] = data.sizes()
    return out


def _mean_std(values: list[float]) -> tuple[float, float | None]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), (float(a.std(ddof=1)) if len(a) > 1 else None)


def summarise(name: str, per_seed: list[dict]) -> dict:
    """A method's entry in results.json: means and sample stds over its seeds, and the seeds' records."""
    errors = [s["error"] for s in per_seed if s.get("status") == "diverged"]
    if errors:
        return {"status": "diverged", "error": errors[0], "id_acc": None, "ood_acc": None, "id_acc_std": None,
                "ood_acc_std": None, "per_seed": per_seed, "distortion": None}
    entry = {"status": "complete"}
    for key in ("id_acc", "ood_acc"):
        entry[key], entry[f"{key}_std"] = _mean_std([s[key] for s in per_seed])
    entry["val_acc"] = float(np.mean([s["val_acc"] for s in per_seed]))
    entry["distortion"] = {side: {stat: float(np.mean([s["distortion"][side][stat] for s in per_seed]))
                                  for stat in ("relative", "mean_l2")} for side in ("id", "ood")}
    for side in ("id", "ood"):
        entry["distortion"][side]["relative_std"] = _mean_std([s["distortion"][side]["relative"]
                                                               for s in per_seed])[1]
    if all("epochs" in s for s in per_seed):  # FT, LP-FT: accuracy after each epoch, mean over the seeds
        entry["epochs"] = [{"epoch": rows[0]["epoch"], **{k: float(np.mean([r[k] for r in rows]))
                                                         for k in ("val_acc", "id_acc", "ood_acc")}}
                           for rows in zip(*(s["epochs"] for s in per_seed))]
    entry["per_seed"] = per_seed
    if name == "LP":
        entry["note"] = "features frozen: no distortion by construction; C chosen per seed on ID validation"
    else:
        entry["head_init"] = "random" if name == "FT" else "LP solution"
    return entry


# The paper's claims as paired per-seed differences (a, b, key): a's value minus b's, seed by seed.
# Pairing removes what the seeds share (the same split and pretrained network for all three methods).
CLAIMS = (
    ("FT", "LP", "id_acc"),             # FT at least matches LP in distribution
    ("LP", "FT", "ood_acc"),            # LP beats FT out of distribution
    ("LP-FT", "LP", "id_acc"), ("LP-FT", "FT", "id_acc"),    # LP-FT at least as good as the better
    ("LP-FT", "LP", "ood_acc"), ("LP-FT", "FT", "ood_acc"),  # of the two, ID and OOD
    ("FT", "LP-FT", "distortion_ood"),  # FT moves the OOD features more than LP-FT
)


def paired_differences(methods: dict) -> list[dict]:
    """Each claim's per-seed differences: mean, sample std, and in how many seeds a > b, a == b, a < b."""
    out = []
    for a, b, key in CLAIMS:
        if any(methods.get(m, {}).get("status") != "complete" for m in (a, b)):
            continue
        diffs = [sa[key] - sb[key] for sa, sb in zip(methods[a]["per_seed"], methods[b]["per_seed"])]
        mean, std = _mean_std(diffs)
        out.append({"a": a, "b": b, "key": key, "mean": mean, "std": std, "diffs": diffs,
                    "a_higher": sum(d > 0 for d in diffs), "equal": sum(d == 0 for d in diffs),
                    "b_higher": sum(d < 0 for d in diffs)})
    return out


def _device_info() -> dict:
    return {"type": "cpu", "torch": torch.__version__, "threads": THREADS, "platform": platform.platform(),
            "name": platform.processor() or platform.machine(), "cpus": os.cpu_count()}


def new_results(cfg: MiniConfig, command: str) -> dict:
    return {
        "schema": res.SCHEMA, "experiment": EXPERIMENT, "status": "running", "smoke": False, "fast": cfg.fast,
        "data_kind": "real", "banner": FAST_BANNER if cfg.fast else None,
        "datasets": {"id": ID_NAME, "ood": ood_name(cfg.shift)},
        "data": {"kind": "real", "source": SOURCE, "sizes": None,
                 "shift": f"OOD = the ID test digits moved {cfg.shift} px right (of 8)"},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
        "config": cfg.to_dict(), "device": _device_info(), "seeds": list(range(cfg.seeds)), "spread": SPREAD,
        "pretraining": None, "methods": {}, "paired": [], "timings": {"per_seed_s": []},
    }


def _fill(results: dict, rows: list[dict]) -> None:
    pre = [r["pretraining"] for r in rows]
    ok = [p for p in pre if p.get("status") == "complete"]
    results["pretraining"] = {
        "what": "the pretrained network with its own pretraining head, on the ID and OOD test digits",
        "id_acc": float(np.mean([p["id_acc"] for p in ok])) if ok else None,
        "ood_acc": float(np.mean([p["ood_acc"] for p in ok])) if ok else None, "per_seed": pre}
    results["methods"] = {m: summarise(m, [r[m] for r in rows]) for m in METHODS}
    results["paired"] = paired_differences(results["methods"])
    results["data"]["sizes"] = rows[0].get("sizes")


def _bar(progress: bool, **kw):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(**kw)


def run_mini(config: MiniConfig | None = None, runs_dir: str | Path | bool | None = None, command: str = "") -> dict:
    """Run the laptop experiment and return the results dict (schema of lpft_edu.vision.results).

    ``runs_dir``: None writes ``runs/<time>-<id>/results.json`` under
    :func:`lpft_edu.vision.results.default_runs_dir`; a path writes it under that folder; False
    writes nothing. The file is rewritten (atomically) after every seed; the returned dict's
    ``run_dir`` is the folder (None when nothing is written). The config is validated before any
    folder is created: a ValueError names the flag. ``command`` is recorded in the file; by default
    the ``lpft-mini`` command line that repeats this run."""
    asked = (config if config is not None else MiniConfig()).validate()
    cfg = asked.resolved()
    results = new_results(cfg, command or asked.command())
    run_dir = None if runs_dir is False else res.new_run_dir(res.default_runs_dir() if runs_dir in (None, True)
                                                                 else Path(runs_dir))
    results["run_dir"] = str(run_dir) if run_dir is not None else None

    def save():
        if run_dir is not None:
            res.write_json_atomic(results, run_dir / "results.json")

    t_start = time.perf_counter()
    save()
    x, y = load_digits_tensors()
    rows = []
    seeds_bar = _bar(cfg.progress, total=cfg.seeds, desc=f"{EXPERIMENT} seeds", unit="seed")
    try:
        with _threads(THREADS):
            for seed in range(cfg.seeds):
                t0 = time.perf_counter()
                data = make_splits(x, y, seed, cfg.shift, cfg.pretrain_fraction, cfg.pretrain_ood)
                total = (_images(len(data.pretrain), cfg.pretrain_epochs, cfg.batch_size)
                         + (len(lr_grid(cfg, "FT")) + len(lr_grid(cfg, "LP-FT")))
                         * _images(len(data.train), cfg.epochs, cfg.batch_size))
                bar = _bar(cfg.progress, total=total, desc=f"seed {seed}: pretrain, FT, LP-FT", unit="img",
                           unit_scale=True, leave=False)
                try:
                    rows.append(run_seed(seed, cfg, data, bar))
                finally:
                    if bar is not None:
                        bar.close()
                results["timings"]["per_seed_s"].append(time.perf_counter() - t0)
                _fill(results, rows)
                save()
                if seeds_bar is not None:
                    seeds_bar.update(1)
    except BaseException:
        results["status"] = "interrupted"
        for entry in results["methods"].values():
            entry["status"] = "interrupted" if entry.get("status") == "complete" else entry.get("status")
        save()
        raise
    finally:
        if seeds_bar is not None:
            seeds_bar.close()
    diverged = any(m["status"] == "diverged" for m in results["methods"].values())
    results["status"] = "diverged" if diverged else "complete"
    results["timings"]["total_s"] = time.perf_counter() - t_start
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    save()
    return results


def format_table(results: dict) -> str:
    """Means +- sample std over the seeds, one line per method (the CLI prints it)."""
    n = len(results.get("seeds") or [])
    lines = [f"{results['datasets']['id']} (ID) -> {results['datasets']['ood']} (OOD), {n} seed(s), "
             f"pretraining {'with' if results['config']['pretrain_ood'] else 'WITHOUT'} the OOD kind of input",
             f"{'method':<7} {'ID accuracy':>16} {'OOD accuracy':>16} {'OOD feature change':>19}"]

    def pm(mean, std):
        if mean is None:
            return "-"
        return f"{mean:.3f} +- {std:.3f}" if std is not None and not math.isnan(std) else f"{mean:.3f}"

    for name in METHODS:
        m = results["methods"].get(name, {})
        if m.get("status") != "complete":
            lines.append(f"{name:<7} {m.get('status', 'missing')}: {m.get('error', '')}")
            continue
        d = m["distortion"]["ood"]
        lines.append(f"{name:<7} {pm(m['id_acc'], m['id_acc_std']):>16} {pm(m['ood_acc'], m['ood_acc_std']):>16} "
                     f"{pm(d['relative'], d.get('relative_std')):>19}")
    lines.append("(+- is the sample standard deviation over seeds; feature change = mean ||phi - phi0|| / mean ||phi0||)")
    pre = results.get("pretraining") or {}
    if pre.get("id_acc") is not None:
        lines.append(f"pretrained network with its own head: ID {pre['id_acc']:.3f}, OOD {pre['ood_acc']:.3f}")
    if results.get("paired"):
        lines.append("paired over seeds (a - b, seed by seed: mean +- std; seeds where a > b / = / <):")
        for c in results["paired"]:
            what = {"id_acc": "ID acc", "ood_acc": "OOD acc", "distortion_ood": "OOD feature change"}[c["key"]]
            lines.append(f"  {c['a']:>5} - {c['b']:<5} {what:<18} {pm(c['mean'], c['std']):>16}   "
                         f"{c['a_higher']} / {c['equal']} / {c['b_higher']}")
    return "\n".join(lines)
