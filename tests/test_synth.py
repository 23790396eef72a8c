"""The synthetic recordings are the truth other tests measure against: check them."""

import numpy as np
import pytest

from kindpulse.sim.synth import SyntheticPPG, beat_times, rmssd, rr_series


def test_rr_series_hits_heart_rate_and_rmssd():
    rr = rr_series(600, hr_bpm=65, rmssd_ms=35, seed=4)
    assert rr.sum() / 1000 >= 600
    assert 60000 / rr.mean() == pytest.approx(65, rel=0.01)
    assert rmssd(rr) == pytest.approx(35, rel=0.05)


def test_rr_series_follows_a_profile():
    rr = rr_series(
        600, hr_bpm=lambda t: 70 if t < 300 else 82, rmssd_ms=lambda t: 40 if t < 300 else 22, seed=2
    )
    bt = beat_times(rr, t0_s=0.0)
    split = np.searchsorted(bt, 300)
    assert 60000 / rr[: split - 1].mean() == pytest.approx(70, abs=1.5)
    assert 60000 / rr[split + 1 :].mean() == pytest.approx(82, abs=1.5)
    assert rmssd(rr[split + 1 :]) < 0.7 * rmssd(rr[: split - 1])


def test_pulse_peaks_sit_exactly_on_the_beat_times():
    bt = beat_times(rr_series(60, seed=1))
    ppg = SyntheticPPG(bt, seed=3)
    t = np.arange(3, 55, 0.0005)
    v = ppg.pulse(t)
    half = int(0.35 / 0.0005)  # the dicrotic wave is a local maximum too, but not within 0.35 s
    is_peak = [i for i in range(half, t.size - half) if v[i] == v[i - half : i + half + 1].max()]
    peaks = t[is_peak]
    expected = bt[(bt > 3.2) & (bt < 54.8)]
    assert peaks.size == expected.size
    assert np.abs(peaks - expected).max() < 0.001


def test_counts_are_inverted_and_a_pure_function_of_time():
    ppg = SyntheticPPG(beat_times(rr_series(30, seed=1)), seed=5)
    t = np.arange(0, 30, 0.01)
    whole = ppg.ir(t)
    pieces = np.concatenate([ppg.ir(t[:777]), ppg.ir(t[777:])])
    np.testing.assert_array_equal(whole, pieces)
    peak = ppg.beat_times_s[5]
    # more blood, less light: at the systolic peak the IR count dips
    assert ppg.ir(np.array([peak]))[0] < ppg.ir(np.array([peak - 0.15]))[0]
    assert 95_000 < whole.mean() < 105_000


def test_finger_off_and_motion_spans_leave_the_truth():
    bt = beat_times(rr_series(120, seed=1))
    ppg = SyntheticPPG(bt, seed=1, motion=[(30, 40, 5.0)], finger_off=[(60, 80)])
    off = ppg.ir(np.arange(65, 75, 0.01))
    assert off.mean() < 1000
    truth = ppg.true_beats(margin_s=1.0)
    assert not np.any((truth > 29) & (truth < 41))
    assert not np.any((truth > 59) & (truth < 81))
    assert truth.size > bt.size - 45  # 34 s disturbed + margins at ~70 bpm
