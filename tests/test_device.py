"""The whole device on emulated hardware: what the wearer lives with, and what it survives.

Every run here is the daemon's `Device` on `EmulatedMAX30102` + `FakePins` + a dummy
display, on a virtual clock: nothing sleeps, nothing needs a Pi.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import sqlite3

import numpy as np
import pytest

from kindpulse.cli import main
from kindpulse.commands.run import install_sigterm
from kindpulse.commands.sim import SimPlan, simulate
from kindpulse.config import Config
from kindpulse.device import Device
from kindpulse.rigs.simulated import build_sim_rig, sim_config
from kindpulse.sim.scenario import load_scenario, scenario_from_dict
from kindpulse.sim.sources import SyntheticSource
from kindpulse.sim.synth import rr_series
from kindpulse.ui import screens


def _plan(name: str) -> SimPlan:
    sc = load_scenario(name)
    short, long_ = sc.presses()
    return SimPlan(sc.source(), sc.duration_s, [(t, "short") for t in short] + [(t, "long") for t in long_],
                   sc.config, sc.name, sc)


@pytest.fixture(scope="module")
def scenario_runs(tmp_path_factory):
    """Each bundled scenario simulated once for the whole module."""
    cache: dict = {}

    def run(name: str, **kw):
        key = (name, tuple(sorted(kw.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(name)
            plan = _plan(name)
            cache[key] = (simulate(plan, sim_config(Config(), plan.config_overrides, out), out, **kw), out, plan)
        return cache[key]

    return run


def _types(events, type_):
    return [e for e in events if e["type"] == type_]


def test_stress_episode_prompts_once_within_three_minutes(scenario_runs):
    result, out, plan = scenario_runs("stress-episode")
    prompts = _types(result.events, "prompt")
    onset = plan.truth.stress_onsets_s()[0]
    assert len(prompts) == 1
    assert 0 < prompts[0]["t"] - onset <= 180
    assert _types(result.events, "baseline_ready")[0]["t"] < onset
    # the prompt vibrated, nobody pressed, so it was dismissed after the timeout
    assert _types(result.events, "vibrate")[0]["t"] == prompts[0]["t"]
    assert _types(result.events, "dismissed")[0]["reason"] == "timeout"


def test_calm_day_never_prompts(scenario_runs):
    result, out, plan = scenario_runs("calm-day")
    assert result.duration_s == 8 * 3600
    assert _types(result.events, "prompt") == []
    assert len(_types(result.events, "baseline_ready")) == 1


def test_exercise_is_activity_not_stress(scenario_runs):
    result, out, plan = scenario_runs("exercise")
    assert _types(result.events, "prompt") == []
    con = sqlite3.connect(out / "kindpulse.sqlite")
    states = {json.loads(d)["state"] for (d,) in con.execute("SELECT data FROM events WHERE type='state'")}
    assert "too_active" in states


def test_demo_goes_through_prompt_press_break_and_result(scenario_runs, tmp_path):
    result, out, plan = scenario_runs("demo", accept_prompts_after_s=20.0)
    seq = [e["type"] for e in result.events if e["type"] in
           ("calibrating", "baseline_ready", "prompt", "button", "break_start", "break_end")]
    assert seq == ["calibrating", "baseline_ready", "prompt", "button", "break_start", "break_end"]
    end = _types(result.events, "break_end")[0]
    assert end["prompted"] and not end["ended_early"]
    assert end["duration_s"] == pytest.approx(180, abs=1)
    for key in ("hr_before", "hr_after", "rmssd_before", "rmssd_after"):
        assert end[key] is not None and end[key] > 0
    lines = (out / "events.jsonl").read_text().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all("t" in e and "type" in e for e in parsed)
    assert [e["t"] for e in parsed] == sorted(e["t"] for e in parsed)
    assert (out / "frames.gif").stat().st_size > 1000
    assert json.loads((out / "summary.json").read_text())["counts"]["prompt"] == 1


def _rig(tmp_path, *, source=None, config=None, **kw):
    source = source or SyntheticSource(rr_series(4000, hr_bpm=66, rmssd_ms=40, seed=3), seed=3)
    return build_sim_rig(source, sim_config(config or Config(), {}, tmp_path), tmp_path, **kw)


def _views(rig, t_end):
    seen = []
    rig.run_until(t_end, each_step=lambda now: seen.append((now, type(rig.device.screen_view(now)))))
    return seen


def test_finger_off_shows_place_finger_within_five_seconds_and_never_prompts(scenario_runs, tmp_path):
    result, out, plan = scenario_runs("finger-off")
    assert _types(result.events, "prompt") == []
    off_starts = [s for s in plan.truth.starts_s()[:-1]
                  if not plan.truth.segments[list(plan.truth.starts_s()).index(s)].finger]
    lost = _types(result.events, "signal_lost")
    assert len(lost) == len(off_starts) == 2
    for start, ev in zip(off_starts, lost, strict=True):
        assert 0 < ev["t"] - start <= 5
        assert ev["reason"] == "no_finger"
    # and the screen itself, checked every loop turn
    sc = scenario_from_dict({"seed": 2, "segments": [{"duration": "60s"}, {"duration": "30s", "finger": False}]}, "x")
    rig = _rig(tmp_path, source=sc.source())
    views = _views(rig, 90)
    first = next(t for t, v in views if v is screens.PlaceFingerView and t > 60)
    assert first - 60 <= 5
    rig.device.shutdown()


def test_button_starts_a_break_any_time_and_a_press_ends_it_early(tmp_path):
    rig = _rig(tmp_path)
    rig.schedule_press(30.0)
    rig.schedule_press(100.0)
    rig.run_until(130)
    start = _types(rig.events, "break_start")[0]
    end = _types(rig.events, "break_end")[0]
    assert start["prompted"] is False
    assert end["ended_early"] is True and end["duration_s"] == pytest.approx(70, abs=1)
    # the motor tapped the inhale cues during the break and was quiet after it
    motor = rig.pins.output_history(rig.device.config.pins.motor_pin)
    taps = [t for t, v in motor if v > 0 and start["t"] < t < end["t"]]
    assert len(taps) >= 5
    assert motor[-1][1] == 0.0
    rig.device.shutdown()


def test_long_press_on_a_prompt_snoozes(tmp_path):
    rig = _rig(tmp_path)
    rig.run_until(20)
    rig.device.session.invite(rig.device.now(), "stress")
    rig.schedule_press(25.0, "long")
    rig.run_until(40)
    assert [e["reason"] for e in _types(rig.events, "dismissed")] == ["snoozed"]
    assert len(_types(rig.events, "snoozed")) == 1
    assert rig.device.trigger.snoozed_until_s > rig.device.now() + 3000
    assert type(rig.device.screen_view(rig.device.now())) is screens.SnoozedView
    rig.device.shutdown()


def test_quiet_hours_silence_the_stress_episode(tmp_path):
    plan = _plan("stress-episode")
    result = simulate(plan, sim_config(Config(), {}, tmp_path), tmp_path, start=dt.time(22, 30))
    assert _types(result.events, "prompt") == []
    assert _types(result.events, "baseline_ready")


def _nn(path):
    con = sqlite3.connect(path)
    return np.array(con.execute("SELECT t_s, ibi_ms FROM nn ORDER BY t_s").fetchall())


def _assert_no_interval_spans(nn, a, b):
    start = nn[:, 0] - nn[:, 1] / 1000
    assert not np.any((start < b) & (nn[:, 0] > a)), "an NN interval spans the gap"


def test_sensor_unplugged_and_back(tmp_path):
    rig = _rig(tmp_path)
    rig.run_until(60)
    rig.chip.present = False
    rig.run_until(90)
    assert len(_types(rig.events, "sensor_error")) == 1
    assert type(rig.device.screen_view(rig.device.now())) is screens.SensorErrorView
    rig.chip.present = True
    rig.run_until(180)
    rec = _types(rig.events, "sensor_recovered")
    assert len(rec) == 1 and rec[0]["t"] - 90 <= 31  # backoff tops out at 30 s
    rig.device.shutdown()
    nn = _nn(tmp_path / "kindpulse.sqlite")
    _assert_no_interval_spans(nn, 60, rec[0]["t"])
    assert np.sum(nn[:, 0] > rec[0]["t"] + 15) > 40  # beats flow again


def test_a_press_on_the_sensor_error_screen_retries_at_once(tmp_path):
    rig = _rig(tmp_path)
    rig.run_until(30)
    rig.chip.present = False
    rig.run_until(75)  # the backoff has grown to 30 s
    rig.chip.present = True
    rig.schedule_press(76.0)
    rig.run_until(78)
    assert _types(rig.events, "sensor_recovered")[0]["t"] == pytest.approx(76.2, abs=0.3)
    assert not _types(rig.events, "break_start")  # the press was for the sensor, not a break
    rig.device.shutdown()


def test_sensor_missing_at_start_then_plugged_in(tmp_path):
    rig = _rig(tmp_path, chip_present=False)
    rig.run_until(20)
    assert len(_types(rig.events, "sensor_error")) == 1
    assert "0x57" in _types(rig.events, "sensor_error")[0]["error"]
    rig.chip.present = True
    rig.run_until(120)
    assert len(_types(rig.events, "sensor_recovered")) == 1
    assert _types(rig.events, "signal_ok")
    rig.device.shutdown()


def test_i2c_errors_in_the_middle_of_a_drain_do_not_stop_the_device(tmp_path):
    rig = _rig(tmp_path)
    rig.run_until(40)
    rig.bus.fail_next(3)
    rig.run_until(120)
    rig.device.shutdown()
    nn = _nn(tmp_path / "kindpulse.sqlite")
    assert np.sum(nn[:, 0] > 60) > 40
    errors = _types(rig.events, "sensor_error")
    assert len(errors) == len(_types(rig.events, "sensor_recovered")) <= 1


def test_fifo_overflow_loses_samples_but_never_measures_across_them(tmp_path):
    rig = _rig(tmp_path)
    rig.run_until(60)
    rig.clock.advance(3.0)  # the loop stalls (a slow SD card): 300 samples into a 32-deep FIFO
    rig.run_until(120)
    rig.device.shutdown()
    lost = _types(rig.events, "samples_lost")
    assert len(lost) == 1 and 260 <= lost[0]["count"] <= 300
    nn = _nn(tmp_path / "kindpulse.sqlite")
    _assert_no_interval_spans(nn, 60.0, 63.0)
    assert np.sum(nn[:, 0] > 70) > 40


def test_sigterm_stops_in_order(tmp_path):
    rig = _rig(tmp_path)
    device: Device = rig.device
    rig.run_until(30)
    device.motor.play(((5.0, 1.0),))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        install_sigterm(device)
        os.kill(os.getpid(), signal.SIGTERM)
        device.run(until_s=60)  # returns at once: the handler asked it to stop
    finally:
        signal.signal(signal.SIGTERM, previous)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
    assert device.now() < 31
    device.shutdown()
    assert rig.pins.output_history(device.config.pins.motor_pin)[-1][1] == 0.0
    assert not np.asarray(rig.display.image.convert("1")).any()  # cleared
    con = sqlite3.connect(tmp_path / "kindpulse.sqlite")
    assert con.execute("SELECT type FROM events ORDER BY id DESC LIMIT 1").fetchone()[0] == "stop"
    assert con.execute("SELECT COUNT(*) FROM nn").fetchone()[0] > 10


def test_baseline_survives_a_restart(tmp_path):
    source = SyntheticSource(rr_series(1500, hr_bpm=66, rmssd_ms=40, seed=5), seed=5)
    rig = _rig(tmp_path, source=source)
    rig.run_until(600)
    assert rig.device.baseline.ready
    rig.device.shutdown()
    again = _rig(tmp_path, source=source)
    assert again.device.baseline.ready
    again.run_until(30)
    assert not _types(again.events, "calibrating")
    assert type(again.device.screen_view(again.device.now())) is not screens.CalibratingView
    again.device.shutdown()


def test_desk_mode_invites_check_ins(tmp_path):
    cfg = Config()
    cfg = dataclasses.replace(cfg, device=dataclasses.replace(cfg.device, mode="desk"),
                              prompt=dataclasses.replace(cfg.prompt, checkin_interval_min=5.0))
    rig = _rig(tmp_path, config=cfg)
    rig.run_until(16 * 60)
    reasons = [e["reason"] for e in _types(rig.events, "prompt")]
    assert reasons.count("checkin") == 3
    rig.device.shutdown()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim", "--ppg", "x.csv", "--out", "o"], "--ppg needs --fs"),
        (["sim", "--scenario", "nope", "--out", "o"], "no scenario named 'nope'"),
        (["sim", "--speed", "fast", "--out", "o"], "--speed takes a number or 'max'"),
        (["sim", "--rr", "missing.txt", "--out", "o"], "RR file missing.txt not found"),
        (["sim", "--scenario", "demo", "--rr", "a.txt", "--out", "o"], "choose one of"),
        (["run", "--config", "missing.toml"], "config file missing.toml not found"),
        (["sim", "--ppg", "x.csv", "--fs", "nan", "--out", "o"], "--fs: must be a finite number"),
        (["sim", "--scenario", "demo", "--duration", "1m", "--out", "afile"], "afile is a file, not a directory"),
    ],
)
def test_bad_sim_arguments_get_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a directory")
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_sim_from_an_rr_file(tmp_path, capsys):
    rr = rr_series(400, hr_bpm=70, rmssd_ms=35, seed=9)
    f = tmp_path / "rr.txt"
    f.write_text("rr_ms\n" + "\n".join(f"{v:.1f}" for v in rr))
    assert main(["sim", "--rr", str(f), "--duration", "5m", "--out", str(tmp_path / "o")]) == 0
    events = [json.loads(line) for line in (tmp_path / "o" / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "stop" and events[-1]["t"] == pytest.approx(300, abs=0.5)
    assert "simulated rr" in capsys.readouterr().out
    nn = _nn(tmp_path / "o" / "kindpulse.sqlite")
    assert 60000 / np.median(nn[:, 1]) == pytest.approx(70, abs=3)


def test_an_oled_glitch_on_the_shared_bus_does_not_stop_the_device(tmp_path):
    from kindpulse.hardware.display import make_display
    from kindpulse.sim import RecordingDevice

    rig = _rig(tmp_path)
    rig.bus.devices[0x3C] = oled = RecordingDevice()
    rig.device.screen.display = make_display("ssd1306", bus=rig.bus)
    rig.run_until(20)
    drawn = oled.data_bytes
    assert drawn > 0
    rig.bus.fail_on(lambda tx: tx.addr == 0x3C, count=3)
    rig.run_until(60)
    assert len(_types(rig.events, "display_error")) == 1
    assert oled.data_bytes > drawn  # frames flow again after the glitch
    rig.device.shutdown()
    assert np.sum(_nn(tmp_path / "kindpulse.sqlite")[:, 0] > 20) > 30  # beats never stopped


def test_int_pin_paces_the_loop_on_the_fifo(tmp_path):
    """With INT wired, the loop wakes on A_FULL (17 unread samples) instead of sleeping blindly."""
    from kindpulse.hardware.wait import IntPinWaiter

    rig = _rig(tmp_path)
    device = rig.device
    rig.pins.connect(device.config.pins.int_pin, rig.chip.int_level)
    device.waiter = IntPinWaiter(rig.pins, device.config.pins.int_pin, rig.clock)
    device.run(until_s=30)
    device.shutdown()
    nn = _nn(tmp_path / "kindpulse.sqlite")
    assert len(nn) > 20 and 60000 / np.median(nn[:, 1]) == pytest.approx(66, abs=3)
    assert not _types(rig.events, "samples_lost")


def test_sim_replays_recorded_raw_counts(tmp_path, capsys):
    """--ppg: raw sensor counts at their own rate, resampled by the emulated chip at 100 sps."""
    from kindpulse.sim.synth import SyntheticPPG, beat_times

    bt = beat_times(rr_series(200, hr_bpm=62, rmssd_ms=40, seed=12))
    counts = SyntheticPPG(bt, seed=12).ir(np.arange(0, 180, 1 / 50.0))
    f = tmp_path / "raw.csv"
    f.write_text("ir\n" + "\n".join(f"{v:.0f}" for v in counts))
    assert main(["sim", "--ppg", str(f), "--fs", "50", "--out", str(tmp_path / "o")]) == 0
    events = [json.loads(line) for line in (tmp_path / "o" / "events.jsonl").read_text().splitlines()]
    assert events[-1]["t"] == pytest.approx(180, abs=0.5)  # played to the end of the recording
    nn = _nn(tmp_path / "o" / "kindpulse.sqlite")
    assert 60000 / np.median(nn[:, 1]) == pytest.approx(62, abs=2)
    assert len(nn) > 120


def test_a_clock_that_does_not_start_at_zero(tmp_path):
    """On a Pi, monotonic time at start is the uptime, not 0: beats and HRV must still line up."""
    from kindpulse.clock import VirtualClock
    from kindpulse.hardware.display import make_display
    from kindpulse.sim import EmulatedBus, EmulatedMAX30102, FakePins
    from kindpulse.store.db import Store

    boot_s = 86_400.0 * 3  # booted three days ago
    clock = VirtualClock(start=boot_s)
    config = sim_config(Config(), {}, tmp_path)
    source = SyntheticSource(rr_series(400, hr_bpm=66, rmssd_ms=40, seed=3), t0_s=boot_s + 1, seed=3)
    chip = EmulatedMAX30102(clock=clock, source=source)
    device = Device(config, clock=clock, bus=EmulatedBus({config.device.sensor_address: chip}),
                    pins=FakePins(clock), display=make_display("dummy"),
                    store=Store(tmp_path / "kindpulse.sqlite", clock))
    while device.now() < 120:
        clock.advance(device.step())
    first = [e for e in device.store.events() if e["type"] == "first_beat"]
    assert first and 0 < first[0]["at_s"] < 5  # device time, not uptime
    assert device.monitor.rmssd_ms is not None  # windows found their NN intervals
    assert device.pulse.hr_bpm == pytest.approx(66, abs=8)  # the latest beats, RMSSD 40 ms
    device.shutdown()
