"""Network guard for test processes: any connection to a non-loopback address, and any DNS lookup
of a name other than localhost, raises.

conftest.py installs it in the pytest process and puts this folder on PYTHONPATH, so Python
subprocesses started by tests (notebook kernels, Voila, the lesson 3 CLI) load it too via
Python's ``sitecustomize`` hook. Loopback stays open for the Voila browser tests.

DNS is blocked as well as connections because a lookup alone already leaves the machine (and
leaks the name being looked up), and because without it a test on a machine with no resolver sees
"name not found" where it should see the guard. Numeric addresses need no lookup and pass through
to ``connect``, which refuses the non-loopback ones. (Chromium resolves names itself, outside
Python: the browser tests route its requests instead.)
"""
import ipaddress
import os
import socket

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class NetworkAccessError(RuntimeError):
    pass


class DNSLookupError(NetworkAccessError, socket.gaierror):
    """A blocked lookup. Also a ``socket.gaierror``, so code that handles "no network" (urllib turns
    it into a URLError) behaves as it would offline, while tests can still catch the guard's class."""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def is_local(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # any other host name would need DNS, i.e. the network


def lookup_allowed(host) -> bool:
    """True for lookups that stay on this machine: no host (a wildcard bind), localhost, or a
    numeric address (no lookup happens; ``connect`` judges it)."""
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    host = str(host).rstrip(".").lower()
    return host in ("",) + LOCAL_NAMES or _is_ip(host)


def guard(real):
    def connect(self, address):
        if not is_local(address):
            raise NetworkAccessError(f"a test tried to open a network connection to {address!r}")
        return real(self, address)
    connect.__lpft_guard__ = True
    return connect


def guard_lookup(real, name):
    def lookup(host, *args, **kwargs):
        if not lookup_allowed(host):
            raise DNSLookupError(socket.EAI_NONAME, f"a test tried to look up {host!r} in DNS ({name})")
        return real(host, *args, **kwargs)
    lookup.__lpft_guard__ = True
    return lookup


def install() -> None:
    if not getattr(socket.socket.connect, "__lpft_guard__", False):
        socket.socket.connect = guard(socket.socket.connect)
        socket.socket.connect_ex = guard(socket.socket.connect_ex)
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        real = getattr(socket, name)
        if not getattr(real, "__lpft_guard__", False):
            setattr(socket, name, guard_lookup(real, name))


if os.environ.get("LPFT_NO_NETWORK") == "1":
    install()
