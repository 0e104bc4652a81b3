"""The fake-data writer under concurrency and crashes: two first smoke runs at once, or a run killed
while writing, never leave a folder that the next run cannot use."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from lpft_edu.vision import data as vdata  # noqa: E402
from lpft_edu.vision import fake  # noqa: E402
from lpft_edu.vision.fake import CIFAR_DIR, MARKER, STL_DIR, FakeSizes, has_fake_data, write_fake_data  # noqa: E402

SIZES = FakeSizes(cifar_train=100, cifar_test=40, stl_train=20, stl_test=60)
REPO = Path(__file__).resolve().parent.parent


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_nothing_is_visible_at_the_target_until_a_folder_is_complete(tmp_path, monkeypatch):
    seen = []
    real_dump = fake._dump_py2

    def watching_dump(obj, path):
        seen.append(((tmp_path / CIFAR_DIR).exists(), (tmp_path / STL_DIR).exists()))
        real_dump(obj, path)

    monkeypatch.setattr(fake, "_dump_py2", watching_dump)
    write_fake_data(tmp_path, SIZES)
    assert len(seen) == 7 and not any(cifar for cifar, _ in seen)  # each pickle written out of sight
    assert has_fake_data(tmp_path) and not list(tmp_path.glob(".fake-tmp-*"))
    vdata.load_cifar_stl(tmp_path, val_size=10)


KILLED_WRITER = """
    import os, signal, sys
    from lpft_edu.vision import fake
    write_images, calls = fake._write_stl_images, []
    def die_on_test_images(*args, **kwargs):  # train_X/train_y written, test_X open: kill -9 now
        calls.append(args)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        write_images(*args, **kwargs)
    fake._write_stl_images = die_on_test_images
    fake.write_fake_data(sys.argv[1], fake.FakeSizes(100, 40, 20, 60))
"""


def test_a_writer_killed_mid_write_leaves_nothing_half_written(tmp_path):
    proc = _python(KILLED_WRITER, str(tmp_path))
    proc.communicate(timeout=120)
    assert proc.returncode == -9
    assert (tmp_path / CIFAR_DIR / MARKER).exists()      # finished before the kill: complete
    assert not (tmp_path / STL_DIR).exists()             # being written: never reached its place
    assert list(tmp_path.glob(".fake-tmp-*"))            # the half-written copy is out of the way
    assert not has_fake_data(tmp_path)
    with pytest.raises(vdata.DataMissingError):          # not used: the loader reports it missing
        vdata.load_cifar_stl(tmp_path, val_size=10)
    write_fake_data(tmp_path, SIZES)                     # the next first run completes it
    assert has_fake_data(tmp_path) and not list(tmp_path.glob(".fake-tmp-*"))
    assert vdata.load_cifar_stl(tmp_path, val_size=10).kind == "fake"


CONCURRENT_WRITER = """
    import sys, time
    from pathlib import Path
    from lpft_edu.vision import data, fake
    root, me, other = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    me.touch()
    while not other.exists():  # start together
        time.sleep(0.001)
    if not fake.has_fake_data(root):
        fake.write_fake_data(root, fake.FakeSizes(100, 40, 20, 60))
    d = data.load_cifar_stl(root, val_size=10)
    print(d.summary()["kind"], len(d.train), len(d.ood_test), (root / fake.CIFAR_DIR).stat().st_ino)
"""


def test_two_first_runs_at_once_both_end_with_valid_data(tmp_path):
    root = tmp_path / "smoke"
    a, b = tmp_path / "a", tmp_path / "b"
    procs = [_python(CONCURRENT_WRITER, str(root), str(a), str(b)),
             _python(CONCURRENT_WRITER, str(root), str(b), str(a))]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    lines = [out.split() for out, _ in outs]
    assert lines[0][:3] == lines[1][:3] and lines[0][0] == "fake" and lines[0][1] == "90"
    assert lines[0][3] == lines[1][3]  # one folder: the second run found the first one's, complete
    assert not list(root.glob(".fake-tmp-*"))


def test_same_parameters_are_kept_other_parameters_rewritten(tmp_path):
    write_fake_data(tmp_path, SIZES)
    ino = (tmp_path / CIFAR_DIR).stat().st_ino
    write_fake_data(tmp_path, SIZES)
    assert (tmp_path / CIFAR_DIR).stat().st_ino == ino  # identical bytes would follow: kept
    write_fake_data(tmp_path, FakeSizes(cifar_train=50, cifar_test=40, stl_train=20, stl_test=60))
    assert (tmp_path / CIFAR_DIR).stat().st_ino != ino
    assert len(vdata.read_cifar10(tmp_path, train=True)[1]) == 50
    write_fake_data(tmp_path, SIZES, force=True)
    assert len(vdata.read_cifar10(tmp_path, train=True)[1]) == 100


def test_force_repairs_a_damaged_fake_file(tmp_path):
    write_fake_data(tmp_path, SIZES)
    (tmp_path / STL_DIR / "test_X.bin").write_bytes(b"x")
    with pytest.raises(vdata.DataError, match="make_fake_data.py"):
        vdata.read_stl10(tmp_path, "test")
    write_fake_data(tmp_path, SIZES, force=True)
    x, _ = vdata.read_stl10(tmp_path, "test")
    assert x.shape == (60, 3, 96, 96)


def test_a_folder_without_the_marker_is_never_used_or_overwritten(tmp_path):
    """A folder holding files but no marker - half-written by an older version, or someone's real
    data - is not taken for fake data and is not replaced; the message names it and the fix."""
    folder = tmp_path / STL_DIR
    folder.mkdir()
    np.ones(10, np.uint8).tofile(folder / "test_y.bin")
    with pytest.raises(fake.FakeDataConflict) as err:
        write_fake_data(tmp_path, SIZES)
    assert isinstance(err.value, vdata.DataError) and isinstance(err.value, FileExistsError)
    msg = str(err.value)
    assert str(folder) in msg and MARKER in msg and "--root" in msg and "\n" not in msg
    assert not has_fake_data(tmp_path) and not (tmp_path / CIFAR_DIR).exists()  # refused before writing
    assert os.listdir(folder) == ["test_y.bin"]


def test_make_fake_data_script_rewrites_and_reports_conflicts(tmp_path):
    script = str(REPO / "data_scripts" / "make_fake_data.py")
    (tmp_path / CIFAR_DIR).mkdir()
    (tmp_path / CIFAR_DIR / "data_batch_1").write_bytes(b"someone's file")
    out = subprocess.run([sys.executable, script, "--root", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    assert (tmp_path / CIFAR_DIR / "data_batch_1").read_bytes() == b"someone's file"
