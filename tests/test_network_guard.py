import os
import socket
import subprocess
import sys

import pytest

from conftest import NetworkAccessError


def test_non_loopback_connection_fails():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkAccessError):
            s.connect(("93.184.216.34", 80))
    finally:
        s.close()


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket()
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()


def test_guard_reaches_python_subprocesses():
    code = (
        "import socket\n"
        "try:\n    socket.create_connection(('93.184.216.34', 80), timeout=1)\n"
        "except Exception as e:\n    print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(), capture_output=True, text=True)
    assert out.stdout.strip() == "NetworkAccessError", out.stderr
