"""``lpft-cifar-stl``: LP, FT and LP-FT on CIFAR-10 -> STL-10 from the command line.

Examples::

    lpft-cifar-stl --smoke                         # fake data, tiny CNN, CPU, well under 90 s
    python data_scripts/download.py                # real CIFAR-10 + STL-10 into ~/.cache/lpft_edu
    lpft-cifar-stl                                 # LP + FT + LP-FT, ResNet-18 ImageNet, 10 epochs, GPU
    lpft-cifar-stl --methods lp,ft --epochs 20 --sweep-lr
    lpft-cifar-stl --backbone resnet50-moco-v2 --weights moco_v2_800ep_pretrain.pth.tar --epochs 20
    lpft-cifar-stl --resume runs/20250101-120000-ab12cd   # continue an interrupted run
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import fields
from pathlib import Path

DEFAULT_RUNS = "runs"


def _float_list(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def _methods(text: str) -> tuple[str, ...]:
    from lpft_edu.vision.experiment import METHODS
    items = tuple(m.strip().lower().replace("-", "") for m in text.split(",") if m.strip())
    bad = [m for m in items if m not in METHODS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"unknown method(s) {bad}: use a comma-separated subset of lp,ft,lpft")
    return tuple(m for m in METHODS if m in items)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lpft-cifar-stl", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Kumar et al. (ICLR 2022), CIFAR-10 -> STL-10: linear probing (LP), fine-tuning (FT) and "
                    "LP-FT; ID and OOD accuracy, accuracy per epoch, feature distortion.",
        epilog=__doc__.split("Examples::", 1)[1])
    p.add_argument("--smoke", action="store_true",
                   help="fake data (written if missing), tiny CNN, 32 px, 2 epochs, CPU: checks the pipeline, "
                        "says nothing about real accuracy")
    p.add_argument("--methods", type=_methods, default=None, help="comma-separated subset of lp,ft,lpft (default all)")
    p.add_argument("--root", default=None,
                   help="data directory (default $LPFT_DATA or ~/.cache/lpft_edu; smoke: <that>/fake-smoke)")
    p.add_argument("--runs", default=DEFAULT_RUNS, help="where new run directories are created (default ./runs)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue the interrupted run in RUN_DIR with its saved configuration")
    p.add_argument("--backbone", default=None,
                   help="resnet18-imagenet (default), resnet50-imagenet, resnet50-moco-v2, tiny-cnn")
    p.add_argument("--weights", default=None, help="MoCo-v2 checkpoint path or URL (resnet50-moco-v2 only)")
    p.add_argument("--epochs", type=int, default=None, help="FT and LP-FT epochs (default 10, smoke 2)")
    p.add_argument("--batch-size", type=int, default=None, help="default 128 (smoke 32)")
    p.add_argument("--image-size", type=int, default=None, help="input resolution (default 224, smoke 32)")
    p.add_argument("--lr-ft", type=float, default=None, help="FT learning rate (default 1e-3)")
    p.add_argument("--lr-lpft", type=float, default=None, help="LP-FT learning rate (default 1e-4)")
    p.add_argument("--sweep-lr", action="store_true",
                   help="train each learning rate of the grids and keep the best on ID validation")
    p.add_argument("--ft-lr-grid", type=_float_list, default=None,
                   help="FT grid (default the paper's 3e-5,1e-4,3e-4,1e-3,3e-3,1e-2)")
    p.add_argument("--lpft-lr-grid", type=_float_list, default=None,
                   help="LP-FT grid (default the paper's 1e-4,3e-5,1e-5,3e-6,1e-6,3e-7)")
    p.add_argument("--lp-cs", type=int, default=None, help="number of C values from 1e-7 to 1e2 for LP (default 50)")
    p.add_argument("--val-size", type=int, default=None, help="CIFAR-10 train images held out as ID validation (5000)")
    p.add_argument("--limit-train", type=int, default=None, help="use at most this many training images")
    p.add_argument("--limit-eval", type=int, default=None, help="use at most this many images per evaluation split")
    p.add_argument("--distortion-examples", type=int, default=None, help="ID and OOD examples for feature distortion")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, help="auto (default: cuda if available), cuda, cpu")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--interrupt-after", default=None, help=argparse.SUPPRESS)  # test hook: METHOD:EPOCH
    return p


def config_from_args(args):
    from lpft_edu.vision.experiment import ExperimentConfig, smoke_config
    cfg = smoke_config() if args.smoke else ExperimentConfig()
    mapping = {"methods": args.methods, "backbone": args.backbone, "weights": args.weights, "data_root": args.root,
               "epochs": args.epochs, "batch_size": args.batch_size, "image_size": args.image_size,
               "lr_ft": args.lr_ft, "lr_lpft": args.lr_lpft, "ft_lr_grid": args.ft_lr_grid,
               "lpft_lr_grid": args.lpft_lr_grid, "lp_cs": args.lp_cs, "val_size": args.val_size,
               "limit_train": args.limit_train, "limit_eval": args.limit_eval,
               "distortion_examples": args.distortion_examples, "seed": args.seed, "device": args.device}
    for key, value in mapping.items():
        if value is not None:
            setattr(cfg, key, value)
    if args.sweep_lr:
        cfg.sweep_lr = True
    return cfg


def _config_from_run(run_dir: Path):
    from lpft_edu.vision.experiment import ExperimentConfig
    from lpft_edu.vision.results import read_json
    path = run_dir / "results.json"
    if not path.exists():
        raise SystemExit(f"lpft-cifar-stl: {path} not found: nothing to resume there. Start a new run instead.")
    saved = read_json(path)["config"]
    names = {f.name for f in fields(ExperimentConfig)}
    cfg = ExperimentConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k in names})
    cfg.device = "auto" if saved.get("device") is None else saved["device"]
    return cfg


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    from lpft_edu.vision.data import DataMissingError
    from lpft_edu.vision.experiment import run_experiment
    from lpft_edu.vision.models import WeightsError
    from lpft_edu.vision.results import new_run_dir

    if args.resume:
        run_dir = Path(args.resume)
        cfg = _config_from_run(run_dir)
    else:
        cfg = config_from_args(args)
        run_dir = new_run_dir(Path(args.runs))
    interrupt = None
    if args.interrupt_after:
        method, epoch = args.interrupt_after.split(":")
        interrupt = (method, int(epoch))
    print(f"run directory: {run_dir}")
    command = "lpft-cifar-stl " + " ".join(shlex.quote(a) for a in argv)
    try:
        results = run_experiment(cfg, run_dir, resume=bool(args.resume), progress=not args.no_progress,
                                 command=command.strip(), interrupt_after=interrupt)
    except KeyboardInterrupt:
        print(f"\ninterrupted. Resume with: lpft-cifar-stl --resume {run_dir}", file=sys.stderr)
        return 130
    except (DataMissingError, WeightsError, ValueError) as exc:
        print(f"lpft-cifar-stl: {exc}", file=sys.stderr)
        return 2
    if results.get("banner"):
        print(f"NOTE: {results['banner']}")
    print(f"results: {run_dir / 'results.json'}  ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
