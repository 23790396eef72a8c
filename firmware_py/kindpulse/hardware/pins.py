"""GPIO behind an interface, used by the button, the vibration motor and the sensor's INT line.

`Pins` is the narrow surface the rest of kindpulse uses. `RPiGpioPins` is the thin Pi backend
(RPi.GPIO, imported only when it is built; on a Pi 5 the `rpi-lgpio` package provides the same
module). `kindpulse.sim.pins.FakePins` is the test backend. The fake is never chosen
automatically: the composition root picks a backend explicitly. Pin numbers are BCM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kindpulse.errors import KindpulseError

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
