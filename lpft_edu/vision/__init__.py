"""Lesson 3: LP, FT and LP-FT on CIFAR-10 -> STL-10 (torch and torchvision).

Only lesson 3 imports this package; lessons 1-2 and the rest of ``lpft_edu`` never do, so they run
where torch is absent. Modules, each with one job:

* :mod:`~lpft_edu.vision.labels`    class names and the STL-10 -> CIFAR-10 label map (no torch)
* :mod:`~lpft_edu.vision.fake`      fake CIFAR-10 / STL-10 files in the real on-disk formats (numpy)
* :mod:`~lpft_edu.vision.download`  fetch and verify the real archives (torchvision URLs and md5s)
* :mod:`~lpft_edu.vision.data`      read the files, hold uint8 images on the device, preprocess there
* :mod:`~lpft_edu.vision.models`    backbones with penultimate features + a linear head; MoCo-v2 loading
* :mod:`~lpft_edu.vision.lp`        feature extraction, feature cache, GPU logistic-regression sweep
* :mod:`~lpft_edu.vision.train`     FT / LP-FT training loop with per-epoch checkpoints
* :mod:`~lpft_edu.vision.distortion` how far features moved from the pretrained ones
* :mod:`~lpft_edu.vision.experiment` the whole protocol, resumable
* :mod:`~lpft_edu.vision.results`   run directories and atomic JSON
* :mod:`~lpft_edu.vision.cli`       the ``lpft-cifar-stl`` command
"""
