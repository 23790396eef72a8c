"""Loading PPG and inter-beat-interval recordings (CSV with a header, or .npy).

CSV: the PPG column is the first numeric column that is not a time column, or the one
named by ``column``. The sample rate comes from ``fs`` or from a time column: a column
named like ``time``/``timer``/``timestamp``/``t``/``datetime`` (or any column of ISO
datetimes) in seconds, milliseconds (name containing ``ms``/``milli``, or steps above
1, which no PPG recording has in seconds) or ISO datetimes. A file whose first row is
numeric is read as headerless. ``.npy``: a 1-D array, or a 2-D array whose column is
picked by index (``column="2"``).

Empty, ``nan`` or non-finite cells are missing samples: they stay in the series as NaN, so
the time axis runs on across them and the analysis treats them as a gap (no interval spans
it, quality reports ``lost_samples``). The common numeric CSV is parsed by a numba kernel
(`kindpulse.fastcsv`); anything unusual goes through Python's csv module.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from kindpulse.errors import InputError
from kindpulse.inputs import FS_MAX_HZ, FS_MIN_HZ, read_bytes, read_text

__all__ = ["Recording", "load_ibi", "load_ppg"]

_TIME_NAME = re.compile(
    r"^(t|time|timer|timestamp|datetime|date|clock|seconds|secs?|ms|millis|time_?s|time_?ms|t_?s|t_?ms)$",
    re.I)
_MS_NAME = re.compile(r"(^|[^a-z])(ms|millis?|milliseconds?)([^a-z]|$)", re.I)


@dataclass
class Recording:
    """A loaded PPG recording.

    Attributes
    ----------
    x : ndarray
        Samples (float64); NaN marks a missing sample.
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

    @property
    def missing(self) -> int:
        """Missing samples (NaN) in `x`."""
        return int(np.count_nonzero(np.isnan(self.x)))


_MISSING = {"", "nan", "na", "n/a", "null", "none"}


def _float(s: str) -> float | None:
    """A cell as a number: NaN for a missing cell, None for text."""
    if s.lower() in _MISSING:
        return math.nan
    try:
        return float(s)
    except ValueError:
        return None


def _iso(s: str) -> float | None:
    try:
        return datetime.fromisoformat(s.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass
class _Table:
    """A CSV as columns: numbers (NaN where a cell is missing) or None where a column holds text."""

    header: list[str]
    numeric: list[np.ndarray | None]
    text: list[list[str]] | None  # the cells, when read by the careful reader (for ISO datetimes)

    @property
    def rows(self) -> int:
        return next((c.size for c in self.numeric if c is not None), len(self.text[0]) if self.text else 0)


def _fast_table(data: bytes) -> _Table | None:
    """The common CSV (header + numeric rows, no quotes) through the numba parser; None otherwise."""
    from kindpulse.fastcsv import parse_numeric

    if b'"' in data:
        return None
    nl = data.find(b"\n")
    first = (data if nl < 0 else data[:nl]).decode("utf-8", "replace").strip()
    if not first:
        return None
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delim = max(counts, key=counts.get)
    ncols = counts[delim] + 1
    names = [c.strip() for c in first.split(delim)]
    if all(_float(c) is not None for c in names):  # headerless: the first line is data
        body, names = data, [f"column{i + 1}" for i in range(ncols)]
    else:
        body = b"" if nl < 0 else data[nl + 1:]
    arr = parse_numeric(body, delim, ncols)
    if arr is None:
        return None
    cols: list[np.ndarray | None] = []
    for i in range(ncols):
        c = np.ascontiguousarray(arr[:, i])
        cols.append(c if np.isfinite(c).any() else None)
    return _Table(names, cols, None)


def _careful_table(path: Path, data: bytes) -> _Table:
    text = _decode(path, data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        rows = [r for r in reader if r and any(c.strip() for c in r)]
    except csv.Error as exc:
        raise InputError(f"{path} line {reader.line_num}: not a readable CSV row ({exc}); "
                         "check the quoting there") from None
    if not rows:
        raise InputError(f"{path} is empty; give a CSV with a header and at least one data row")
    first = [c.strip() for c in rows[0]]
    if all(_float(c) is not None for c in first):  # headerless
        header = [f"column{i + 1}" for i in range(len(first))]
    else:
        header, rows = first, rows[1:]
    if not rows:
        raise InputError(f"{path} has a header but no data rows")
    cells = [[(r[i].strip() if i < len(r) else "") for r in rows] for i in range(len(header))]
    return _Table(header, [_numeric(c) for c in cells], cells)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a text CSV file ({exc.reason} at byte {exc.start}); "
                         "give a UTF-8 CSV or a .npy") from None


def _read_table(path: Path) -> _Table:
    data = read_bytes(path, "recording")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise InputError(f"{path} is empty; give a CSV with a header and at least one data row")
    table = _fast_table(data)
    if table is None or table.rows == 0:
        table = _careful_table(path, data)
    return table


def _numeric(col: list[str]) -> np.ndarray | None:
    vals = [_float(c) for c in col]
    if any(v is None for v in vals):
        return None
    a = np.array(vals, dtype=np.float64)
    return a if np.isfinite(a).any() else None


def _time_seconds(table: _Table, i: int) -> tuple[np.ndarray, str] | None:
    name, num = table.header[i], table.numeric[i]
    if num is None:
        if table.text is None:
            return None
        iso = [_iso(c) if c else math.nan for c in table.text[i]]
        if any(v is None for v in iso) or not any(c for c in table.text[i]):
            return None
        return np.array(iso, dtype=np.float64), "ISO datetimes"
    if not _TIME_NAME.match(name.strip()) and not _MS_NAME.search(name):
        return None
    d = np.diff(num[np.isfinite(num)])
    step = float(np.median(d)) if d.size else math.nan
    if _MS_NAME.search(name) or (math.isfinite(step) and step > 1.0):
        return num / 1000.0, "milliseconds"
    return num, "seconds"


def _pick(table: _Table, column: str | None, skip: set[int], path: Path, what: str) -> tuple[int, np.ndarray]:
    header = table.header
    if column is not None:
        if column not in header:
            raise InputError(f"{path} has no column {column!r}; columns are: {', '.join(header)}")
        i = header.index(column)
        v = table.numeric[i]
        if v is None:
            raise InputError(f"column {column!r} of {path} is not numeric; "
                             "pick a numeric column with --column")
        return i, v
    for i in range(len(header)):
        if i not in skip and table.numeric[i] is not None:
            return i, table.numeric[i]
    raise InputError(f"{path} has no numeric {what} column; columns are: {', '.join(header)} "
                     "(pick one with --column)")


def _check_path(path: str | Path) -> Path:
    return Path(path)  # read_bytes says what is wrong with it (missing, directory, permission)


def _check_fs(fs: float, src: str) -> float:
    if not (math.isfinite(fs) and FS_MIN_HZ <= fs <= FS_MAX_HZ):
        raise InputError(f"sample rate from {src} is {fs:g} Hz; it must be {FS_MIN_HZ:g}-{FS_MAX_HZ:g} Hz "
                         "(pass --fs HZ, or check the time column's unit)")
    return float(fs)


def _load_npy(p: Path, column: str | None) -> tuple[np.ndarray, str]:
    data = read_bytes(p, "recording")
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read {p} as .npy ({exc}); give a numeric NumPy array") from None
    if a.dtype.names:
        name = column or next((n for n in a.dtype.names if _real(a.dtype[n])), None)
        if name is None or name not in a.dtype.names or not _real(a.dtype[name]):
            raise InputError(f"{p} has no numeric field {column or ''}; fields: {', '.join(a.dtype.names)}")
        if a[name].ndim > 1 or a.ndim != 1:
            raise InputError(f"{p}: field {name!r} is not one value per sample; give a 1-D array of samples")
        return np.asarray(a[name], dtype=np.float64), name
    if not _real(a.dtype):
        raise InputError(f"{p} does not hold real numbers (dtype {a.dtype}); give an int or float array")
    if a.ndim == 1:
        return a.astype(np.float64), "0"
    if a.ndim == 2:
        if a.shape[1] == 0:
            raise InputError(f"{p} holds a {a.shape[0]}x0 array (no columns); give samples in a column")
        idx = 0
        if column is not None:
            if not column.isdigit() or int(column) >= a.shape[1]:
                raise InputError(f"--column for a 2-D .npy is a column index 0..{a.shape[1] - 1}, "
                                 f"got {column!r}")
            idx = int(column)
        return a[:, idx].astype(np.float64), str(idx)
    raise InputError(f"{p} holds a {a.ndim}-D array of shape {a.shape}; give a 1-D array of samples")


def _real(dtype: np.dtype) -> bool:
    return bool(np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating) or dtype == np.bool_)


def _trim_missing(x: np.ndarray, *, lead: bool) -> np.ndarray:
    """Non-finite values become NaN (missing); trailing ones (and leading, with `lead`) are dropped."""
    x = np.where(np.isfinite(x), x, np.nan)
    ok = np.flatnonzero(np.isfinite(x))
    if ok.size == 0:
        return x[:0]
    return x[(ok[0] if lead else 0): ok[-1] + 1]


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
        Samples with NaN where a cell is empty or not finite (a gap: the time axis runs on
        across it); trailing missing cells are dropped.

    Raises
    ------
    InputError
        Unreadable file, no numeric column, unknown or impossible sample rate, no data.
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
        table = _read_table(p)
        header = table.header
        t_idx, t_s, unit = None, None, ""
        for i, name in enumerate(header):
            if column is not None and name == column:
                continue
            got = _time_seconds(table, i)
            if got is not None:
                t_idx, (t_s, unit) = i, got
                break
        i, x = _pick(table, column, {t_idx} if t_idx is not None else set(), p, "PPG")
        col = header[i]
        if fs is not None:
            src = "--fs"
        elif t_s is not None:
            ok = np.flatnonzero(np.isfinite(t_s))
            if ok.size < 2:
                raise InputError(f"{p} has fewer than two time stamps; cannot tell the sample rate "
                                 "(pass --fs HZ)")
            # Rows over the span, not the median step: PC timers tick in 15-16 ms steps and
            # repeat stamps (HeartPy's data3.csv: median 15 ms, true 9.96 ms).
            span = float(t_s[ok[-1]] - t_s[ok[0]])
            if not span > 0:
                raise InputError(f"time column {header[t_idx]!r} of {p} does not advance (span {span:g} s); "
                                 "times must increase, a positive span (or pass --fs HZ)")
            fs = _check_fs((ok[-1] - ok[0]) / span, f"time column {header[t_idx]!r}")
            src = f"time column {header[t_idx]!r} ({unit})"
        else:
            raise InputError(f"{p} has no time column; pass the sample rate with --fs HZ "
                             "(or add a time column in s, ms or ISO datetimes)")
    x = _trim_missing(x, lead=False)
    if not np.isfinite(x).any():
        raise InputError(f"{p} holds no samples in column {col!r}")
    return Recording(x=x, fs=float(fs), column=str(col), fs_source=src)


def load_ibi(path: str | Path, *, column: str | None = None) -> np.ndarray:
    """Load inter-beat intervals in ms (CSV column or 1-D .npy).

    Missing cells before the first and after the last interval are dropped; a missing
    interval between two others is refused (the beat times after it would be unknown).

    Raises
    ------
    InputError
        Unreadable file, no numeric column, no data, holes, or values that are not plausible ms.
    """
    p = _check_path(path)
    if p.suffix.lower() == ".npy":
        ibi, _ = _load_npy(p, column)
    else:
        table = _read_table(p)
        skip = {i for i, name in enumerate(table.header) if name != column and _TIME_NAME.match(name.strip())}
        _, ibi = _pick(table, column, skip, p, "interval")
    ibi = _trim_missing(ibi, lead=True)
    if ibi.size == 0:
        raise InputError(f"{p} holds no intervals")
    holes = np.flatnonzero(~np.isfinite(ibi))
    if holes.size:
        raise InputError(f"{p} has {holes.size} missing or non-finite intervals (the first is interval "
                         f"{holes[0] + 1}); beat times after a hole are unknown: split the file there")
    if np.any(ibi <= 0):
        raise InputError(f"{p} has non-positive intervals; inter-beat intervals must be positive ms")
    med = float(np.median(ibi))
    if med < 10.0:
        raise InputError(f"intervals in {p} have a median of {med:g}; they look like seconds, "
                         "give milliseconds")
    if med > 1e5:
        raise InputError(f"intervals in {p} have a median of {med:g} ms; give inter-beat intervals in ms")
    return ibi.astype(np.float64)


def read_numbers(path: Path, what: str) -> np.ndarray:
    """A one-number-per-line file (a header line allowed; the first comma-separated cell counts)
    -> float array of finite values. ``what`` names the data in the one-line errors ("PPG", "RR")."""
    values = []
    lines = read_text(path, f"{what} file").splitlines()
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
        if not math.isfinite(values[-1]):
            raise InputError(f"{path}:{i + 1}: {cell!r} is not a finite number: {what} files hold one "
                             "measured value per line (remove or fill the missing ones)")
    if len(values) < 2:
        raise InputError(f"{path} holds no {what} values: expected one number per line")
    return np.asarray(values, dtype=np.float64)
