"""Quality flags: kernel against numpy, and each flag on a signal that has (or lacks) it."""

from __future__ import annotations

import numpy as np

from kindpulse.dsp.filter import BandpassFilter
from kindpulse.dsp.quality import (
    CLIPPING,
    MOTION,
    NO_SIGNAL,
    SATURATION,
    QualityParams,
    QualityTracker,
    block_features,
    flag_names,
    new_extremes,
)
from kindpulse.sim.synth import SyntheticPPG, beat_times, rr_series
from tests.naive_dsp import block_features_naive, block_flags_naive

FS = 100.0
FULL = 2**18 - 1


def _ppg(duration_s=60.0, seed=0, **kw):
    bt = beat_times(rr_series(duration_s, seed=seed))
    return SyntheticPPG(bt, seed=seed, **kw).ir(np.arange(int(duration_s * FS)) / FS)


def _flags(raw, full_scale=FULL, **kw):
    q = QualityTracker(FS, full_scale, **kw)
    y = BandpassFilter(FS).process(-raw)
    n = raw.size // q.block * q.block
    return q.measure(raw[:n], y[:n]), q


def _span(flags, q, a_s, b_s):
    return flags[int(a_s * FS) // q.block: int(b_s * FS) // q.block]


def test_block_features_match_numpy():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 1000, 1000).astype(float)
    raw[:250] = np.round(raw[:250] / 200.0) * 200.0  # coarse blocks repeat values
    y = rng.normal(size=1000)
    out = np.empty((20, 9))
    block_features(raw, y, 50, 990.0, 0.002, 3, 200, new_extremes(), out)
    np.testing.assert_allclose(out[:, :6], block_features_naive(raw, y, 50, 990.0, 0.002))
    np.testing.assert_allclose(out[:, 7], np.abs(np.diff(y.reshape(20, 50), axis=1)).max(axis=1))
    d = np.abs(np.diff(raw.reshape(20, 50), axis=1))
    step = np.where(d > 0, d, np.inf).min(axis=1)
    np.testing.assert_allclose(out[:, 8], np.where((d == 0).any(axis=1), step, np.inf))
    assert np.isfinite(out[:, 8]).any() and np.isinf(out[:, 8]).any()


def test_block_flags_match_a_plain_python_reference_in_any_chunking():
    # every flag and a relearnt level: 10-bit counts starting without a finger, a
    # saturated stretch, a motion burst, a steep step, a lost pulse and a lasting new level
    rng = np.random.default_rng(3)
    raw = np.round(_ppg(240.0, seed=2) / 20.0)
    dc = np.median(raw)
    raw[:400] = np.round(dc + 0.8 * rng.standard_normal(400))
    full = float(FULL // 20)
    raw[3000:3300] = full
    t = np.arange(raw.size) / FS
    burst = (t > 60) & (t < 66)
    raw[burst] += np.round(60.0 * np.sin(2 * np.pi * 1.3 * t[burst]))
    raw[t > 90] += 25.0
    raw[(t > 120) & (t < 126)] = np.round(dc + 0.02 * (raw[(t > 120) & (t < 126)] - dc))
    raw[t > 170] = np.round(dc + 5.0 * (raw[t > 170] - dc))
    p = QualityParams()
    y = BandpassFilter(FS).process(-raw)
    q = QualityTracker(FS, full, p)
    n = raw.size // q.block * q.block
    feats = np.empty((n // q.block, 9))
    block_features(raw[:n], y[:n], q.block, full, p.sat_frac, q.clip_run, q.settle, new_extremes(), feats)
    want = block_flags_naive(feats, p, full)
    for bit in (NO_SIGNAL, SATURATION, MOTION):
        assert np.any(want & bit)
    cuts = np.sort(rng.choice(np.arange(1, n // q.block), 40, replace=False)) * q.block
    got = np.concatenate([q.measure(raw[a:b], y[a:b]) for a, b in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True)])
    np.testing.assert_array_equal(got, want)


def test_ring_median_matches_numpy():
    from kindpulse.dsp._numba import median_inplace, ring_median

    rng = np.random.default_rng(1)
    for size in (1, 2, 5, 8, 15):
        ring = rng.normal(size=size)
        ring[rng.integers(0, size)] = ring[0]  # ties
        for n_seen in range(0, 2 * size + 1):
            m = min(n_seen, size)
            assert ring_median(ring, n_seen) == (np.median(ring[:m]) if m else 0.0)
        a = ring.copy()
        assert median_inplace(a, size) == np.median(ring) and np.all(np.diff(a) >= 0)


def test_clean_signal_has_no_flags():
    flags, _ = _flags(_ppg())
    assert np.all(flags == 0)


def test_finger_off_is_no_signal():
    flags, q = _flags(_ppg(finger_off=[(20.0, 30.0)]))
    assert np.all(_span(flags, q, 20.5, 29.5) & NO_SIGNAL)
    assert np.all(_span(flags, q, 5.0, 19.0) == 0)


def test_flat_line_is_no_signal_without_full_scale():
    raw = _ppg()
    raw[2000:4000] = raw[2000]
    flags, q = _flags(raw, full_scale=None)
    assert np.all(_span(flags, q, 20.5, 39.5) & NO_SIGNAL)


def test_saturation_near_full_scale():
    raw = _ppg()
    raw[3000:3200] = FULL
    flags, q = _flags(raw)
    assert np.any(_span(flags, q, 30.0, 32.0) & SATURATION)
    assert not np.any(_span(flags, q, 0.0, 29.0) & SATURATION)


def test_clipping_at_the_rail_but_not_quantisation():
    raw = np.round(_ppg() / 50.0)  # coarse ADC: plateaus inside the range are not clipping
    flags, _ = _flags(raw, full_scale=None)
    assert not np.any(flags & CLIPPING)
    rail = np.percentile(raw, 3)
    clipped = np.maximum(raw, rail)  # raw light is inverted: systolic tops hit the lower rail
    flags, _ = _flags(clipped, full_scale=None)
    assert np.count_nonzero(flags & CLIPPING) > 5


def test_motion_burst_is_flagged_and_edges_are_clean():
    flags, q = _flags(_ppg(motion=[(30.0, 36.0, 8.0)]))
    assert np.mean(_span(flags, q, 30.5, 35.5) & MOTION > 0) > 0.8
    assert np.all(_span(flags, q, 5.0, 29.0) == 0)
    assert np.all(_span(flags, q, 38.0, 59.0) == 0)


def test_a_steep_baseline_step_is_motion_below_the_amplitude_threshold():
    raw = _ppg()
    y = BandpassFilter(FS).process(-raw)
    pulse = np.percentile(y[1000:], 98) - np.percentile(y[1000:], 2)
    t = np.arange(raw.size) / FS

    def step(size, dur_s):  # a raised-cosine step of `size` pulses at 30 s
        return raw - size * pulse * (0.5 - 0.5 * np.cos(np.pi * np.clip((t - 30.0) / dur_s, 0, 1)))

    amp_only = QualityParams(slope_k=1e9)
    for size in (1.5, 2.0):
        assert not np.any(_flags(step(size, 0.05), params=amp_only)[0] & MOTION)  # under 2.5 x
        flags, q = _flags(step(size, 0.05))
        assert np.flatnonzero(flags & MOTION).tolist() == [int(30.0 * FS) // q.block]
    # a slow press of the same size (0.2 s) is no steeper than an upstroke
    assert not np.any(_flags(step(1.5, 0.2))[0] & MOTION)
    for seed in range(4):  # clean pulses of other rates and shapes: never steep
        assert not np.any(_flags(_ppg(300.0, seed=seed))[0])


def test_a_lost_pulse_is_no_signal_but_a_long_pause_is_not():
    raw = _ppg()
    dc = np.median(raw)
    lost = raw.copy()
    lost[2000:3000] = dc + 0.03 * (raw[2000:3000] - dc)  # the pulse fades, the light level stays
    flags, q = _flags(lost)
    assert np.all(_span(flags, q, 22.5, 30.0) & NO_SIGNAL)  # within the 2 s window of the last pulse
    assert np.all(_span(flags, q, 5.0, 20.0) == 0) and np.all(_span(flags, q, 31.0, 59.0) == 0)
    # a premature beat and its compensatory pause at 60 bpm: 1.3 s of flat diastole, which a
    # 1 s window took for a lost pulse (both beats were dropped)
    from tests.family import family, generate

    rec = generate(next(m for m in family(180.0, None) if m.name == "clean-ramp-400Hz-s139"))
    qt = QualityTracker(rec.fs, FULL)
    y = BandpassFilter(rec.fs).process(-rec.x)
    n = rec.x.size // qt.block * qt.block
    assert not np.any(qt.measure(rec.x[:n], y[:n]))
    assert np.any(np.diff(rec.beats[(rec.beats > 63) & (rec.beats < 67)]) > 1.25)  # the pause is there


def test_a_recording_that_starts_without_a_finger_is_no_signal():
    # a 10-bit CSV (HeartPy's data2.csv): 4 s of a few counts of noise before the finger is
    # on; a reference amplitude learnt from that noise rejected nothing, and beats were found
    # in it at 150 bpm
    rng = np.random.default_rng(5)
    raw = np.round(_ppg() / 20.0)  # ~90 ADC steps of pulse
    dc = np.median(raw)
    raw[:400] = np.round(dc + 0.8 * rng.standard_normal(400))
    flags, q = _flags(raw, full_scale=None)
    assert np.all(_span(flags, q, 0.0, 3.5) & NO_SIGNAL)
    assert np.all(_span(flags, q, 6.0, 59.0) == 0)
    from kindpulse.dsp.pipeline import analyze_ppg

    res = analyze_ppg(raw, FS, invert=True)
    beats = np.asarray(res["beats_s"])
    assert beats.min() > 3.9 and beats.size > 60


def test_lasting_new_amplitude_is_learnt_again():
    raw = _ppg(90.0)
    dc = raw.mean()
    raw[4000:] = dc + 4.0 * (raw[4000:] - dc)  # perfusion quadruples and stays
    flags, q = _flags(raw)
    assert np.all(_span(flags, q, 70.0, 89.0) == 0)


def test_flag_names():
    assert flag_names(NO_SIGNAL | MOTION) == ["no_signal", "motion"]
    assert flag_names(0) == []
