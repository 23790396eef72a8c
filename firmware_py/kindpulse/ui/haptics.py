"""Vibration patterns as data: tuples of (duration_s, strength 0..1) steps.

The motor driver plays a pattern step by step (strength 0 is a pause). Patterns
are deliberately soft: the prompt is an invitation, not an alarm.
"""

from __future__ import annotations

import math

Step = tuple[float, float]
Pattern = tuple[Step, ...]

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
    """Return the pattern if every step is a finite (duration > 0, strength in [0, 1])."""
    for i, (dur, strength) in enumerate(pattern):
        if not (math.isfinite(dur) and dur > 0):
            raise ValueError(f"step {i}: duration_s must be > 0, got {dur!r}")
        if not (math.isfinite(strength) and 0.0 <= strength <= 1.0):
            raise ValueError(f"step {i}: strength must be in [0, 1], got {strength!r}")
    return pattern


def duration_s(pattern: Pattern) -> float:
    """Total play time of a pattern."""
    return float(sum(d for d, _ in pattern))


def scaled(pattern: Pattern, gain: float) -> Pattern:
    """The pattern with every strength multiplied by gain (the wearer's intensity setting), clipped to 1."""
    if not (math.isfinite(gain) and gain >= 0):
        raise ValueError(f"gain must be >= 0, got {gain!r}")
    return tuple((d, min(1.0, s * gain)) for d, s in pattern)
