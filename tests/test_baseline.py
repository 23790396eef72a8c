"""Personal baseline: calibration, exclusions, robust norms, floors, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kindpulse.errors import ConfigError
from kindpulse.stress.baseline import PARAMS, Baseline, BaselineConfig

CALM = {
    "mean_nn_ms": 900.0,
    "rmssd_ms": 40.0,
    "sd1_ms": 28.0,
    "hr_bpm": 66.7,
    "stress_index": 10.0,
    "sd2_ms": 60.0,
}


def noisy(rng: np.random.Generator, base: dict[str, float] = CALM, rel: float = 0.08) -> dict[str, float]:
    return {k: v * (1 + rel * rng.standard_normal()) for k, v in base.items()}


def feed(b: Baseline, n: int, rng: np.random.Generator, t0: float = 0.0, **kw: object) -> float:
    t = t0
    for _ in range(n):
        t += 60.0
        b.add(t, noisy(rng), coverage=1.0, usable=True, motion=False, **kw)
    return t


def test_calibrating_until_minimum_then_ready() -> None:
    b = Baseline(BaselineConfig(min_calibration_windows=8))
    rng = np.random.default_rng(0)
    t = feed(b, 7, rng)
    assert not b.ready and b.state.progress == pytest.approx(7 / 8)
    with pytest.raises(RuntimeError):
        b.norms()
    feed(b, 1, rng, t0=t)
    assert b.ready and b.state.progress == 1.0 and not b.calibration_complete


def test_one_sample_per_minute_even_with_5s_updates() -> None:
    b = Baseline()
    accepted = [b.add(t, CALM, coverage=1.0, usable=True, motion=False) for t in np.arange(0, 300, 5.0)]
    assert sum(accepted) == 5


@pytest.mark.parametrize(
    "kw",
    [
        {"usable": False, "motion": False},
        {"usable": True, "motion": True},
        {"usable": True, "motion": False, "stressed": True},
        {"usable": True, "motion": False, "in_break": True},
    ],
)
def test_excluded_windows_are_not_learned(kw: dict[str, bool]) -> None:
    b = Baseline()
    assert not b.add(60.0, CALM, coverage=1.0, **kw)
    assert b.state.n_windows == 0


def test_low_coverage_and_missing_metric_excluded() -> None:
    b = Baseline()
    assert not b.add(60.0, CALM, coverage=0.5, usable=True, motion=False)
    assert not b.add(120.0, {**CALM, "stress_index": None}, coverage=1.0, usable=True, motion=False)
    assert not b.add(180.0, None, coverage=1.0, usable=True, motion=False)


def test_norms_are_robust_to_outlier_minutes() -> None:
    b = Baseline()
    rng = np.random.default_rng(3)
    t = feed(b, 40, rng)
    for i in range(6):  # artefact-ridden minutes that slipped through
        b.add(t + 60 * (i + 1), {**CALM, "rmssd_ms": 250.0}, coverage=1.0, usable=True, motion=False)
    n = b.norms()
    assert n["rmssd_ms"].mean == pytest.approx(40.0, rel=0.06)
    assert n["rmssd_ms"].sd < 9.0  # a plain SD would be ~70 ms here


def test_sd_floor_stops_z_scores_exploding() -> None:
    b = Baseline()
    for i in range(10):  # a perfectly steady calibration: MAD = 0
        b.add(60.0 * (i + 1), CALM, coverage=1.0, usable=True, motion=False)
    n = b.norms()
    assert n["hr_bpm"].sd == pytest.approx(2.5)
    assert n["rmssd_ms"].sd == pytest.approx(0.2 * 40.0)
    assert b.z("hr_bpm", 66.7 + 12) == pytest.approx(12 / n["hr_bpm"].sd)
    assert b.z("hr_bpm", None) is None


def test_history_is_bounded_and_follows_slow_change() -> None:
    cfg = BaselineConfig(history_windows=100, target_calibration_windows=20)
    b = Baseline(cfg)
    rng = np.random.default_rng(4)
    t = feed(b, 100, rng)
    shifted = {**CALM, "rmssd_ms": 50.0}
    for i in range(100):  # a later day where the wearer's calm RMSSD is higher
        b.add(t + 60 * (i + 1), noisy(rng, shifted), coverage=1.0, usable=True, motion=False)
    assert b.state.n_windows == 100
    assert b.norms()["rmssd_ms"].mean == pytest.approx(50.0, rel=0.06)


def test_round_trip_through_json() -> None:
    b = Baseline()
    rng = np.random.default_rng(5)
    feed(b, 30, rng)
    restored = Baseline.from_dict(json.loads(json.dumps(b.to_dict())))
    assert restored.norms() == b.norms()
    assert restored.state == b.state
    # The restored baseline keeps learning, starting with the very next window.
    assert restored.add(10.0, CALM, coverage=1.0, usable=True, motion=False)


def test_round_trip_after_wrap_keeps_newest() -> None:
    b = Baseline(BaselineConfig(history_windows=25))
    rng = np.random.default_rng(6)
    feed(b, 60, rng)
    d = b.to_dict()
    assert len(d["values"]) == 25 and d["t_s"] == sorted(d["t_s"]) and d["t_s"][-1] == 3600.0
    small = Baseline.from_dict(d, BaselineConfig(history_windows=20, target_calibration_windows=20))
    assert small.to_dict()["t_s"] == d["t_s"][-20:]


def test_from_dict_rejects_unknown_version() -> None:
    with pytest.raises(ValueError, match="version"):
        Baseline.from_dict({"version": 99, "params": list(PARAMS), "t_s": [], "values": []})


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ConfigError, match="min_calibration_windows"):
        BaselineConfig(min_calibration_windows=0)
    with pytest.raises(ConfigError, match="target_calibration_windows"):
        BaselineConfig(min_calibration_windows=10, target_calibration_windows=5)
    with pytest.raises(ConfigError, match="sd_floor_abs"):
        BaselineConfig(sd_floor_abs={"heart": 2.0})
    with pytest.raises(ConfigError, match="sd_floor_rel.rmssd_ms"):
        BaselineConfig(sd_floor_rel={"rmssd_ms": 1.5})


def test_partial_floor_override_keeps_other_defaults() -> None:
    cfg = BaselineConfig(sd_floor_abs={"hr_bpm": 4.0})
    assert cfg.sd_floor_abs["hr_bpm"] == 4.0 and cfg.sd_floor_abs["rmssd_ms"] == 3.0


def test_reference_matches_norms_when_hrv_module_exists() -> None:
    pytest.importorskip("kindpulse.dsp.hrv")
    b = Baseline()
    feed(b, 10, np.random.default_rng(7))
    ref = b.reference()
    assert ref.rmssd_ms.mean == b.norms()["rmssd_ms"].mean
    assert ref.hr_bpm.sd == b.norms()["hr_bpm"].sd


def test_motion_defaults_to_false_for_callers_that_fold_it_into_usable() -> None:
    b = Baseline()
    assert b.add(60.0, CALM, coverage=1.0, usable=True)
    assert not b.add(120.0, CALM, coverage=1.0, usable=False)
