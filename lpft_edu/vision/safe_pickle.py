"""Unpickle files from others without running their code: only named, harmless globals are built.

A pickle is a small program: its GLOBAL/STACK_GLOBAL opcodes import any callable and REDUCE calls
it, so ``pickle.load`` on a tampered file can run ``os.system``. The CIFAR-10 "python version"
files are pickles, so they are read here with an unpickler whose ``find_class`` (through which
every global passes, including the copyreg extension opcodes) answers only from an allow-list.
Everything else a pickle can build without a global - dicts, lists, tuples, bytes, str, ints,
floats - is inert data.
"""
from __future__ import annotations

import io
import pickle

import numpy as np

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


class ForbiddenGlobal(pickle.UnpicklingError):
    """The pickle asked for a global outside the allow-list; ``.name`` is ``module.name``."""

    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.name = f"{module}.{name}"


def _reconstruct_ndarray(cls, shape, dtype):
    """numpy's array reconstructor, limited to plain ndarrays (no subclass's ``__new__`` runs)."""
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(f"array subclass {cls!r} is not allowed")
    return _np_reconstruct(cls, shape, dtype)


def _plain_dtype(*args):
    """``numpy.dtype(...)``, refusing object dtypes (an object array would hold arbitrary objects)."""
    dt = np.dtype(*args)
    if dt.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return dt


# What numpy arrays pickled by numpy 1.x (``numpy.core``) and 2.x (``numpy._core``) reference.
NUMPY_ARRAY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_ndarray,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_ndarray,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _plain_dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves a global only if ``(module, name)`` is in ``allowed``."""

    def __init__(self, file, allowed: dict, **kwargs):
        super().__init__(file, **kwargs)
        self.allowed = allowed

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(module, name) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def restricted_loads(data: bytes, allowed: dict = NUMPY_ARRAY_GLOBALS, encoding: str = "bytes"):
    """Unpickle ``data`` building only inert data and the globals in ``allowed``.

    Raises :class:`ForbiddenGlobal` for any other global and ``pickle.UnpicklingError`` (or the
    EOFError/ValueError/... a damaged stream gives) for malformed data."""
    return RestrictedUnpickler(io.BytesIO(data), allowed, encoding=encoding).load()
