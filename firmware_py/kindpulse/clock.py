"""Time sources. Nothing below the composition root reads the wall clock itself.

`monotonic()` is seconds on a clock that never goes back; `wall()` is Unix time,
recorded beside it because a Pi has no real-time clock and may boot with a wrong date.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def wall(self) -> float:
        """Unix time in seconds (may jump when NTP syncs)."""

    def sleep(self, seconds: float) -> None:
        """Wait; a virtual clock advances instead."""


class RealClock:
    """The Pi's clocks."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """A clock that moves only when told to: tests and the simulator drive it.

    `wall()` is `wall_start + monotonic()`, so the simulated day can start at 09:00.
    """

    def __init__(self, start: float = 0.0, wall_start: float = 1_767_250_800.0) -> None:
        self._t = float(start)
        self._wall_start = float(wall_start)

    def monotonic(self) -> float:
        return self._t

    def wall(self) -> float:
        return self._wall_start + self._t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._t += seconds

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._t += seconds


def local_time(clock: Clock, utc_offset_min: int, at_s: float | None = None) -> dt.datetime:
    """Local wall time now (or ``at_s`` seconds of the clock's monotonic time), UTC + offset."""
    wall = clock.wall() + utc_offset_min * 60
    if at_s is not None:
        wall += at_s - clock.monotonic()
    return dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc)
