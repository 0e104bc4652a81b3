"""Network guard for test processes: any connection to a non-loopback address raises.

conftest.py installs it in the pytest process and puts this folder on PYTHONPATH, so Python
subprocesses started by tests (notebook kernels, Voila, the lesson 3 CLI) load it too via
Python's ``sitecustomize`` hook. Loopback stays open for the Voila browser tests.
"""
import ipaddress
import os
import socket


class NetworkAccessError(RuntimeError):
    pass


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


def guard(real):
    def connect(self, address):
        if not is_local(address):
            raise NetworkAccessError(f"a test tried to open a network connection to {address!r}")
        return real(self, address)
    connect.__lpft_guard__ = True
    return connect


def install() -> None:
    if getattr(socket.socket.connect, "__lpft_guard__", False):
        return
    socket.socket.connect = guard(socket.socket.connect)
    socket.socket.connect_ex = guard(socket.socket.connect_ex)


if os.environ.get("LPFT_NO_NETWORK") == "1":
    install()
