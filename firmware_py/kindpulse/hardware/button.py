"""The push button: debounced in software, short and long presses, callbacks on the loop's thread."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from kindpulse.clock import Clock
from kindpulse.errors import ConfigError
from kindpulse.hardware.pins import Pins


class Button:
    """A push button to ground on an input with pull-up (pressed = low), debounced in software.

    Edge callbacks only record (time, level); ``update()``, called every loop turn, works through
    them in order and fires the callbacks on the caller's thread. So a quick tap between two loop
    turns is not missed, and ``on_short``/``on_long`` never run on RPi.GPIO's thread. A press
    shorter than ``long_press_s`` fires ``on_short`` on release; holding fires ``on_long`` as soon
    as the hold reaches ``long_press_s`` (before release), and then nothing on release.
    """

    def __init__(self, pins: Pins, pin: int, clock: Clock, *, debounce_s: float = 0.03,
                 long_press_s: float = 1.5, on_short: Callable[[], None] | None = None,
                 on_long: Callable[[], None] | None = None, active_low: bool = True) -> None:
        if debounce_s < 0 or long_press_s <= debounce_s:
            raise ConfigError("button: need 0 <= debounce_s < long_press_s")
        self.pins, self.pin, self.clock = pins, pin, clock
        self.debounce_s, self.long_press_s = debounce_s, long_press_s
        self.on_short, self.on_long = on_short, on_long
        self.active_low = active_low
        self._edges: deque[tuple[float, bool]] = deque()  # appended from RPi.GPIO's thread
        pins.setup_input(pin, pull_up=active_low)
        self._raw = self._is_down(pins.read(pin))
        self._raw_since = clock.monotonic()
        self.pressed = self._raw  # debounced state
        self._pressed_at: float | None = self._raw_since if self._raw else None
        self._long_fired = self._raw  # held at start-up: not a press
        pins.add_edge_callback(pin, lambda _pin, level: self._edges.append((clock.monotonic(), level)))

    def _is_down(self, level: bool) -> bool:
        return (not level) if self.active_low else bool(level)

    def _settle(self, t: float) -> None:
        """Commit the raw level if it has held for debounce_s by time t; check the long press."""
        if self._raw != self.pressed and t - self._raw_since >= self.debounce_s:
            self.pressed = self._raw
            if self._raw:
                self._pressed_at, self._long_fired = self._raw_since, False
            else:
                if not self._long_fired and self.on_short is not None:
                    self.on_short()
                self._pressed_at = None
        if (self.pressed and self._pressed_at is not None and not self._long_fired
                and t - self._pressed_at >= self.long_press_s):
            self._long_fired = True
            if self.on_long is not None:
                self.on_long()

    def _feed(self, t: float, down: bool) -> None:
        self._settle(t)
        if down != self._raw:
            self._raw, self._raw_since = down, t

    def update(self) -> None:
        while self._edges:
            t, level = self._edges.popleft()
            self._feed(t, self._is_down(level))
        now = self.clock.monotonic()
        self._feed(now, self._is_down(self.pins.read(self.pin)))  # also works without edge events
        self._settle(now)

    @property
    def held_s(self) -> float:
        """How long the button has been held down (0 when released)."""
        return 0.0 if self._pressed_at is None else self.clock.monotonic() - self._pressed_at
