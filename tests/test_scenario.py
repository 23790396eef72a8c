"""Scenarios: parsing, errors that say what to do, and sources that follow the segments."""

import numpy as np
import pytest

from kindpulse.errors import ConfigError
from kindpulse.sim.scenario import bundled_names, load_scenario, parse_duration, scenario_from_dict
from kindpulse.sim.synth import rmssd


@pytest.mark.parametrize(("text", "seconds"), [("8h", 28800), ("25m", 1500), ("90s", 90), ("1h30m", 5400), (12, 12)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "0s", -3, True, ""])
def test_parse_duration_rejects_nonsense(bad):
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(bad)


def test_bundled_scenarios_load():
    assert {"calm-day", "stress-episode", "exercise", "finger-off", "demo"} <= set(bundled_names())
    assert load_scenario("calm-day").duration_s == 8 * 3600


def test_unknown_scenario_names_the_choices():
    with pytest.raises(ConfigError, match="use one of .*calm-day"):
        load_scenario("no-such-day")


def test_segment_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"segments\[0\]: unknown key 'heart'"):
        scenario_from_dict({"segments": [{"duration": "1m", "heart": 3}]}, "x")
    with pytest.raises(ConfigError, match="needs a duration"):
        scenario_from_dict({"segments": [{"hr_bpm": 60}]}, "x")
    with pytest.raises(ConfigError, match="stress must be between 0 and 1"):
        scenario_from_dict({"segments": [{"duration": "1m", "stress": 3}]}, "x")


def test_stress_segment_raises_hr_and_lowers_rmssd():
    sc = scenario_from_dict(
        {"seed": 3, "defaults": {"hr_bpm": 66, "rmssd_ms": 42},
         "segments": [{"duration": "10m"}, {"duration": "10m", "stress": 1.0, "ramp": "30s"}]},
        "t",
    )
    src = sc.source(t0_s=0.0)
    src.extend_to(sc.duration_s)  # the wearer's beats are made as the run goes; make them all
    bt, rr = src.beat_times_s[1:], src.rr_ms
    calm, stressed = rr[bt < 600], rr[(bt > 660) & (bt < 1200)]
    assert 60000 / stressed.mean() - 60000 / calm.mean() == pytest.approx(12, abs=1.5)
    assert rmssd(stressed) / rmssd(calm) == pytest.approx(0.55, abs=0.08)
    assert sc.stress_onsets_s() == [600.0]


def test_finger_off_motion_and_presses_are_placed_in_time():
    sc = scenario_from_dict(
        {"seed": 1, "segments": [
            {"duration": "5m", "motion_per_hour": 120, "press_at": ["30s"]},
            {"duration": "2m", "finger": False, "long_press_at": [10]},
        ]},
        "t",
    )
    src = sc.source()
    assert src.ppg.finger_off[0].start_s == 300 and src.ppg.finger_off[0].end_s == 420
    assert all(0 <= m.start_s < 300 for m in src.ppg.motion) and len(src.ppg.motion) > 2
    assert sc.presses() == ([30.0], [310.0])
    red, ir = src.sample(np.array([350.0]))
    assert ir[0] < 2000  # no finger: ambient light only
