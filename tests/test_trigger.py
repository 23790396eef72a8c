"""StressTrigger: each rule on synthetic snapshot sequences, then the whole stress
layer (RollingHRV -> Baseline -> StressTrigger) on synthetic NN streams."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pytest

from kindpulse.errors import ConfigError
from kindpulse.stress.baseline import Baseline
from kindpulse.stress.rolling import (
    HrvSnapshot,
    RollingConfig,
    RollingHRV,
    SignalQuality,
    WindowHRV,
)
from kindpulse.stress.trigger import (
    CALIBRATING,
    CALM,
    ELEVATED,
    NO_FINGER,
    POOR_SIGNAL,
    QUIET_HOURS,
    REFRACTORY,
    SNOOZED,
    TOO_ACTIVE,
    StressTrigger,
    TriggerConfig,
    in_quiet_hours,
    stress_level,
)

GOOD = SignalQuality()
NOON = dt.time(12, 0)
BASE = {
    "mean_nn_ms": 900.0,
    "rmssd_ms": 40.0,
    "sd1_ms": 28.0,
    "hr_bpm": 66.7,
    "stress_index": 10.0,
    "sd2_ms": 60.0,
}


def ready_baseline() -> Baseline:
    b = Baseline()
    rng = np.random.default_rng(0)
    for i in range(20):
        m = {k: v * (1 + 0.05 * rng.standard_normal()) for k, v in BASE.items()}
        b.add(60.0 * (i + 1), m, coverage=1.0, usable=True, motion=False)
    return b


def snap(t: float, pns: float, sns: float, hr_rise: float = 10.0) -> HrvSnapshot:
    m = {"pns": pns, "sns": sns, "hr_bpm": BASE["hr_bpm"] + hr_rise}
    w = WindowHRV(60.0, 1.0, 70, m)
    return HrvSnapshot(t, w, WindowHRV(300.0, 1.0, 350, m))


def direct(config: TriggerConfig | None = None) -> StressTrigger:
    """A trigger whose PNS/SNS are read straight from the snapshot (rule tests;
    no entry credit unless asked, so the sustain arithmetic reads plainly)."""
    return StressTrigger(
        config or TriggerConfig(entry_credit_s=0.0), ready_baseline(), scorer=lambda m: (m["pns"], m["sns"])
    )


def run(
    trig: StressTrigger,
    seq: Iterable[tuple[float, float, float]],
    t0: float = 0.0,
    dt_s: float = 5.0,
    quality: SignalQuality = GOOD,
    wall: dt.time | float = NOON,
    hr_rise: float = 10.0,
) -> list[float]:
    """Step through (duration_s, pns, sns) segments; return the prompt times."""
    prompts = []
    t = t0
    for dur, pns, sns in seq:
        end = t + dur
        while t < end:
            t += dt_s
            for e in trig.step(t, wall, snap(t, pns, sns, hr_rise), quality):
                if e.kind == "prompt":
                    prompts.append(t)
    return prompts


# -- the rules ----------------------------------------------------------------


def test_sustained_high_sns_low_pns_prompts_once_after_sustain() -> None:
    trig = direct()
    prompts = run(trig, [(300, 0, 0), (600, -2.5, 2.5)])
    assert prompts == [300 + 5 + 120]  # enters at the first elevated step, fires 120 s later
    assert trig.status.blocked_by == REFRACTORY


def test_entry_credit_counts_half_a_window() -> None:
    trig = direct(TriggerConfig(entry_credit_s=30.0))
    assert run(trig, [(300, 0, 0), (600, -2.5, 2.5)]) == [300 + 5 + 90]


def test_short_episode_does_not_prompt() -> None:
    trig = direct()
    assert run(trig, [(300, 0, 0), (100, -2.5, 2.5), (300, 0, 0)]) == []
    assert trig.status.state == CALM


def test_both_branches_must_agree() -> None:
    # High SNS with normal PNS (or the reverse) is not "sympathetic dominance".
    assert run(direct(), [(600, 0.0, 3.0)]) == []
    assert run(direct(), [(600, -3.0, 0.0)]) == []


def test_hrv_drop_without_hr_rise_is_not_stress() -> None:
    assert run(direct(), [(600, -2.5, 2.5)], hr_rise=3.0) == []
    # Once elevated, HR may settle to the exit level without resetting.
    trig = direct()
    assert run(trig, [(10, -2.5, 2.5)], hr_rise=8.0) == []
    assert run(trig, [(200, -2.5, 2.5)], t0=10, hr_rise=2.5) == [5 + 120]


def test_hysteresis_keeps_sustain_between_exit_and_enter() -> None:
    trig = direct()
    # Enter at 2/-2, then hover at 0.7/-0.7: below entry, above exit.
    prompts = run(trig, [(60, 0, 0), (10, -2, 2), (200, -0.7, 0.7)])
    assert prompts == [60 + 5 + 120]


def test_dropping_below_exit_resets_sustain() -> None:
    trig = direct()
    prompts = run(trig, [(60, 0, 0), (100, -2, 2), (5, -0.2, 0.2), (100, -2, 2)])
    assert prompts == []
    assert trig.status.state == ELEVATED and trig.status.sustain_s == pytest.approx(95)


def test_hovering_between_thresholds_never_enters() -> None:
    assert run(direct(), [(900, -0.8, 0.8)]) == []


def test_refractory_then_fresh_sustain_needed() -> None:
    cfg = TriggerConfig(refractory_s=600, entry_credit_s=0.0)
    trig = direct(cfg)
    prompts = run(trig, [(1200, -2.5, 2.5)])
    # First at 5 + 120; blocked until 725; the step at 725 starts a fresh 120 s of sustain.
    assert prompts == [125, 125 + 600 + 120]


def test_note_break_starts_refractory() -> None:
    trig = direct()
    run(trig, [(60, 0, 0)])
    trig.note_break(60.0)
    assert run(trig, [(1700, -2.5, 2.5)], t0=60) == []
    assert trig.status.blocked_by == REFRACTORY
    assert run(trig, [(300, -2.5, 2.5)], t0=1760) == [1860 + 120]


def test_snooze_blocks_for_its_duration() -> None:
    trig = direct(TriggerConfig(snooze_s=3600, entry_credit_s=0.0))
    trig.snooze(0.0)
    assert run(trig, [(3590, -2.5, 2.5)]) == []
    assert trig.status.blocked_by == SNOOZED
    assert run(trig, [(300, -2.5, 2.5)], t0=3590) == [3600 + 120]


@pytest.mark.parametrize(
    ("hhmm", "quiet"),
    [
        ("21:59", False),
        ("22:00", True),
        ("23:59", True),
        ("00:00", True),
        ("06:59", True),
        ("07:00", False),
        ("12:00", False),
    ],
)
def test_quiet_hours_wrap_midnight(hhmm: str, quiet: bool) -> None:
    h, m = map(int, hhmm.split(":"))
    assert in_quiet_hours(h * 3600 + m * 60, 22 * 3600, 7 * 3600) is quiet


def test_quiet_hours_block_prompts_and_accept_seconds_of_day() -> None:
    trig = direct()
    assert run(trig, [(600, -2.5, 2.5)], wall=dt.time(23, 30)) == []
    assert trig.status.blocked_by == QUIET_HOURS
    assert run(direct(), [(600, -2.5, 2.5)], wall=3 * 3600.0) == []
    assert run(
        direct(TriggerConfig(quiet_start_hhmm="00:00", quiet_end_hhmm="00:00", entry_credit_s=0.0)),
        [(600, -2.5, 2.5)],
        wall=3 * 3600.0,
    )


def test_activity_with_motion_is_not_stress() -> None:
    trig = direct()
    moving = SignalQuality(usable=True, motion=True)
    prompts = run(trig, [(900, -3, 3)], quality=moving, hr_rise=40)
    assert prompts == [] and trig.status.state == TOO_ACTIVE and trig.stressed


def test_recovery_after_activity_does_not_prompt() -> None:
    cfg = TriggerConfig(activity_cooldown_s=600, entry_credit_s=0.0)
    trig = direct(cfg)
    run(trig, [(300, -3, 3)], quality=SignalQuality(motion=True), hr_rise=40)
    # Still, HR coming down but HRV still suppressed: the cooldown holds.
    assert run(trig, [(590, -2.5, 2.5)], t0=300, hr_rise=14) == []
    assert trig.status.state == TOO_ACTIVE
    # After the cooldown the same pattern is judged on its own, from zero sustain.
    assert run(trig, [(300, -2.5, 2.5)], t0=890, hr_rise=14) == [900 + 120]


def test_very_high_hr_without_motion_is_activity() -> None:
    trig = direct()
    assert run(trig, [(900, -3, 3)], hr_rise=45) == []
    assert trig.status.state == TOO_ACTIVE


def test_long_motion_with_unreadable_signal_counts_as_activity() -> None:
    trig = direct()
    run(trig, [(60, 0, 0)], quality=SignalQuality(usable=False, motion=True))
    assert trig.status.state == TOO_ACTIVE


def test_brief_motion_pauses_but_does_not_reset() -> None:
    trig = direct()
    run(trig, [(60, 0, 0), (60, -2.5, 2.5)])
    run(trig, [(20, -2.5, 2.5)], t0=120, quality=SignalQuality(usable=False, motion=True))
    assert trig.status.state == POOR_SIGNAL
    # 55 s before the pause; the first step after it restarts the clock, so 65 s more from 145.
    assert run(trig, [(200, -2.5, 2.5)], t0=140) == [145 + 65]


def test_poor_signal_pauses_then_long_gap_resets() -> None:
    trig = direct(TriggerConfig(max_pause_s=60, entry_credit_s=0.0))
    poor = SignalQuality(usable=False)
    run(trig, [(60, 0, 0), (100, -2.5, 2.5)])
    run(trig, [(30, -2.5, 2.5)], t0=160, quality=poor)
    assert trig.status.state == POOR_SIGNAL and trig.status.sustain_s == pytest.approx(95)
    run(trig, [(90, -2.5, 2.5)], t0=190, quality=poor)  # now 120 s without a usable window
    assert run(trig, [(100, -2.5, 2.5)], t0=280) == []


def test_missing_metrics_are_poor_signal() -> None:
    trig = direct()
    empty = HrvSnapshot(5.0, WindowHRV(60.0, 0.3, 10, None), WindowHRV(300.0, 0.3, 10, None))
    trig.step(5.0, NOON, empty, GOOD)
    assert trig.status.state == POOR_SIGNAL and trig.status.level is None


def test_no_finger_state() -> None:
    trig = direct()
    trig.step(5.0, NOON, None, SignalQuality(usable=False, finger_present=False))
    assert trig.status.state == NO_FINGER


def test_calibrating_never_prompts() -> None:
    trig = StressTrigger(None, Baseline(), scorer=lambda m: (m["pns"], m["sns"]))
    assert run(trig, [(900, -3, 3)]) == []
    assert trig.status.state == CALIBRATING


def test_state_events_on_change_only() -> None:
    trig = direct()
    kinds = []
    for i, (p, s) in enumerate([(0, 0), (0, 0), (-2, 2), (-2, 2)]):
        kinds += [(e.kind, e.state) for e in trig.step(5.0 * (i + 1), NOON, snap(5.0 * (i + 1), p, s), GOOD)]
    assert kinds == [("state", CALM), ("state", ELEVATED)]


def test_stress_level_gauge() -> None:
    assert stress_level(0.0, 0.0) == 25.0
    assert stress_level(-1.0, 1.0) == 50.0
    assert stress_level(-10.0, 10.0) == 100.0 and stress_level(5.0, -5.0) == 0.0
    assert stress_level(None, 1.0) is None


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ConfigError, match="quiet_start_hhmm"):
        TriggerConfig(quiet_start_hhmm="25:00")
    with pytest.raises(ConfigError, match="exit_sns_z"):
        TriggerConfig(enter_sns_z=1.0, exit_sns_z=1.5)
    with pytest.raises(ConfigError, match="refractory_s"):
        TriggerConfig(refractory_s=-1)


# -- the whole stress layer on synthetic NN streams ---------------------------


def nn_stream(
    rng: np.random.Generator,
    duration_s: float,
    hr_bpm: float,
    hrv_scale: float,
    t0: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """NN intervals: respiratory sinus arrhythmia (0.25 Hz), a slow AR(1) drift,
    beat-to-beat jitter and PPG timing noise; `hrv_scale` shrinks all variability."""
    n = int(duration_s * hr_bpm / 60 * 1.1) + 10
    mean_ms = 60000.0 / hr_bpm
    drift = np.zeros(n)
    e = rng.standard_normal(n)
    for i in range(1, n):
        drift[i] = 0.98 * drift[i - 1] + 0.2 * e[i]
    t = t0
    out_t, out_nn = [], []
    for i in range(n):
        rsa = 28.0 * np.sin(2 * np.pi * 0.25 * t)
        nn = (
            mean_ms
            + hrv_scale * (rsa + 15.0 * drift[i] + 12.0 * rng.standard_normal())
            + 4.0 * rng.standard_normal()
        )
        t += nn / 1000.0
        if t > t0 + duration_s:
            break
        out_t.append(t)
        out_nn.append(nn)
    return np.array(out_t), np.array(out_nn)


def simulate(
    segments: list[tuple[float, float, float, float]],
    seed: int,
    baseline: Baseline | None = None,
) -> tuple[list[float], list[str], Baseline]:
    """segments: (duration_s, hr_bpm, hrv_scale, motion_fraction). Runs the real
    hrv_metrics/pns_sns through RollingHRV, Baseline and StressTrigger; returns
    the prompt times, the state after every step, and the baseline."""
    pytest.importorskip("kindpulse.dsp.hrv")
    rng = np.random.default_rng(seed)
    states: list[str] = []
    rolling = RollingHRV(RollingConfig(long_update_every_s=300.0))
    base = baseline or Baseline()
    trig = StressTrigger(TriggerConfig(), base)
    prompts: list[float] = []
    t0 = 0.0
    for dur, hr, scale, motion_frac in segments:
        t, nn = nn_stream(rng, dur, hr, scale, t0)
        motion_until = -1.0
        now = t0
        while now < t0 + dur - 1e-9:
            now += 5.0
            sel = (t > now - 5.0) & (t <= now)
            if rng.random() < motion_frac / 4:  # motion bursts of ~20 s
                motion_until = now + 20.0
            moving = now < motion_until
            if moving:
                rolling.reset()  # motion destroys PPG beats: the DSP drops them
            else:
                rolling.push(t[sel], nn[sel])
            s = rolling.update(now)
            if s is None:
                continue
            q = SignalQuality(usable=s.short.metrics is not None and not moving, motion=moving)
            prompts += [now for e in trig.step(now, NOON, s, q) if e.kind == "prompt"]
            states.append(trig.status.state)
            base.add(now, s.short.metrics, coverage=s.short.coverage, usable=q.usable, motion=q.motion,
                     stressed=trig.stressed)
        t0 += dur
    return prompts, states, base


def test_stress_onset_prompts_within_3_minutes_exactly_once() -> None:
    calm = (1800.0, 65.0, 1.0, 0.0)
    stress = (900.0, 77.0, 0.55, 0.0)  # +12 bpm, RMSSD about -45 %
    prompts, _, base = simulate([calm, stress, (600.0, 65.0, 1.0, 0.0)], seed=11)
    assert base.ready
    assert len(prompts) == 1
    # Spec: within 180 s of onset end to end; the stress layer alone takes ~150 s,
    # leaving room for beat-detection and cadence delays.
    assert 1800.0 < prompts[0] <= 1800.0 + 160.0


def test_calm_day_with_noise_and_motion_never_prompts() -> None:
    # 8 h calm with occasional fidgeting; HR wanders slowly between segments.
    rng = np.random.default_rng(21)
    segs = [(1800.0, float(65 + 2.5 * rng.standard_normal()), float(1 + 0.1 * rng.standard_normal()), 0.02)
            for _ in range(16)]
    prompts, states, base = simulate(segs, seed=22)
    assert base.ready and base.calibration_complete
    assert prompts == []
    assert states.count(CALM) > 0.85 * len(states)  # it really was judging, not paused


def test_exercise_with_motion_does_not_prompt() -> None:
    segs = [
        (1800.0, 65.0, 1.0, 0.0),
        (900.0, 120.0, 0.3, 0.6),
        (300.0, 95.0, 0.5, 0.0),
        (600.0, 72.0, 0.8, 0.0),
    ]
    prompts, states, _ = simulate(segs, seed=31)
    assert prompts == []
    assert states.count(TOO_ACTIVE) * 5 >= 900  # the workout and its cooldown were seen as activity


def run_scenario_truth(name: str) -> tuple[list[float], list[float], list[str]]:
    """A bundled sim scenario through the stress layer on its TRUE beat times (no PPG,
    no beat detector): beats inside motion or finger-off stretches are dropped and
    those updates flagged, as the DSP's quality summary would. Returns
    (stress onsets, prompt times, states)."""
    scenario_mod = pytest.importorskip("kindpulse.sim.scenario")
    pytest.importorskip("kindpulse.dsp.hrv")
    sc = scenario_mod.load_scenario(name)
    src = sc.source()
    src.extend_to(sc.duration_s + 5.0)  # no device answers this wearer: its whole day at once
    bt = src.beat_times_s
    t, nn = bt[1:], np.diff(bt) * 1000.0
    motion = [(m.start_s, m.end_s) for m in src.ppg.motion]
    off = [(f.start_s, f.end_s) for f in src.ppg.finger_off]
    keep = np.ones(t.size, dtype=bool)
    for a, b in motion + off:
        keep &= ~((t > a) & (t - nn / 1000.0 < b))  # any interval touching a bad stretch
    rolling, base = RollingHRV(), Baseline()
    trig = StressTrigger(TriggerConfig(), base)
    prompts: list[float] = []
    states: list[str] = []
    pushed = 0
    now = 0.0
    t0 = 1.0  # scenario.source() puts the first beat after t0_s = 1 s
    while now < sc.duration_s:
        now += 5.0
        hi = int(np.searchsorted(t, now + t0, side="right"))
        sel = slice(pushed, hi)
        rolling.push(t[sel][keep[sel]] - t0, nn[sel][keep[sel]])
        pushed = hi
        s = rolling.update(now)
        if s is None:
            continue
        moving = any(a - t0 < now and b - t0 > now - 5.0 for a, b in motion)
        finger = not any(a - t0 < now and b - t0 > now - 5.0 for a, b in off)
        q = SignalQuality(usable=s.short.metrics is not None and not moving and finger, motion=moving,
                          finger_present=finger)
        prompts += [now for e in trig.step(now, NOON, s, q) if e.kind == "prompt"]
        states.append(trig.status.state)
        base.add(now, s.short.metrics, coverage=s.short.coverage, usable=q.usable, motion=q.motion,
                 stressed=trig.stressed)
    return sc.stress_onsets_s(), prompts, states


@pytest.mark.parametrize("name", ["stress-episode", "demo"])
def test_bundled_stress_scenarios_prompt_once_within_3_minutes(name: str) -> None:
    onsets, prompts, _ = run_scenario_truth(name)
    assert len(onsets) == 1 and len(prompts) == 1
    # Both ramp in over 45 s; the stress layer answers ~150 s after onset on true beats.
    assert onsets[0] < prompts[0] <= onsets[0] + 165.0


@pytest.mark.parametrize("name", ["calm-day", "exercise", "finger-off"])
def test_bundled_calm_scenarios_never_prompt(name: str) -> None:
    _, prompts, states = run_scenario_truth(name)
    assert prompts == []
    assert CALM in states
    if name == "exercise":
        assert TOO_ACTIVE in states
    if name == "finger-off":
        assert NO_FINGER in states
