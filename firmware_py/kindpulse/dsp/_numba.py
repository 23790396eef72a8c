"""numba options in one place.

`cache=True` writes compiled kernels next to the source, or under NUMBA_CACHE_DIR
when set (the systemd unit sets it, since site-packages may be read-only).
fastmath drops nnan/ninf on purpose: NaN marks a missing value in some kernels.
"""

from __future__ import annotations

from numba import njit

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
NJIT_OPTS: dict = {"cache": True, "nogil": True, "fastmath": set(FASTMATH)}


def kernel(func):
    """Decorate a pure array kernel with the project's numba options."""
    return njit(**NJIT_OPTS)(func)
