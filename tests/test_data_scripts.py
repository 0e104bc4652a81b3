"""data_scripts: the fake-data writer's command line, and the downloader against a local HTTP server
(resume with Range, bad checksum, offline) - never the real network."""
from __future__ import annotations

import hashlib
import http.server
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from lpft_edu.vision import data as vdata  # noqa: E402
from lpft_edu.vision import download  # noqa: E402
from lpft_edu.vision.fake import FakeSizes, write_fake_cifar10  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one in-memory file, honouring 'Range: bytes=N-' (SimpleHTTPRequestHandler does not).

    Faults on request: ``status`` (answer every request with this error code), ``drop_after`` (close
    the connection after that many body bytes, having announced the full length), ``ignore_range``
    (answer 200 with the whole file), ``range_shift`` (answer 206 starting that many bytes early)."""

    payload = b""
    seen_ranges: list = []
    status = None
    drop_after = None
    ignore_range = False
    range_shift = 0

    def do_GET(self):  # noqa: N802
        data, rng = self.payload, self.headers.get("Range")
        self.seen_ranges.append(rng)
        if self.status:
            self.send_error(self.status)
            return
        if rng and not self.ignore_range:
            start = int(rng.split("=")[1].rstrip("-"))
            if start >= len(data):
                self.send_response(416)
                self.end_headers()
                return
            start -= self.range_shift
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.drop_after is not None:
            self.wfile.write(data[:self.drop_after])
            self.close_connection = True
            return
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("H", (_RangeHandler,), {"seen_ranges": []})  # class attributes: faults per test
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_resumes_a_partial_download(server, tmp_path):
    handler, base = server
    handler.payload = bytes(range(256)) * 400
    md5 = hashlib.md5(handler.payload).hexdigest()
    target = tmp_path / "archive.tar.gz"
    (tmp_path / "archive.tar.gz.part").write_bytes(handler.payload[:30000])  # an interrupted earlier run
    assert download.fetch(f"{base}/archive.tar.gz", target, md5, progress=False) == "resumed"
    assert handler.seen_ranges == ["bytes=30000-"]
    assert target.read_bytes() == handler.payload and not (tmp_path / "archive.tar.gz.part").exists()
    # re-running verifies and does not download again
    assert download.fetch(f"{base}/archive.tar.gz", target, md5, progress=False) == "verified existing file"
    assert len(handler.seen_ranges) == 1


def test_fetch_bad_checksum_names_file_url_and_fix(server, tmp_path):
    handler, base = server
    handler.payload = b"not the archive you wanted" * 100
    url = f"{base}/cifar-10-python.tar.gz"
    with pytest.raises(download.DownloadError) as err:
        download.fetch(url, tmp_path / "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", progress=False)
    msg = str(err.value)
    assert "cifar-10-python.tar.gz" in msg and url in msg and "download.py --root" in msg and "checksum" in msg
    assert list(tmp_path.iterdir()) == []  # the damaged file is gone, a re-run starts clean


def test_fetch_offline_names_file_url_and_fix(tmp_path):
    with socket.socket() as s:  # a loopback port with nobody listening: like being offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/stl10_binary.tar.gz"
    with pytest.raises(download.DownloadError) as err:
        download.fetch(url, tmp_path / "stl10_binary.tar.gz", "0" * 32, progress=False, timeout=5)
    msg = str(err.value)
    assert "stl10_binary.tar.gz" in msg and url in msg and "offline" in msg and "download.py --root" in msg


def test_archives_use_torchvision_urls_and_checksums():
    a = download.archives()
    assert a["cifar10"].url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert a["cifar10"].md5 == torchvision.datasets.CIFAR10.tgz_md5
    assert a["stl10"].url == torchvision.datasets.STL10.url
    members = dict(a["cifar10"].members())
    assert members["cifar-10-batches-py/batches.meta"] == "5ff9c542aee3614f3951f8cda6e48888"
    assert len(a["stl10"].members()) == 5


def test_prepare_extracts_and_verifies_through_torchvision(server, tmp_path):
    """The whole download path on a fake CIFAR-10 archive: a torchvision CIFAR10 subclass that only
    swaps in the fake files' URL and md5 sums, so torchvision's own extraction and checks run."""
    handler, _ = server
    archive = _fake_archive(server, tmp_path)
    root = tmp_path / "data"
    assert "ready" in download.prepare(archive, root, progress=False, log=lambda *a: None)
    assert download.members_ok(archive, root)
    assert "already present" in download.prepare(archive, root, progress=False)
    assert handler.seen_ranges == [None]  # one download, none on the re-run
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"damaged")
    assert not download.members_ok(archive, root)
    assert "ready" in download.prepare(archive, root, progress=False, log=lambda *a: None)  # re-extracted, verified


def test_make_fake_data_script(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "data_scripts" / "make_fake_data.py"), "--root", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "cifar-10-batches-py" / "data_batch_5").exists()
    assert (tmp_path / "stl10_binary" / "test_X.bin").stat().st_size == FakeSizes().stl_test * 3 * 96 * 96
    assert (tmp_path / "stl10_binary" / "FAKE_DATA.txt").exists()


def test_download_script_help_runs_without_network():
    out = subprocess.run([sys.executable, str(REPO / "data_scripts" / "download.py"), "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "--root" in out.stdout and "LPFT_DATA" in out.stdout


# -- downloads never lose what the user has ------------------------------------------------------
@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """The md5 verification cache goes to this test's folder, never the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _payload(handler, n=3 * (1 << 20) + 12345):
    handler.payload = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()
    return hashlib.md5(handler.payload).hexdigest()


def test_dropped_connection_keeps_the_part_and_says_run_again(server, tmp_path):
    handler, base = server
    md5 = _payload(handler)
    handler.drop_after = 1 << 20  # 1 MB of 3.0 MB, then the connection closes
    target = tmp_path / "stl10_binary.tar.gz"
    with pytest.raises(download.DownloadError) as err:
        download.fetch(f"{base}/stl10_binary.tar.gz", target, md5, progress=False)
    msg = str(err.value)
    assert "connection dropped after 1.0 of 3.0 MB: run the same command again to resume" in msg, msg
    part = tmp_path / "stl10_binary.tar.gz.part"
    assert part.read_bytes() == handler.payload[:1 << 20] and not target.exists()
    handler.drop_after = None
    assert download.fetch(f"{base}/stl10_binary.tar.gz", target, md5, progress=False) == "resumed"
    assert handler.seen_ranges[-1] == f"bytes={1 << 20}-" and target.read_bytes() == handler.payload


def test_dropped_resume_keeps_both_parts(server, tmp_path):
    handler, base = server
    md5 = _payload(handler)
    part = tmp_path / "a.tar.gz.part"
    part.write_bytes(handler.payload[:1000])
    handler.drop_after = 5000
    with pytest.raises(download.DownloadError, match="connection dropped after 0.0 of 3.0 MB"):
        download.fetch(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", md5, progress=False)
    assert part.read_bytes() == handler.payload[:6000]


def test_a_hand_placed_file_that_fails_md5_is_moved_aside_never_deleted(server, tmp_path):
    handler, base = server
    md5 = _payload(handler, 5000)
    target = tmp_path / "cifar-10-python.tar.gz"
    target.write_bytes(b"my own copy, from a USB stick")
    notes = []
    action = download.fetch(f"{base}/cifar-10-python.tar.gz", target, md5, progress=False, log=notes.append)
    assert (tmp_path / "cifar-10-python.tar.gz.bad").read_bytes() == b"my own copy, from a USB stick"
    assert target.read_bytes() == handler.payload and "cifar-10-python.tar.gz.bad" in action
    assert "moved it aside to cifar-10-python.tar.gz.bad" in notes[0]
    target.write_bytes(b"a second bad copy")  # .bad is taken: the next one gets its own name
    download.fetch(f"{base}/cifar-10-python.tar.gz", target, md5, progress=False, log=notes.append)
    assert (tmp_path / "cifar-10-python.tar.gz.bad.1").read_bytes() == b"a second bad copy"


def test_404_says_not_found_with_the_url_not_offline(server, tmp_path):
    handler, base = server
    handler.status = 404
    url = f"{base}/moved/cifar-10-python.tar.gz"
    with pytest.raises(download.DownloadError) as err:
        download.fetch(url, tmp_path / "cifar-10-python.tar.gz", "0" * 32, progress=False)
    msg = str(err.value)
    assert "not found" in msg and url in msg and "offline" not in msg
    assert list(tmp_path.iterdir()) == []


def test_server_error_is_not_called_offline(server, tmp_path):
    handler, base = server
    handler.status = 503
    with pytest.raises(download.DownloadError) as err:
        download.fetch(f"{base}/x.tar.gz", tmp_path / "x.tar.gz", "0" * 32, progress=False)
    assert "HTTP 503" in str(err.value) and "offline" not in str(err.value)


def test_a_server_that_ignores_range_restarts_cleanly(server, tmp_path):
    handler, base = server
    md5 = _payload(handler, 50000)
    (tmp_path / "x.tar.gz.part").write_bytes(handler.payload[:20000])
    handler.ignore_range = True
    assert download.fetch(f"{base}/x.tar.gz", tmp_path / "x.tar.gz", md5, progress=False) == "restarted"
    assert (tmp_path / "x.tar.gz").read_bytes() == handler.payload


def test_a_wrong_range_answer_is_not_appended(server, tmp_path):
    handler, base = server
    md5 = _payload(handler, 50000)
    part = tmp_path / "x.tar.gz.part"
    part.write_bytes(handler.payload[:20000])
    handler.range_shift = 100  # the server answers from byte 19900: appending would duplicate 100 bytes
    with pytest.raises(download.DownloadError, match="different byte range"):
        download.fetch(f"{base}/x.tar.gz", tmp_path / "x.tar.gz", md5, progress=False)
    assert part.read_bytes() == handler.payload[:20000]


def _fake_archive(server, tmp_path):
    """A torchvision CIFAR10 subclass serving fake files from the local server (URL and md5s swapped)."""
    handler, base = server
    src = tmp_path / "src"
    write_fake_cifar10(src, 50, 10)
    tgz = tmp_path / "fake-cifar.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    handler.payload = tgz.read_bytes()
    md5 = lambda p: hashlib.md5(p.read_bytes()).hexdigest()  # noqa: E731
    folder = src / "cifar-10-batches-py"
    fake_cls = type("FakeCIFAR10", (torchvision.datasets.CIFAR10,), {
        "url": f"{base}/fake-cifar.tar.gz", "filename": "fake-cifar.tar.gz", "tgz_md5": md5(tgz),
        "train_list": [[f"data_batch_{i}", md5(folder / f"data_batch_{i}")] for i in range(1, 6)],
        "test_list": [["test_batch", md5(folder / "test_batch")]],
        "meta": {"filename": "batches.meta", "key": "label_names", "md5": md5(folder / "batches.meta")}})
    return download.Archive("fake CIFAR-10", fake_cls)


def test_prepare_moves_aside_extracted_files_that_fail_md5(server, tmp_path):
    archive = _fake_archive(server, tmp_path)
    root = tmp_path / "data"
    (root / "cifar-10-batches-py").mkdir(parents=True)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"my edited batch")
    notes = []
    assert "ready" in download.prepare(archive, root, progress=False, log=notes.append)
    assert (root / "cifar-10-batches-py" / "test_batch.bad").read_bytes() == b"my edited batch"
    assert any("test_batch.bad" in n for n in notes) and download.members_ok(archive, root)


def test_download_script_reports_a_404_in_one_line(server, tmp_path, monkeypatch, capsys):
    archive = _fake_archive(server, tmp_path)
    handler, _ = server
    handler.status = 404
    monkeypatch.setattr(download, "archives", lambda: {"cifar10": archive})
    assert download.main(["--root", str(tmp_path / "data"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not found" in err and err.count("\n") == 1


def test_data_error_is_the_one_base(server):
    assert issubclass(download.DownloadError, vdata.DataError) and issubclass(vdata.DataError, ValueError)


# -- the MoCo-v2 checkpoint ----------------------------------------------------------------------
def test_moco_checkpoint_has_its_published_md5_prefix():
    from lpft_edu.vision import checksums
    assert checksums.KNOWN_WEIGHTS_MD5[checksums.MOCO_V2_URL] == "a04e12f8"
    assert checksums.md5_matches("a04e12f8" + "0" * 24, "a04e12f8")
    assert not checksums.md5_matches("a04e12f9" + "0" * 24, "a04e12f8")
    assert not checksums.md5_matches("a04e12f8", "")  # an empty "hash" never passes


def test_weights_with_a_known_hash_fail_closed(server, tmp_path, monkeypatch):
    handler, base = server
    url = f"{base}/moco_v2_800ep_pretrain.pth.tar"
    _payload(handler, 40000)
    monkeypatch.setitem(download.KNOWN_WEIGHTS_MD5, url, "deadbeef")  # not the payload's md5
    with pytest.raises(download.DownloadError, match="failed its checksum"):
        download.fetch_weights(url, tmp_path, progress=False)
    assert not (tmp_path / "weights" / "moco_v2_800ep_pretrain.pth.tar").exists()


def test_weights_with_a_known_hash_verify_and_replace_a_bad_cached_copy(server, tmp_path, monkeypatch):
    handler, base = server
    url = f"{base}/moco_v2_800ep_pretrain.pth.tar"
    md5 = _payload(handler, 40000)
    monkeypatch.setitem(download.KNOWN_WEIGHTS_MD5, url, md5[:8])
    cached = tmp_path / "weights" / "moco_v2_800ep_pretrain.pth.tar"
    cached.parent.mkdir()
    cached.write_bytes(b"truncated checkpoint")
    path = download.fetch_weights(url, tmp_path, progress=False, log=lambda *a: None)
    assert path == cached and cached.read_bytes() == handler.payload
    assert (cached.parent / (cached.name + ".bad")).read_bytes() == b"truncated checkpoint"
    assert download.fetch_weights(url, tmp_path, progress=False) == cached
    assert handler.seen_ranges == [None]  # verified copy: not downloaded again


def test_weights_without_a_known_hash_are_used_and_say_unverified(server, tmp_path):
    handler, base = server
    _payload(handler, 1000)
    notes = []
    path = download.fetch_weights(f"{base}/my_checkpoint.pth", tmp_path, progress=False, log=notes.append)
    assert path.read_bytes() == handler.payload and "unverified" in notes[0]
