"""``lpft-cifar-stl``: LP, FT and LP-FT on CIFAR-10 -> STL-10 from the command line.

Examples::

    lpft-cifar-stl --smoke                         # fake data, tiny CNN, CPU, well under 90 s
    python data_scripts/download.py                # real CIFAR-10 + STL-10 into ~/.cache/lpft_edu
    lpft-cifar-stl                                 # LP + FT + LP-FT, ResNet-18 ImageNet, 10 epochs, GPU
    lpft-cifar-stl --preset colab-t4               # sized for a free Colab T4 (~15 min: a design target, unmeasured)
    lpft-cifar-stl --preset colab-t4 --epochs 6    # a preset, with one of its values overridden
    lpft-cifar-stl --methods lp,ft --epochs 20 --sweep-lr
    lpft-cifar-stl --backbone resnet50-moco-v2 --weights moco_v2_800ep_pretrain.pth.tar --epochs 20
    lpft-cifar-stl --resume runs/20250101-120000-ab12cd   # continue an interrupted run

Exit status: 0 complete, 2 refused (bad option, missing data or weights, run not resumable: one
line on stderr says why and how to fix it), 3 a method diverged (results.json says which, and the
flag to lower), 130 interrupted (resumable), 1 anything else.

Presets (``--preset NAME``) give a base configuration sized for a machine; every option given
explicitly overrides the preset's value (``--preset colab-t4 --epochs 6`` runs 6 epochs). A preset
cannot be combined with ``--smoke`` (both set the whole base) or ``--resume``.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

EXIT_REFUSED, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130
PROG = "lpft-cifar-stl"
# Options that --resume applies (they change where or how a run executes, not what it computes; the
# data's identity is checked by fingerprint). Every other option given with --resume is refused.
RESUME_APPLIES = ("device", "data_root")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (flag, problem, where to look), not usage + error."""

    def error(self, message):
        self.exit(EXIT_REFUSED, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _interrupt_after(text: str) -> tuple[str, int]:
    method, _, epoch = text.partition(":")
    if method not in ("ft", "lpft", "FT", "LP-FT") or not epoch.isdigit():
        raise argparse.ArgumentTypeError("expected METHOD:EPOCH, e.g. ft:1")
    return method, int(epoch)


def _show(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return "unset" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def build_parser() -> argparse.ArgumentParser:
    """Options of every config field come from its metadata (flag, help, parser) in
    :class:`~lpft_edu.vision.experiment.ExperimentConfig`, with the defaults shown from the dataclass."""
    from lpft_edu.vision.experiment import PRESET_NOTES, PRESETS, ExperimentConfig, cli_fields, preset_config, smoke_config
    p = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Kumar et al. (ICLR 2022), CIFAR-10 -> STL-10: linear probing (LP), fine-tuning (FT) and "
                    "LP-FT; ID and OOD accuracy, accuracy per epoch, feature distortion.",
        epilog=__doc__.split("Examples::", 1)[1])
    p.add_argument("--smoke", action="store_true", default=None,
                   help="fake data (written if missing), tiny CNN, 32 px, 2 epochs, CPU: checks the pipeline, "
                        "says nothing about real accuracy")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="start from a named configuration; options given explicitly override its values. "
                        + "; ".join(f"{name}: {note}" for name, note in PRESET_NOTES.items()))
    default, smoke = ExperimentConfig(), smoke_config()
    presets = {name: preset_config(name) for name in PRESETS}
    for f in cli_fields():
        meta = f.metadata
        shown = f"default {_show(getattr(default, f.name))}"
        if getattr(smoke, f.name) != getattr(default, f.name):
            shown += f"; with --smoke {_show(getattr(smoke, f.name))}"
        for name, cfg in presets.items():
            if getattr(cfg, f.name) != getattr(default, f.name):
                shown += f"; with --preset {name} {_show(getattr(cfg, f.name))}"
        help_text = f"{meta['help']} ({shown})".replace("%", "%%")
        if meta["parse"] is bool:
            p.add_argument(meta["flag"], dest=f.name, action="store_true", default=None, help=help_text)
        else:
            p.add_argument(meta["flag"], dest=f.name, type=meta["parse"], default=None, metavar=meta["metavar"],
                           help=help_text)
    p.add_argument("--runs", default=None,
                   help="where new run directories are created (default $LPFT_RUNS, else runs/ at the top of the "
                        "lpft-edu checkout you are in, else ./runs)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue the interrupted run in RUN_DIR with its saved options (only --device, --root "
                        "and --no-progress may be given with it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--interrupt-after", type=_interrupt_after, default=None, help=argparse.SUPPRESS)  # test hook
    return p


def config_from_args(args):
    """The config the options ask for (--smoke's or --preset's base, then every option given),
    validated: raises :class:`~lpft_edu.vision.experiment.ConfigError` naming the flag."""
    from dataclasses import replace

    from lpft_edu.vision.experiment import ConfigError, ExperimentConfig, cli_fields, preset_config, smoke_config
    given = {f.name: getattr(args, f.name) for f in cli_fields() if getattr(args, f.name, None) is not None}
    preset = getattr(args, "preset", None)
    if preset is not None:
        if args.smoke:
            raise ConfigError("--preset", "cannot be combined with --smoke (each sets the whole base configuration): "
                                          "give one of them")
        return preset_config(preset, **given)
    base = smoke_config() if args.smoke else ExperimentConfig()
    return replace(base, **given).validate()


def _resume_setup(args):
    """(run_dir, config, results) for --resume, or a ConfigError/ResumeError saying why not."""
    from dataclasses import replace

    from lpft_edu.vision.experiment import ResumeError, cli_fields, load_run
    refused = [f.metadata["flag"] for f in cli_fields()
               if getattr(args, f.name) is not None and f.name not in RESUME_APPLIES]
    refused += [flag for flag, value in (("--smoke", args.smoke), ("--runs", args.runs), ("--preset", args.preset))
                if value is not None]
    run_dir = Path(args.resume)
    if refused:
        raise ResumeError(f"--resume continues {run_dir} with the options it was started with, so "
                          f"{', '.join(refused)} cannot be given with it: remove {'them' if len(refused) > 1 else 'it'}"
                          f", or start a new run with the options you want.")
    results, cfg = load_run(run_dir)
    applied = {name: getattr(args, name) for name in RESUME_APPLIES if getattr(args, name) is not None}
    return run_dir, replace(cfg, **applied).validate(), results


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _new_run_dir(runs):
    from lpft_edu.vision.experiment import ConfigError
    from lpft_edu.vision.results import default_runs_dir, new_run_dir
    base = Path(runs) if runs is not None else default_runs_dir()
    try:
        return new_run_dir(base)
    except OSError as exc:
        raise ConfigError("--runs", f"{base}: cannot create a run directory there ({exc.strerror or exc}): "
                                  "choose a writable folder") from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    from lpft_edu.vision.data import DataMissingError
    from lpft_edu.vision.experiment import ConfigError, ResumeError, run_experiment
    from lpft_edu.vision.models import WeightsError
    from lpft_edu.vision.results import discard_unstarted_run, report_finished

    def refuse(exc) -> int:
        print(f"{PROG}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_REFUSED

    try:
        if args.resume:
            run_dir, cfg, saved = _resume_setup(args)
            if saved.get("status") in ("complete", "diverged"):
                print(f"{run_dir} is already {saved['status']}: nothing to resume.")
                return 0 if saved["status"] == "complete" else EXIT_DIVERGED
        else:
            cfg = config_from_args(args)
            run_dir = _new_run_dir(args.runs)
    except (ConfigError, ResumeError) as exc:
        return refuse(exc)
    print(f"run directory: {run_dir}")
    command = f"{PROG} " + " ".join(shlex.quote(a) for a in argv)
    try:
        results = run_experiment(cfg, run_dir, resume=bool(args.resume), progress=not args.no_progress,
                                 command=command.strip(), interrupt_after=args.interrupt_after)
    except KeyboardInterrupt:
        print(f"\ninterrupted. Resume with: {PROG} --resume {run_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (DataMissingError, WeightsError, ValueError) as exc:  # ConfigError, ResumeError, CheckpointError too
        if not args.resume and discard_unstarted_run(run_dir):
            print(f"(removed {run_dir}: the run had not started)")
        return refuse(exc)
    except OSError as exc:  # disk full, permissions: the run keeps what it wrote and can be resumed
        print(f"{PROG}: {_one_line(exc)}. Fix that, then resume with: {PROG} --resume {run_dir}", file=sys.stderr)
        return 1
    diverged = report_finished(PROG, results, run_dir / "results.json", time.perf_counter() - t0)
    return EXIT_DIVERGED if diverged else 0


if __name__ == "__main__":
    sys.exit(main())
