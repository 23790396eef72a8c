"""HRV metrics: naive references, NeuroKit2 parity, null-ness rules, gaps, Baevsky SI."""

from __future__ import annotations

import math

import naive_hrv as naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kindpulse.dsp.hrv import (
    HRV_KEYS,
    MIN_NN_TIME_DOMAIN,
    MIN_PAIRS_SUCCESSIVE,
    POPULATION_REFERENCE,
    Norm,
    Reference,
    hrv_metrics,
    pns_sns,
)
from kindpulse.errors import InputError


def contiguous(n: int, seed: int, integer_ms: bool = False):
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.85
    nn = 850 + 40 * np.sin(2 * np.pi * 0.25 * t) + 20 * np.sin(2 * np.pi * 0.09 * t) + rng.normal(0, 25, n)
    if integer_ms:
        nn = np.round(nn)
    nn_t = 10.0 + np.cumsum(nn) / 1000.0
    return nn_t, nn


def with_gaps(nn_t: np.ndarray, nn: np.ndarray, drop: np.ndarray):
    keep = np.ones(len(nn), dtype=bool)
    keep[drop] = False
    return nn_t[keep], nn[keep]


# ----------------------------------------------------------------------------- references


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(40, 400), n_gaps=st.integers(0, 5))
def test_matches_naive_reference_with_gaps(seed, n, n_gaps):
    nn_t, nn = contiguous(n, seed)
    rng = np.random.default_rng(seed + 1)
    drop = rng.choice(np.arange(1, n - 1), size=n_gaps, replace=False)
    t, v = with_gaps(nn_t, nn, drop)
    ref = naive.time_domain(t, v)
    got = hrv_metrics(t, v)
    for key in ("mean_nn_ms", "hr_bpm", "sdnn_ms"):
        assert got[key] == pytest.approx(ref[key], rel=1e-12)
    if ref["n_pairs"] >= MIN_PAIRS_SUCCESSIVE:
        for key in ("rmssd_ms", "pnn50", "sd1_ms", "sd2_ms"):
            assert got[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12)
        assert got["ln_rmssd"] == pytest.approx(math.log(ref["rmssd_ms"]), rel=1e-12)
    if got["stress_index"] is not None:
        assert got["stress_index"] == pytest.approx(naive.stress_index(v), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_neurokit_on_contiguous_series(seed):
    nk = pytest.importorskip("neurokit2")  # the dev extra; the suite still runs without it

    _, nn = contiguous(300, seed, integer_ms=True)
    peaks = np.concatenate([[0], np.cumsum(nn)]).astype(np.int64)  # ms samples at 1 kHz
    nk_time = nk.hrv_time(peaks, sampling_rate=1000)
    nk_nl = nk.hrv_nonlinear(peaks, sampling_rate=1000)
    nn_t = peaks[1:] / 1000.0
    got = hrv_metrics(nn_t, np.diff(peaks).astype(float))
    assert got["rmssd_ms"] == pytest.approx(float(nk_time["HRV_RMSSD"].iloc[0]), rel=1e-9)
    assert got["sdnn_ms"] == pytest.approx(float(nk_time["HRV_SDNN"].iloc[0]), rel=1e-9)
    assert got["mean_nn_ms"] == pytest.approx(float(nk_time["HRV_MeanNN"].iloc[0]), rel=1e-9)
    assert got["pnn50"] == pytest.approx(float(nk_time["HRV_pNN50"].iloc[0]), rel=1e-9)
    assert got["sd1_ms"] == pytest.approx(float(nk_nl["HRV_SD1"].iloc[0]), rel=1e-9)
    assert got["sd2_ms"] == pytest.approx(float(nk_nl["HRV_SD2"].iloc[0]), rel=1e-9)


# ----------------------------------------------------------------------------- gaps


def test_gap_creates_no_successive_difference():
    # two runs at very different levels; a difference across the gap would be ~300 ms
    t1, v1 = contiguous(60, 3)
    v2 = v1 + 300.0
    t2 = t1[-1] + 20.0 + np.cumsum(v2) / 1000.0  # 20 s hole, then run 2
    t = np.concatenate([t1, t2])
    v = np.concatenate([v1, v2])
    got = hrv_metrics(t, v)
    d = np.concatenate([np.diff(v1), np.diff(v2)])
    assert got["rmssd_ms"] == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-12)
    # and joining the runs (no gap) would have changed it
    joined_t = 10.0 + np.cumsum(v) / 1000.0
    assert hrv_metrics(joined_t, v)["rmssd_ms"] > got["rmssd_ms"] + 1.0


def test_one_ms_adjacency_tolerance():
    t, v = contiguous(40, 4)
    t2 = t.copy()
    t2[20:] += 0.0009  # shifts interval 20's start by 0.9 ms: still adjacent
    assert naive.adjacent_pairs(t2, v) == naive.adjacent_pairs(t, v)
    t3 = t.copy()
    t3[20:] += 0.0015  # 1.5 ms: not adjacent
    assert len(naive.adjacent_pairs(t3, v)) == len(v) - 2
    v_ok = hrv_metrics(t2, v)["rmssd_ms"]
    v_cut = hrv_metrics(t3, v)["rmssd_ms"]
    assert v_ok == pytest.approx(naive.time_domain(t, v)["rmssd_ms"], rel=1e-12)
    assert v_cut == pytest.approx(naive.time_domain(t3, v)["rmssd_ms"], rel=1e-12)
    assert v_ok != v_cut


# ----------------------------------------------------------------------------- null-ness


def test_time_domain_minimum():
    t, v = contiguous(MIN_NN_TIME_DOMAIN, 5)
    assert hrv_metrics(t, v)["sdnn_ms"] is not None
    short = hrv_metrics(t[1:], v[1:])
    assert short["mean_nn_ms"] is None and short["hr_bpm"] is None and short["sdnn_ms"] is None


def test_successive_minimum_counts_adjacent_pairs_only():
    t, v = contiguous(30, 6)
    # every other interval dropped: 15 intervals, no adjacent pairs at all
    sparse = hrv_metrics(t[::2], v[::2])
    assert all(sparse[k] is None for k in ("rmssd_ms", "ln_rmssd", "pnn50", "sd1_ms", "sd2_ms"))
    # 16 contiguous intervals = 15 pairs: defined; 15 intervals = 14 pairs: not
    assert hrv_metrics(t[:16], v[:16])["rmssd_ms"] is not None
    assert hrv_metrics(t[:15], v[:15])["rmssd_ms"] is None


def test_stress_index_needs_30_s():
    v = np.full(34, 850.0)
    v[::3] = 900.0
    t = np.cumsum(v) / 1000.0
    assert v.sum() < 30_000
    assert hrv_metrics(t, v)["stress_index"] is None
    v2 = np.concatenate([v, [850.0, 900.0]])
    t2 = np.cumsum(v2) / 1000.0
    assert v2.sum() >= 30_000
    assert hrv_metrics(t2, v2)["stress_index"] is not None
    flat = np.full(40, 850.0)
    assert hrv_metrics(np.cumsum(flat) / 1000.0, flat)["stress_index"] is None  # MxDMn = 0


@pytest.mark.parametrize(
    "n, hf, lf",
    [(60, False, False), (80, True, False), (150, True, True)],
)
def test_spectral_minimums(n, hf, lf):
    t, v = contiguous(n, 7)  # ~0.85 s per beat: 51 s, 68 s, 128 s
    got = hrv_metrics(t, v)
    assert (got["hf_ms2"] is not None) == hf
    assert (got["lf_ms2"] is not None) == lf
    assert (got["lf_hf"] is not None) == (hf and lf)


def test_empty_and_tiny_windows_are_all_none():
    for n in (0, 1, 2):
        t, v = contiguous(max(n, 1), 8)
        got = hrv_metrics(t[:n], v[:n])
        assert set(got) == set(HRV_KEYS)
        assert all(got[k] is None for k in HRV_KEYS)


def test_bad_input_raises():
    with pytest.raises(InputError):
        hrv_metrics(np.array([1.0, 2.0]), np.array([800.0]))
    with pytest.raises(InputError):
        hrv_metrics(np.array([2.0, 1.0]), np.array([800.0, 800.0]))
    with pytest.raises(InputError):
        hrv_metrics(np.array([1.0, 2.0]), np.array([800.0, np.nan]))


# ----------------------------------------------------------------------------- Baevsky SI


def test_stress_index_hand_worked():
    # 18 x 800, 12 x 850, 6 x 900 ms = 30.0 s. Bins of 50 ms: [800,850) holds 18 of 36.
    # AMo = 50 %, Mo = 0.825 s (bin centre), MxDMn = 0.900 - 0.800 = 0.100 s
    # SI = 50 / (2 * 0.825 * 0.100) = 303.03; Kubios scale sqrt(SI) = 17.408
    rng = np.random.default_rng(9)
    v = rng.permutation(np.array([800.0] * 18 + [850.0] * 12 + [900.0] * 6))
    t = 5.0 + np.cumsum(v) / 1000.0
    got = hrv_metrics(t, v)["stress_index"]
    assert got == pytest.approx(math.sqrt(50.0 / (2 * 0.825 * 0.100)), rel=1e-12)
    assert got == pytest.approx(17.4078, abs=1e-4)


# ----------------------------------------------------------------------------- PNS / SNS


def test_pns_sns_are_equal_weight_z_means():
    ref = Reference(
        mean_nn_ms=Norm(900, 100), rmssd_ms=Norm(40, 10), sd1_ms=Norm(30, 10),
        hr_bpm=Norm(66, 6), stress_index=Norm(10, 2), sd2_ms=Norm(60, 20),
    )
    m = {"mean_nn_ms": 1000.0, "rmssd_ms": 50.0, "sd1_ms": 20.0,
         "hr_bpm": 60.0, "stress_index": 14.0, "sd2_ms": 80.0}
    pns, sns = pns_sns(m, ref)
    assert pns == pytest.approx((1 + 1 - 1) / 3)
    assert sns == pytest.approx((-1 + 2 - 1) / 3)
    m["sd1_ms"] = None
    assert pns_sns(m, ref)[0] is None and pns_sns(m, ref)[1] is not None


def test_pns_sns_move_the_right_way():
    t, v = contiguous(300, 10)
    calm = hrv_metrics(t, v)
    # stressed: faster and less variable
    v2 = 0.8 * v.mean() + 0.4 * (v - v.mean())
    t2 = np.cumsum(v2) / 1000.0
    tense = hrv_metrics(t2, v2)
    assert tense["pns_index"] < calm["pns_index"]
    assert tense["sns_index"] > calm["sns_index"]
    assert POPULATION_REFERENCE.hr_bpm.mean == pytest.approx(60000 / POPULATION_REFERENCE.mean_nn_ms.mean)


def test_all_keys_present_and_finite_on_a_long_window():
    t, v = contiguous(400, 11)
    got = hrv_metrics(t, v)
    assert list(got) == list(HRV_KEYS)
    for k in HRV_KEYS:
        assert got[k] is not None and math.isfinite(got[k]) and isinstance(got[k], float), k


def test_norm_rejects_non_positive_sd():
    with pytest.raises(InputError):
        Norm(40.0, 0.0)
    with pytest.raises(InputError):
        Norm(float("nan"), 1.0)
