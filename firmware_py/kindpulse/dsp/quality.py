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

from kindpulse.dsp._numba import kernel, ring_median

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


# state vector of the block-decision kernel
(_S_ADC, _S_SLOPE1, _S_SLOPE2, _S_PREV_YMN, _S_PREV_YMX, _S_NREF, _S_NSREF, _S_NBAD, _S_NRECENT) = range(9)
_NSTATE = 9


def new_decision_state() -> np.ndarray:
    """Initial state of :func:`block_flags` (no block seen, ADC step unknown)."""
    st = np.zeros(_NSTATE)
    st[_S_ADC] = np.inf
    st[_S_PREV_YMN] = np.inf
    st[_S_PREV_YMX] = -np.inf
    return st


@kernel
def block_flags(feats, full_scale, no_finger_frac, min_pulse_steps, min_ref_blocks, slope_k, motion_k,
                weak_frac, relearn_blocks, st, ref, sref, recent, flags):  # pragma: no cover - compiled
    """Flags of each block from its features (:func:`block_features`), in order.

    ``st`` (:func:`new_decision_state`), the reference rings ``ref`` (band-passed
    peak-to-peak over two blocks) and ``sref`` (steepest change within three blocks) and
    ``recent`` (band-passed min, max of the blocks before, shape (weak window - 1, 2)) carry
    the decisions from one call to the next; see the module docstring for the flags.
    """
    nrec = recent.shape[0]
    for b in range(feats.shape[0]):
        mn = feats[b, _F_MIN]
        mx = feats[b, _F_MAX]
        ymn = feats[b, _F_YMIN]
        ymx = feats[b, _F_YMAX]
        slope = feats[b, _F_SLOPE]
        st[_S_ADC] = min(st[_S_ADC], feats[b, _F_STEP])
        slope3 = max(slope, max(st[_S_SLOPE1], st[_S_SLOPE2]))
        st[_S_SLOPE2] = st[_S_SLOPE1]
        st[_S_SLOPE1] = slope
        ptp = ymx - ymn
        if math.isfinite(st[_S_PREV_YMN]):
            ptp2 = max(ymx, st[_S_PREV_YMX]) - min(ymn, st[_S_PREV_YMN])
        else:
            ptp2 = ptp
        st[_S_PREV_YMN] = ymn
        st[_S_PREV_YMX] = ymx
        wmn = ymn
        wmx = ymx
        nr = int(min(st[_S_NRECENT], nrec))
        for k in range(nr):
            wmn = min(wmn, recent[k, 0])
            wmx = max(wmx, recent[k, 1])
        ptp_w = wmx - wmn
        if nrec > 0:
            slot = int(st[_S_NRECENT]) % nrec
            recent[slot, 0] = ymn
            recent[slot, 1] = ymx
        st[_S_NRECENT] += 1.0
        f = 0
        if mx == mn or (full_scale > 0.0 and feats[b, _F_MEAN] < no_finger_frac * full_scale):
            f |= NO_SIGNAL
        if feats[b, _F_SAT] > 0.0:
            f |= SATURATION
        if feats[b, _F_CLIP] > 0.0:
            f |= CLIPPING
        if f == 0 and math.isfinite(st[_S_ADC]) and ptp_w < min_pulse_steps * st[_S_ADC]:
            f |= NO_SIGNAL  # a few ADC steps: quantisation noise, no pulse
        amp_bad = False
        if st[_S_NREF] >= min_ref_blocks and f == 0:
            ref_amp = ring_median(ref, st[_S_NREF])
            steep = st[_S_NSREF] >= min_ref_blocks and slope > slope_k * ring_median(sref, st[_S_NSREF])
            if ptp > motion_k * ref_amp or steep:
                f |= MOTION
                amp_bad = True
            elif ptp_w < weak_frac * ref_amp:
                f |= NO_SIGNAL
                amp_bad = True
        st[_S_NBAD] = st[_S_NBAD] + 1.0 if amp_bad else 0.0
        if st[_S_NBAD] >= relearn_blocks:  # a lasting new level: learn it again
            st[_S_NREF] = 0.0
            st[_S_NSREF] = 0.0
            st[_S_NBAD] = 0.0
        if f == 0:
            ref[int(st[_S_NREF]) % ref.shape[0]] = ptp2
            st[_S_NREF] += 1.0
            sref[int(st[_S_NSREF]) % sref.shape[0]] = slope3
            st[_S_NSREF] += 1.0
        flags[b] = f


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
        self._ext = new_extremes()
        self.settle = int(round(2.0 * self.fs))
        n_weak = max(2, int(round(self.p.weak_window_s / self.p.block_s)))
        self._st = new_decision_state()
        self._ref = np.zeros(self.p.ref_blocks)
        self._sref = np.zeros(self.p.ref_blocks)
        self._recent = np.zeros((n_weak - 1, 2))  # band-passed min, max of the blocks before

    @property
    def blocking(self) -> int:
        """Flags that make a block unusable for beats."""
        return NO_SIGNAL | SATURATION | MOTION | (CLIPPING if self.p.clipping_blocks else 0)

    @property
    def reference_amplitude(self) -> float:
        """Median band-passed peak-to-peak of recent good blocks (0 before any)."""
        return float(ring_median(self._ref, self._st[_S_NREF]))

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
        block_flags(feats, self.full_scale, p.no_finger_frac, p.min_pulse_steps, p.min_ref_blocks, p.slope_k,
                    p.motion_k, p.weak_frac, p.relearn_blocks, self._st, self._ref, self._sref, self._recent, flags)
        return flags

    def reset_reference(self) -> None:
        """Forget the reference amplitude and block history (after a gap); the ADC step stays."""
        adc = self._st[_S_ADC]
        self._st[:] = new_decision_state()
        self._st[_S_ADC] = adc

    @property
    def adc_step(self) -> float:
        """Smallest change of the raw samples seen (inf before any): the ADC's resolution."""
        return float(self._st[_S_ADC])


def flag_names(flags: int) -> list[str]:
    """Names of the bits set in ``flags``."""
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]
