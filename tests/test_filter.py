"""Causal band-pass: design and filtering against scipy, streaming against one block."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kindpulse.dsp.filter import (
    BandpassFilter,
    butter_bandpass_sos,
    butter_lowpass_sos,
    group_delay_s,
    sosfilt,
    steady_state,
)
from kindpulse.errors import ConfigError
from tests.naive_dsp import sosfilt_loops

signal = pytest.importorskip("scipy.signal")


@pytest.mark.parametrize("fs", [25.0, 50.0, 100.0, 400.0])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_bandpass_design_matches_scipy_response(fs, order):
    ours = butter_bandpass_sos(0.5, 8.0, fs, order)
    ref = signal.butter(order, [0.5, 8.0], "bandpass", fs=fs, output="sos")
    w = np.linspace(0.01, fs / 2 * 0.99, 200)
    _, h1 = signal.sosfreqz(ours, w, fs=fs)
    _, h2 = signal.sosfreqz(ref, w, fs=fs)
    np.testing.assert_allclose(h1, h2, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("fs", [25.0, 100.0])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_lowpass_design_matches_scipy_response(fs, order):
    ours = butter_lowpass_sos(8.0, fs, order)
    ref = signal.butter(order, 8.0, fs=fs, output="sos")
    _, h1 = signal.sosfreqz(ours, 256, fs=fs)
    _, h2 = signal.sosfreqz(ref, 256, fs=fs)
    np.testing.assert_allclose(h1, h2, rtol=1e-7, atol=1e-10)


def test_sosfilt_matches_scipy_and_loops():
    rng = np.random.default_rng(1)
    x = rng.normal(size=3000)
    sos = butter_bandpass_sos(0.5, 8.0, 100.0)
    y, _ = sosfilt(sos, x)
    np.testing.assert_allclose(y, signal.sosfilt(sos, x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y[:500], sosfilt_loops(sos, x[:500]), rtol=1e-9, atol=1e-12)


def test_steady_state_matches_scipy_zi():
    sos = butter_bandpass_sos(0.5, 8.0, 100.0, 3)
    np.testing.assert_allclose(steady_state(sos, 3.5), signal.sosfilt_zi(sos) * 3.5, rtol=1e-9, atol=1e-12)


def test_group_delay_matches_scipy():
    sos = butter_bandpass_sos(0.5, 8.0, 100.0)
    b, a = signal.sos2tf(sos)
    for f in (1.0, 2.0, 5.0):
        _, gd = signal.group_delay((b, a), w=[f], fs=100.0)
        assert group_delay_s(sos, 100.0, f) == pytest.approx(gd[0] / 100.0, rel=1e-4)


def test_dc_level_does_not_ring():
    # raw counts sit on a large DC level; the first sample initialises the state to it
    f = BandpassFilter(100.0)
    y = f.process(np.full(500, 100_000.0))
    assert np.max(np.abs(y)) < 1e-6


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=12))
def test_chunked_equals_one_block(cuts):
    rng = np.random.default_rng(7)
    x = 1000.0 + rng.normal(size=2000).cumsum()
    whole = BandpassFilter(100.0).process(x)
    f = BandpassFilter(100.0)
    edges = np.unique(np.clip(np.cumsum(cuts), 0, x.size))
    parts = [f.process(p) for p in np.split(x, edges)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize(
    "lo,hi,fs", [(0.5, 60.0, 100.0), (0.0, 8.0, 100.0), (8.0, 0.5, 100.0), (0.5, 8.0, -1.0)]
)
def test_bad_band_is_a_config_error(lo, hi, fs):
    with pytest.raises(ConfigError):
        butter_bandpass_sos(lo, hi, fs)
