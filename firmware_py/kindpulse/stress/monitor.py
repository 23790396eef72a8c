"""The stress side of the device in one object: NN intervals in, what to route out.

`StressMonitor` ties the rolling HRV windows, the personal baseline and the trigger
together. The device pushes final NN intervals (`push_nn`) and calls `tick` every turn;
`tick` logs the HRV windows, keeps the RMSSD trend, steps the trigger, teaches the baseline
(never while the wearer is guided: paced breathing is not their calm), saves it on a
cadence, announces calibration, and returns the invitations and state changes the device
must route. It opens nothing: the store and the event sink are injected.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kindpulse.store.db import Store
from kindpulse.stress.baseline import Baseline, BaselineConfig, BaselineState
from kindpulse.stress.rolling import HrvSnapshot, QualityLike, RollingConfig, RollingHRV
from kindpulse.stress.trigger import StressTrigger, TriggerConfig, TriggerStatus

log = logging.getLogger("kindpulse")

BASELINE_KEY = "baseline"  # the store's state key of the saved baseline
# NN intervals become final a few beats late (artefact look-ahead); HRV windows end at
# the newest NN interval unless it is older than this (then the gap counts against coverage).
MAX_NN_LATENCY_S = 12.0
# The baseline is saved after every calm minute while calibrating, then every 10 (a power
# cut loses at most 10 calm minutes; each save rewrites the whole history).
BASELINE_SAVE_EVERY = 10
TREND_POINTS = 60  # RMSSD trend on the idle screen: the last 60 short windows (5 min at 5 s)

Emit = Callable[..., None]  # emit(type, **data)


@dataclass(frozen=True)
class StateChange:
    """The trigger moved from one state to another (trigger.py's named states)."""

    state: str
    previous: str


@dataclass(frozen=True)
class MonitorUpdate:
    """What one `tick` asks the device to route: invitations (with their detail) and state changes."""

    invitations: tuple[dict[str, Any], ...] = ()
    state_changes: tuple[StateChange, ...] = ()


NOTHING = MonitorUpdate()


class StressMonitor:
    """Rolling HRV -> trigger -> baseline, with the baseline loaded from and saved to `store`."""

    def __init__(self, rolling: RollingConfig, baseline: BaselineConfig, trigger: TriggerConfig, *,
                 store: Store, emit: Emit) -> None:
        self._store, self._emit = store, emit
        self.baseline = self._load_baseline(baseline)
        self.rolling = RollingHRV(rolling)
        self.trigger = StressTrigger(trigger, self.baseline)
        self._snapshot: HrvSnapshot | None = None
        self._last_long: object = None
        self._last_nn_t = -math.inf
        self._trend: list[float] = []
        self._unsaved_windows = 0
        self._calibrating_announced = False

    # -- inputs -------------------------------------------------------------------
    def push_nn(self, nn_t_s: np.ndarray, nn_ms: np.ndarray) -> None:
        """Final NN intervals: end times (s, device time) and lengths (ms)."""
        if len(nn_ms):
            self.rolling.push(nn_t_s, nn_ms)
            self._last_nn_t = float(nn_t_s[-1])

    def tick(self, now_s: float, local_time: dt.time, quality: QualityLike, *, guided: bool) -> MonitorUpdate:
        """One turn: returns what to route (nothing unless a new HRV snapshot is due).

        ``guided``: the wearer is being asked or guided, or was a moment ago
        (`Session.guided_recently`); such windows never teach the baseline."""
        snap = self.rolling.update(self._hrv_time(now_s))
        if snap is None:
            return NOTHING
        self._snapshot = snap
        self._log_windows(now_s, snap)
        was_ready = self.baseline.ready
        events = self.trigger.step(now_s, local_time, snap, quality)
        learned = self.baseline.add(now_s, snap.short.metrics, coverage=snap.short.coverage,
                                    usable=quality.usable, motion=quality.motion,
                                    stressed=self.trigger.stressed, in_break=guided)
        if learned:
            self._unsaved_windows += 1
        if not was_ready and self.baseline.ready:
            self._emit("baseline_ready", windows=self.baseline.state.n_windows)
        if self._unsaved_windows and (not was_ready or self._unsaved_windows >= BASELINE_SAVE_EVERY):
            self.save()  # commits: survives a power cut
        elif not self.baseline.ready and not self._calibrating_announced and quality.usable:
            self._emit("calibrating")
            self._calibrating_announced = True
        return MonitorUpdate(
            invitations=tuple({k: _r(v) for k, v in ev.detail.items()} for ev in events
                              if ev.kind == "prompt"),
            state_changes=tuple(StateChange(ev.state, ev.detail.get("from", "")) for ev in events
                                if ev.kind == "state"),
        )

    def note_break(self, now_s: float) -> None:
        """A break started or ended: the trigger holds off (HRV is still settling)."""
        self.trigger.note_break(now_s)

    def snooze(self, now_s: float) -> None:
        self.trigger.snooze(now_s)

    def save(self) -> None:
        """Write the baseline to the store now."""
        self._store.set_state(BASELINE_KEY, self.baseline.to_dict())
        self._unsaved_windows = 0

    # -- outputs ------------------------------------------------------------------
    def measure(self, now_s: float) -> tuple[float | None, float | None]:
        """(HR bpm, RMSSD ms) over the last short window, computed now (the break's before/after)."""
        snap = self.rolling.compute(self._hrv_time(now_s))
        return snap.short.get("hr_bpm"), snap.short.get("rmssd_ms")

    @property
    def rmssd_ms(self) -> float | None:
        """RMSSD of the newest short window (None before the first or when it had no metrics)."""
        return self._snapshot.short.get("rmssd_ms") if self._snapshot is not None else None

    @property
    def rmssd_trend(self) -> tuple[float, ...]:
        return tuple(self._trend)

    @property
    def status(self) -> TriggerStatus:
        return self.trigger.status

    @property
    def baseline_state(self) -> BaselineState:
        return self.baseline.state

    @property
    def snoozed_until_s(self) -> float:
        return self.trigger.snoozed_until_s

    # -- internals ----------------------------------------------------------------
    def _hrv_time(self, now_s: float) -> float:
        return self._last_nn_t if now_s - self._last_nn_t <= MAX_NN_LATENCY_S else now_s

    def _log_windows(self, now_s: float, snap: HrvSnapshot) -> None:
        if snap.short.metrics is not None:
            self._store.hrv(now_s, snap.short.window_s, dict(snap.short.metrics))
            rmssd = snap.short.get("rmssd_ms")
            if rmssd is not None:
                self._trend = (self._trend + [rmssd])[-TREND_POINTS:]
        if snap.long is not self._last_long and snap.long.metrics is not None:  # recomputed every 30 s
            self._store.hrv(now_s, snap.long.window_s, dict(snap.long.metrics))
        self._last_long = snap.long

    def _load_baseline(self, config: BaselineConfig) -> Baseline:
        saved = self._store.get_state(BASELINE_KEY)
        if saved:
            try:
                return Baseline.from_dict(saved, config)
            except (KeyError, ValueError, TypeError):
                log.warning("saved baseline unreadable; calibrating afresh")
        return Baseline(config)


def _r(v: Any) -> Any:
    return round(v, 2) if isinstance(v, float) else v
