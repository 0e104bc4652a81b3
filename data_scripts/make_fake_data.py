#!/usr/bin/env python
"""Write fake CIFAR-10 and STL-10 in the exact real on-disk formats (for tests and the smoke run).

    python data_scripts/make_fake_data.py                    # small, into <cache>/fake-smoke
    python data_scripts/make_fake_data.py --full-size        # real sizes (50k/10k CIFAR, 8k STL test), <cache>/fake-full
    python data_scripts/make_fake_data.py --root /tmp/fake   # elsewhere (then: lpft-cifar-stl --root /tmp/fake ...)

Images have class-dependent colours and stripes, so models can learn them; STL-10 images carry a
shift. Every folder gets a FAKE_DATA.txt marker and results computed on it are labelled fake.
Each folder is rewritten completely (also when it exists: that is how damaged fake files are
repaired), into a temporary folder that is renamed into place, so a reader never sees half a folder.
"""
import argparse
import sys
import time
from pathlib import Path

from lpft_edu.vision.data import DataError, default_root
from lpft_edu.vision.fake import FULL, SMOKE, FakeSizes, write_fake_data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python data_scripts/make_fake_data.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=None, help="default <$LPFT_DATA or ~/.cache/lpft_edu>/fake-smoke "
                                                           "(fake-full with --full-size)")
    p.add_argument("--full-size", action="store_true", help="the real data sets' sizes (throughput benchmarks)")
    p.add_argument("--stl-unlabeled", type=int, default=0, help="also write unlabeled_X.bin with this many images")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    sizes = FULL if args.full_size else SMOKE
    sizes = FakeSizes(sizes.cifar_train, sizes.cifar_test, sizes.stl_train, sizes.stl_test, args.stl_unlabeled)
    root = args.root or default_root() / ("fake-full" if args.full_size else "fake-smoke")
    t0 = time.perf_counter()
    try:
        write_fake_data(root, sizes, args.seed, force=True)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"fake CIFAR-10 ({sizes.cifar_train} train, {sizes.cifar_test} test) and STL-10 ({sizes.stl_train} train, "
          f"{sizes.stl_test} test) written to {root} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
