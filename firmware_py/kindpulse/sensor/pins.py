"""GPIO behind an interface: the button, the vibration motor and the sensor's INT line.

`Pins` is the narrow surface the rest of kindpulse uses. `RPiGpioPins` is the thin Pi backend
(RPi.GPIO, imported only when it is built; on a Pi 5 the `rpi-lgpio` package provides the same
module). `kindpulse.sim.pins.FakePins` is the test backend. The fake is never chosen
automatically: the composition root picks a backend explicitly. Pin numbers are BCM.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from kindpulse.clock import Clock
from kindpulse.errors import ConfigError, KindpulseError

EdgeCallback = Callable[[int, bool], None]  # (pin, new level)


class Pins(Protocol):
    def setup_input(self, pin: int, pull_up: bool = True) -> None: ...

    def setup_output(self, pin: int, value: bool = False) -> None: ...

    def read(self, pin: int) -> bool: ...

    def write(self, pin: int, value: bool) -> None: ...

    def pwm(self, pin: int, freq_hz: float) -> None:
        """Make an output pin a PWM pin at ``freq_hz``, duty 0."""

    def set_duty(self, pin: int, duty: float) -> None:
        """PWM duty cycle 0..1."""

    def add_edge_callback(self, pin: int, callback: EdgeCallback, edge: str = "both") -> None:
        """``edge`` is 'rising', 'falling' or 'both'. Callbacks may run on another thread."""

    def close(self) -> None: ...


class GpioUnavailable(KindpulseError, RuntimeError):
    """RPi.GPIO cannot be loaded or cannot drive this board; the message says what to install."""


class RPiGpioPins:
    """RPi.GPIO backend. Thin on purpose: everything it does is a direct library call.

    On a Pi 5, RPi.GPIO fails with "Cannot determine SOC peripheral base address"; remove
    ``python3-rpi.gpio`` and install ``rpi-lgpio``, which provides the same ``RPi.GPIO`` module.
    """

    def __init__(self, bouncetime_ms: int = 5) -> None:
        try:
            import RPi.GPIO as GPIO  # noqa: N814 - the library's own spelling
        except (ImportError, RuntimeError) as exc:
            raise GpioUnavailable(
                f"cannot load RPi.GPIO ({exc}); on a Pi 1-4: sudo apt install python3-rpi.gpio; "
                "on a Pi 5: sudo apt remove python3-rpi.gpio && pip install rpi-lgpio"
            ) from exc
        self._gpio: Any = GPIO
        self._pwms: dict[int, Any] = {}
        self._bouncetime_ms = bouncetime_ms
        GPIO.setwarnings(False)
        GPIO.setmode(GPIO.BCM)

    def setup_input(self, pin: int, pull_up: bool = True) -> None:
        g = self._gpio
        g.setup(pin, g.IN, pull_up_down=g.PUD_UP if pull_up else g.PUD_DOWN)

    def setup_output(self, pin: int, value: bool = False) -> None:
        g = self._gpio
        g.setup(pin, g.OUT, initial=g.HIGH if value else g.LOW)

    def read(self, pin: int) -> bool:
        return bool(self._gpio.input(pin))

    def write(self, pin: int, value: bool) -> None:
        self._gpio.output(pin, bool(value))

    def pwm(self, pin: int, freq_hz: float) -> None:
        p = self._gpio.PWM(pin, freq_hz)
        p.start(0.0)
        self._pwms[pin] = p

    def set_duty(self, pin: int, duty: float) -> None:
        self._pwms[pin].ChangeDutyCycle(100.0 * min(1.0, max(0.0, duty)))

    def add_edge_callback(self, pin: int, callback: EdgeCallback, edge: str = "both") -> None:
        g = self._gpio
        which = {"rising": g.RISING, "falling": g.FALLING, "both": g.BOTH}[edge]
        g.add_event_detect(pin, which, callback=lambda ch: callback(ch, bool(g.input(ch))),
                           bouncetime=self._bouncetime_ms)

    def close(self) -> None:
        for p in self._pwms.values():
            p.stop()
        self._pwms.clear()
        self._gpio.cleanup()


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


Pattern = Sequence[tuple[float, float]]  # (duration_s, strength 0..1) steps


class Motor:
    """A vibration motor switched by an NPN transistor on a PWM pin (strength = duty cycle).

    ``play(pattern)`` starts a pattern of (duration_s, strength) steps; ``update()``, called every
    loop turn, moves to the next step when its time is up. Steps are timed from the pattern start
    on the injected clock, so a late ``update()`` does not stretch the pattern.
    """

    def __init__(self, pins: Pins, pin: int, clock: Clock, *, pwm_hz: float = 200.0) -> None:
        self.pins, self.pin, self.clock = pins, pin, clock
        pins.setup_output(pin, False)
        pins.pwm(pin, pwm_hz)
        self._steps: list[tuple[float, float]] = []  # (end time, strength)
        self._duty = 0.0

    def _set(self, strength: float) -> None:
        if strength != self._duty:
            self._duty = strength
            self.pins.set_duty(self.pin, strength)

    def play(self, pattern: Pattern) -> None:
        steps = []
        t = self.clock.monotonic()
        for duration_s, strength in pattern:
            if duration_s < 0 or not 0.0 <= strength <= 1.0:
                raise ConfigError(f"motor step ({duration_s}, {strength}): need duration >= 0, strength 0..1")
            t += duration_s
            steps.append((t, float(strength)))
        self._steps = steps
        self.update()

    def update(self) -> None:
        now = self.clock.monotonic()
        while self._steps and now >= self._steps[0][0]:
            self._steps.pop(0)
        self._set(self._steps[0][1] if self._steps else 0.0)

    def stop(self) -> None:
        self._steps = []
        self._set(0.0)

    @property
    def busy(self) -> bool:
        self.update()
        return bool(self._steps)

    @property
    def next_change_s(self) -> float | None:
        """Monotonic time of the next step change, so a loop can sleep until then."""
        return self._steps[0][0] if self._steps else None
