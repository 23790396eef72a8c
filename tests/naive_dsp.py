"""Simple reference implementations for the PPG kernels (plain loops / scipy), and scoring.

Nothing here is fast or streaming; it is what the kernels must agree with.
"""

from __future__ import annotations

import numpy as np


def sosfilt_loops(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cascade of biquads in direct form I, written out sample by sample."""
    y = np.asarray(x, dtype=np.float64).copy()
    for b0, b1, b2, a0, a1, a2 in sos:
        out = np.zeros_like(y)
        x1 = x2 = y1 = y2 = 0.0
        for i, v in enumerate(y):
            o = (b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0
            x2, x1 = x1, v
            y2, y1 = y1, o
            out[i] = o
        y = out
    return y


def block_features_naive(raw: np.ndarray, ybp: np.ndarray, block: int, full_scale: float,
                         sat_frac: float) -> np.ndarray:
    """min, max, mean of raw; min, max of ybp; saturated count per whole block (numpy)."""
    nb = raw.size // block
    r = raw[: nb * block].reshape(nb, block)
    y = ybp[: nb * block].reshape(nb, block)
    sat = np.zeros(nb)
    if full_scale > 0:
        sat = ((r >= (1 - sat_frac) * full_scale) | (r <= 0)).sum(axis=1).astype(float)
    return np.column_stack([r.min(1), r.max(1), r.mean(1), y.min(1), y.max(1), sat])


def zero_phase_peaks(x: np.ndarray, fs: float, lo: float = 0.5, hi: float = 5.0) -> np.ndarray:
    """Reference beat times (s): scipy sosfiltfilt band-pass, find_peaks, 3-point parabola."""
    from scipy.signal import butter, find_peaks, sosfiltfilt

    y = sosfiltfilt(butter(2, [lo, hi], "bandpass", fs=fs, output="sos"), x)
    pk, _ = find_peaks(y, distance=int(0.3 * fs), prominence=0.3 * (np.percentile(y, 98) - np.percentile(y, 2)))
    pk = pk[(pk > 0) & (pk < y.size - 1)]
    a, b, c = y[pk - 1], y[pk], y[pk + 1]
    return (pk + 0.5 * (a - c) / (a - 2 * b + c)) / fs


def match(det: np.ndarray, truth: np.ndarray, tol_s: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching of sorted detections to sorted truth within ``tol_s``.

    Returns index arrays (i_det, i_truth) of matched pairs.
    """
    det = np.asarray(det)
    truth = np.asarray(truth)
    i_d, i_t = [], []
    j = 0
    for k, t in enumerate(truth):
        while j < det.size and det[j] < t - tol_s:
            j += 1
        if j < det.size and abs(det[j] - t) <= tol_s:
            i_d.append(j)
            i_t.append(k)
            j += 1
    return np.array(i_d, dtype=int), np.array(i_t, dtype=int)


def f1_score(det: np.ndarray, truth: np.ndarray, tol_s: float = 0.15) -> float:
    """Beat F1 after removing the median offset (a constant delay is not an error)."""
    det = np.asarray(det, dtype=float)
    if det.size == 0 or truth.size == 0:
        return 0.0
    d0, t0 = match(det, truth, 0.3)
    off = float(np.median(det[d0] - truth[t0])) if d0.size else 0.0
    d, t = match(det - off, truth, tol_s)
    tp = d.size
    return 2 * tp / (det.size + truth.size)


def ibi_errors_ms(det: np.ndarray, truth: np.ndarray, tol_s: float = 0.15) -> np.ndarray:
    """Errors (ms) of detected intervals whose both ends matched consecutive true beats."""
    det = np.asarray(det, dtype=float)
    d0, t0 = match(det, truth, 0.3)
    off = float(np.median(det[d0] - truth[t0])) if d0.size else 0.0
    d, t = match(det - off, truth, tol_s)
    ok = (np.diff(d) == 1) & (np.diff(t) == 1)
    return (np.diff(det[d])[ok] - np.diff(truth[t])[ok]) * 1000.0


def exclude(t: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """Times outside every (start, end) span."""
    keep = np.ones(t.size, dtype=bool)
    for a, b in spans:
        keep &= ~((t >= a) & (t <= b))
    return t[keep]


def block_flags_naive(feats: np.ndarray, p, full_scale: float) -> np.ndarray:
    """Block flags from block features, plain Python over the whole stream at once (the
    rules of kindpulse.dsp.quality's module docstring; p is a QualityParams)."""
    n_weak = max(2, int(round(p.weak_window_s / p.block_s)))
    ref: list[float] = []  # ptp over two blocks of good blocks, since the last relearn
    sref: list[float] = []  # steepest change within three blocks, of good blocks
    adc = np.inf
    bad_run = 0
    flags = np.zeros(len(feats), dtype=np.int64)
    for b, (mn, mx, mean, ymn, ymx, sat, clip, slope, step) in enumerate(feats):
        adc = min(adc, step)
        lo3 = max(0, b - 2)
        slope3 = feats[lo3:b + 1, 7].max()
        ptp = ymx - ymn
        ptp2 = feats[max(0, b - 1):b + 1, 4].max() - feats[max(0, b - 1):b + 1, 3].min()
        w = feats[max(0, b - n_weak + 1):b + 1]
        ptp_w = w[:, 4].max() - w[:, 3].min()
        f = 0
        if mx == mn or (full_scale > 0 and mean < p.no_finger_frac * full_scale):
            f |= 1
        if sat > 0:
            f |= 2
        if clip > 0:
            f |= 4
        if f == 0 and np.isfinite(adc) and ptp_w < p.min_pulse_steps * adc:
            f |= 1
        amp_bad = False
        if len(ref) >= p.min_ref_blocks and f == 0:
            recent_ref = ref[-p.ref_blocks:]
            recent_sref = sref[-p.ref_blocks:]
            steep = len(sref) >= p.min_ref_blocks and slope > p.slope_k * np.median(recent_sref)
            if ptp > p.motion_k * np.median(recent_ref) or steep:
                f |= 8
                amp_bad = True
            elif ptp_w < p.weak_frac * np.median(recent_ref):
                f |= 1
                amp_bad = True
        bad_run = bad_run + 1 if amp_bad else 0
        if bad_run >= p.relearn_blocks:
            ref, sref, bad_run = [], [], 0
        if f == 0:
            ref.append(ptp2)
            sref.append(slope3)
        flags[b] = f
    return flags
