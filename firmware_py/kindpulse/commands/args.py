"""Argument types shared by several commands: each turns a bad value into one line naming the option.

The checks themselves live in `kindpulse.inputs`, so a value means the same whether it comes
from the command line, a config file or a scenario.
"""

from __future__ import annotations

from collections.abc import Callable

from kindpulse.inputs import FS_MAX_HZ, FS_MIN_HZ, arg_number

# Shortest HRV window: RMSSD from a single 10 s segment still correlates r = 0.85 with 5 min
# (Munoz et al. 2015, see docs/reference hrv-and-stress.md section 6); shorter says nothing.
WINDOW_MIN_S = 10.0
BCM_MAX = 27  # GPIO0-27 on the 40-pin header


def positive_number(option: str) -> Callable[[str], float]:
    """argparse type: a finite number > 0, else a one-line error naming the option."""
    return arg_number(option, lo=0.0, lo_open=True)  # type: ignore[return-value]


def sample_rate(option: str = "--fs") -> Callable[[str], float]:
    """argparse type: a sample rate the sensor and the analysis can have (FS_MIN_HZ-FS_MAX_HZ)."""
    return arg_number(option, lo=FS_MIN_HZ, hi=FS_MAX_HZ, unit="Hz")  # type: ignore[return-value]


def window_seconds(option: str = "--window") -> Callable[[str], float]:
    """argparse type: an HRV window of at least WINDOW_MIN_S seconds."""
    return arg_number(option, lo=WINDOW_MIN_S, unit="s")  # type: ignore[return-value]


def bcm_pin(option: str) -> Callable[[str], int]:
    """argparse type: a BCM GPIO number 0-27."""
    return arg_number(option, lo=0, hi=BCM_MAX, integer=True)  # type: ignore[return-value]
