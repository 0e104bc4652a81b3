"""The laptop experiment of lesson 3 (``lpft-mini``): LP vs FT vs LP-FT in a small ReLU network on
real handwritten digits that ship with scikit-learn, in well under a minute on a CPU (one core), no download.

In distribution the digits are centred as scanned; out of distribution the same digits are moved a
few pixels to the right. A network pretrained on both kinds of input (``pretrain_ood=True``, the
knob) is then trained on centred digits only: LP, FT from a fresh head, and LP-FT from the LP head.
Pretraining is supervised, as ImageNet pretraining is before CIFAR-10: the network learns to name the
digits of one half of the images; the downstream task names the digits of the other half. The paper's condition
"good pretrained features" holds (the pretrained network reads moved digits as well as centred
ones when it has seen both); turn the knob off and it reads moved digits barely above chance.
See :mod:`lpft_edu.mini.data` for the data and :mod:`lpft_edu.mini.experiment` for the protocol.

    from lpft_edu.mini import MiniConfig, run_mini
    results = run_mini(MiniConfig(seeds=5, pretrain_ood=False), runs_dir=False)  # False: write no file
"""
from lpft_edu.mini.config import MiniConfig

__all__ = ["MiniConfig", "run_mini", "format_table"]


def __getattr__(name):
    # torch is imported on first use of run_mini, so that `lpft-mini --help` and a refused flag answer at once
    if name in ("run_mini", "format_table"):
        from lpft_edu.mini import experiment
        return getattr(experiment, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
