"""``lpft-mini``: the laptop experiment of lesson 3 from the command line.

Examples::

    lpft-mini                       # 5 seeds, pretraining with both kinds of input (about a minute)
    lpft-mini --no-pretrain-ood     # the knob: pretraining never sees a moved digit
    lpft-mini --seeds 10 --no-progress --runs-dir /tmp/runs

Exit status: 0 complete, 2 refused (a bad option: one line on stderr names the flag and its allowed
range; no run folder is created), 3 a method diverged (results.json says which flag to lower),
130 interrupted.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from lpft_edu.mini.config import MiniConfig, flag_fields

PROG = "lpft-mini"
EXIT_REFUSED, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (flag, problem, where to look), not usage + error."""

    def error(self, message):
        self.exit(EXIT_REFUSED, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _number(kind, flag):
    def parse(text):
        try:
            return kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    parse.__name__ = flag  # argparse names the type in some messages
    return parse


def build_parser() -> argparse.ArgumentParser:
    """One option per :class:`~lpft_edu.mini.config.MiniConfig` field, from its metadata."""
    p = _Parser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Kumar et al. (ICLR 2022) in miniature: LP, FT and LP-FT of a small pretrained ReLU "
                            "network on scikit-learn's handwritten digits, centred (ID) vs moved (OOD).",
                epilog=__doc__.split("Examples::", 1)[1])
    default = MiniConfig(fast=False)
    for f in flag_fields():
        meta = f.metadata
        if meta["kind"] is bool:
            shown = "on with LPFT_FAST=1" if f.name == "fast" else ("on" if getattr(default, f.name) else "off")
            p.add_argument(meta["flag"], dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                           help=f"{meta['help']} (default {shown})")
        else:
            span = f"{meta['low']}..{meta['high']}" if meta["kind"] is int else f"{meta['low']:g}..{meta['high']:g}"
            p.add_argument(meta["flag"], dest=f.name, type=_number(meta["kind"], meta["flag"]), default=None,
                           metavar="N" if meta["kind"] is int else "X",
                           help=f"{meta['help']} ({span}, default {getattr(default, f.name):g})")
    p.add_argument("--runs-dir", default=None, metavar="DIR",
                   help="where the run folder is created (default $LPFT_RUNS, else runs/ at the top of the "
                        "lpft-edu checkout you are in, else ./runs)")
    return p


def config_from_args(args) -> MiniConfig:
    given = {f.name: getattr(args, f.name) for f in flag_fields() if getattr(args, f.name) is not None}
    return MiniConfig(**given).validate()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    from lpft_edu.mini.experiment import format_table, run_mini
    from lpft_edu.vision.results import default_runs_dir, report_finished
    runs = Path(args.runs_dir) if args.runs_dir is not None else default_runs_dir()
    if runs.exists() and not runs.is_dir():
        print(f"{PROG}: --runs-dir {runs} is a file, not a folder: choose a folder", file=sys.stderr)
        return EXIT_REFUSED
    command = " ".join([PROG, *map(shlex.quote, argv)])
    try:
        results = run_mini(cfg, runs_dir=runs, command=command)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; run the command again to start over", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        print(f"{PROG}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(format_table(results))
    diverged = report_finished(PROG, results, Path(results["run_dir"]) / "results.json", results["timings"]["total_s"])
    return EXIT_DIVERGED if diverged else 0


if __name__ == "__main__":
    sys.exit(main())
