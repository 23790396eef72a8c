"""StressMonitor: rolling HRV -> trigger -> baseline, and Device's observer hook."""

from __future__ import annotations

import datetime as dt

import numpy as np

from kindpulse.clock import VirtualClock
from kindpulse.config import Config
from kindpulse.observers import DeviceObserver
from kindpulse.rigs.simulated import build_sim_rig, sim_config
from kindpulse.sim.sources import SyntheticSource
from kindpulse.sim.synth import rr_series
from kindpulse.store.db import Store
from kindpulse.stress.monitor import BASELINE_KEY, StressMonitor
from kindpulse.stress.rolling import SignalQuality
from kindpulse.ui.state import ScreenState


def _feed(tmp_path, *, guided: bool, minutes: float = 12.0):
    cfg = Config()
    store = Store(tmp_path / "k.sqlite", VirtualClock())
    events: list[str] = []
    mon = StressMonitor(cfg.rolling, cfg.baseline, cfg.trigger, store=store,
                        emit=lambda t, **d: events.append(t))
    rr = rr_series(int(minutes * 70), hr_bpm=66, rmssd_ms=40, seed=5)
    nn_t = np.cumsum(rr) / 1000.0
    sent = 0
    for now in np.arange(5.0, minutes * 60, 1.0):
        upto = int(np.searchsorted(nn_t, now - 3.0))  # NN become final a few beats late
        mon.push_nn(nn_t[sent:upto], rr[sent:upto])
        sent = upto
        update = mon.tick(float(now), dt.time(12, 0), SignalQuality(), guided=guided)
        assert update.invitations == ()  # a calm finger never invites
    return mon, store, events


def test_calm_minutes_calibrate_and_are_saved(tmp_path):
    mon, store, events = _feed(tmp_path, guided=False)
    assert mon.baseline.ready
    assert events.count("calibrating") == 1 and events.count("baseline_ready") == 1
    assert events.index("calibrating") < events.index("baseline_ready")
    # saved after every calm minute while calibrating, then every BASELINE_SAVE_EVERY
    n = mon.baseline.state.n_windows
    assert Config().baseline.min_calibration_windows < n < Config().baseline.min_calibration_windows + 10
    assert len(store.get_state(BASELINE_KEY)["t_s"]) == Config().baseline.min_calibration_windows
    mon.save()
    assert len(store.get_state(BASELINE_KEY)["t_s"]) == n
    assert store.count("hrv") > 100 and len(mon.rmssd_trend) == 60
    assert 25 < mon.rmssd_ms < 60


def test_guided_minutes_never_teach_the_baseline(tmp_path):
    mon, store, events = _feed(tmp_path, guided=True)
    assert mon.baseline.state.n_windows == 0 and "baseline_ready" not in events
    assert store.get_state(BASELINE_KEY) is None


class _Watcher(DeviceObserver):
    def __init__(self) -> None:
        self.types: list[str] = []
        self.turns: list[ScreenState] = []
        self.stopped = 0

    def on_event(self, event: dict) -> None:
        self.types.append(event["type"])

    def on_turn(self, state: ScreenState) -> None:
        self.turns.append(state)

    def on_stop(self) -> None:
        self.stopped += 1


def test_observers_see_events_turns_and_the_stop(tmp_path):
    watcher = _Watcher()
    source = SyntheticSource(rr_series(100, hr_bpm=66, rmssd_ms=40, seed=3), seed=3)
    rig = build_sim_rig(source, sim_config(Config(), {}, tmp_path), tmp_path, observers=[watcher])
    rig.run_until(10.0)
    rig.device.shutdown()
    assert watcher.types[0] == "start" and watcher.types[-1] == "stop"
    assert watcher.types == [e["type"] for e in rig.events]
    assert watcher.turns and all(t.sensor_up for t in watcher.turns)
    assert watcher.turns[-1].now_s > 9.0 and watcher.stopped == 1
