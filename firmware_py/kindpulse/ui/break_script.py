"""The guided self-compassion break: steps, paced breathing, haptic cue times.

The structure follows the well-known three-part self-compassion break (notice
the difficulty; remember that difficulty is shared; offer yourself kindness,
with a soothing touch), framed by a short arrival and close. The words are
kindpulse's own, written for two short lines on a 128x64 OLED (at most 21
characters a line in the 6x12 font).

Breathing is paced at about 6 breaths/min (inhale 4 s, exhale 6 s by default):
slow breathing near 0.1 Hz raises vagally mediated HRV during and right after a
session (Laborde et al. 2022). Everything here is a pure function of the time
since the break started, so the UI, the motor and the tests agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kindpulse.errors import ConfigError

MAX_LINE_CHARS = 21  # 128 px / 6 px per glyph in spleen-6x12


@dataclass(frozen=True)
class BreakStep:
    key: str
    title: str  # small header on the screen
    pages: tuple[tuple[str, str], ...]  # shown in turn, each for an equal share of the step


STEPS: tuple[BreakStep, ...] = (
    BreakStep(
        "arrive", "arrive", (("Let's pause for", "a few slow breaths."), ("Breathe along", "with the light."))
    ),
    BreakStep(
        "notice", "notice", (("Something feels", "hard right now."), ("Where do you", "feel it in you?"))
    ),
    BreakStep(
        "common",
        "shared",
        (("Hard moments come", "to every person."), ("Many others know", "this feeling too.")),
    ),
    BreakStep(
        "kindness",
        "kindness",
        (
            ("Rest a hand on your", "heart, if you like."),
            ("What would you say", "to a good friend?"),
            ("Say it to yourself,", "gently."),
        ),
    ),
    BreakStep("close", "close", (("One more slow", "breath."), ("Thank you for", "pausing."))),
)


@dataclass(frozen=True)
class BreakConfig:
    inhale_s: float = 4.0
    exhale_s: float = 6.0
    # Step lengths; the defaults make a 3-minute break of 18 whole breaths.
    arrive_s: float = 30.0
    notice_s: float = 40.0
    common_s: float = 40.0
    kindness_s: float = 50.0
    close_s: float = 20.0

    def __post_init__(self) -> None:
        for name in ("inhale_s", "exhale_s", "arrive_s", "notice_s", "common_s", "kindness_s", "close_s"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ConfigError(f"break.{name} must be a positive number of seconds, got {v!r}")
        bpm = 60.0 / self.breath_s
        if not 3.0 <= bpm <= 12.0:
            raise ConfigError(f"break.inhale_s + exhale_s gives {bpm:.1f} breaths/min; keep it within 3-12")

    @property
    def breath_s(self) -> float:
        return self.inhale_s + self.exhale_s

    @property
    def step_durations_s(self) -> tuple[float, ...]:
        return (self.arrive_s, self.notice_s, self.common_s, self.kindness_s, self.close_s)

    @property
    def total_s(self) -> float:
        return float(sum(self.step_durations_s))


DEFAULT = BreakConfig()


def pacer(t_s: float, config: BreakConfig = DEFAULT) -> tuple[str, float]:
    """('in' | 'out', fraction 0..1 through that phase) at t_s since the break began."""
    pos = max(0.0, t_s) % config.breath_s
    if pos < config.inhale_s:
        return "in", pos / config.inhale_s
    return "out", (pos - config.inhale_s) / config.exhale_s


def breath_size(t_s: float, config: BreakConfig = DEFAULT) -> float:
    """0..1 size of the breathing shape: grows on the inhale, shrinks on the exhale,
    eased with a half cosine so it starts and stops softly."""
    phase, frac = pacer(t_s, config)
    eased = 0.5 - 0.5 * math.cos(math.pi * frac)
    return eased if phase == "in" else 1.0 - eased


@dataclass(frozen=True)
class StepPosition:
    index: int  # into STEPS
    step: BreakStep
    lines: tuple[str, str]  # the page showing now
    step_elapsed_s: float
    remaining_s: float  # until the whole break ends
    done: bool


def step_at(t_s: float, config: BreakConfig = DEFAULT) -> StepPosition:
    """Which step and page is showing at t_s since the break began."""
    t = max(0.0, t_s)
    total = config.total_s
    if t >= total:
        last = STEPS[-1]
        return StepPosition(len(STEPS) - 1, last, last.pages[-1], config.close_s, 0.0, True)
    start = 0.0
    for i, (step, dur) in enumerate(zip(STEPS, config.step_durations_s, strict=True)):
        if t < start + dur:
            elapsed = t - start
            page = min(len(step.pages) - 1, int(elapsed / dur * len(step.pages)))
            return StepPosition(i, step, step.pages[page], elapsed, total - t, False)
        start += dur
    raise AssertionError("unreachable: t is below the total")  # pragma: no cover


def cue_times(config: BreakConfig = DEFAULT) -> tuple[float, ...]:
    """Start of every inhale within the break: when the motor taps INHALE_CUE."""
    n = int(math.ceil(config.total_s / config.breath_s - 1e-9))
    return tuple(k * config.breath_s for k in range(n))


class BreakScript:
    """The script bound to one BreakConfig: what the session and the screens ask for."""

    def __init__(self, config: BreakConfig = DEFAULT):
        self.config = config
        self.duration_s = config.total_s
        self.cue_times_s = cue_times(config)

    def pacer(self, t_s: float) -> tuple[str, float]:
        return pacer(t_s, self.config)

    def breath_size(self, t_s: float) -> float:
        return breath_size(t_s, self.config)

    def step_at(self, t_s: float) -> StepPosition:
        return step_at(t_s, self.config)
