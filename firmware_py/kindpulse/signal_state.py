"""Debounced signal state: is a finger on the sensor, and is the signal usable?

The DSP reports quality per chunk; one bad second must not flap the screen or the log,
so a change is announced only after it has held for a while.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SIGNAL_LOST_AFTER_S = 2.0
SIGNAL_OK_AFTER_S = 3.0
MOTION_HOLD_S = 10.0  # motion makes HRV windows suspect for this long afterwards


@dataclass
class SignalState:
    """Debounced finger/usable state; `update` returns the events to log."""

    present: bool = False
    usable: bool = False
    motion: bool = False
    announced_ok: bool = False
    recent_motion_until: float = -math.inf
    _bad_since: float | None = None
    _good_since: float | None = None

    def update(
        self, now: float, *, present: bool, usable: bool, motion: bool
    ) -> list[tuple[str, dict[str, Any]]]:
        """Feed one chunk's quality; returns [(event type, data)] for signal_ok / signal_lost."""
        events: list[tuple[str, dict[str, Any]]] = []
        self.motion = motion
        if motion:
            self.recent_motion_until = now + MOTION_HOLD_S
        if present and usable:
            self._bad_since = None
            self._good_since = now if self._good_since is None else self._good_since
            if now - self._good_since >= SIGNAL_OK_AFTER_S and not (self.present and self.usable):
                self.present = self.usable = True
                if not self.announced_ok:
                    events.append(("signal_ok", {}))
                    self.announced_ok = True
        else:
            self._good_since = None
            self._bad_since = now if self._bad_since is None else self._bad_since
            if now - self._bad_since >= SIGNAL_LOST_AFTER_S:
                was_ok = self.present and self.usable
                self.present, self.usable = present, False
                if was_ok or self.announced_ok:
                    reason = "no_finger" if not present else ("motion" if motion else "poor_signal")
                    events.append(("signal_lost", {"reason": reason}))
                    self.announced_ok = False
        return events

    def moving(self, now: float) -> bool:
        return now < self.recent_motion_until
