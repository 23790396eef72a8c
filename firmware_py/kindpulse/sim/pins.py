"""A fake GPIO backend that tests (and the simulator) drive and inspect.

Drive inputs with ``press(pin)`` / ``release(pin)`` (a button to ground: pressed = low) or
``set_input(pin, level)``, or wire an input to a function of time with ``connect(pin, fn)``
(the emulated MAX30102's INT line: ``pins.connect(17, chip.int_level)``). Every output write
and duty change is recorded in ``history`` as (time, pin, value).
"""

from __future__ import annotations

from collections.abc import Callable

from kindpulse.clock import Clock
from kindpulse.hardware.pins import EdgeCallback


class FakePins:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.inputs: dict[int, bool] = {}
        self.outputs: dict[int, float] = {}  # level 0/1, or PWM duty 0..1
        self.pwm_hz: dict[int, float] = {}
        self.history: list[tuple[float, int, float]] = []
        self._callbacks: dict[int, list[tuple[str, EdgeCallback]]] = {}
        self._connected: dict[int, Callable[[], bool]] = {}
        self.closed = False

    # ---- Pins protocol ------------------------------------------------------------------
    def setup_input(self, pin: int, pull_up: bool = True) -> None:
        self.inputs.setdefault(pin, pull_up)

    def setup_output(self, pin: int, value: bool = False) -> None:
        self.outputs[pin] = float(value)
        self.history.append((self.clock.monotonic(), pin, float(value)))

    def read(self, pin: int) -> bool:
        if pin in self._connected:
            return bool(self._connected[pin]())
        if pin in self.outputs:
            return self.outputs[pin] > 0
        if pin not in self.inputs:
            raise ValueError(f"GPIO{pin} is not set up")
        return self.inputs[pin]

    def write(self, pin: int, value: bool) -> None:
        self._out(pin, float(bool(value)))

    def pwm(self, pin: int, freq_hz: float) -> None:
        if pin not in self.outputs:
            raise ValueError(f"GPIO{pin} must be set up as an output before PWM")
        self.pwm_hz[pin] = freq_hz
        self._out(pin, 0.0)

    def set_duty(self, pin: int, duty: float) -> None:
        if pin not in self.pwm_hz:
            raise ValueError(f"GPIO{pin} is not a PWM pin")
        if not 0.0 <= duty <= 1.0:
            raise ValueError("duty must be 0..1")
        self._out(pin, float(duty))

    def add_edge_callback(self, pin: int, callback: EdgeCallback, edge: str = "both") -> None:
        if edge not in ("rising", "falling", "both"):
            raise ValueError("edge must be 'rising', 'falling' or 'both'")
        self._callbacks.setdefault(pin, []).append((edge, callback))

    def close(self) -> None:
        self.closed = True

    # ---- the outside world ----------------------------------------------------------------
    def set_input(self, pin: int, level: bool) -> None:
        old = self.inputs.get(pin, True)
        self.inputs[pin] = bool(level)
        if old != level:
            for edge, cb in list(self._callbacks.get(pin, ())):
                if edge == "both" or (edge == "rising") == bool(level):
                    cb(pin, bool(level))

    def press(self, pin: int) -> None:
        self.set_input(pin, False)

    def release(self, pin: int) -> None:
        self.set_input(pin, True)

    def connect(self, pin: int, level: Callable[[], bool]) -> None:
        """Make ``read(pin)`` return ``level()`` (no edge callbacks: poll it)."""
        self._connected[pin] = level
        self.inputs.setdefault(pin, True)

    # ---- inspection -----------------------------------------------------------------------
    def _out(self, pin: int, value: float) -> None:
        self.outputs[pin] = value
        self.history.append((self.clock.monotonic(), pin, value))

    def output_history(self, pin: int) -> list[tuple[float, float]]:
        """(time, value) changes of one output pin."""
        return [(t, v) for t, p, v in self.history if p == pin]
