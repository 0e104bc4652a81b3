import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

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


@pytest.mark.parametrize("lookup", [
    lambda: socket.getaddrinfo("example.com", 80),
    lambda: socket.getaddrinfo(b"pypi.org", 443, proto=socket.IPPROTO_TCP),
    lambda: socket.gethostbyname("example.com"),
    lambda: socket.gethostbyname_ex("download.pytorch.org"),
    lambda: socket.create_connection(("example.com", 80), timeout=1),
], ids=["getaddrinfo", "getaddrinfo-bytes", "gethostbyname", "gethostbyname_ex", "create_connection"])
def test_dns_lookups_of_other_names_fail(lookup):
    # Without the guard these reach the resolver: on a machine with network they succeed, on one
    # without they raise socket.gaierror, which is not the guard's error.
    with pytest.raises(NetworkAccessError, match="look up"):
        lookup()


def test_a_blocked_lookup_reads_as_offline_to_urllib():
    """The guard's DNS error is also a socket.gaierror, so urllib reports it like a missing network
    (code under test handles it as offline), never as some other crash."""
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen("http://example.com/", timeout=1)
    assert isinstance(err.value.reason, NetworkAccessError)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", None])
def test_local_lookups_are_allowed(host):
    assert socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)


def test_guard_reaches_python_subprocesses():
    code = (
        "import socket\n"
        "for f in (lambda: socket.create_connection(('93.184.216.34', 80), timeout=1),\n"
        "          lambda: socket.getaddrinfo('example.com', 80)):\n"
        "    try:\n        f()\n"
        "    except Exception as e:\n        print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(), capture_output=True, text=True)
    assert out.stdout.split() == ["NetworkAccessError", "DNSLookupError"], out.stderr
