"""The vibration motor and what it plays: patterns as data, (duration_s, strength 0..1) steps.

The patterns live beside the driver that plays them, so what the wearer feels and how it is
produced are read together. They are deliberately soft: the prompt is an invitation, not an
alarm. The motor is switched by a transistor on a PWM pin (hardware/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kindpulse.clock import Clock
from kindpulse.errors import ConfigError
from kindpulse.hardware.pins import Pins

Step = tuple[float, float]
Pattern = Sequence[Step]

# Two soft pulses: noticeable on a wrist or in a pocket, not startling.
PROMPT: Pattern = ((0.18, 0.45), (0.22, 0.0), (0.18, 0.45))
# One light tap at the start of each inhale during the break.
INHALE_CUE: Pattern = ((0.06, 0.3),)
# A slow fade: the break is over, no need to look.
BREAK_END: Pattern = ((0.25, 0.4), (0.15, 0.0), (0.35, 0.25))
# Three short, firmer buzzes: something needs attention (sensor, storage).
ERROR: Pattern = ((0.1, 0.8), (0.1, 0.0), (0.1, 0.8), (0.1, 0.0), (0.1, 0.8))

PATTERNS: dict[str, Pattern] = {
    "prompt": PROMPT,
    "inhale_cue": INHALE_CUE,
    "break_end": BREAK_END,
    "error": ERROR,
}


def validate(pattern: Pattern) -> Pattern:
    """Return the pattern if every step is finite, with duration > 0 s and strength in [0, 1]."""
    for i, (dur, strength) in enumerate(pattern):
        if not (math.isfinite(dur) and dur > 0):
            raise ConfigError(f"motor pattern step {i}: duration_s must be > 0, got {dur!r}")
        if not (math.isfinite(strength) and 0.0 <= strength <= 1.0):
            raise ConfigError(f"motor pattern step {i}: strength must be in [0, 1], got {strength!r}")
    return pattern


def duration_s(pattern: Pattern) -> float:
    """Total play time of a pattern, s."""
    return float(sum(d for d, _ in pattern))


def scaled(pattern: Pattern, gain: float) -> Pattern:
    """The pattern with every strength multiplied by gain (the wearer's intensity setting), clipped to 1."""
    if not (math.isfinite(gain) and gain >= 0):
        raise ConfigError(f"motor pattern gain must be >= 0, got {gain!r}")
    return tuple((d, min(1.0, s * gain)) for d, s in pattern)


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
        for duration_s, strength in validate(pattern):
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
