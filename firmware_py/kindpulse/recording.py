"""Loading PPG and inter-beat-interval recordings (CSV with a header, or .npy).

CSV: the PPG column is the first numeric column that is not a time column, or the one
named by ``column``. The sample rate comes from ``fs`` or from a time column: a column
named like ``time``/``timer``/``timestamp``/``t``/``datetime`` (or any column of ISO
datetimes) in seconds, milliseconds (name containing ``ms``/``milli``, or steps above
1, which no PPG recording has in seconds) or ISO datetimes. A file whose first row is
numeric is read as headerless. ``.npy``: a 1-D array, or a 2-D array whose column is
picked by index (``column="2"``).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from kindpulse.errors import InputError

__all__ = ["Recording", "load_ibi", "load_ppg"]

_TIME_NAME = re.compile(r"^(t|time|timer|timestamp|datetime|date|clock|seconds|secs?|ms|millis|time_?s|time_?ms|t_?s|t_?ms)$", re.I)
_MS_NAME = re.compile(r"(^|[^a-z])(ms|millis?|milliseconds?)([^a-z]|$)", re.I)


@dataclass
class Recording:
    """A loaded PPG recording.

    Attributes
    ----------
    x : ndarray
        Samples (float64).
    fs : float
        Sample rate in Hz.
    column : str
        Column used for the samples.
    fs_source : str
        Where the sample rate came from (``--fs``, or the time column and its unit).
    """

    x: np.ndarray
    fs: float
    column: str
    fs_source: str


def _float(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v


def _iso(s: str) -> float | None:
    try:
        return datetime.fromisoformat(s.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
            except csv.Error:
                dialect = csv.excel
            rows = [r for r in csv.reader(fh, dialect) if r and any(c.strip() for c in r)]
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a text CSV file ({exc.reason}); give a CSV or a .npy") from None
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror or exc}); check the path and its permissions") from None
    if not rows:
        raise InputError(f"{path} is empty; give a CSV with a header and at least one data row")
    first = [c.strip() for c in rows[0]]
    if all(_float(c) is not None for c in first):  # headerless
        header = [f"column{i + 1}" for i in range(len(first))]
        return header, rows
    return first, rows[1:]


def _columns(path: Path) -> tuple[list[str], list[list[str]]]:
    header, rows = _read_csv(path)
    if not rows:
        raise InputError(f"{path} has a header but no data rows")
    n = len(header)
    cols = [[(r[i].strip() if i < len(r) else "") for r in rows] for i in range(n)]
    return header, cols


def _numeric(col: list[str]) -> np.ndarray | None:
    vals = [_float(c) for c in col if c != ""]
    if not vals or any(v is None for v in vals):
        return None
    return np.array(vals, dtype=np.float64)


def _time_seconds(name: str, col: list[str]) -> tuple[np.ndarray, str] | None:
    num = _numeric(col)
    if num is None:
        iso = [_iso(c) for c in col if c != ""]
        if iso and all(v is not None for v in iso):
            return np.array(iso, dtype=np.float64), "ISO datetimes"
        return None
    if not _TIME_NAME.match(name.strip()) and not _MS_NAME.search(name):
        return None
    d = np.diff(num)
    step = float(np.median(d)) if d.size else math.nan
    if _MS_NAME.search(name) or (math.isfinite(step) and step > 1.0):
        return num / 1000.0, "milliseconds"
    return num, "seconds"


def _pick(header: list[str], cols: list[list[str]], column: str | None, skip: set[int], path: Path,
          what: str) -> tuple[int, np.ndarray]:
    if column is not None:
        if column not in header:
            raise InputError(f"{path} has no column {column!r}; columns are: {', '.join(header)}")
        i = header.index(column)
        v = _numeric(cols[i])
        if v is None:
            raise InputError(f"column {column!r} of {path} is not numeric; pick a numeric column with --column")
        return i, v
    for i in range(len(header)):
        if i in skip:
            continue
        v = _numeric(cols[i])
        if v is not None:
            return i, v
    raise InputError(f"{path} has no numeric {what} column; columns are: {', '.join(header)} "
                     "(pick one with --column)")


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {p}; check the path")
    if p.is_dir():
        raise InputError(f"{p} is a directory; give a CSV or .npy file")
    return p


def _check_fs(fs: float, src: str) -> float:
    if not (math.isfinite(fs) and fs > 0):
        raise InputError(f"sample rate from {src} is {fs:g} Hz; it must be positive (pass --fs HZ)")
    return float(fs)


def _load_npy(p: Path, column: str | None) -> tuple[np.ndarray, str]:
    try:
        a = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read {p} as .npy ({exc}); give a numeric NumPy array") from None
    if a.dtype.names:
        name = column or next((n for n in a.dtype.names if np.issubdtype(a.dtype[n], np.number)), None)
        if name is None or name not in a.dtype.names:
            raise InputError(f"{p} has no numeric field {column or ''}; fields: {', '.join(a.dtype.names)}")
        return np.asarray(a[name], dtype=np.float64).ravel(), name
    if not np.issubdtype(a.dtype, np.number):
        raise InputError(f"{p} does not hold numbers (dtype {a.dtype}); give a numeric array")
    if a.ndim == 1:
        return a.astype(np.float64), "0"
    if a.ndim == 2:
        idx = 0
        if column is not None:
            if not column.isdigit() or int(column) >= a.shape[1]:
                raise InputError(f"--column for a 2-D .npy is a column index 0..{a.shape[1] - 1}, got {column!r}")
            idx = int(column)
        return a[:, idx].astype(np.float64), str(idx)
    raise InputError(f"{p} holds a {a.ndim}-D array; give a 1-D array of samples")


def load_ppg(path: str | Path, *, fs: float | None = None, column: str | None = None) -> Recording:
    """Load a PPG recording.

    Parameters
    ----------
    path : str or Path
        CSV (with a header) or .npy file.
    fs : float, optional
        Sample rate in Hz; required for .npy and for CSVs without a time column.
    column : str, optional
        PPG column name (CSV) or index (2-D .npy).

    Returns
    -------
    Recording

    Raises
    ------
    InputError
        Missing file, no numeric column, unknown or non-positive sample rate, no data.
    """
    p = _check_path(path)
    if fs is not None:
        fs = _check_fs(float(fs), "--fs")
    if p.suffix.lower() == ".npy":
        x, col = _load_npy(p, column)
        if fs is None:
            raise InputError(f"{p} is a .npy without times; pass the sample rate with --fs HZ")
        src = "--fs"
    else:
        header, cols = _columns(p)
        t_idx, t_s, unit = None, None, ""
        for i, name in enumerate(header):
            if column is not None and name == column:
                continue
            got = _time_seconds(name, cols[i])
            if got is not None:
                t_idx, (t_s, unit) = i, got
                break
        i, x = _pick(header, cols, column, {t_idx} if t_idx is not None else set(), p, "PPG")
        col = header[i]
        if fs is not None:
            src = "--fs"
        elif t_s is not None:
            d = np.diff(t_s)
            if d.size == 0:
                raise InputError(f"{p} has a single sample; cannot tell the sample rate (pass --fs HZ)")
            # Mean step over the whole span, not the median: PC timers tick in 15-16 ms
            # steps and repeat stamps (HeartPy's data3.csv: median 15 ms, true 9.96 ms).
            span = float(t_s[-1] - t_s[0])
            fs = _check_fs(d.size / span if span > 0 else -1.0, f"time column {header[t_idx]!r}")
            src = f"time column {header[t_idx]!r} ({unit})"
        else:
            raise InputError(f"{p} has no time column; pass the sample rate with --fs HZ "
                             "(or add a time column in s, ms or ISO datetimes)")
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise InputError(f"{p} holds no samples in column {col!r}")
    return Recording(x=x, fs=float(fs), column=str(col), fs_source=src)


def load_ibi(path: str | Path, *, column: str | None = None) -> np.ndarray:
    """Load inter-beat intervals in ms (CSV column or 1-D .npy).

    Raises
    ------
    InputError
        Missing file, no numeric column, no data, or values that are not plausible ms.
    """
    p = _check_path(path)
    if p.suffix.lower() == ".npy":
        ibi, _ = _load_npy(p, column)
    else:
        header, cols = _columns(p)
        skip = {i for i, name in enumerate(header) if name != column and _TIME_NAME.match(name.strip())}
        _, ibi = _pick(header, cols, column, skip, p, "interval")
    ibi = ibi[np.isfinite(ibi)]
    if ibi.size == 0:
        raise InputError(f"{p} holds no intervals")
    if np.any(ibi <= 0):
        raise InputError(f"{p} has non-positive intervals; inter-beat intervals must be positive ms")
    med = float(np.median(ibi))
    if med < 10.0:
        raise InputError(f"intervals in {p} have a median of {med:g}; they look like seconds, give milliseconds")
    return ibi.astype(np.float64)


def read_numbers(path: Path, what: str) -> np.ndarray:
    """A one-number-per-line file (a header line allowed; the first comma-separated cell counts)
    -> float array. ``what`` names the data in the one-line errors ("PPG", "RR")."""
    if not path.exists():
        raise InputError(f"{what} file {path} not found: check the path")
    values = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({exc})") from None
    for i, line in enumerate(lines):
        cell = line.split(",")[0].strip()
        if not cell:
            continue
        try:
            values.append(float(cell))
        except ValueError:
            if i == 0:
                continue  # header
            raise InputError(f"{path}:{i + 1}: {cell!r} is not a number: "
                             f"{what} files hold one number per line") from None
    if len(values) < 2:
        raise InputError(f"{path} holds no {what} values: expected one number per line")
    return np.asarray(values, dtype=np.float64)
