"""The whole CIFAR-10 -> STL-10 protocol: data, pretrained features, LP, FT, LP-FT, distortion.

:func:`run_experiment` is what the CLI and the lesson call. It writes ``results.json`` into the
run directory after every stage, so an interrupted run can be resumed (``resume=True`` with the
same directory): finished methods are skipped, an unfinished FT/LP-FT continues from its last
per-epoch checkpoint, and features come from the on-disk cache.
"""
from __future__ import annotations

import copy
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from lpft_edu import paper_numbers
from lpft_edu.vision import results as res
from lpft_edu.vision.data import Preprocess, Split, default_root, load_cifar_stl
from lpft_edu.vision.distortion import feature_change
from lpft_edu.vision.fake import SMOKE, has_fake_data, write_fake_data
from lpft_edu.vision.lp import FeatureCache, accuracy_from_features, cache_key, extract_features, lp_sweep
from lpft_edu.vision.models import DEFAULT_BACKBONE, build_model, calibrate_batchnorm, weights_id
from lpft_edu.vision.train import FT_LR_GRID, LPFT_LR_GRID, TrainConfig, finetune

METHODS = ("lp", "ft", "lpft")
NAMES = {"lp": "LP", "ft": "FT", "lpft": "LP-FT"}


@dataclass
class ExperimentConfig:
    methods: tuple[str, ...] = METHODS
    backbone: str = DEFAULT_BACKBONE
    weights: str | None = None
    data_root: str | None = None          # default: $LPFT_DATA or ~/.cache/lpft_edu
    smoke: bool = False
    image_size: int = 224
    epochs: int = 10
    batch_size: int = 128
    lr_ft: float = 1e-3
    lr_lpft: float = 1e-4
    sweep_lr: bool = False
    ft_lr_grid: tuple[float, ...] = FT_LR_GRID
    lpft_lr_grid: tuple[float, ...] = LPFT_LR_GRID
    lp_cs: int = 50                       # log-spaced C values from 1e-7 to 1e2 (the paper's sweep)
    lp_max_iter: int = 200
    val_size: int = 5000
    limit_train: int | None = None
    limit_eval: int | None = None
    distortion_examples: int = 2000
    eval_batch_size: int = 512
    seed: int = 0
    device: str = "auto"

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device


def smoke_config(**overrides) -> ExperimentConfig:
    """Fake data, the tiny CNN at 32 px, CPU, two epochs: the whole pipeline in well under 90 s."""
    base = ExperimentConfig(backbone="tiny-cnn", smoke=True, image_size=32, epochs=2, batch_size=32, lr_ft=0.03,
                            lr_lpft=1e-4, ft_lr_grid=(0.01, 0.03), lpft_lr_grid=(1e-4, 3e-4), lp_cs=8,
                            lp_max_iter=100, val_size=200, distortion_examples=200, eval_batch_size=256,
                            device="cpu")
    return replace(base, **overrides)


def smoke_data_root() -> Path:
    return default_root() / "fake-smoke"


def device_info(device: str) -> dict:
    info = {"type": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "platform": platform.platform()}
    try:
        import torchvision
        info["torchvision"] = torchvision.__version__
    except ImportError:  # pragma: no cover
        pass
    if device.startswith("cuda"):
        info["name"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    else:
        info["name"] = platform.processor() or platform.machine()
    return info


def _subset_index(n_total: int, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=g)[:min(n, n_total)].sort().values


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="img", unit_scale=True, leave=True)


def _close(bar):
    if bar is not None:
        bar.close()


def _comparable(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in ("device",)}


def run_experiment(cfg: ExperimentConfig, run_dir: Path, resume: bool = False, progress: bool = True,
                   command: str = "", interrupt_after: tuple[str, int] | None = None, log=print) -> dict:
    """Run (or resume) the experiment in ``run_dir``; returns the results dict also written there."""
    t_start = time.perf_counter()
    run_dir = Path(run_dir)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    results_path = run_dir / "results.json"
    device = cfg.resolved_device()
    cfg_dict = {**asdict(cfg), "methods": list(cfg.methods), "ft_lr_grid": list(cfg.ft_lr_grid),
                "lpft_lr_grid": list(cfg.lpft_lr_grid), "device": device}

    if resume and results_path.exists():
        results = res.read_json(results_path)
        if _comparable(results["config"]) != _comparable(cfg_dict):
            raise ValueError(f"{run_dir} was started with another configuration; resume it with the same options "
                             f"(they are in {results_path}) or start a new run.")
        results["status"] = "running"
        results.setdefault("resumed", []).append(datetime.now(timezone.utc).isoformat(timespec="seconds"))
    else:
        results = {
            "schema": res.SCHEMA, "status": "running", "smoke": cfg.smoke, "data_kind": None, "banner": None,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
            "config": cfg_dict, "device": device_info(device), "data": None, "methods": {},
            "timings": {}, "paper_reference": copy.deepcopy({**paper_numbers.CIFAR_STL,
                                                             "columns": list(paper_numbers.CIFAR_STL["columns"])}),
        }
    timings = results["timings"]

    def save():
        res.write_json_atomic(results, results_path)

    try:
        _run(cfg, run_dir, results, save, device, progress, interrupt_after, log)
    except BaseException:
        results["status"] = "interrupted"
        timings.setdefault("sessions_s", []).append(time.perf_counter() - t_start)
        save()
        raise
    timings.setdefault("sessions_s", []).append(time.perf_counter() - t_start)
    timings["total_s"] = sum(timings["sessions_s"])
    results["status"] = "complete"
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    save()
    try:
        from lpft_edu.figures.vision import save_run_figures
        results["figures"] = save_run_figures(results, run_dir / "figures")
        save()
    except Exception as exc:  # noqa: BLE001 - figures are a convenience; the JSON is the record
        log(f"(figures not written: {exc})")
    return results


def _run(cfg, run_dir, results, save, device, progress, interrupt_after, log) -> None:
    timings = results["timings"]

    # -- data --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    root = Path(cfg.data_root) if cfg.data_root else (smoke_data_root() if cfg.smoke else default_root())
    if cfg.smoke and not has_fake_data(root):
        log(f"writing fake smoke data to {root}")
        write_fake_data(root, SMOKE)
    data = load_cifar_stl(root, cfg.val_size, cfg.seed, device, cfg.limit_train, cfg.limit_eval)
    results["data"] = data.summary()
    results["data_kind"] = "fake" if data.fake else "real"
    results["banner"] = (res.SMOKE_BANNER if cfg.smoke and data.fake else res.FAKE_BANNER if data.fake else
                         ("SMOKE-SIZED RUN - not comparable with the paper" if cfg.smoke else None))
    timings["data_s"] = time.perf_counter() - t0
    log(f"data ({results['data_kind']}) from {root}: " + ", ".join(f"{k} {v}" for k, v in results["data"]["sizes"].items()))

    # -- pretrained model and features --------------------------------------------------------
    t0 = time.perf_counter()
    pretrained = build_model(cfg.backbone, cfg.weights, seed=cfg.seed, cache=root).to(device)
    pre = Preprocess(cfg.image_size, device)
    if cfg.backbone == "tiny-cnn" or cfg.backbone.endswith("-random"):
        calibrate_batchnorm(pretrained, data.train.x[:5000], pre)  # random init: see calibrate_batchnorm
    template = copy.deepcopy(pretrained).cpu()  # every FT / LP-FT run starts from a copy of this
    if pre.channels_last:
        pretrained.to(memory_format=torch.channels_last)
    cache = FeatureCache(root / "features")
    wid = weights_id(cfg.backbone, cfg.weights) + f":seed{cfg.seed}"
    feats = {}
    for name, split in data.splits().items():
        key = cache_key(wid, data.fingerprint, name, cfg.image_size)
        f = cache.load(key, device)
        if f is None or len(f) != len(split):
            bar = _bar(progress, len(split), f"features {name}")
            f = extract_features(pretrained, split, pre, cfg.eval_batch_size, bar)
            _close(bar)
            cache.save(key, f)
        feats[name] = f
    timings["features_s"] = time.perf_counter() - t0
    del pretrained

    dist_idx = {name: _subset_index(len(data.splits()[name]), cfg.distortion_examples, cfg.seed + 7)
                for name in ("id_test", "ood_test")}

    def distortion(model) -> dict:
        out = {}
        for name, key in (("id_test", "id"), ("ood_test", "ood")):
            split = data.splits()[name]
            idx = dist_idx[name].to(split.y.device)
            sub = Split(name, split.description, split.x[idx], split.y[idx])
            out[key] = feature_change(feats[name][idx], extract_features(model, sub, pre, cfg.eval_batch_size))
        return out

    # -- LP -----------------------------------------------------------------------------------
    head_path = run_dir / "checkpoints" / "lp_head.pt"
    head = None
    if "lp" in cfg.methods or "lpft" in cfg.methods:
        if head_path.exists() and "LP" in results["methods"]:
            head = torch.load(head_path, map_location=device, weights_only=False)
        else:
            t0 = time.perf_counter()
            Cs = np.logspace(-7, 2, cfg.lp_cs)
            head, sweep = lp_sweep(feats["train"], data.train.y, feats["val"], data.val.y, Cs,
                                   max_iter=cfg.lp_max_iter)
            lp_s = time.perf_counter() - t0
            torch.save(head, head_path)
            results["methods"]["LP"] = {
                "id_acc": accuracy_from_features(head, feats["id_test"], data.id_test.y),
                "ood_acc": accuracy_from_features(head, feats["ood_test"], data.ood_test.y),
                "val_acc": accuracy_from_features(head, feats["val"], data.val.y),
                "best_C": head.C, "C_sweep": sweep, "seconds": lp_s,
                "distortion": {"id": {"mean_l2": 0.0, "relative": 0.0, "n": len(dist_idx["id_test"])},
                               "ood": {"mean_l2": 0.0, "relative": 0.0, "n": len(dist_idx["ood_test"])}},
                "note": "features frozen: no distortion by construction",
            }
            timings["lp_s"] = lp_s
            log("LP: ID {id_acc:.3f}  OOD {ood_acc:.3f}  (C={best_C:.3g})".format(**results["methods"]["LP"]))
            save()

    # -- FT and LP-FT -------------------------------------------------------------------------
    evals = {"val": data.val, "id": data.id_test, "ood": data.ood_test}
    for method in ("ft", "lpft"):
        name = NAMES[method]
        if method not in cfg.methods or results["methods"].get(name, {}).get("complete"):
            continue
        t0 = time.perf_counter()
        grid = (cfg.ft_lr_grid if method == "ft" else cfg.lpft_lr_grid) if cfg.sweep_lr else (
            cfg.lr_ft if method == "ft" else cfg.lr_lpft,)
        runs = []
        for lr in grid:
            model = copy.deepcopy(template).to(device)
            if method == "lpft":
                W, b = head.raw()
                with torch.no_grad():
                    model.head.weight.copy_(W)
                    model.head.bias.copy_(b)
            else:
                torch.manual_seed(cfg.seed + 11)
                model.head.reset_parameters()  # FT starts from a random head
            tc = TrainConfig(method=name, lr=float(lr), epochs=cfg.epochs, batch_size=cfg.batch_size,
                             bn_train=(method == "ft"), seed=cfg.seed)
            ckpt = run_dir / "checkpoints" / f"{method}-lr{lr:g}.pt"
            bar = _bar(progress, cfg.epochs * (len(data.train) // cfg.batch_size) * cfg.batch_size, f"{name} lr={lr:g}")
            stop = interrupt_after[1] if interrupt_after and interrupt_after[0] in (method, name) else None
            try:
                hist = finetune(model, data.train, evals, tc, pre, ckpt, bar, stop, cfg.eval_batch_size)
            finally:
                _close(bar)
            runs.append((hist["epochs"][-1]["val_acc"], float(lr), hist, model))
        best_val, best_lr, hist, model = max(runs, key=lambda r: r[0])
        last = hist["epochs"][-1]
        results["methods"][name] = {
            "id_acc": last["id_acc"], "ood_acc": last["ood_acc"], "val_acc": last["val_acc"], "lr": best_lr,
            "epochs": hist["epochs"],
            "lr_sweep": [{"lr": r[1], "val_acc": r[0]} for r in runs] if cfg.sweep_lr else None,
            "images_per_second": hist["images_per_second"], "train_seconds": hist["train_seconds"],
            "distortion": distortion(model), "bn_mode": "train" if method == "ft" else "eval",
            "head_init": "random" if method == "ft" else "LP solution", "complete": True,
        }
        results["methods"][name]["seconds"] = time.perf_counter() - t0
        timings[f"{method}_s"] = results["methods"][name]["seconds"]
        m = results["methods"][name]
        log(f"{name}: ID {m['id_acc']:.3f}  OOD {m['ood_acc']:.3f}  (lr={best_lr:g}, "
            f"{m['images_per_second'] or 0:.0f} img/s, distortion ID {m['distortion']['id']['relative']:.3f} "
            f"OOD {m['distortion']['ood']['relative']:.3f})")
        del runs, model
        save()
