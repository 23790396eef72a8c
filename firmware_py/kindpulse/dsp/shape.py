"""Beat-shape quality: how much each beat looks like the wearer's recent beats.

Motion that stays below the block-amplitude threshold of :mod:`kindpulse.dsp.quality`
still bends the pulse: a burst of finger movement that is no larger than the pulse makes
peaks of its own, and a burst that starts on a beat moves that beat by 0.1 s. Their
intervals look plausible one by one, so the artefact stage passes them as NN (on the
family of tests/family.py such beats made a reported NN interval span a true beat, and
one beat 0.1 s late lifted a member's RMSSD by 17 %). A beat's waveform, from ``w0`` to
``w1`` expected intervals around it, resampled to ``n_points`` and normalised, is compared
with the point-wise median of the last ``n_template`` beats' waveforms (Pearson
correlation). A beat that correlates less than the threshold is still a beat, but no NN
interval may end or start on it.

The template takes every usable beat, matching or not: the median of 8 ignores a few
odd beats, and a lasting change of shape (the finger pressed harder) becomes the template
within about five beats instead of rejecting every later beat.

References
----------
Orphanidou et al. (2015), IEEE J Biomed Health Inform 19:832 (template correlation of
PPG beats, threshold 0.86 on the mean); Li & Clifford (2012), Physiol Meas 33:1491
(dynamic-time-warped template matching). The threshold here is lower (0.7) because one
beat is judged, not an average, and a pulse whose shape follows a swinging heart rate
correlates 0.8-0.9 with the median of the last beats (measured on the family).
"""

from __future__ import annotations

import numpy as np

from kindpulse.dsp._numba import kernel, median_inplace

__all__ = ["BeatShape"]

_N_INTERVALS = 5  # the interval that scales the window: median of the last five


@kernel
def _shape_corr(y, y0, beats, w0, w1, max_after, min_iv, max_iv, ivs, state, waves, usable,
                min_template, out):  # pragma: no cover - compiled
    """Correlation of each beat's waveform with the median of the recent ones.

    Parameters
    ----------
    y : ndarray
        Band-passed signal history; ``y[k]`` is stream sample ``y0 + k``.
    beats : ndarray
        Beat times in samples (float), in order.
    w0, w1 : float
        The window, in expected intervals around the beat (w0 < 0 < w1).
    max_after : float
        The window ends at most this many samples after the beat (the samples there are).
    min_iv, max_iv : float
        Intervals (samples) outside this range do not update the expected interval.
    ivs : ndarray, shape (5,)
        Ring of recent intervals (samples). State, updated in place.
    state : ndarray, shape (4,)
        Last beat time, intervals seen, waveforms stored, (unused). State.
    waves : ndarray, shape (n_template, n_points)
        Ring of recent normalised waveforms. State.
    usable : ndarray of bool
        Beats that may enter the template (quality-usable).
    min_template : int
        Waveforms needed before any beat is judged.
    out : ndarray
        Correlation per beat, NaN when not judged (too few waveforms, or the window
        is not in ``y``).
    """
    n_t, n_p = waves.shape
    w = np.empty(n_p)
    col = np.empty(n_t)
    tpl = np.empty(n_p)
    srt = np.empty(_N_INTERVALS)
    for i in range(beats.shape[0]):
        t = beats[i]
        out[i] = np.nan
        if state[0] >= 0.0:
            iv = t - state[0]
            if min_iv <= iv <= max_iv:
                ivs[int(state[1]) % _N_INTERVALS] = iv
                state[1] += 1.0
        state[0] = t
        m = int(min(state[1], _N_INTERVALS))
        if m == 0:
            continue
        srt[:m] = ivs[:m]
        T = median_inplace(srt, m)
        a = t + w0 * T
        b = t + min(w1 * T, max_after)
        if a < y0 or b >= y0 + y.shape[0] - 1:
            continue
        # the waveform, linearly interpolated, zero mean and unit norm
        mean = 0.0
        for k in range(n_p):
            p = a + (b - a) * k / (n_p - 1) - y0
            j = int(p)
            f = p - j
            w[k] = (1.0 - f) * y[j] + f * y[j + 1]
            mean += w[k]
        mean /= n_p
        ss = 0.0
        for k in range(n_p):
            w[k] -= mean
            ss += w[k] * w[k]
        if ss <= 0.0:
            continue
        w /= np.sqrt(ss)
        n_w = int(min(state[2], n_t))
        if n_w >= min_template:
            tm = 0.0
            for k in range(n_p):
                for r in range(n_w):
                    col[r] = waves[r, k]
                tpl[k] = median_inplace(col, n_w)
                tm += tpl[k]
            tm /= n_p
            tt = 0.0
            dot = 0.0
            for k in range(n_p):
                tpl[k] -= tm
                tt += tpl[k] * tpl[k]
                dot += tpl[k] * w[k]
            if tt > 0.0:
                out[i] = dot / np.sqrt(tt)
        if usable[i]:
            waves[int(state[2]) % n_t, :] = w
            state[2] += 1.0


class BeatShape:
    """Streaming beat-shape correlation (see the module docstring).

    Parameters
    ----------
    fs : float
        Sample rate in Hz.
    w0, w1 : float
        Window around each beat in expected intervals (default -0.3 to +0.4: the upstroke,
        the systolic peak and the start of the decay, where motion shows first).
    max_after_s : float
        The window never reaches further than this after a beat (the pipeline judges a
        beat once this much signal after it is known).
    n_points, n_template, min_template : int
        Resampled points per waveform, waveforms in the template, waveforms before the
        first judgement.
    """

    def __init__(self, fs: float, w0: float = -0.3, w1: float = 0.4, max_after_s: float = 0.7,
                 n_points: int = 32, n_template: int = 8, min_template: int = 4) -> None:
        self.fs = float(fs)
        self.w0, self.w1 = float(w0), float(w1)
        self.max_after = max_after_s * self.fs
        self.min_template = int(min_template)
        self._ivs = np.zeros(_N_INTERVALS)
        self._state = np.array([-1.0, 0.0, 0.0, 0.0])
        self._waves = np.zeros((int(n_template), int(n_points)))

    def correlate(self, y: np.ndarray, y0: int, beats: np.ndarray, usable: np.ndarray) -> np.ndarray:
        """Correlation (-1..1, NaN = not judged) of each beat with the recent ones.

        ``y[k]`` is the band-passed signal at stream sample ``y0 + k``; ``beats`` are in
        samples, in order, continuing the previous call's.
        """
        out = np.empty(beats.shape[0])
        _shape_corr(np.ascontiguousarray(y, dtype=np.float64), float(y0),
                    np.ascontiguousarray(beats, dtype=np.float64), self.w0, self.w1, self.max_after,
                    0.25 * self.fs, 2.0 * self.fs, self._ivs, self._state, self._waves,
                    np.ascontiguousarray(usable, dtype=np.bool_), self.min_template, out)
        return out

    def restart_intervals(self) -> None:
        """Forget the last beat time (after lost samples: no interval spans them)."""
        self._state[0] = -1.0
