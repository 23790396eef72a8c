"""The emulated wearer: the scenario's physiology, and its answer to the device's breaks."""

from __future__ import annotations

import numpy as np
import pytest

from kindpulse.sim.scenario import scenario_from_dict
from kindpulse.sim.sources import WearerSource
from kindpulse.sim.synth import rmssd, rr_series
from kindpulse.sim.wearer import PACED_HR_EASE_BPM, PACED_RMSSD_RISE_MS, Wearer, WearerConfig


def _wearer(hr=66.0, rm=40.0, resp=0.25, seed=5, follows=True) -> Wearer:
    return Wearer(
        lambda t: hr, lambda t: rm, lambda t: resp, seed=seed, config=WearerConfig(follows_pacer=follows)
    )


def _rr(bt: np.ndarray, lo: float, hi: float) -> np.ndarray:
    k = (bt[:-1] >= lo) & (bt[:-1] < hi)
    return np.diff(bt)[k] * 1000.0


def _spectrum(bt: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Periodogram of the RR tachogram in [lo, hi), resampled at 4 Hz (Hann window)."""
    t = np.arange(lo, hi, 0.25)
    rr = np.interp(t, bt[1:], np.diff(bt))
    x = (rr - rr.mean()) * np.hanning(t.size)
    return np.fft.rfftfreq(t.size * 4, 0.25), np.abs(np.fft.rfft(x, t.size * 4)) ** 2


def _peak_hz(bt: np.ndarray, lo: float, hi: float, f_lo: float = 0.04, f_hi: float = 0.5) -> float:
    f, p = _spectrum(bt, lo, hi)
    band = (f > f_lo) & (f < f_hi)
    return float(f[band][np.argmax(p[band])])


def _power(bt: np.ndarray, lo: float, hi: float, f_lo: float, f_hi: float) -> float:
    f, p = _spectrum(bt, lo, hi)
    return float(p[(f >= f_lo) & (f < f_hi)].sum())


def test_unpaced_wearer_matches_the_batch_rr_model():
    """Same targets as synth.rr_series (the reference, normalised after the fact)."""
    bt = _wearer(hr=65, rm=35, seed=4).beats_until(1800.0)
    rr = np.diff(bt) * 1000
    ref = rr_series(1800, hr_bpm=65, rmssd_ms=35, seed=4)
    assert 60000 / rr.mean() == pytest.approx(60000 / ref.mean(), rel=0.01)
    assert rmssd(rr) == pytest.approx(rmssd(ref), rel=0.08)
    assert _peak_hz(bt, 60, 1800, 0.15) == pytest.approx(0.25, abs=0.02)  # RSA at the breathing rate


def test_breathing_with_the_pacer_hits_the_literature_magnitudes():
    """Steady paced breathing at 6/min against the same wearer unpaced, one hour each:
    RMSSD +0.37 SD (Shao et al. 2024), HR -0.1 SD, a much larger slow oscillation (SDNN)."""
    plain, paced = _wearer(seed=2), _wearer(seed=2)
    paced.on_break_start(0.0, 0.1)
    a, b = plain.beats_until(3600), paced.beats_until(3600)
    ra, rb = np.diff(a) * 1000, np.diff(b) * 1000
    assert rmssd(ra) == pytest.approx(40.0, abs=0.8)
    assert rmssd(rb) - rmssd(ra) == pytest.approx(PACED_RMSSD_RISE_MS, abs=0.8)
    assert 60000 / rb.mean() - 60000 / ra.mean() == pytest.approx(-PACED_HR_EASE_BPM, abs=0.15)
    assert np.std(rb) > 1.8 * np.std(ra)  # resonance: SDNN grows far more than RMSSD
    assert _peak_hz(b, 60, 3600) == pytest.approx(0.1, abs=0.01)
    slow = (60, 3600, 0.08, 0.12)
    assert _power(b, *slow) > 5 * _power(a, *slow)  # the breath moved into LF and grew
    assert _power(b, 60, 3600, 0.15, 0.4) < 0.3 * _power(a, 60, 3600, 0.15, 0.4)


def test_a_break_changes_the_beats_ahead_then_fades():
    start, end = 600.0, 780.0
    gains, late_ratio = [], []
    for seed in range(12):
        plain, paced = _wearer(seed=seed), _wearer(seed=seed)
        a = plain.beats_until(start)
        b = paced.beats_until(start)
        np.testing.assert_array_equal(a, b)  # nothing changes before the break
        paced.on_break_start(start, 0.1)
        a, b = np.concatenate([a, plain.beats_until(end)]), np.concatenate([b, paced.beats_until(end)])
        paced.on_break_end(end)
        a, b = np.concatenate([a, plain.beats_until(2400)]), np.concatenate([b, paced.beats_until(2400)])
        gains.append(rmssd(_rr(b, end - 120, end)) - rmssd(_rr(a, end - 120, end)))
        late = (end + 900, end + 1500)  # 15-25 min later: back to the wearer's own rhythm
        late_ratio.append(rmssd(_rr(b, *late)) / rmssd(_rr(a, *late)))
        if seed == 0:
            assert _peak_hz(b, start + 30, end) == pytest.approx(0.1, abs=0.015)
            assert _peak_hz(b, *late, 0.15) == pytest.approx(0.25, abs=0.03)
    assert 3.0 < np.mean(gains) < 8.5  # 12 two-minute windows: the mean of noisy short estimates
    assert np.mean(late_ratio) == pytest.approx(1.0, abs=0.05)


def test_a_wearer_who_ignores_the_pacer_does_not_change():
    plain, ignoring = _wearer(), _wearer(follows=False)
    ignoring.on_break_start(100.0, 0.1)
    ignoring.on_break_end(280.0)
    np.testing.assert_array_equal(plain.beats_until(600), ignoring.beats_until(600))


def test_the_source_makes_beats_only_just_ahead_and_is_deterministic():
    def run():
        src = WearerSource(_wearer(), seed=2)
        out = []
        for t0 in np.arange(0, 120, 0.32):  # the chip's drains: a block of sample times each
            t = t0 + np.arange(32) * 0.01
            out.append(src.sample(t)[1])
            assert src.beat_times_s[-1] <= max(t[-1], 1.0) + WearerSource.LOOKAHEAD_S
            if t0 == 60.0 - 60.0 % 0.32:
                src.wearer.on_break_start(float(t[-1]), 0.1)  # the device answers mid-run
        return np.concatenate(out), src

    x1, s1 = run()
    x2, _ = run()
    np.testing.assert_array_equal(x1, x2)
    assert s1.beat_times_s.size > 100 and np.all(np.diff(s1.beat_times_s) > 0.3)


def test_the_wearer_section_of_a_scenario():
    sc = scenario_from_dict(
        {"wearer": {"accept_prompts_after": "15s", "follows_pacer": False}, "segments": [{"duration": "1m"}]},
        "w",
    )
    assert sc.wearer == WearerConfig(follows_pacer=False, accept_after_s=15.0)
    assert sc.source().wearer.config.follows_pacer is False
    assert scenario_from_dict({"segments": [{"duration": "1m"}]}, "d").wearer == WearerConfig()
