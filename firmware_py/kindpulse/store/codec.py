"""Raw PPG chunks: integer counts -> compact bytes and back, and JSON values that stay JSON.

Codec ``d4z`` (schema 2): the first sample and then sample-to-sample differences as
little-endian int32, byte-shuffled (all low bytes, then the next, ...) and zlib-compressed.
Finger PPG moves slowly between samples, so the high byte planes are nearly constant and the
chunk shrinks to about a quarter of its int32 size (bench/store.py measures it). Codec ``i4``
is schema 1's plain little-endian int32.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# numpy is imported where counts are coded, not at import: `export` without --raw (what sync
# runs on the device at every pull) starts faster without it.

CODEC = "d4z"
ZLIB_LEVEL = 6


def encode_counts(counts: np.ndarray) -> bytes:
    import numpy as np

    x = np.asarray(counts, dtype=np.int64)
    if x.size and (x.min() < -(2**31) or x.max() >= 2**31):
        raise ValueError("sensor counts must fit in int32")
    d = np.diff(x, prepend=0).astype("<i4")  # first value, then differences (fit: 18-bit counts)
    planes = d.view(np.uint8).reshape(-1, 4).T.copy()
    return zlib.compress(planes.tobytes(), ZLIB_LEVEL)


def decode_counts(blob: bytes, codec: str, n: int | None = None) -> np.ndarray:
    """int64 counts from a stored chunk (raises ValueError on an unknown codec or a bad chunk)."""
    import numpy as np

    if codec == "i4":
        return np.frombuffer(blob, dtype="<i4").astype(np.int64)
    if codec != CODEC:
        raise ValueError(f"unknown raw PPG codec {codec!r}")
    raw = zlib.decompress(blob)
    if len(raw) % 4 or (n is not None and len(raw) != 4 * n):
        raise ValueError("raw PPG chunk has the wrong length")
    d = np.frombuffer(raw, dtype=np.uint8).reshape(4, -1).T.copy().view("<i4").ravel()
    return np.cumsum(d, dtype=np.int64)


def clean_json(value: Any) -> Any:
    """The value with non-finite floats as None and numpy scalars as Python numbers, so that the
    log holds strict JSON (NaN is not JSON; a reader in another language would choke on it)."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any) -> str:
    return json.dumps(clean_json(value), allow_nan=False, separators=(",", ":"))
