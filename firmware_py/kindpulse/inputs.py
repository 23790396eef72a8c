"""One way of reading every input: files, TOML values and command-line arguments.

Each value is checked where it enters (kind, finiteness, range) and a bad one becomes a
`KindpulseError` whose message names the value, says what is wrong and what to do; the
CLI prints it as one line and exits 2. Readers never return half a file: a file that
cannot be read whole is an error, not an empty result.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kindpulse.errors import ConfigError, InputError, KindpulseError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "FS_MAX_HZ", "FS_MIN_HZ", "MAX_DURATION_S", "arg_number", "check_number", "exists", "read_bytes",
    "read_text", "read_toml",
]

MAX_DURATION_S = 90 * 86400.0  # 90 days: a month-long soak fits, a typo of 99999999h does not
# Sample rates a recording can have: the beat detector needs >= 10 Hz (HRV >= 25 Hz, see
# dsp.quality.MIN_HRV_FS); the MAX30102 samples at most 3200 sps (datasheet, SPO2_CONFIG SR).
FS_MIN_HZ = 10.0
FS_MAX_HZ = 3200.0


def _fail(error: type[KindpulseError], message: str) -> KindpulseError:
    return error(message)


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def exists(path: str | Path) -> bool:
    """Whether something is at `path`; True when the answer is hidden by permissions (the
    reader then says so, rather than calling the file missing)."""
    try:
        return Path(path).exists()
    except OSError:
        return True


def read_bytes(path: str | Path, what: str, *, error: type[KindpulseError] = InputError) -> bytes:
    """The whole file, or one `error` naming the path and the fix (missing, directory, permission)."""
    p = Path(path)
    try:
        if p.is_dir():
            raise _fail(error, f"{what} {p} is a directory; give a file")
        return p.read_bytes()
    except FileNotFoundError:
        raise _fail(error, f"{what} {p} not found; check the path") from None
    except PermissionError:
        raise _fail(error, f"cannot read {what} {p} (permission denied); check the file's and its "
                           "directories' permissions") from None
    except OSError as exc:
        raise _fail(error, f"cannot read {what} {p} ({_os_reason(exc)}); check the path") from None


def read_text(path: str | Path, what: str, *, error: type[KindpulseError] = InputError) -> str:
    """The file as UTF-8 text (a BOM is dropped); other encodings are an `error`."""
    data = read_bytes(path, what, error=error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(error, f"{what} {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                           f"{exc.start}); save it as UTF-8") from None


def read_toml(path: str | Path, what: str) -> dict:
    """A TOML file as a dict; unreadable or invalid TOML is a `ConfigError`."""
    text = read_text(path, what, error=ConfigError)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML ({exc}); fix that line") from None


def _range_text(lo: float | None, hi: float | None, lo_open: bool, unit: str) -> str:
    u = f" {unit}" if unit else ""
    if lo_open:
        return f"> {lo:g}{u}" + (f" and <= {hi:g}{u}" if hi is not None else "")
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}{u}"
    if lo is not None:
        return f">= {lo:g}{u}"
    return f"<= {hi:g}{u}"


def check_number(value: Any, key: str, *, lo: float | None = None, hi: float | None = None,
                 integer: bool = False, lo_open: bool = False, unit: str = "",
                 error: type[KindpulseError] = ConfigError) -> float | int:
    """A finite number (an int when `integer`) in [lo, hi] (lo excluded when `lo_open`).

    Booleans, strings, NaN and infinities are refused with a message naming `key`.
    """
    kind = "a whole number" if integer else "a number"
    wrong_kind = isinstance(value, bool) or not isinstance(value, int if integer else (int, float))
    if wrong_kind:
        raise _fail(error, f"{key} must be {kind}, not {value!r}")
    if not integer and not math.isfinite(value):
        raise _fail(error, f"{key} must be a finite number, not {value!r}")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    if below or (hi is not None and value > hi):
        rng = _range_text(lo, hi, lo_open, unit)
        raise _fail(error, f"{key} must be {rng}, not {value!r}")
    return value if integer else float(value)


def arg_number(option: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False,
               lo_open: bool = False, unit: str = "") -> Callable[[str], float | int]:
    """argparse type: the text parsed as a number and checked like `check_number`."""

    def parse(text: str) -> float | int:
        kind = "a whole number" if integer else "a number"
        try:
            value: float | int = int(text) if integer else float(text)
        except ValueError:
            of = f" of {unit}" if unit else ""
            raise argparse.ArgumentTypeError(f"must be {kind}{of}, got {text!r}") from None
        try:
            return check_number(value, option, lo=lo, hi=hi, integer=integer, lo_open=lo_open, unit=unit)
        except ConfigError as exc:  # argparse names the option itself
            reason = str(exc).removeprefix(f"{option} ").rsplit(", not ", 1)[0]
            raise argparse.ArgumentTypeError(f"{reason}, got {text!r}") from None

    return parse
