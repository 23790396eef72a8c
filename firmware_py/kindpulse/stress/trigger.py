"""When to invite a break: a small state machine over rolling HRV snapshots.

Rule (docs/stress.md has every threshold and why): against the wearer's own
baseline, SNS' (mean of z(HR), z(sqrt Baevsky SI), -z(SD2)) is high AND PNS' (mean z of
mean NN, RMSSD, SD1) is low, on usable signal, without activity, sustained for
`sustain_s`; then one prompt, followed by a refractory period. Entering needs
SNS >= enter_sns_z and PNS <= enter_pns_z; staying only needs the looser exit
thresholds (hysteresis), so a window that wobbles around the line does not
restart the sustain timer. LF/HF is never used (it is not sympathovagal
balance; Billman 2013).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kindpulse.dsp.hrv import pns_sns
from kindpulse.errors import ConfigError
from kindpulse.stress.baseline import Baseline
from kindpulse.stress.rolling import HrvSnapshot, QualityLike

Scorer = Callable[[Mapping[str, float | None]], tuple[float | None, float | None]]

# States (TriggerStatus.state)
CALIBRATING = "calibrating"
NO_FINGER = "no_finger"
POOR_SIGNAL = "poor_signal"
TOO_ACTIVE = "too_active"
CALM = "calm"
ELEVATED = "elevated"

# Reasons a prompt is held back (TriggerStatus.blocked_by)
QUIET_HOURS = "quiet_hours"
SNOOZED = "snoozed"
REFRACTORY = "refractory"


def parse_hhmm(text: str, name: str) -> int:
    """'HH:MM' -> seconds of day; ConfigError naming the field otherwise."""
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except (ValueError, AttributeError):
        raise ConfigError(f"trigger.{name} must be 'HH:MM', got {text!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ConfigError(f"trigger.{name} must be a time of day 00:00-23:59, got {text!r}")
    return h * 3600 + m * 60


@dataclass(frozen=True)
class TriggerConfig:
    enter_sns_z: float = 1.0
    enter_pns_z: float = -1.0
    exit_sns_z: float = 0.5
    exit_pns_z: float = -0.5
    # Low HRV alone (a quiet afternoon, a different breathing pattern) is not acute
    # stress; the episodes we look for raise HR too.
    enter_hr_rise_bpm: float = 8.0
    exit_hr_rise_bpm: float = 4.0
    sustain_s: float = 120.0
    # The first 60-s window to cross all entry lines already lies mostly inside the
    # new state (SNS' lags: a HR ramp inside the window widens SD2 and lowers SI);
    # credit 3/4 of it, so the prompt comes ~2 min after onset, not after onset + window.
    entry_credit_s: float = 45.0
    # Poor signal or still hands in motion pause the sustain timer; longer than this resets it.
    max_pause_s: float = 60.0
    refractory_s: float = 1800.0
    snooze_s: float = 3600.0
    quiet_start_hhmm: str = "22:00"
    quiet_end_hhmm: str = "07:00"  # equal start and end: no quiet hours
    # Activity ("too active", Garmin's grey bars): motion with HR this far above baseline ...
    activity_hr_rise_bpm: float = 15.0
    # ... or HR this far above baseline even with a still hand (cycling, stairs).
    activity_hr_rise_still_bpm: float = 30.0
    # ... or motion for this long while the HR cannot be read.
    activity_motion_s: float = 30.0
    # HR and HRV take minutes to recover after exertion; that is not stress either.
    activity_cooldown_s: float = 1200.0
    quiet_start_s: int = field(init=False, repr=False)
    quiet_end_s: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("sustain_s", "entry_credit_s", "max_pause_s", "refractory_s", "snooze_s", "activity_hr_rise_bpm",
                     "activity_hr_rise_still_bpm", "activity_motion_s", "activity_cooldown_s"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ConfigError(f"trigger.{name} must be a number >= 0, got {v!r}")
        if self.sustain_s <= 0:
            raise ConfigError("trigger.sustain_s must be > 0")
        if self.entry_credit_s > self.sustain_s:
            raise ConfigError("trigger.entry_credit_s must be <= sustain_s")
        if not self.exit_sns_z <= self.enter_sns_z:
            raise ConfigError("trigger.exit_sns_z must be <= enter_sns_z (hysteresis)")
        if not self.exit_hr_rise_bpm <= self.enter_hr_rise_bpm:
            raise ConfigError("trigger.exit_hr_rise_bpm must be <= enter_hr_rise_bpm (hysteresis)")
        if not self.exit_pns_z >= self.enter_pns_z:
            raise ConfigError("trigger.exit_pns_z must be >= enter_pns_z (hysteresis)")
        object.__setattr__(self, "quiet_start_s", parse_hhmm(self.quiet_start_hhmm, "quiet_start_hhmm"))
        object.__setattr__(self, "quiet_end_s", parse_hhmm(self.quiet_end_hhmm, "quiet_end_hhmm"))


def in_quiet_hours(second_of_day: float, start_s: int, end_s: int) -> bool:
    """True inside [start, end) of the day; the range may wrap midnight."""
    s = second_of_day % 86400
    if start_s == end_s:
        return False
    if start_s < end_s:
        return start_s <= s < end_s
    return s >= start_s or s < end_s


def stress_level(pns: float | None, sns: float | None) -> float | None:
    """0..100 gauge: 25 at the personal baseline, +25 per z of (SNS - PNS)/2.

    Bands follow Garmin's reading of its own scale: 0-25 rest, 26-50 low,
    51-75 medium, 76-100 high; the default entry thresholds sit near 50.
    """
    if pns is None or sns is None:
        return None
    return float(min(100.0, max(0.0, 25.0 + 25.0 * (sns - pns) / 2.0)))


def _seconds_of_day(wall: dt.time | float) -> float:
    if isinstance(wall, dt.time):
        return wall.hour * 3600 + wall.minute * 60 + wall.second + wall.microsecond / 1e6
    return float(wall)


@dataclass(frozen=True)
class TriggerEvent:
    t_s: float
    kind: str  # "prompt" | "state"
    state: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TriggerStatus:
    """What the UI and the logger show after each step."""

    state: str
    level: float | None  # 0..100, None when it cannot be computed
    pns: float | None
    sns: float | None
    hr_rise_bpm: float | None
    sustain_s: float
    blocked_by: str | None


class StressTrigger:
    """Decides, once per HRV snapshot, whether to invite a break."""

    def __init__(self, config: TriggerConfig | None, baseline: Baseline, scorer: Scorer | None = None):
        self.config = config or TriggerConfig()
        self.baseline = baseline
        self._scorer = scorer or self._default_scorer
        self._elevated = False
        self._sustain_s = 0.0
        self._prev_good_s: float | None = None
        self._last_good_s = -math.inf
        self._refractory_until = -math.inf
        self._snooze_until = -math.inf
        self._activity_until = -math.inf
        self._motion_since: float | None = None
        self.status = TriggerStatus(CALIBRATING, None, None, None, None, 0.0, None)

    def _default_scorer(self, metrics: Mapping[str, float | None]) -> tuple[float | None, float | None]:
        return pns_sns(metrics, self.baseline.reference())

    # -- external notes ------------------------------------------------------
    def note_prompt(self, now_s: float) -> None:
        """A prompt was shown (by us or by hand): start the refractory period."""
        self._refractory_until = max(self._refractory_until, now_s + self.config.refractory_s)
        self._reset_sustain()

    def note_break(self, now_s: float) -> None:
        """A break ended at now_s: refractory from here (HRV is still settling)."""
        self.note_prompt(now_s)

    def snooze(self, now_s: float, duration_s: float | None = None) -> None:
        self._snooze_until = now_s + (self.config.snooze_s if duration_s is None else duration_s)
        self._reset_sustain()

    @property
    def snoozed_until_s(self) -> float:
        return self._snooze_until

    @property
    def stressed(self) -> bool:
        """For the baseline: do not learn from this window."""
        return self.status.state in (ELEVATED, TOO_ACTIVE)

    def _reset_sustain(self) -> None:
        self._sustain_s = 0.0
        self._prev_good_s = None

    # -- the state machine ---------------------------------------------------
    def step(
        self,
        now_s: float,
        wall_time_local: dt.time | float,
        snapshot: HrvSnapshot | None,
        quality: QualityLike,
    ) -> list[TriggerEvent]:
        """Advance to now_s with one snapshot (its 60-s window drives the decision)."""
        cfg = self.config
        events: list[TriggerEvent] = []
        prev_state = self.status.state
        pns = sns = hr_rise = None

        metrics = snapshot.short.metrics if snapshot is not None else None
        if self.baseline.ready and metrics is not None and quality.usable:
            pns, sns = self._scorer(metrics)
            hr = snapshot.short.get("hr_bpm") if snapshot is not None else None
            if hr is not None:
                hr_rise = hr - self.baseline.norms()["hr_bpm"].mean

        # Motion bookkeeping happens whatever the signal, so long movement is seen.
        if quality.motion:
            self._motion_since = now_s if self._motion_since is None else self._motion_since
        else:
            self._motion_since = None
        moving_long = self._motion_since is not None and now_s - self._motion_since >= cfg.activity_motion_s
        active_now = hr_rise is not None and (
            (quality.motion and hr_rise >= cfg.activity_hr_rise_bpm) or hr_rise >= cfg.activity_hr_rise_still_bpm
        )
        if self.baseline.ready and (active_now or moving_long):
            self._activity_until = now_s + cfg.activity_cooldown_s

        if not self.baseline.ready:
            state = CALIBRATING
            self._elevated = False
            self._reset_sustain()
        elif not quality.finger_present:
            state = NO_FINGER
            self._pause(now_s)
        elif now_s < self._activity_until:
            state = TOO_ACTIVE
            self._elevated = False
            self._reset_sustain()
        elif pns is None or sns is None or hr_rise is None or quality.motion:
            state = POOR_SIGNAL
            self._pause(now_s)
        else:
            self._evaluate(now_s, pns, sns, hr_rise)
            state = ELEVATED if self._elevated else CALM

        blocked = self._blocked_by(now_s, wall_time_local)
        if blocked is not None:
            # A prompt needs a fresh sustained episode after the block ends.
            self._reset_sustain()
        elif state == ELEVATED and self._sustain_s >= cfg.sustain_s:
            events.append(TriggerEvent(now_s, "prompt", state, {"pns": pns, "sns": sns, "sustain_s": self._sustain_s}))
            self.note_prompt(now_s)
            blocked = REFRACTORY

        level = stress_level(pns, sns)
        self.status = TriggerStatus(state, level, pns, sns, hr_rise, self._sustain_s, blocked)
        if state != prev_state:
            events.insert(0, TriggerEvent(now_s, "state", state, {"from": prev_state}))
        return events

    def _pause(self, now_s: float) -> None:
        self._prev_good_s = None  # the gap does not count toward the sustain timer
        if now_s - self._last_good_s > self.config.max_pause_s:
            self._elevated = False
            self._sustain_s = 0.0

    def _evaluate(self, now_s: float, pns: float, sns: float, hr_rise: float) -> None:
        cfg = self.config
        if self._elevated:
            if sns >= cfg.exit_sns_z and pns <= cfg.exit_pns_z and hr_rise >= cfg.exit_hr_rise_bpm:
                if self._prev_good_s is not None:
                    self._sustain_s += now_s - self._prev_good_s
            else:
                self._elevated = False
                self._sustain_s = 0.0
        elif sns >= cfg.enter_sns_z and pns <= cfg.enter_pns_z and hr_rise >= cfg.enter_hr_rise_bpm:
            self._elevated = True
            self._sustain_s = cfg.entry_credit_s
        self._prev_good_s = now_s
        self._last_good_s = now_s

    def _blocked_by(self, now_s: float, wall: dt.time | float) -> str | None:
        cfg = self.config
        if in_quiet_hours(_seconds_of_day(wall), cfg.quiet_start_s, cfg.quiet_end_s):
            return QUIET_HOURS
        if now_s < self._snooze_until:
            return SNOOZED
        if now_s < self._refractory_until:
            return REFRACTORY
        return None
