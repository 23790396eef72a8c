"""Waiting for FIFO data: on the INT pin's falling edge when it is wired, else at the FIFO's pace.

INT is active-low and open-drain (DS p12, p24): it needs a pull-up and stays low until the
status is read, so a level check right after waking catches an edge that came before the wait.
"""

from __future__ import annotations

import threading
from typing import Protocol

from kindpulse.clock import Clock, RealClock
from kindpulse.hardware.pins import Pins


class DataWaiter(Protocol):
    def wait(self, timeout_s: float) -> bool:
        """Return True when data is (probably) ready, False on timeout."""


class PollWaiter:
    """No INT wire: sleep one poll period (see `MAX30102.poll_interval_s`)."""

    def __init__(self, clock: Clock, period_s: float) -> None:
        self.clock, self.period_s = clock, period_s

    def wait(self, timeout_s: float) -> bool:
        self.clock.sleep(min(self.period_s, timeout_s))
        return True


class IntPinWaiter:
    """INT wired to ``pin``: returns on the falling edge (or while the line is already low).

    With the real clock it blocks on the edge callback's event; with a virtual clock it checks
    the level every ``step_s`` of virtual time, so tests drive it through a fake pin wired to
    the emulated chip (`FakePins.connect`).
    """

    def __init__(self, pins: Pins, pin: int, clock: Clock, *, step_s: float = 0.002) -> None:
        self.pins, self.pin, self.clock, self.step_s = pins, pin, clock, step_s
        self._edge = threading.Event()
        pins.setup_input(pin, pull_up=True)
        pins.add_edge_callback(pin, lambda _p, _level: self._edge.set(), edge="falling")

    def wait(self, timeout_s: float) -> bool:
        if isinstance(self.clock, RealClock):  # on the Pi: sleep in the kernel until the edge
            if not self.pins.read(self.pin) or self._edge.wait(timeout_s):
                self._edge.clear()
                return True
            return False
        deadline = self.clock.monotonic() + timeout_s
        while True:
            if self._edge.is_set() or not self.pins.read(self.pin):
                self._edge.clear()
                return True
            now = self.clock.monotonic()
            if now >= deadline:
                return False
            self.clock.sleep(min(self.step_s, deadline - now))
