"""What the screens see: one frozen `ScreenState`, built in one place (`Device.screen_state`).

Every field is required, so a state that forgets one fails at construction instead of
showing the healthy screen. `ui.screens.choose_view` turns it into a view.
"""

from __future__ import annotations

from dataclasses import dataclass

from kindpulse.errors import SensorFault
from kindpulse.session import BreakResult
from kindpulse.stress.baseline import BaselineState
from kindpulse.stress.trigger import TriggerStatus
from kindpulse.ui.break_script import BreakConfig


@dataclass(frozen=True)
class ScreenState:
    now_s: float  # device time (s)
    sensor_up: bool
    sensor_fault: SensorFault | None  # why the sensor is down (None while up or not yet tried)
    finger: bool  # a finger on the sensor (debounced, signal_state)
    usable: bool  # the pulse can be read
    motion: bool  # the hand moved recently
    session: str  # session.IDLE / PROMPT / BREAK / RESULT
    since_s: float  # device time the session entered that state
    prompt_reason: str  # session.STRESS / CHECKIN ("" before the first prompt)
    break_config: BreakConfig  # the break's script (words, pacer timing)
    result: BreakResult | None  # the last break's before/after
    baseline: BaselineState
    trigger: TriggerStatus
    hr_bpm: float | None
    rmssd_ms: float | None
    rmssd_trend: tuple[float, ...]  # oldest first
    snoozed: bool
    snoozed_until_hhmm: str  # local time the prompts resume; "" when not snoozed
    storage: str  # the log's disk: "ok", "low" (raw PPG paused) or "full" (rows wait in memory)
