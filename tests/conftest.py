"""Shared fixtures. PPG/DSP data: synthetic PPG and the real recordings that ship with
the peer packages (loaded from the installed packages at test time, never committed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (deterministic CI) and keep no database.
settings.register_profile("kindpulse", derandomize=True, database=None, deadline=None)
settings.load_profile("kindpulse")


def _pkg_dir(name: str) -> Path | None:
    try:
        mod = __import__(name)
    except Exception:  # noqa: BLE001 - a missing or broken peer just skips its tests
        return None
    return Path(os.path.dirname(mod.__file__))


@pytest.fixture(scope="session")
def systole_datasets() -> Path:
    """Directory of systole's bundled recordings (Task1_ECG.npy, ppg.npy, ...)."""
    d = _pkg_dir("systole")
    if d is None or not (d / "datasets" / "ppg.npy").exists():
        pytest.skip("systole with its bundled datasets is not installed (dev extra)")
    return d / "datasets"


@pytest.fixture(scope="session")
def heartpy_data() -> Path:
    """Directory of HeartPy's bundled example PPG (data.csv, data2.csv, data3.csv)."""
    d = _pkg_dir("heartpy")
    if d is None or not (d / "data" / "data.csv").exists():
        pytest.skip("heartpy with its example data is not installed (dev extra)")
    return d / "data"


@pytest.fixture(scope="session")
def ecg_beats(systole_datasets: Path) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Beat times (s) of the first 4 minutes of systole's real 25-minute ECG, and its
    respiration (t_s, signal). R peaks by NeuroKit2 (ecg_clean + ecg_peaks) at 1000 Hz,
    plus a constant 0.25 s pulse transit time."""
    nk = pytest.importorskip("neurokit2")
    fs = 1000.0
    # cleaned first (NeuroKit's own pipeline): on the raw slice the detector once took a
    # noise burst after a T wave for an R peak
    ecg = np.load(systole_datasets / "Task1_ECG.npy").ravel()[: int(300 * fs)]
    resp = np.load(systole_datasets / "Task1_Respiration.npy").ravel()[: int(240 * fs)]
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=int(fs)), sampling_rate=int(fs))
    r = np.asarray(info["ECG_R_Peaks"], dtype=float) / fs
    r = r[r < 240.0]
    return r + 0.25, respiration_for_synth(resp, fs)


def respiration_for_synth(resp: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, signal) for SyntheticPPG from a respiration belt recording, decimated to 100 Hz.

    The belt signal has artefacts up to 12 SD lasting 0.1-0.3 s (belt slips, jerks);
    SyntheticPPG z-scores the signal and uses it as baseline and amplitude modulation, so
    such a spike would turn the pulse upside down. Breathing itself is below 0.5 Hz and
    moves the finger's blood volume smoothly, so the signal is clipped to its 1st-99th
    percentiles and smoothed by two 1-s moving averages (a triangle, -6 dB near 0.45 Hz).
    """
    step = max(1, int(round(fs / 100.0)))
    r = np.asarray(resp, dtype=float)[::step]
    lo, hi = np.percentile(r, [1, 99])
    r = np.clip(r, lo, hi)
    k = int(round(fs / step))
    box = np.ones(k) / k
    pad = np.concatenate([np.full(k, r[0]), r, np.full(k, r[-1])])
    r = np.convolve(np.convolve(pad, box, "same"), box, "same")[k:-k]
    return np.arange(r.size) * step / fs, r


@pytest.fixture(scope="session")
def synth_ppg():
    """Factory: (x_raw_counts, fs, SyntheticPPG) for given beat times and options."""
    from kindpulse.sim.synth import SyntheticPPG

    def make(beat_times_s: np.ndarray, fs: float, duration_s: float, seed: int = 0, **kw):
        ppg = SyntheticPPG(beat_times_s, seed=seed, **kw)
        t = np.arange(int(round(duration_s * fs))) / fs
        return ppg.ir(t), fs, ppg

    return make

