#!/usr/bin/env python
"""Download CIFAR-10 and STL-10 (about 2.7 GB) into the data cache and verify every file.

    python data_scripts/download.py                 # into $LPFT_DATA or ~/.cache/lpft_edu
    python data_scripts/download.py --root /data    # elsewhere (then: lpft-cifar-stl --root /data)

Safe to re-run: verified files are skipped and an interrupted download resumes (a dropped
connection keeps what arrived). A file you placed there that fails its md5 is moved aside to
NAME.bad, never deleted. The work is done by lpft_edu.vision.download (torchvision's URLs and md5 sums).
"""
import sys

from lpft_edu.vision.download import main

if __name__ == "__main__":
    sys.exit(main())
