"""The wearer-facing flow: idle -> prompt -> break -> result -> idle.

A plain state machine driven by the device loop: it is told the time, the
button presses and the current HR/RMSSD, and it answers with events to log,
vibration patterns to play and which screen is due. It opens no hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kindpulse.config import PromptConfig
from kindpulse.hardware import motor
from kindpulse.ui.break_script import BreakConfig, BreakScript

IDLE = "idle"
PROMPT = "prompt"
BREAK = "break"
RESULT = "result"

# Why the prompt shows (Session.prompt_reason)
STRESS = "stress"  # the trigger saw a sustained episode
CHECKIN = "checkin"  # desk mode's periodic check-in

# Paced breathing inflates RMSSD for a while after a break: the baseline keeps it out.
AFTER_BREAK_S = 60.0

Emit = Callable[..., None]
Measure = Callable[[float], tuple[float | None, float | None]]  # now_s -> (hr_bpm, rmssd_ms) over the last 60 s
Play = Callable[[tuple], None]


@dataclass(frozen=True)
class BreakResult:
    start_s: float
    end_s: float
    prompted: bool
    ended_early: bool
    hr_before: float | None
    hr_after: float | None
    rmssd_before: float | None
    rmssd_after: float | None

    def as_event(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.end_s - self.start_s, 1),
            "prompted": self.prompted,
            "ended_early": self.ended_early,
            "hr_before": _r(self.hr_before),
            "hr_after": _r(self.hr_after),
            "rmssd_before": _r(self.rmssd_before),
            "rmssd_after": _r(self.rmssd_after),
        }


class Session:
    """What the wearer is doing with the device right now."""

    def __init__(
        self,
        prompt_config: PromptConfig,
        break_config: BreakConfig,
        *,
        emit: Emit,
        play: Play,
        measure: Measure,
        desk: bool = False,
    ) -> None:
        self.prompt_config = prompt_config
        self.script = BreakScript(break_config)
        self._emit = emit
        self._play = play
        self._measure = measure
        self.state = IDLE
        self.since_s = 0.0
        self.prompt_reason = ""
        self.result: BreakResult | None = None
        self._prompted = False
        self._before: tuple[float | None, float | None] = (None, None)
        self._next_cue = 0
        # desk mode: a check-in every `checkin_interval_min` while idle (0 = never)
        self._checkin_every_s = prompt_config.checkin_interval_min * 60 if desk else 0.0
        self._last_checkin_s = 0.0

    # -- inputs ---------------------------------------------------------------
    def invite(self, now_s: float, reason: str = STRESS, detail: dict | None = None) -> bool:
        """Show the prompt (only from idle or the result screen). Returns whether it was shown."""
        if self.state not in (IDLE, RESULT):
            return False
        self._enter(PROMPT, now_s)
        self.prompt_reason = reason
        self._emit("prompt", reason=reason, **(detail or {}))
        self._play(motor.PROMPT)
        self._emit("vibrate", pattern="prompt")
        return True

    def checkin(self, now_s: float) -> None:
        """Desk mode: invite a check-in when one is due and the wearer is idle."""
        if self._checkin_every_s <= 0 or self.state != IDLE:
            return
        if now_s - self._last_checkin_s >= self._checkin_every_s:
            self._last_checkin_s = now_s
            self.invite(now_s, CHECKIN)

    def short_press(self, now_s: float) -> None:
        if self.state in (IDLE, PROMPT, RESULT):
            self._start_break(now_s)
        elif self.state == BREAK:
            self._end_break(now_s, early=True)

    def long_press(self, now_s: float) -> bool:
        """A long press on the prompt (or idle) snoozes; returns True when it did."""
        if self.state == BREAK:
            self._end_break(now_s, early=True)
            return False
        if self.state == PROMPT:
            self._emit("dismissed", reason="snoozed", after_s=round(now_s - self.since_s, 1))
        self._enter(IDLE, now_s)
        return True

    def tick(self, now_s: float) -> None:
        """Timeouts, the break's timeline and its haptic cues."""
        if self.state == PROMPT and now_s - self.since_s >= self.prompt_config.timeout_s:
            self._emit("dismissed", reason="timeout", after_s=round(now_s - self.since_s, 1))
            self._enter(IDLE, now_s)
        elif self.state == BREAK:
            t = now_s - self.since_s
            cues = self.script.cue_times_s
            while self._next_cue < len(cues) and cues[self._next_cue] <= t:
                self._play(motor.INHALE_CUE)
                self._next_cue += 1
            if t >= self.script.duration_s:
                self._end_break(now_s, early=False)
        elif self.state == RESULT and now_s - self.since_s >= self.prompt_config.result_s:
            self._enter(IDLE, now_s)

    @property
    def busy(self) -> bool:
        """True while the wearer is being asked or guided: no new prompt, no baseline learning."""
        return self.state in (PROMPT, BREAK)

    def guided_recently(self, now_s: float) -> bool:
        """Asked or guided now, or a break ended less than `AFTER_BREAK_S` ago."""
        return self.busy or (self.result is not None and now_s - self.result.end_s < AFTER_BREAK_S)

    # -- internals ------------------------------------------------------------
    def _enter(self, state: str, now_s: float) -> None:
        self.state = state
        self.since_s = now_s

    def _start_break(self, now_s: float) -> None:
        self._prompted = self.state == PROMPT
        self._before = self._measure(now_s)
        self._enter(BREAK, now_s)
        self._next_cue = 0
        hr, rmssd = self._before
        self._emit("break_start", prompted=self._prompted, hr_before=_r(hr), rmssd_before=_r(rmssd))

    def _end_break(self, now_s: float, *, early: bool) -> None:
        hr_after, rmssd_after = self._measure(now_s)
        self.result = BreakResult(
            start_s=self.since_s,
            end_s=now_s,
            prompted=self._prompted,
            ended_early=early,
            hr_before=self._before[0],
            hr_after=hr_after,
            rmssd_before=self._before[1],
            rmssd_after=rmssd_after,
        )
        self._play(motor.BREAK_END)
        self._emit("break_end", **self.result.as_event())
        self._enter(RESULT, now_s)


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
