"""Lomb-Scargle PSD in ms^2/Hz and LF/HF band powers."""

from __future__ import annotations

import naive_hrv as naive
import numpy as np
import pytest
import scipy.signal

from kindpulse.dsp.spectrum import (
    HF_BAND_HZ,
    LF_BAND_HZ,
    band_grid,
    band_power,
    band_powers,
    lomb_psd,
)
from kindpulse.errors import InputError


def beat_series(duration_s: float, seed: int, amp_ms: float, f_hz: float, noise_ms: float = 0.0):
    """x(t_i) = 850 + A sin(2 pi f t_i) + noise at uneven beat-like times (0.7-1.0 s apart)."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.7, 1.0, int(duration_s / 0.7) + 2))
    t = t[t <= duration_s]
    x = 850 + amp_ms * np.sin(2 * np.pi * f_hz * t) + rng.normal(0, noise_ms, t.size)
    return t, x


def test_psd_matches_naive_lomb_scargle():
    t, x = beat_series(120, 0, 30, 0.2, noise_ms=10)
    f = np.linspace(0.01, 0.5, 97)
    span = t[-1] - t[0]
    scale = 2 * span * t.size / (t.size - 1) / t.size
    np.testing.assert_allclose(lomb_psd(t, x, f), scale * naive.lomb_power(t, x, f), rtol=1e-9)


def test_shape_matches_scipy_lombscargle():
    t, x = beat_series(300, 1, 25, 0.1, noise_ms=15)
    f = np.linspace(0.005, 0.5, 200)
    ours = lomb_psd(t, x, f)
    theirs = scipy.signal.lombscargle(t, x - x.mean(), 2 * np.pi * f, normalize=False)
    ratio = ours / theirs
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)


@pytest.mark.parametrize(
    "amp, f_hz, band, other",
    [(40.0, 0.25, "hf", "lf"), (30.0, 0.10, "lf", "hf"), (15.0, 0.32, "hf", "lf")],
)
def test_sinusoid_amplitude_gives_a2_over_2(amp, f_hz, band, other):
    t, x = beat_series(300, 2, amp, f_hz)
    lf, hf = band_powers(t, x)
    got = {"lf": lf, "hf": hf}
    assert got[band] == pytest.approx(amp**2 / 2, rel=0.03)
    assert got[other] < 0.02 * amp**2 / 2


def test_gap_keeps_band_power():
    amp = 35.0
    t, x = beat_series(300, 3, amp, 0.25)
    keep = (t < 100) | (t > 130)  # a 30 s hole
    _, hf = band_powers(t[keep], x[keep])
    assert hf == pytest.approx(amp**2 / 2, rel=0.06)


def test_integral_over_all_frequencies_is_the_variance():
    rng = np.random.default_rng(4)
    dt = 0.8
    n = 400
    t = np.arange(n) * dt + rng.uniform(0, 0.05, n)
    x = 850 + rng.normal(0, 30, n)
    nyq = 0.5 / dt
    total = band_power(t, x, (1e-4, nyq))
    assert total == pytest.approx(np.var(x), rel=0.05)


def test_grid_is_fine_enough_for_the_window():
    for span in (60.0, 300.0):
        g = band_grid(span, HF_BAND_HZ)
        step = g[1] - g[0]
        assert step <= 1 / (4 * span) + 1e-12
        assert g[0] - step / 2 == pytest.approx(HF_BAND_HZ[0])
        assert g[-1] + step / 2 == pytest.approx(HF_BAND_HZ[1])
    assert LF_BAND_HZ == (0.04, 0.15)


def test_bad_input_raises():
    with pytest.raises(InputError):
        band_powers(np.array([0.0, 1.0]), np.array([800.0, 810.0]))
    with pytest.raises(InputError):
        lomb_psd(np.array([0.0, 1.0, 2.0]), np.array([1.0, np.nan, 2.0]), np.array([0.1]))


def test_band_powers_fast_path_matches_direct_integration():
    # band_powers uses the one-pass rotation kernel; integrate the direct PSD instead
    t, x = beat_series(300, 5, 20, 0.12, noise_ms=20)
    keep = (t < 50) | (t > 61)
    t, x = t[keep], x[keep]
    span = t[-1] - t[0]
    lf, hf = band_powers(t, x)
    for band, got in ((LF_BAND_HZ, lf), (HF_BAND_HZ, hf)):
        g = band_grid(span, band)
        step = (band[1] - band[0]) / g.size
        psd = lomb_psd(t, x, g, covered_s=x.sum() / 1000)
        assert got == pytest.approx(psd.sum() * step, rel=1e-9)
        scale = 2 * (x.sum() / 1000) / t.size
        assert got == pytest.approx(scale * naive.lomb_power(t, x, g).sum() * step, rel=1e-9)
