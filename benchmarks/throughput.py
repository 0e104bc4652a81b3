#!/usr/bin/env python
"""FT training throughput: this package's pipeline vs a baseline in the official code's style.

* **ours**: uint8 images held on the device; per batch one bilinear resize + normalisation on the
  device; autocast (bf16, or fp16 on GPUs without bf16 tensor cores, as training does) and
  channels_last on CUDA (fp32 on CPU).
* **baseline**: a torchvision-style dataset handing out PIL images, ``Resize(224)`` + ``ToTensor`` +
  ``Normalize`` in DataLoader workers, fp32, default memory format (as in the official code).

Both train the same architecture (ResNet-18 by default, random weights: throughput does not depend on
the weights, and nothing is downloaded) with SGD + momentum at the same batch size, in the same
process, on the same device, over the same files (fake data in the real formats, full size on GPU).
``--full-run`` also times the default ``lpft-cifar-stl`` run (LP + FT + LP-FT) on full-size fake data.

    python benchmarks/throughput.py                 # GPU if present (full size), else a CPU smoke size
    python benchmarks/throughput.py --full-run      # plus the wall time of the default run (GPU)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lpft_edu.vision.data import IMAGENET_MEAN, IMAGENET_STD, Preprocess, batches, default_root, load_cifar_stl, read_cifar10
from lpft_edu.vision.fake import FULL, SMOKE, has_fake_data, write_fake_data
from lpft_edu.vision.lp import _autocast, precision_name
from lpft_edu.vision.models import build_model

OUT = Path(__file__).resolve().parent / "results"


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _step(model, opt, x, y, amp):
    # the training loop's own precision rule (lp.amp_dtype); off for the fp32 baseline
    with _autocast(x.device) if amp else torch.autocast("cpu", enabled=False):
        loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def bench_ours(args, device, data) -> dict:
    model = build_model(args.model, seed=0).to(device)
    cuda = device.type == "cuda"
    pre = Preprocess(args.image_size, device)
    if pre.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    it = batches(data.train, args.batch_size, shuffle=True, seed=0, drop_last=True)
    done, t0 = 0, None
    for i, (xb, yb) in enumerate(it):
        if i == args.warmup:
            _sync(device)
            t0 = time.perf_counter()
        _step(model, opt, pre(xb), yb, cuda)
        done += 1
        if done == args.warmup + args.steps:
            break
    _sync(device)
    dt = time.perf_counter() - t0
    return {"images_per_second": args.steps * args.batch_size / dt, "seconds": dt, "steps": args.steps,
            "precision": precision_name(device), "channels_last": pre.channels_last}


class PILCifar(torch.utils.data.Dataset):
    """What torchvision.datasets.CIFAR10 does per item: HWC uint8 -> PIL image -> transform."""

    def __init__(self, x_chw: np.ndarray, y: np.ndarray, transform):
        self.data = np.ascontiguousarray(x_chw.transpose(0, 2, 3, 1))
        self.targets = y
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.data[i])), int(self.targets[i])


def bench_baseline(args, device, root) -> dict:
    from torchvision import transforms
    x, y = read_cifar10(root, train=True)
    tf = transforms.Compose([transforms.Resize(args.image_size), transforms.ToTensor(),
                             transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    loader = torch.utils.data.DataLoader(PILCifar(x, y, tf), batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers, pin_memory=device.type == "cuda", drop_last=True,
                                         persistent_workers=False)
    model = build_model(args.model, seed=0).to(device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    done, t0 = 0, None
    it = iter(loader)
    for i, (xb, yb) in enumerate(it):
        if i == args.warmup:
            _sync(device)
            t0 = time.perf_counter()
        _step(model, opt, xb.to(device, non_blocking=True), yb.to(device, non_blocking=True), False)
        done += 1
        if done == args.warmup + args.steps:
            break
    _sync(device)
    dt = time.perf_counter() - t0
    del it  # shut the workers down before the next measurement
    return {"images_per_second": args.steps * args.batch_size / dt, "seconds": dt, "steps": args.steps,
            "precision": "fp32", "channels_last": False, "workers": args.workers}


def full_run(device, root) -> dict:
    """Wall time of the default LP + FT + LP-FT run (default config) on full-size fake data."""
    from lpft_edu.vision.experiment import ExperimentConfig, run_experiment
    from lpft_edu.vision.models import WeightsError, build_model as _bm
    from lpft_edu.vision.results import new_run_dir
    cfg = ExperimentConfig(data_root=str(root))
    try:
        _bm(cfg.backbone)
    except WeightsError:
        cfg.backbone = "resnet18-random"  # same compute; the offline GPU box cannot fetch ImageNet weights
    t0 = time.perf_counter()
    r = run_experiment(cfg, new_run_dir(OUT / "full_run"), progress=True, command="benchmarks/throughput.py --full-run")
    return {"wall_seconds": time.perf_counter() - t0, "backbone": cfg.backbone, "timings": r["timings"],
            "ft_images_per_second": r["methods"]["FT"]["images_per_second"],
            "lpft_images_per_second": r["methods"]["LP-FT"]["images_per_second"], "config": r["config"]}


def main(argv=None) -> int:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if cuda else "cpu")
    p.add_argument("--root", type=Path, default=None, help="fake data (written if missing); default <cache>/fake-full "
                                                           "on GPU, <cache>/fake-smoke on CPU")
    p.add_argument("--model", default="resnet18-random")
    p.add_argument("--image-size", type=int, default=224 if cuda else 64)
    p.add_argument("--batch-size", type=int, default=128 if cuda else 32)
    p.add_argument("--steps", type=int, default=100 if cuda else 6)
    p.add_argument("--warmup", type=int, default=15 if cuda else 2)
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    p.add_argument("--rounds", type=int, default=2, help="alternating measurements per pipeline (best kept)")
    p.add_argument("--full-run", action="store_true", help="also time the default lpft-cifar-stl run")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    full_size = device.type == "cuda"
    root = args.root or default_root() / ("fake-full" if full_size else "fake-smoke")
    if not has_fake_data(root):
        print(f"writing {'full-size' if full_size else 'small'} fake data to {root}")
        write_fake_data(root, FULL if full_size else SMOKE)
    data = load_cifar_stl(root, val_size=min(5000, 100 if not full_size else 5000), device=device)
    info = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "model": args.model, "image_size": args.image_size, "batch_size": args.batch_size,
            "train_images": len(data.train)}
    print(json.dumps(info))
    # Alternate the two pipelines and keep each one's best round: other load on the machine then
    # penalises neither systematically.
    rounds = {"ours": [], "baseline": []}
    for _ in range(args.rounds):
        rounds["ours"].append(bench_ours(args, device, data))
        rounds["baseline"].append(bench_baseline(args, device, root))
    res = {"setup": {**info, "rounds": args.rounds}}
    for key, rs in rounds.items():
        res[key] = max(rs, key=lambda r: r["images_per_second"])
        res[key]["all_rounds_images_per_second"] = [r["images_per_second"] for r in rs]
    res["speedup"] = res["ours"]["images_per_second"] / res["baseline"]["images_per_second"]
    print(f"baseline (DataLoader + PIL resize + fp32): {res['baseline']['images_per_second']:8.1f} img/s")
    print(f"ours (on-device uint8, {res['ours']['precision']}):     {res['ours']['images_per_second']:8.1f} img/s")
    print(f"speedup: {res['speedup']:.2f}x")
    if args.full_run:
        if device.type != "cuda":
            print("--full-run skipped: the default run needs a GPU (its wall time is still to be measured)")
        else:
            res["full_run"] = full_run(device, root)
            print(f"default LP + FT + LP-FT run: {res['full_run']['wall_seconds']:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"throughput-{device.type}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(res, indent=1))
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
