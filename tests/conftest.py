"""Shared fixtures. PPG/DSP data: synthetic PPG and the real recordings that ship with
the peer packages (loaded from the installed packages at test time, never committed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


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
    respiration (t_s, signal). R peaks by NeuroKit2 at 1000 Hz, plus 0.25 s transit."""
    nk = pytest.importorskip("neurokit2")
    fs = 1000.0
    ecg = np.load(systole_datasets / "Task1_ECG.npy").ravel()[: int(240 * fs)]
    resp = np.load(systole_datasets / "Task1_Respiration.npy").ravel()[: int(240 * fs)]
    _, info = nk.ecg_peaks(ecg, sampling_rate=int(fs))
    r = np.asarray(info["ECG_R_Peaks"], dtype=float) / fs
    t_resp = np.arange(resp.size)[::10] / fs
    return r + 0.25, (t_resp, resp[::10].astype(float))


@pytest.fixture(scope="session")
def synth_ppg():
    """Factory: (x_raw_counts, fs, SyntheticPPG) for given beat times and options."""
    from kindpulse.sim.synth import SyntheticPPG

    def make(beat_times_s: np.ndarray, fs: float, duration_s: float, seed: int = 0, **kw):
        ppg = SyntheticPPG(beat_times_s, seed=seed, **kw)
        t = np.arange(int(round(duration_s * fs))) / fs
        return ppg.ir(t), fs, ppg

    return make
