"""numba options in one place, and the small kernels the stages share.

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


@kernel
def median_inplace(a, n):  # pragma: no cover - compiled
    """Median of a[:n] (n >= 1), sorting a[:n] in place: an insertion sort, no allocation
    (the rings it serves hold 5 to 15 values)."""
    for i in range(1, n):
        v = a[i]
        j = i
        while j > 0 and a[j - 1] > v:
            a[j] = a[j - 1]
            j -= 1
        a[j] = v
    k = n // 2
    return a[k] if n % 2 == 1 else 0.5 * (a[k - 1] + a[k])


@kernel
def ring_median(ring, n_seen):  # pragma: no cover - compiled
    """Median of a ring buffer's filled part, ring[:min(n_seen, len)] (0 when empty)."""
    m = min(int(n_seen), ring.shape[0])
    if m == 0:
        return 0.0
    return median_inplace(ring[:m].copy(), m)
