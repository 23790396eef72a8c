"""Signal quality of finger PPG, block by block.

The signal is cut into blocks of ``block_s`` seconds on a fixed grid of sample indices
(so chunking does not change the result). Each block gets flags:

``no_signal``
    Flat line (no change at all), or with a known ADC full scale a DC level below
    ``no_finger_frac`` of it (a MAX30102 without a finger reads ambient light: a few
    hundred counts of 262 143), or no pulsatile amplitude (band-passed peak-to-peak over the
    last ``weak_window_s`` below ``weak_frac`` of the reference amplitude; the window is
    longer than any interval, so the flat diastole of a slow beat or of a compensatory pause
    is not taken for a lost pulse); or, from the first block on, that range below
    ``min_pulse_steps`` steps of the ADC (the smallest change seen in the raw samples of a
    block that also repeats a sample; never for float data without repeats): a
    recording that starts without a finger is quantisation noise, which no reference
    amplitude learnt from it would reject.
``saturation``
    A raw sample within ``sat_frac`` of the full scale (or at 0): the ADC is railed.
``clipping``
    A plateau: at least ``clip_run_s`` of identical raw samples at the extreme of the
    stream so far, an extreme that has held for 2 s (the ADC rail of an 8- or 10-bit
    recording, reached beat after beat).
``motion``
    Band-passed peak-to-peak of the block above ``motion_k`` times the reference amplitude
    (median peak-to-peak over two blocks, about one beat, of the last good blocks), or its
    steepest sample-to-sample change above ``slope_k`` times the reference slope (median
    over the last good blocks of the steepest change within three blocks, i.e. of a
    systolic upstroke): a baseline step of one to three pulses within 50 ms is steeper
    than any upstroke but may stay under the amplitude threshold.

Clipping is reported but does not block beats unless ``clipping_blocks``: the timing
copy is smooth and symmetric around a plateau, so a clipped peak still gets its centre
(real 8-bit recordings such as systole's clip most peaks). Beats are usable only away
from blocking flags (``margin_before_s`` before and
``margin_after_s`` after, for filter ringing); see :mod:`kindpulse.dsp.pipeline`.
Sample rates below :data:`MIN_HRV_FS` (25 Hz; Choi & Shin 2017, Physiol Meas 38:586)
are refused for HRV.

References
----------
Béres & Hejjel (2021), BSPC 68:102589; Elgendi (2016), Bioengineering 3:21 (PPG quality).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kindpulse.dsp._numba import kernel

__all__ = [
    "FLAG_NAMES",
    "MIN_HRV_FS",
    "QualityParams",
    "QualityTracker",
    "block_features",
    "flag_names",
    "new_extremes",
]

MIN_HRV_FS = 25.0

NO_SIGNAL, SATURATION, CLIPPING, MOTION = 1, 2, 4, 8
FLAG_NAMES = {NO_SIGNAL: "no_signal", SATURATION: "saturation", CLIPPING: "clipping", MOTION: "motion"}

# block feature columns
_F_MIN, _F_MAX, _F_MEAN, _F_YMIN, _F_YMAX, _F_SAT, _F_CLIP, _F_SLOPE, _F_STEP = range(9)
_NFEAT = 9


def new_extremes() -> np.ndarray:
    """Initial state for :func:`block_features` (no extremes seen yet)."""
    return np.array([np.inf, -np.inf, np.inf, -np.inf, 0.0, 0.0, 0.0, 0.0])


@kernel
def block_features(raw, ybp, block, full_scale, sat_frac, clip_run, settle, ext, out):  # pragma: no cover - compiled
    """Features of consecutive whole blocks of ``block`` samples.

    Parameters
    ----------
    raw : ndarray
        Raw samples (as recorded, before any polarity flip).
    ybp : ndarray
        Band-passed samples, aligned with ``raw``.
    block : int
        Samples per block; ``raw.size // block`` blocks are measured.
    full_scale : float
        ADC full scale in counts, or <= 0 when unknown.
    sat_frac : float
        A sample at or above ``(1 - sat_frac) * full_scale`` (or <= 0) is saturated.
    clip_run : int
        Identical samples in a row at the long-standing extreme of the stream that count as
        clipping (a plateau inside the range is quantisation, not clipping).
    settle : int
        Samples an extreme must have held unchanged before a plateau on it is a rail.
    ext : ndarray, shape (8,)
        State, updated in place: running min and max of ``raw``, both as they were when
        the current run of equal samples began, their ages in samples, and those ages at
        the start of the run. Initialise with :func:`new_extremes`.
    out : ndarray, shape (n_blocks, 9)
        min, max, mean of raw; min, max of ybp; saturated samples; clipping runs; largest
        sample-to-sample change of ybp; smallest non-zero change of raw when the block
        also repeats a sample (inf otherwise: a steep block says nothing of the ADC step).
    """
    nb = raw.shape[0] // block
    for b in range(nb):
        lo = b * block
        mn = raw[lo]
        mx = raw[lo]
        acc = 0.0
        ymn = ybp[lo]
        ymx = ybp[lo]
        sat = 0.0
        clip = 0.0
        run = 1
        slope = 0.0
        step = np.inf
        repeats = False
        for i in range(lo, lo + block):
            if i > lo:
                slope = max(slope, abs(ybp[i] - ybp[i - 1]))
                d = abs(raw[i] - raw[i - 1])
                if d > 0.0:
                    step = min(step, d)
                else:
                    repeats = True
            v = raw[i]
            mn = min(mn, v)
            mx = max(mx, v)
            acc += v
            ymn = min(ymn, ybp[i])
            ymx = max(ymx, ybp[i])
            if full_scale > 0.0 and (v >= (1.0 - sat_frac) * full_scale or v <= 0.0):
                sat += 1.0
            if i > lo and v == raw[i - 1]:
                run += 1
                # the rail: a plateau at an extreme that has held for `settle` samples
                if run == clip_run and ((v == ext[2] and ext[6] >= settle) or (v == ext[3] and ext[7] >= settle)):
                    clip += 1.0
            else:
                run = 1
                ext[2] = ext[0]  # extremes (and their ages) before this run
                ext[3] = ext[1]
                ext[6] = ext[4]
                ext[7] = ext[5]
            if v < ext[0]:
                ext[0] = v
                ext[4] = 0.0
            else:
                ext[4] += 1.0
            if v > ext[1]:
                ext[1] = v
                ext[5] = 0.0
            else:
                ext[5] += 1.0
        out[b, 0] = mn
        out[b, 1] = mx
        out[b, 2] = acc / block
        out[b, 3] = ymn
        out[b, 4] = ymx
        out[b, 5] = sat
        out[b, 6] = clip
        out[b, 7] = slope
        # only a block that repeats a value moves at the scale of the ADC's step
        out[b, 8] = step if repeats else np.inf


@dataclass(frozen=True)
class QualityParams:
    """Thresholds of the quality flags (see the module docstring)."""

    block_s: float = 0.5
    sat_frac: float = 0.002
    no_finger_frac: float = 0.02
    clip_run_s: float = 0.06
    motion_k: float = 2.5
    slope_k: float = 3.0
    weak_frac: float = 0.15
    weak_window_s: float = 2.0
    min_pulse_steps: float = 12.0
    ref_blocks: int = 15
    min_ref_blocks: int = 4
    relearn_blocks: int = 20
    clipping_blocks: bool = False
    margin_before_s: float = 0.75
    margin_after_s: float = 0.5
    shape_corr_min: float = 0.7  # beat-shape correlation below which a beat ends no NN interval


class QualityTracker:
    """Block-wise quality flags of a stream; owns the reference amplitude.

    Parameters
    ----------
    fs : float
        Sample rate in Hz.
    full_scale : float, optional
        ADC full scale in counts (``2**18 - 1`` for the MAX30102); enables the
        saturation and no-finger (DC) checks.
    params : QualityParams, optional
    """

    def __init__(self, fs: float, full_scale: float | None = None, params: QualityParams | None = None) -> None:
        self.fs = float(fs)
        self.p = params or QualityParams()
        self.block = max(4, int(round(self.p.block_s * self.fs)))
        self.full_scale = float(full_scale) if full_scale else 0.0
        self.clip_run = max(3, int(round(self.p.clip_run_s * self.fs)))
        self._ref = np.zeros(self.p.ref_blocks)
        self._n_ref = 0
        self._n_bad_amp = 0
        self._ext = new_extremes()
        self.settle = int(round(2.0 * self.fs))
        self._prev_y = (np.inf, -np.inf)  # band-passed min, max of the previous block
        # band-passed min, max of the blocks before this one within weak_window_s
        self._recent_y: list[tuple[float, float]] = []
        self._n_weak = max(2, int(round(self.p.weak_window_s / self.p.block_s)))
        self.adc_step = np.inf  # smallest change of the raw samples seen: the ADC's resolution
        self._sref = np.zeros(self.p.ref_blocks)
        self._n_sref = 0
        self._slopes = [0.0, 0.0]  # the two previous blocks' largest slopes

    @property
    def blocking(self) -> int:
        """Flags that make a block unusable for beats."""
        return NO_SIGNAL | SATURATION | MOTION | (CLIPPING if self.p.clipping_blocks else 0)

    @property
    def reference_amplitude(self) -> float:
        """Median band-passed peak-to-peak of recent good blocks (0 before any)."""
        return _median(self._ref, self._n_ref)

    def measure(self, raw: np.ndarray, ybp: np.ndarray) -> np.ndarray:
        """Flags of the whole blocks in ``raw`` (length a multiple of the block).

        Returns
        -------
        ndarray of int64, one bit field per block (see :data:`FLAG_NAMES`).
        """
        nb = raw.size // self.block
        feats = np.empty((nb, _NFEAT))
        block_features(np.ascontiguousarray(raw, dtype=np.float64), np.ascontiguousarray(ybp, dtype=np.float64),
                       self.block, self.full_scale, self.p.sat_frac, self.clip_run, self.settle, self._ext, feats)
        flags = np.zeros(nb, dtype=np.int64)
        p = self.p
        for b in range(nb):  # one iteration per block (0.5 s), not per sample
            mn, mx, mean, ymn, ymx, sat, clip, slope, step = feats[b]
            self.adc_step = min(self.adc_step, step)
            slope3 = max(slope, self._slopes[0], self._slopes[1])
            self._slopes = [slope, self._slopes[0]]
            ptp = ymx - ymn
            ptp2 = ptp if not np.isfinite(self._prev_y[0]) else max(ymx, self._prev_y[1]) - min(ymn, self._prev_y[0])
            self._prev_y = (ymn, ymx)
            ptp_w = max([ymx] + [v[1] for v in self._recent_y]) - min([ymn] + [v[0] for v in self._recent_y])
            self._recent_y = (self._recent_y + [(ymn, ymx)])[-(self._n_weak - 1):]
            f = 0
            if mx == mn or (self.full_scale > 0 and mean < p.no_finger_frac * self.full_scale):
                f |= NO_SIGNAL
            if sat > 0:
                f |= SATURATION
            if clip > 0:
                f |= CLIPPING
            if f == 0 and math.isfinite(self.adc_step) and ptp_w < p.min_pulse_steps * self.adc_step:
                f |= NO_SIGNAL  # a few ADC steps: quantisation noise, no pulse
            ref = self.reference_amplitude
            amp_bad = False
            if self._n_ref >= p.min_ref_blocks and f == 0:
                steep = self._n_sref >= p.min_ref_blocks and slope > p.slope_k * _median(self._sref, self._n_sref)
                if ptp > p.motion_k * ref or steep:
                    f |= MOTION
                    amp_bad = True
                elif ptp_w < p.weak_frac * ref:
                    f |= NO_SIGNAL
                    amp_bad = True
            self._n_bad_amp = self._n_bad_amp + 1 if amp_bad else 0
            if self._n_bad_amp >= p.relearn_blocks:  # a lasting new level: learn it again
                self._n_ref = 0
                self._n_sref = 0
                self._n_bad_amp = 0
            if f == 0:
                self._ref[self._n_ref % self._ref.size] = ptp2
                self._n_ref += 1
                self._sref[self._n_sref % self._sref.size] = slope3
                self._n_sref += 1
            flags[b] = f
        return flags

    def reset_reference(self) -> None:
        """Forget the reference amplitude and block history (after a gap)."""
        self._n_ref = 0
        self._n_sref = 0
        self._n_bad_amp = 0
        self._prev_y = (np.inf, -np.inf)
        self._slopes = [0.0, 0.0]
        self._recent_y = []


def _median(buf: np.ndarray, n_seen: int) -> float:
    """Median of a ring buffer's filled part (0 when empty).

    The same value as np.median without its per-call overhead: read once per 0.5 s block,
    np.median was a third of analyze's time on an hour of PPG (the buffers hold 15 values).
    """
    n = min(n_seen, buf.size)
    if not n:
        return 0.0
    s = sorted(buf[:n].tolist())
    k = n // 2
    return s[k] if n % 2 else (s[k - 1] + s[k]) / 2.0


def flag_names(flags: int) -> list[str]:
    """Names of the bits set in ``flags``."""
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]
