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

import pytest

pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from lpft_edu.vision import download  # noqa: E402
from lpft_edu.vision.fake import FakeSizes, write_fake_cifar10  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one in-memory file, honouring 'Range: bytes=N-' (SimpleHTTPRequestHandler does not)."""

    payload = b""
    seen_ranges: list = []

    def do_GET(self):  # noqa: N802
        data, rng = self.payload, self.headers.get("Range")
        self.seen_ranges.append(rng)
        if rng:
            start = int(rng.split("=")[1].rstrip("-"))
            if start >= len(data):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("H", (_RangeHandler,), {"seen_ranges": []})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
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
    assert download.fetch(f"{base}/archive.tar.gz", target, md5, progress=False) == "verified existing archive"
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
    archive = download.Archive("fake CIFAR-10", fake_cls)
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
