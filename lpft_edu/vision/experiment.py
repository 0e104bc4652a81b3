"""The whole CIFAR-10 -> STL-10 protocol: data, pretrained features, LP, FT, LP-FT, distortion.

:func:`run_experiment` is what the CLI and the lesson call. It writes ``results.json`` into the
run directory after every stage, so an interrupted run can be resumed (``resume=True`` with the
same directory): finished methods are skipped, an unfinished FT/LP-FT continues from its last
per-epoch checkpoint, and features come from the on-disk cache.

:class:`ExperimentConfig` is the single place where every option is defined and checked: each
field's metadata gives its command-line flag, help text and parser (the CLI builds its options from
them) and :meth:`ExperimentConfig.validate` holds every rule. The CLI, ``--resume`` and the lesson
all go through :meth:`~ExperimentConfig.validate` before any work starts.

Statuses (``results["status"]`` and each ``results["methods"][NAME]["status"]``): ``running``,
``interrupted``, ``complete``, ``diverged``. A method whose training loss blew up is ``diverged``
(with an ``error`` that names the flag to lower) and the run is then ``diverged``, never ``complete``.
"""
from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from lpft_edu import paper_numbers
from lpft_edu.vision import results as res
from lpft_edu.vision.data import Preprocess, Split, default_root, load_cifar_stl
from lpft_edu.vision.distortion import feature_change
from lpft_edu.vision.fake import SMOKE, has_fake_data, write_fake_data
from lpft_edu.vision.lp import (FeatureCache, LinearHead, accuracy_from_features, cache_dir, cache_key,
                                default_feature_dir, extract_features, lp_sweep, precision_name)
from lpft_edu.vision.models import (BACKBONES, DEFAULT_BACKBONE, MAX_IMAGE_SIZE, MOCO_V2_URL, build_model,
                                    calibrate_batchnorm, min_image_size, weights_id)
from lpft_edu.vision.train import (FT_LR_GRID, LPFT_LR_GRID, Diverged, TrainConfig, best_epoch, finetune,
                                   start_head)

METHODS = ("lp", "ft", "lpft")
NAMES = {"lp": "LP", "ft": "FT", "lpft": "LP-FT"}
# Bump when a field's meaning, a default that changes results, or the checkpoint layout changes:
# a run written under another version is refused by --resume (its checkpoints may not mean the same).
CONFIG_VERSION = 2
MAX_SEED = 2**31 - 1
MAX_LP_CS = 1000


class ConfigError(ValueError):
    """An option is invalid. ``str(exc)`` is one line that names the command-line flag and the fix."""

    def __init__(self, name: str, problem: str):
        self.field = name
        self.flag = flag_for(name)
        super().__init__(f"{self.flag} {problem}")


class ResumeError(ValueError):
    """A run directory cannot be resumed; the message says why and what to do instead."""


# -- rules: each returns None when the value is fine, else what is wrong (the flag is prefixed) --------
def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _whole(low: int, high: int | None = None, why: str = ""):
    def check(v):
        if not _is_int(v) or v < low or (high is not None and v > high):
            span = f"at least {low}" if high is None else f"between {low} and {high}"
            return f"must be a whole number {span}{why}, got {v!r}"
        return None
    return check


def _optional(check):
    return lambda v: None if v is None else check(v)


def _learning_rate(v):
    if not _is_number(v) or not math.isfinite(v) or v <= 0:
        return f"must be a finite learning rate greater than 0 (e.g. 1e-3), got {v!r}"
    return None


def _lr_grid(v):
    if not isinstance(v, (tuple, list)) or not v:
        return f"must list at least one learning rate, comma-separated (e.g. 1e-4,3e-4), got {v!r}"
    for lr in v:
        if _learning_rate(lr):
            return f"must hold finite learning rates greater than 0, got {lr!r} in {','.join(map(str, v))}"
    if len(set(v)) != len(v):
        return f"lists a learning rate twice: {','.join(map(str, v))}"
    return None


def _methods_rule(v):
    if not isinstance(v, (tuple, list)) or not v or any(m not in METHODS for m in v) or len(set(v)) != len(v):
        return f"must be a comma-separated subset of lp,ft,lpft, got {v!r}"
    return None


def _backbone_rule(v):
    return None if v in BACKBONES else f"must be one of {', '.join(BACKBONES)}; got {v!r}"


def _text_or_none(v):
    return None if v is None or (isinstance(v, str) and v.strip()) else f"must be a non-empty path, got {v!r}"


def _flag_bool(v):
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def device_problem(device) -> str | None:
    """What is wrong with ``device`` on this machine (None when it can be used)."""
    choices = "auto, cpu, cuda or cuda:N"
    if not isinstance(device, str):
        return f"must be one of {choices}, got {device!r}"
    if device == "auto":
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        return f"must be one of {choices}, got {device!r}"
    if dev.type == "cpu":
        return None
    if dev.type != "cuda":
        return f"must be one of {choices}: {dev.type!r} devices are not supported"
    if not torch.cuda.is_available():
        return (f"is {device!r} but torch {torch.__version__} sees no CUDA GPU on this machine: "
                "use --device cpu (or auto)")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        return f"is {device!r} but this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}"
    return None


# -- command-line parsers named in the field metadata (argparse reports their errors with the flag) ---
def parse_lr_list(text: str) -> tuple[float, ...]:
    items = [v.strip() for v in text.split(",") if v.strip()]
    try:
        return tuple(float(v) for v in items)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers (e.g. 1e-4,3e-4)") from None


def parse_methods(text: str) -> tuple[str, ...]:
    items = tuple(m.strip().lower().replace("-", "") for m in text.split(",") if m.strip())
    bad = [m for m in items if m not in METHODS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"unknown method(s) {bad}: use a comma-separated subset of lp,ft,lpft")
    return tuple(m for m in METHODS if m in items)


def _opt(default, flag: str | None = None, help: str = "", parse=None, check=None, metavar: str | None = None):
    """A config field; ``flag``/``help``/``parse`` define its command-line option, ``check`` its rule."""
    return field(default=default, metadata={"flag": flag, "help": help, "parse": parse, "check": check,
                                            "metavar": metavar})


@dataclass
class ExperimentConfig:
    methods: tuple[str, ...] = _opt(METHODS, "--methods", "comma-separated subset of lp,ft,lpft",
                                    parse_methods, _methods_rule, "LIST")
    backbone: str = _opt(DEFAULT_BACKBONE, "--backbone", f"one of {', '.join(BACKBONES)}", str, _backbone_rule)
    weights: str | None = _opt(None, "--weights", "MoCo-v2 checkpoint path or URL (resnet50-moco-v2 only)",
                               str, _text_or_none, "PATH_OR_URL")
    data_root: str | None = _opt(None, "--root", "data directory; unset: $LPFT_DATA or ~/.cache/lpft_edu, "
                                 "and <that>/fake-smoke with --smoke", str, _text_or_none, "DIR")
    smoke: bool = _opt(False, check=_flag_bool)
    image_size: int = _opt(224, "--image-size", "input resolution in pixels", int, _whole(1), "PX")
    epochs: int = _opt(10, "--epochs", "FT and LP-FT epochs", int, _whole(1), "N")
    batch_size: int = _opt(128, "--batch-size", "training batch size", int,
                           _whole(2, why=" (BatchNorm in training mode needs 2 or more images per batch)"), "N")
    lr_ft: float = _opt(1e-3, "--lr-ft", "FT learning rate", float, _learning_rate, "LR")
    lr_lpft: float = _opt(1e-4, "--lr-lpft", "LP-FT learning rate", float, _learning_rate, "LR")
    sweep_lr: bool = _opt(False, "--sweep-lr", "train every learning rate of the grids and keep the one whose "
                          "best epoch has the highest ID validation accuracy", bool, _flag_bool)
    ft_lr_grid: tuple[float, ...] = _opt(FT_LR_GRID, "--ft-lr-grid", "FT grid for --sweep-lr", parse_lr_list,
                                         _lr_grid, "LRS")
    lpft_lr_grid: tuple[float, ...] = _opt(LPFT_LR_GRID, "--lpft-lr-grid", "LP-FT grid for --sweep-lr",
                                           parse_lr_list, _lr_grid, "LRS")
    # log-spaced C values from 1e-7 to 1e2 (the paper's sweep)
    lp_cs: int = _opt(50, "--lp-cs", "number of C values from 1e-7 to 1e2 for LP", int,
                      _whole(1, MAX_LP_CS), "N")
    lp_max_iter: int = _opt(200, check=_whole(1))
    val_size: int = _opt(5000, "--val-size", "CIFAR-10 train images held out as ID validation", int, _whole(1), "N")
    limit_train: int | None = _opt(None, "--limit-train", "use at most this many training images", int,
                                   _optional(_whole(2, why=" (BatchNorm needs 2 or more images per batch)")), "N")
    limit_eval: int | None = _opt(None, "--limit-eval", "use at most this many images per evaluation split", int,
                                  _optional(_whole(1)), "N")
    distortion_examples: int = _opt(2000, "--distortion-examples", "ID and OOD examples for feature distortion",
                                    int, _whole(1), "N")
    eval_batch_size: int = _opt(512, check=_whole(1))
    seed: int = _opt(0, "--seed", "random seed (data split, head initialisation, data order)", int,
                     _whole(0, MAX_SEED), "N")
    device: str = _opt("auto", "--device", "auto (cuda if available), cpu, cuda or cuda:N", str, device_problem)

    def validate(self) -> "ExperimentConfig":
        """Check every option (types, ranges, the device, combinations); raise :class:`ConfigError`.

        Returns ``self`` so that ``cfg = ExperimentConfig(...).validate()`` reads naturally."""
        for f in fields(self):
            check = f.metadata.get("check")
            problem = check(getattr(self, f.name)) if check else None
            if problem:
                raise ConfigError(f.name, problem)
        low = min_image_size(self.backbone)
        if not low <= self.image_size <= MAX_IMAGE_SIZE:
            raise ConfigError("image_size", f"must be between {low} and {MAX_IMAGE_SIZE} for {self.backbone} "
                                            f"(the images are 32 px CIFAR-10 and 96 px STL-10), got {self.image_size}")
        if self.weights is not None:
            if self.backbone != "resnet50-moco-v2":
                raise ConfigError("weights", f"applies only to --backbone resnet50-moco-v2, not {self.backbone}: "
                                             "remove --weights or add --backbone resnet50-moco-v2")
            if not self.weights.startswith(("http://", "https://")) and not Path(self.weights).expanduser().is_file():
                raise ConfigError("weights", f"file {self.weights} not found: give the path of "
                                             f"moco_v2_800ep_pretrain.pth.tar, or its URL {MOCO_V2_URL}")
        return self

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device


def flag_for(name: str) -> str:
    """The command-line flag of config field ``name`` (the field name itself when it has none)."""
    meta = {f.name: f.metadata for f in fields(ExperimentConfig)}.get(name, {})
    return meta.get("flag") or name


def cli_fields():
    """The config fields that have a command-line option, in declaration order."""
    return [f for f in fields(ExperimentConfig) if f.metadata.get("flag")]


def smoke_config(**overrides) -> ExperimentConfig:
    """Fake data, the tiny CNN at 32 px, CPU, two epochs: the whole pipeline in well under 90 s."""
    base = ExperimentConfig(backbone="tiny-cnn", smoke=True, image_size=32, epochs=2, batch_size=32, lr_ft=0.03,
                            lr_lpft=1e-4, ft_lr_grid=(0.01, 0.03), lpft_lr_grid=(1e-4, 3e-4), lp_cs=8,
                            lp_max_iter=100, val_size=200, distortion_examples=200, eval_batch_size=256,
                            device="cpu")
    return replace(base, **overrides)


# Named presets: a base configuration sized for a machine, which explicit options then override.
# "colab-t4" is sized from the throughput assumptions below to finish LP + FT + LP-FT in about 15
# minutes on a free Colab T4 GPU. That time is a DESIGN TARGET, NOT A MEASUREMENT: no T4 was available
# to the sessions that wrote it (benchmarks/README.md records measured figures when there are some).
# Assumptions (ResNet-18 at 160 px, about half the compute of 224 px): training >= 600 img/s, evaluation
# >= 2,000 img/s on a T4. Then per method 4 epochs x 20,000 images = 80,000 training images (~135 s) plus
# 4 evaluations of 3 x 5,000 images (~30 s); features for LP ~35,000 images (~20 s): about 6 minutes of
# computing in all, leaving room for a slower GPU, model download and data loading. The data download itself
# (2.7 GB, `python data_scripts/download.py`) is not included.
PRESETS: dict[str, dict] = {
    "colab-t4": dict(backbone=DEFAULT_BACKBONE, image_size=160, epochs=4, batch_size=128, limit_train=20000,
                     limit_eval=5000, lp_cs=25, distortion_examples=1000, device="auto"),
}
PRESET_NOTES = {
    "colab-t4": "free Colab T4 GPU in about 15 minutes (a design target, not yet measured): ResNet-18 ImageNet, "
                "160 px, 4 epochs, batch 128, 20,000 training images, 5,000 images per evaluation split, "
                "25 C values for LP, 1,000 distortion examples",
}


def preset_problem(name) -> str | None:
    """What is wrong with preset ``name`` (None when it exists)."""
    if isinstance(name, str) and name in PRESETS:
        return None
    return f"must be one of {', '.join(PRESETS)}, got {name!r}"


def preset_config(name: str, **overrides) -> ExperimentConfig:
    """The configuration of preset ``name`` with ``overrides`` applied on top (explicit options win),
    validated. ``preset_config("colab-t4")`` is what ``lpft-cifar-stl --preset colab-t4`` runs."""
    problem = preset_problem(name)
    if problem:
        raise ConfigError("--preset", problem)
    return replace(ExperimentConfig(**PRESETS[name]), **overrides).validate()


def smoke_data_root() -> Path:
    return default_root() / "fake-smoke"


def config_to_dict(cfg: ExperimentConfig, device: str) -> dict:
    """JSON form of ``cfg`` as saved in results.json (tuples as lists, the resolved device)."""
    return {**asdict(cfg), "methods": list(cfg.methods), "ft_lr_grid": list(cfg.ft_lr_grid),
            "lpft_lr_grid": list(cfg.lpft_lr_grid), "device": device}


def config_from_dict(saved: dict) -> ExperimentConfig:
    """The config saved in results.json (device back to auto: a run may resume on another machine)."""
    if not isinstance(saved, dict):
        raise ResumeError(f"its 'config' is a JSON {type(saved).__name__}, not an object")
    names = {f.name for f in fields(ExperimentConfig)}
    unknown = sorted(set(saved) - names)
    if unknown:
        raise ResumeError(f"its config has options this version does not know: {', '.join(map(str, unknown[:5]))}")
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()}
    values["device"] = "auto"
    return ExperimentConfig(**values)


def load_run(run_dir: Path) -> tuple[dict, ExperimentConfig]:
    """Read ``run_dir/results.json`` for ``--resume``: (results, saved config), or a :class:`ResumeError`
    that says why the run cannot be resumed (missing, truncated or foreign file, other config version,
    invalid saved options)."""
    run_dir = Path(run_dir)
    path = run_dir / "results.json"
    if not path.is_file():
        raise ResumeError(f"{path} not found: nothing to resume there. Start a new run instead.")
    try:
        results = res.read_json(path)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ResumeError(f"{path} is not readable JSON ({exc}): this run cannot be resumed; start a new run.") from None
    fresh = "start a new run"
    if not isinstance(results, dict) or results.get("schema") != res.SCHEMA:
        raise ResumeError(f"{path} is not an lpft-cifar-stl results file: {fresh}.")
    if results.get("config_version") != CONFIG_VERSION:
        raise ResumeError(f"{path} was written by another version of lpft-edu (config version "
                          f"{results.get('config_version')!r}, this code {CONFIG_VERSION}): its checkpoints may not "
                          f"mean the same here, so it cannot be resumed; {fresh}.")
    if not isinstance(results.get("methods"), dict) or not isinstance(results.get("timings"), dict):
        raise ResumeError(f"{path} lacks its 'methods' or 'timings' record: {fresh}.")
    try:
        cfg = config_from_dict(results.get("config")).validate()
    except (ConfigError, ResumeError, TypeError) as exc:
        raise ResumeError(f"{path} holds an invalid configuration ({exc}): {fresh}.") from None
    return results, cfg


def device_info(device: str) -> dict:
    info = {"type": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "platform": platform.platform(), "precision": precision_name(device)}
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
    # where the data and the device are may change between sessions; the data's identity is checked
    # by its fingerprint instead
    return {k: v for k, v in cfg.items() if k not in ("device", "data_root")}


def _finished(entry) -> bool:
    return isinstance(entry, dict) and entry.get("status") in ("complete", "diverged")


def feature_cache_for(run_dir: Path) -> FeatureCache:
    """The feature cache: :func:`~lpft_edu.vision.lp.default_feature_dir` ($LPFT_CACHE or
    ~/.cache/lpft_edu, then ``features/``) when it can be created, else ``<run>/features``.
    Never the data root, which may be read-only or shared."""
    for folder in (default_feature_dir(), Path(run_dir) / "features"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return FeatureCache(folder)
    return FeatureCache(Path(run_dir) / "features")


def run_experiment(cfg: ExperimentConfig, run_dir: Path, resume: bool = False, progress: bool = True,
                   command: str = "", interrupt_after: tuple[str, int] | None = None, log=print) -> dict:
    """Run (or resume) the experiment in ``run_dir``; returns the results dict also written there.

    Raises :class:`ConfigError` before touching ``run_dir`` when ``cfg`` is invalid, and
    :class:`ResumeError` when ``resume`` and the run cannot be continued. The returned (and saved)
    ``status`` is ``complete``, or ``diverged`` when any method's loss blew up."""
    cfg.validate()
    t_start = time.perf_counter()
    run_dir = Path(run_dir)
    results_path = run_dir / "results.json"
    device = cfg.resolved_device()
    cfg_dict = config_to_dict(cfg, device)

    if resume and results_path.exists():
        results, _saved = load_run(run_dir)
        if _comparable(results["config"]) != _comparable(cfg_dict):
            raise ResumeError(f"{run_dir} was started with another configuration; resume it with the same options "
                              f"(they are in {results_path}) or start a new run.")
        results["status"] = "running"
    else:
        results = {
            "schema": res.SCHEMA, "config_version": CONFIG_VERSION, "status": "running", "smoke": cfg.smoke,
            "data_kind": None, "banner": None,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
            "config": cfg_dict, "device": device_info(device), "data": None, "methods": {},
            "timings": {}, "paper_reference": copy.deepcopy({**paper_numbers.CIFAR_STL,
                                                             "columns": list(paper_numbers.CIFAR_STL["columns"])}),
        }
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    timings = results["timings"]

    def save():
        res.write_json_atomic(results, results_path)

    try:
        _run(cfg, run_dir, results, save, device, progress, interrupt_after, log, resume)
    except BaseException:
        results["status"] = "interrupted"
        for entry in results["methods"].values():
            if isinstance(entry, dict) and entry.get("status") == "running":
                entry["status"] = "interrupted"
        timings.setdefault("sessions_s", []).append(time.perf_counter() - t_start)
        save()
        raise
    timings.setdefault("sessions_s", []).append(time.perf_counter() - t_start)
    timings["total_s"] = sum(timings["sessions_s"])
    diverged = [n for n, m in results["methods"].items() if m.get("status") == "diverged"]
    results["status"] = "diverged" if diverged else "complete"
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    save()
    try:
        from lpft_edu.figures.vision import save_run_figures
        results["figures"] = save_run_figures(results, run_dir / "figures")
        save()
    except Exception as exc:  # noqa: BLE001 - figures are a convenience; the JSON is the record
        log(f"(figures not written: {exc})")
    return results


def _data_kind(data) -> str:
    kind = getattr(data, "kind", None)  # "real" | "fake" | "unknown" where the loader says so
    if kind in ("real", "fake", "unknown"):
        return kind
    return "fake" if data.fake else "real"


def _load_data(cfg, results, device, log, resume):
    root = Path(cfg.data_root) if cfg.data_root else (smoke_data_root() if cfg.smoke else default_root())
    if cfg.smoke and not has_fake_data(root):
        log(f"writing fake smoke data to {root}")
        write_fake_data(root, SMOKE)
    data = load_cifar_stl(root, cfg.val_size, cfg.seed, device, cfg.limit_train, cfg.limit_eval)
    saved = (results.get("data") or {}).get("fingerprint") if resume else None
    if saved is not None and saved != data.fingerprint:
        raise ResumeError(f"the data under {root} differ from the data this run started with (fingerprint "
                          f"{data.fingerprint}, saved {saved}): resuming would mix two data sets. Point --root at "
                          "the original data, or start a new run.")
    if resume:  # only now, once the data are known to be the same, does the record change
        results.setdefault("resumed", []).append(datetime.now(timezone.utc).isoformat(timespec="seconds"))
        results["config"].update(device=device, data_root=cfg.data_root)
        results["device"] = device_info(device)
    return root, data


def _run(cfg, run_dir, results, save, device, progress, interrupt_after, log, resume=False) -> None:
    timings = results["timings"]

    # -- data --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    root, data = _load_data(cfg, results, device, log, resume)
    results["data"] = data.summary()
    kind = _data_kind(data)
    results["data_kind"] = results["data"]["kind"] = kind
    results["banner"] = (res.SMOKE_BANNER if cfg.smoke and kind == "fake" else res.FAKE_BANNER if kind == "fake"
                         else res.UNKNOWN_BANNER if kind == "unknown" else
                         ("SMOKE-SIZED RUN - not comparable with the paper" if cfg.smoke else None))
    timings["data_s"] = time.perf_counter() - t0
    log(f"data ({kind}) from {root}: " + ", ".join(f"{k} {v}" for k, v in results["data"]["sizes"].items()))

    # -- pretrained model and features --------------------------------------------------------
    t0 = time.perf_counter()
    pretrained = build_model(cfg.backbone, cfg.weights, seed=cfg.seed, cache=cache_dir()).to(device)
    pre = Preprocess(cfg.image_size, device)
    if cfg.backbone == "tiny-cnn" or cfg.backbone.endswith("-random"):
        calibrate_batchnorm(pretrained, data.train.x[:5000], pre)  # random init: see calibrate_batchnorm
    template = copy.deepcopy(pretrained).cpu()  # every FT / LP-FT run starts from a copy of this
    if pre.channels_last:
        pretrained.to(memory_format=torch.channels_last)
    cache = feature_cache_for(run_dir)
    results["feature_cache"] = str(cache.folder)
    wid = weights_id(cfg.backbone, cfg.weights) + f":seed{cfg.seed}"
    feats = {}
    for name, split in data.splits().items():
        key = cache_key(wid, data.fingerprint, name, cfg.image_size)
        f = cache.load(key, device)
        if f is None or len(f) != len(split):
            bar = _bar(progress, len(split), f"features {name}")
            f = extract_features(pretrained, split, pre, cfg.eval_batch_size, bar)
            _close(bar)
            try:
                cache.save(key, f)
            except OSError as exc:  # a full or read-only disk costs a recomputation next time, nothing more
                log(f"(features not cached in {cache.folder}: {exc})")
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
        if head_path.exists() and _finished(results["methods"].get("LP")):
            head = LinearHead.load(head_path, device)
        else:
            t0 = time.perf_counter()
            Cs = np.logspace(-7, 2, cfg.lp_cs)
            head, sweep = lp_sweep(feats["train"], data.train.y, feats["val"], data.val.y, Cs,
                                   max_iter=cfg.lp_max_iter)
            lp_s = time.perf_counter() - t0
            head.save(head_path)
            results["methods"]["LP"] = {
                "status": "complete",
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
        if method not in cfg.methods:
            continue
        if _finished(results["methods"].get(name)):
            if results["methods"][name]["status"] == "diverged":
                log(f"{name} diverged in an earlier session ({results['methods'][name].get('error')}); "
                    "--resume keeps the options, so it is not retried")
            continue
        results["methods"][name] = {"status": "running", "id_acc": None, "ood_acc": None}
        save()
        t0 = time.perf_counter()
        grid = (cfg.ft_lr_grid if method == "ft" else cfg.lpft_lr_grid) if cfg.sweep_lr else (
            cfg.lr_ft if method == "ft" else cfg.lr_lpft,)
        sweep, chosen = [], None  # chosen: (best-epoch record, lr, history, model) of the best lr so far
        for lr in grid:
            model = copy.deepcopy(template).to(device)
            start_head(model, head if method == "lpft" else None, cfg.seed + 11)
            tc = TrainConfig(method=name, lr=float(lr), epochs=cfg.epochs, batch_size=cfg.batch_size,
                             bn_train=(method == "ft"), seed=cfg.seed)
            ckpt = run_dir / "checkpoints" / f"{method}-lr{float(lr)!r}.pt"
            steps = max(1, len(data.train) // cfg.batch_size)
            bar = _bar(progress, cfg.epochs * steps * min(cfg.batch_size, len(data.train)), f"{name} lr={lr:g}")
            stop = interrupt_after[1] if interrupt_after and interrupt_after[0] in (method, name) else None
            try:
                hist = finetune(model, data.train, evals, tc, pre, ckpt, bar, stop, cfg.eval_batch_size)
            except Diverged as exc:
                sweep.append({"lr": float(lr), "status": "diverged", "error": exc.reason, "val_acc": None,
                              "best_epoch": None, "epochs": exc.history["epochs"]})
                log(f"{name} lr={lr:g} diverged: {exc.reason}")
                continue
            finally:
                _close(bar)
            best = best_epoch(hist["epochs"])
            sweep.append({"lr": float(lr), "status": "complete", "val_acc": best["val_acc"],
                          "best_epoch": best["epoch"], "last_val_acc": hist["epochs"][-1]["val_acc"]})
            if chosen is None or best["val_acc"] > chosen[0]["val_acc"]:  # first of equals wins, in grid order
                chosen = (best, float(lr), hist, model)
            del model
        results["methods"][name] = (_method_entry(method, chosen, sweep, cfg, distortion) if chosen is not None
                                    else _diverged_entry(method, sweep, cfg))
        m = results["methods"][name]
        m["seconds"] = time.perf_counter() - t0
        timings[f"{method}_s"] = m["seconds"]
        if m["status"] == "diverged":
            log(f"{name} DIVERGED: {m['error']}")
        else:
            log(f"{name}: ID {m['id_acc']:.3f}  OOD {m['ood_acc']:.3f} at the last epoch; best epoch on ID validation "
                f"{m['best_epoch']['epoch']} (ID {m['best_epoch']['id_acc']:.3f}  OOD {m['best_epoch']['ood_acc']:.3f}) "
                f"(lr={m['lr']:g}, {m['images_per_second'] or 0:.0f} img/s, distortion ID "
                f"{m['distortion']['id']['relative']:.3f} OOD {m['distortion']['ood']['relative']:.3f})")
        chosen = None
        save()


def _epoch_record(row: dict) -> dict:
    return {"epoch": row["epoch"], "val_acc": row.get("val_acc"), "id_acc": row.get("id_acc"),
            "ood_acc": row.get("ood_acc")}


def _method_entry(method, chosen, sweep, cfg, distortion) -> dict:
    best, lr, hist, model = chosen
    last = hist["epochs"][-1]
    return {
        "status": "complete",
        "id_acc": last["id_acc"], "ood_acc": last["ood_acc"], "val_acc": last["val_acc"], "lr": lr,
        "last_epoch": _epoch_record(last), "best_epoch": _epoch_record(best),
        "selection": "id_acc, ood_acc and val_acc are the last epoch's; best_epoch is the epoch with the highest "
                     "ID validation accuracy (the first of equals), and the learning-rate sweep keeps the rate "
                     "whose best epoch scores highest",
        "epochs": hist["epochs"],
        "lr_sweep": sweep if cfg.sweep_lr else None,
        "images_per_second": hist["images_per_second"], "train_seconds": hist["train_seconds"],
        "distortion": distortion(model), "distortion_epoch": last["epoch"],
        "bn_mode": "train" if method == "ft" else "eval",
        "head_init": "random" if method == "ft" else "LP solution",
    }


def _diverged_entry(method, sweep, cfg) -> dict:
    """Every learning rate diverged: the record, with the flag to lower in ``error`` (one line)."""
    reasons = "; ".join(f"lr {s['lr']:g}: {s['error']}" for s in sweep)
    lr_related = any("before any update" not in s["error"] for s in sweep)
    if not lr_related:
        error = (f"{sweep[0]['error']}: the pretrained model or the data give non-finite outputs, which no "
                 "learning rate fixes; check --backbone, --weights and the data")
    elif cfg.sweep_lr:
        flag = "--ft-lr-grid" if method == "ft" else "--lpft-lr-grid"
        smaller = ",".join(f"{s['lr'] / 10:g}" for s in sweep)
        error = f"every learning rate diverged ({reasons}): lower {flag}, e.g. {smaller}"
    else:
        flag = "--lr-ft" if method == "ft" else "--lr-lpft"
        lr = sweep[0]["lr"]
        error = f"{sweep[0]['error']}: lower {flag} (now {lr:g}), e.g. {lr / 10:g}"
    return {"status": "diverged", "error": error, "id_acc": None, "ood_acc": None, "val_acc": None,
            "lr": sweep[0]["lr"] if not cfg.sweep_lr else None, "epochs": sweep[0]["epochs"] if not cfg.sweep_lr
            else [], "lr_sweep": sweep if cfg.sweep_lr else None, "distortion": None,
            "bn_mode": "train" if method == "ft" else "eval",
            "head_init": "random" if method == "ft" else "LP solution"}
