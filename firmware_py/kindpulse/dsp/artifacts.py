"""Beat-interval artefact classification and correction (Lipponen & Tarvainen 2019), streaming.

Detected beat times go in; kept beat times and NN intervals come out, final
after a bounded look-ahead. The rule is that a missed or false beat never
becomes (part of) an NN interval.

Classification
--------------
Per NeuroKit2 0.2.13 ``signal_fixpeaks._find_artifacts`` (alpha 5.2, c1 0.13,
c2 0.17, 91-beat quartile-deviation windows, 11-beat median), with labels
NORMAL, ECTOPIC, MISSED, EXTRA, LONGSHORT for interval n = beat n -> beat n+1.
Deviations, all so that a stream with bounded latency gives the same answer as
the batch form:

* Causal windows. Interval n is judged only from intervals up to
  ``hi = n + lookahead`` (or the end of its segment). Both QD thresholds use the
  91 values ending at ``hi`` (NeuroKit: centred on n, needing 45 future beats).
  The 11-beat median of interval k uses ``k-5 .. min(k+5, hi)``. With the default
  look-ahead of 5 this is NeuroKit's centred median; s12/s22 need 2 ahead.
* One threshold per judged interval: dRR of the neighbours (n-2 .. n+2) are
  normalised by the threshold of interval n (NeuroKit: each by its own).
* Independent labels: interval n is judged if |dRR'_n| > 1, or as NeuroKit's
  second candidate (n-1 judged, not ectopic, and |dRR'_n| < |dRR'_{n+1}|).
  NeuroKit's loop skips n+1 after a two-candidate step; we do not.
* Thresholds have a floor of ``min_threshold_ms`` (default 20 ms), so beat
  times quantised to a coarse sample grid (zero QD) do not flag every change.
* The windows leave out dRR (threshold 1) and mRR (threshold 2) of intervals
  already labelled ECTOPIC, MISSED or EXTRA, while at least ``min_history / 2``
  values remain: the causal stand-in for the centred 91-beat window, whose
  quartiles a few artefacts do not move. In a segment's first ~25 beats two
  premature beats lifted the upper quartile above the next one (which passed as
  NN); LONGSHORT intervals stay in, so large normal swings never lower it.
* Relative windows: each dRR and mRR in a window is scaled by median_n /
  median_k (11-beat medians), i.e. judged relative to the heart rate of
  interval n. A causal window lags a falling heart rate; measured on the true
  beat times of the 72 synthetic family members, absolute windows lost large
  normal swings (RMSSD off by more than 5 % on 6 members, down to -10.3 %),
  relative ones on 3; on real RR the flags stay at Kubios' or below.
* Missing neighbours (before the segment start, after ``hi``) count as dRR' = 0
  (NeuroKit reflects at the series ends).
* Fallback: while fewer than ``min_history`` dRR values are in the window (the
  first ~15 intervals of a stream or after a gap), intervals are judged against
  the median M of the last up-to-21 intervals with tolerance ``rel_tol * M``:
  long -> MISSED if |RR/2 - M| < tol else LONGSHORT; short -> EXTRA if
  |RR_n + RR_{n+1} - M| < tol, ECTOPIC if followed by one longer than M with
  |RR_n + RR_{n+1} - 2M| < tol, else LONGSHORT; the interval after such a short one
  is ECTOPIC (the compensatory pause) when long, or longer than M after an ECTOPIC;
  a mildly short one (within tol) followed by a long one, the pair adding up to
  2M, is ECTOPIC too. In a stream, a segment that starts at
  most ``PRIOR_S`` (10 s) after the last NN interval adds as many of the NN
  intervals before the gap to the median as it has of its own, up to 11 values:
  after a motion burst, the first 2-5 intervals of a segment gave the median
  alone, and a distorted one passed.

Correction (what becomes NN)
----------------------------
* EXTRA at n: beat n+1 is dropped from the kept beats; neither interval n nor n+1
  is NN, nor their sum: which of the two beats is the extra one is a guess, and on
  PPG a premature beat with a false detection in its pause gets the same labels
  (the merged interval then spans the premature beat: a doubled NN interval on
  fresh members of the synthetic family, fresh-clean-swing-25Hz-s9112).
* MISSED at n: interval n is not NN (no beat is invented).
* ECTOPIC at n: beat n+1 is ectopic, so intervals n and n+1 are not NN. NeuroKit
  labels both intervals around a premature beat; a run of two ECTOPIC labels is
  treated as one event (the interval after the run is NN again). A mild premature
  beat (0.7-0.8 x the interval) often gets the label on its pause alone: a normal
  interval shorter than a following ECTOPIC one is not NN either. A normal interval
  longer than both the ECTOPIC one after it and the one after that is not NN: the beat
  between them came late (a premature beat passed over by the detector, its diastolic
  wave taken), and the long interval spans the premature beat.
* LONGSHORT: not NN. Intervals outside [min_ibi_ms, max_ibi_ms] are not NN.
  An interval longer than max_ibi_ms also ends the segment, as a gap does.

References
----------
Lipponen JA, Tarvainen MP (2019) J Med Eng Technol 43:173-181,
doi:10.1080/03091902.2019.1640306. NeuroKit2 0.2.13 ``signal_fixpeaks``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kindpulse.dsp._numba import kernel, median_inplace
from kindpulse.errors import InputError

NORMAL, ECTOPIC, MISSED, EXTRA, LONGSHORT = 0, 1, 2, 3, 4
LABEL_NAMES = ("normal", "ectopic", "missed", "extra", "longshort")

ALPHA = 5.2
C1 = 0.13
C2 = 0.17
QD_WINDOW = 91
MEDIAN_HALF = 5
DEFAULT_LOOKAHEAD = 5
MIN_HISTORY = 20
REL_TOL = 0.2
MIN_THRESHOLD_MS = 20.0
PRIOR_BEATS = 2 * MEDIAN_HALF + 1  # NN intervals carried into the next segment's fallback
PRIOR_S = 10.0  # ... when it starts at most this long after the last of them


@kernel
def _sorted_quartile_dev(buf, cnt):  # pragma: no cover - compiled
    """(Q3 - Q1) / 2 of buf[:cnt] with linear interpolation (pandas rolling quantile).

    Sorts buf[:cnt] in place (a scratch window, rebuilt for every interval)."""
    a = buf[:cnt]
    a.sort()
    return 0.5 * (_sorted_quantile(a, 0.75) - _sorted_quantile(a, 0.25))


@kernel
def _sorted_quantile(a, p):  # pragma: no cover - compiled
    """Quantile p of the sorted a, linear interpolation between order statistics."""
    pos = p * (a.shape[0] - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, a.shape[0] - 1)
    return a[lo] + (a[hi] - a[lo]) * (pos - lo)


@kernel
def _is_beat_artefact(label):  # pragma: no cover - compiled
    return label == 1 or label == 2 or label == 3  # ectopic, missed, extra


@kernel
def _median_at(rr, k, seg_lo, hi, half, scratch):  # pragma: no cover - compiled
    """Median of rr[max(seg_lo, k-half) .. min(hi, k+half)] (sorted in scratch)."""
    a = max(seg_lo, k - half)
    m = min(hi, k + half) - a + 1
    scratch[:m] = rr[a:a + m]
    return median_inplace(scratch, m)


@kernel
def _classify(  # pragma: no cover - compiled
    rr, seg_lo, n0, n1, hi_end, lookahead, window, half, alpha, c1, c2,
    min_history, rel_tol, th_floor, prior, out,
):
    """Label intervals rr[n0:n1] into out[n0:n1]; interval n reads rr[.. min(n+lookahead, hi_end)].

    Label codes are literals here (0 normal, 1 ectopic, 2 missed, 3 extra, 4 longshort):
    kernels read no module globals.
    """
    buf = np.empty(window + 1)
    buf2 = np.empty(window + 1)
    medk = np.empty(window + 1)
    scratch = np.empty(2 * half + 2)
    dn = np.zeros(7)  # dRR' at n-3 .. n+3 (index 3 = n)
    # the 11-beat median at k does not depend on n once its window is whole (k + half <= hi):
    # computed once, not once for every interval whose threshold window holds k
    med_whole = np.full(rr.shape[0], np.nan)
    for n in range(n0, n1):
        hi = min(n + lookahead, hi_end)
        a = max(seg_lo + 1, hi - window + 1)
        cnt = hi - a + 1
        if cnt < min_history:
            # robust fallback: relative deviation from the median of recent intervals
            s = max(seg_lo, hi - 4 * half)
            w = hi - s + 1
            # a segment's first 10 intervals: as many NN intervals from just before it as it
            # has of its own join the median, up to 11 (no more: the heart rate may have
            # changed during the gap)
            take = min(2 * half + 1 - w, prior.shape[0], w)
            if take > 0:
                mb = np.empty(take + w)
                mb[:take] = prior[prior.shape[0] - take:]
                mb[take:] = rr[s:hi + 1]
                med = np.median(mb)
            else:
                med = _median_at(rr, s + 2 * half, s, hi, 2 * half, np.empty(4 * half + 2))
            tol = rel_tol * med
            r = rr[n]
            lab = 0
            # the pause after a premature beat (a short one, or a mildly short one already
            # labelled ectopic): the pair adds up to two intervals
            pause = n - 1 >= seg_lo and abs(rr[n - 1] + r - 2 * med) < tol and (
                rr[n - 1] < med - tol or (rr[n - 1] < med and out[n - 1] == 1))
            if r > med + tol or (r > med and pause and out[n - 1] == 1):
                if pause:
                    lab = 1
                elif abs(0.5 * r - med) < tol:
                    lab = 2
                else:
                    lab = 4
            elif r < med - tol:
                if n + 1 <= hi and abs(r + rr[n + 1] - med) < tol:
                    lab = 3
                elif n + 1 <= hi and rr[n + 1] > med and abs(r + rr[n + 1] - 2 * med) < tol:
                    lab = 1
                else:
                    lab = 4
            elif r < med and n + 1 <= hi and rr[n + 1] > med + tol and abs(r + rr[n + 1] - 2 * med) < tol:
                lab = 1  # a mild premature beat (within tol), then a long pause
            out[n] = lab
            continue
        # 11-beat medians over the window. Each dRR and mRR is rescaled to the heart rate of
        # interval n (x median_n / median_k): variability grows with the interval, and a
        # causal window still full of a faster stretch set too low a threshold for the
        # larger normal swings after the heart rate fell
        a2 = max(seg_lo, hi - window + 1)
        for k in range(a2, hi + 1):
            if k + half <= hi:
                if np.isnan(med_whole[k]):
                    med_whole[k] = _median_at(rr, k, seg_lo, hi, half, scratch)
                medk[k - a2] = med_whole[k]
            else:
                medk[k - a2] = _median_at(rr, k, seg_lo, hi, half, scratch)
        med_n = medk[n - a2]
        # threshold 1: QD of |dRR| over the window ending at hi
        # dRR touching an interval already labelled ectopic, missed or extra stay out of the
        # window (while at least min_history / 2 remain): a few ectopic pairs in a short window
        # (a segment's first beats) lift its upper quartile, and the threshold, above the next
        # premature beat. Long/short labels stay in (big normal swings must not lower it).
        m1 = 0
        for k in range(a, hi + 1):
            if k < n and (_is_beat_artefact(out[k]) or _is_beat_artefact(out[k - 1])):
                continue
            buf[m1] = abs(rr[k] - rr[k - 1]) * (med_n / medk[k - a2])
            m1 += 1
        if m1 < min_history // 2:
            for k in range(a, hi + 1):
                buf[k - a] = abs(rr[k] - rr[k - 1]) * (med_n / medk[k - a2])
            m1 = cnt
        th1 = max(alpha * _sorted_quartile_dev(buf, m1), th_floor)
        for j in range(7):
            k = n - 3 + j
            if k >= seg_lo + 1 and k <= hi:
                dn[j] = (rr[k] - rr[k - 1]) / th1
            else:
                dn[j] = 0.0
        # threshold 2: QD of |mRR| (negative deviations doubled) over the window ending at hi
        m2 = 0
        for k in range(a2, hi + 1):
            mr = rr[k] - medk[k - a2]
            if mr < 0:
                mr *= 2.0
            mr = abs(mr) * (med_n / medk[k - a2])
            buf2[k - a2] = mr
            if not (k < n and _is_beat_artefact(out[k])):  # as for threshold 1
                buf[m2] = mr
                m2 += 1
        if m2 < min_history // 2:
            m2 = hi - a2 + 1
            buf[:m2] = buf2[:m2]
        th2 = max(alpha * _sorted_quartile_dev(buf, m2), th_floor)
        lab = 0
        judge = -1
        d0 = dn[3]
        if abs(d0) > 1.0:
            s12 = max(dn[2], dn[4]) if d0 > 0 else min(dn[2], dn[4])
            if (d0 > 1.0 and s12 < -c1 * d0 - c2) or (d0 < -1.0 and s12 > -c1 * d0 + c2):
                lab = 1
            else:
                judge = n
        else:
            dp = dn[2]
            if abs(dp) > 1.0 and n - 1 >= seg_lo + 1:
                s12p = max(dn[1], dn[3]) if dp > 0 else min(dn[1], dn[3])
                ect_p = (dp > 1.0 and s12p < -c1 * dp - c2) or (dp < -1.0 and s12p > -c1 * dp + c2)
                if not ect_p and abs(d0) < abs(dn[4]):
                    judge = n
        if judge == n:
            s22 = min(dn[4], dn[5]) if d0 >= 0 else max(dn[4], dn[5])
            mr = rr[n] - med_n
            if mr < 0:
                mr *= 2.0
            eq3 = d0 > 1.0 and s22 < -1.0
            eq4 = abs(mr / th2) > 3.0
            eq5 = d0 < -1.0 and s22 > 1.0
            if eq3 or eq4 or eq5:
                eq6 = abs(0.5 * rr[n] - med_n) < th2
                eq7 = n + 1 <= hi and abs(rr[n] + rr[n + 1] - med_n) < th2
                if eq5 and eq7:
                    lab = 3
                elif eq3 and eq6:
                    lab = 2
                else:
                    lab = 4
        out[n] = lab


@kernel
def _decide(  # pragma: no cover - compiled
    beats, suspect, labels, j0, j1, n_int, min_ibi, max_ibi, state, out_b, out_t, out_nn, counts,
):
    """Decide intervals j0..j1-1 (buffer-relative) of the current segment.

    state = [skip, taint, ect_run]; interval j is beats[j] -> beats[j+1]; n_int is the number
    of intervals in the buffer (the merge partner j+1 exists if j + 1 < n_int). No NN
    interval starts or ends on a ``suspect`` beat.
    Writes kept beats (each interval's end beat unless dropped) and NN intervals.
    """
    skip = state[0] != 0
    taint = state[1] != 0
    ect_run = int(state[2])
    nb = 0
    nn = 0
    for j in range(j0, j1):
        lab = labels[j]
        drop = False
        if skip:
            skip = False
            taint = lab == 1 or lab == 3
            ect_run = 1 if lab == 1 else 0
        elif lab == 3:
            # the extra beat is dropped; the merged interval is not NN: the beat taken for
            # the extra one may be the true one (a premature beat followed by a false
            # detection in its pause), and then the merged interval spans a beat
            drop = True
            if j + 1 < n_int:
                skip = True
            taint = False
            ect_run = 0
        else:
            r = (beats[j + 1] - beats[j]) * 1000.0
            # a pause labelled ECTOPIC after a shorter interval labelled normal: that interval
            # ends at the premature beat (a mild one, 0.75 x the interval, where the labels
            # fall on the pause alone)
            premature = j + 1 < n_int and labels[j + 1] == 1 and beats[j + 2] - beats[j + 1] > beats[j + 1] - beats[j]
            # a short interval labelled ECTOPIC after this one, and the interval after it also
            # shorter than this one: the beat between them came late (timed on a premature
            # beat's diastolic wave, the premature beat passed over), so this interval spans
            # that beat
            late = (j + 2 < n_int and labels[j + 1] == 1
                    and beats[j + 2] - beats[j + 1] < beats[j + 3] - beats[j + 2] < r / 1000.0)
            clean = (not taint) and (not premature) and (not late) and (not suspect[j]) and (not suspect[j + 1])
            if lab == 0 and clean and r >= min_ibi and r <= max_ibi:
                out_t[nn] = beats[j + 1]
                out_nn[nn] = r
                nn += 1
            if lab == 1 and j >= 1 and r > (beats[j] - beats[j - 1]) * 1000.0:
                # the pause after a shorter interval (labelled or made not NN above): the
                # ectopic beat starts it, and the interval after it is clean
                ect_run = 0
                taint = False
            elif lab == 1:
                ect_run += 1
                taint = ect_run % 2 == 1
            else:
                ect_run = 0
                taint = False
        if not drop:
            out_b[nb] = beats[j + 1]
            nb += 1
    state[0] = 1.0 if skip else 0.0
    state[1] = 1.0 if taint else 0.0
    state[2] = ect_run
    counts[0] = nb
    counts[1] = nn


def _intervals_ms(beats: np.ndarray) -> np.ndarray:
    return np.diff(beats) * 1000.0


def classify_intervals(
    rr_ms: np.ndarray,
    lookahead_beats: int = DEFAULT_LOOKAHEAD,
    window_beats: int = QD_WINDOW,
    alpha: float = ALPHA,
    c1: float = C1,
    c2: float = C2,
    min_history: int = MIN_HISTORY,
    rel_tol: float = REL_TOL,
    min_threshold_ms: float = MIN_THRESHOLD_MS,
) -> np.ndarray:
    """Label each interval of one contiguous segment (batch reference form of the classifier).

    Parameters
    ----------
    rr_ms : ndarray, shape (m,)
        Successive beat-to-beat intervals in ms, no gaps.
    lookahead_beats : int
        Intervals after n that may inform the label of n.
    window_beats : int
        Length of the quartile-deviation windows (NeuroKit: 91).
    alpha, c1, c2 : float
        Lipponen-Tarvainen constants (5.2, 0.13, 0.17).
    min_history : int
        Fewer dRR values than this in the window -> the relative-median fallback.
    rel_tol : float
        Fallback tolerance as a fraction of the median interval.
    min_threshold_ms : float
        Floor of both thresholds, ms.

    Returns
    -------
    ndarray of int8, shape (m,)
        NORMAL, ECTOPIC, MISSED, EXTRA or LONGSHORT per interval (module notes).
    """
    rr = np.ascontiguousarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1 or not np.all(np.isfinite(rr)) or np.any(rr <= 0):
        raise InputError("rr_ms must be a 1-D array of finite, positive intervals in ms")
    out = np.zeros(rr.shape[0], dtype=np.int8)
    if rr.shape[0]:
        _classify(
            rr, 0, 0, rr.shape[0], rr.shape[0] - 1, int(lookahead_beats), int(window_beats),
            MEDIAN_HALF, float(alpha), float(c1), float(c2), int(min_history), float(rel_tol),
            float(min_threshold_ms), np.empty(0), out,
        )
    return out


@dataclass
class NNBatch:
    """Newly final outputs of the stream.

    Attributes
    ----------
    beats_s : ndarray
        Kept beat times in s (extra beats removed), in order.
    nn_t_s : ndarray
        Time in s of the beat ending each NN interval.
    nn_ms : ndarray
        NN interval lengths in ms.
    """

    beats_s: np.ndarray
    nn_t_s: np.ndarray
    nn_ms: np.ndarray

    @staticmethod
    def empty() -> NNBatch:
        return NNBatch(np.empty(0), np.empty(0), np.empty(0))

    @staticmethod
    def concat(parts: list[NNBatch]) -> NNBatch:
        if not parts:
            return NNBatch.empty()
        return NNBatch(
            np.concatenate([p.beats_s for p in parts]),
            np.concatenate([p.nn_t_s for p in parts]),
            np.concatenate([p.nn_ms for p in parts]),
        )


class NNStream:
    """Streaming Lipponen-Tarvainen correction: beat times in, kept beats and NN intervals out.

    Parameters
    ----------
    lookahead_beats : int
        Intervals after n that may inform the label of n. An NN interval is final
        once ``lookahead_beats + 1`` further beats have arrived (or at a gap / flush).
    history_beats : int
        Length of the threshold windows (NeuroKit's 91).
    min_ibi_ms, max_ibi_ms : float
        Bounds of a plausible NN interval. A longer interval also acts as a gap.

    Notes
    -----
    Output is independent of how the beats are chunked, and
    :func:`correct_beats` (push everything, then flush) gives identical arrays.
    """

    def __init__(
        self,
        lookahead_beats: int = DEFAULT_LOOKAHEAD,
        history_beats: int = QD_WINDOW,
        min_ibi_ms: float = 300.0,
        max_ibi_ms: float = 2000.0,
    ) -> None:
        if lookahead_beats < 0 or history_beats < 4:
            raise InputError("lookahead_beats must be >= 0 and history_beats >= 4")
        if not 0 < min_ibi_ms < max_ibi_ms:
            raise InputError("need 0 < min_ibi_ms < max_ibi_ms")
        self.lookahead = int(lookahead_beats)
        self.window = int(history_beats)
        self.min_ibi_ms = float(min_ibi_ms)
        self.max_ibi_ms = float(max_ibi_ms)
        self._keep = self.window + 4 * MEDIAN_HALF + 8  # intervals kept before the next label
        self._last_t = -math.inf
        self._recent_nn = np.empty(0)  # the last PRIOR_BEATS NN intervals (ms), any segment
        self._recent_nn_t = -math.inf  # end time (s) of the last of them
        self._prior = np.empty(0)
        self._reset_segment()

    def _reset_segment(self) -> None:
        self._beats = np.empty(0)
        self._suspect = np.empty(0, dtype=np.bool_)
        self._labels = np.empty(0, dtype=np.int8)
        self._n_lab = 0  # buffer-relative: intervals labelled
        self._dec = 0  # buffer-relative: intervals decided
        self._state = np.zeros(3)

    # -- internals -------------------------------------------------------------------------
    def _advance(self, closed: bool) -> NNBatch:
        beats = self._beats
        n_int = beats.shape[0] - 1
        if n_int <= 0:
            return NNBatch.empty()
        n1 = n_int if closed else n_int - self.lookahead
        if n1 > self._n_lab:
            if self._labels.shape[0] < n_int:
                grown = np.zeros(max(n_int, 2 * self._labels.shape[0]), dtype=np.int8)
                grown[: self._n_lab] = self._labels[: self._n_lab]
                self._labels = grown
            rr = _intervals_ms(beats)
            _classify(
                rr, 0, self._n_lab, n1, n_int - 1, self.lookahead, self.window, MEDIAN_HALF,
                ALPHA, C1, C2, MIN_HISTORY, REL_TOL, MIN_THRESHOLD_MS, self._prior, self._labels,
            )
            self._n_lab = n1
        j1 = self._n_lab if closed else self._n_lab - 1
        if j1 <= self._dec:
            return NNBatch.empty()
        m = j1 - self._dec
        out_b = np.empty(m)
        out_t = np.empty(m)
        out_nn = np.empty(m)
        counts = np.zeros(2, dtype=np.int64)
        _decide(
            beats, self._suspect, self._labels, self._dec, j1, n_int, self.min_ibi_ms, self.max_ibi_ms,
            self._state, out_b, out_t, out_nn, counts,
        )
        self._dec = j1
        self._trim()
        if counts[1]:
            self._recent_nn = np.concatenate((self._recent_nn, out_nn[: counts[1]]))[-PRIOR_BEATS:]
            self._recent_nn_t = float(out_t[counts[1] - 1])
        return NNBatch(out_b[: counts[0]], out_t[: counts[1]], out_nn[: counts[1]])

    def _trim(self) -> None:
        # Drop intervals no longer needed: everything before min(dec, n_lab - keep).
        s = min(self._dec, self._n_lab - self._keep)
        if s >= 256:
            self._beats = self._beats[s:].copy()
            self._suspect = self._suspect[s:].copy()
            self._labels = self._labels[s:].copy()
            self._n_lab -= s
            self._dec -= s

    def _close(self) -> NNBatch:
        out = self._advance(closed=True)
        self._reset_segment()
        return out

    def _append(self, piece: np.ndarray, suspect: np.ndarray) -> NNBatch:
        parts = []
        if self._beats.shape[0] == 0:
            # a new segment: its first intervals are judged against the NN intervals just
            # before the gap too, if that was at most PRIOR_S ago (the heart rate is close)
            recent = piece[0] - self._recent_nn_t <= PRIOR_S
            self._prior = self._recent_nn.copy() if recent else np.empty(0)
            parts.append(NNBatch(piece[:1].copy(), np.empty(0), np.empty(0)))
        self._beats = np.concatenate((self._beats, piece))
        self._suspect = np.concatenate((self._suspect, suspect))
        parts.append(self._advance(closed=False))
        return NNBatch.concat(parts)

    # -- public ------------------------------------------------------------------------------
    def push(self, beat_t_s: np.ndarray, suspect: np.ndarray | None = None) -> NNBatch:
        """Add newly detected beat times (s, strictly increasing, any chunking).

        ``suspect`` (bool per beat, optional): beats that are beats but whose timing is not
        trusted (a pulse bent by motion, :mod:`kindpulse.dsp.shape`). They are classified
        like any other, so an extra beat is still removed, but no NN interval starts or
        ends on one.

        Returns
        -------
        NNBatch
            Kept beats and NN intervals that became final with these beats.
        """
        t = np.ascontiguousarray(beat_t_s, dtype=np.float64).reshape(-1)
        if t.shape[0] == 0:
            return NNBatch.empty()
        if not np.all(np.isfinite(t)):
            raise InputError("beat times must be finite")
        if t[0] <= self._last_t or np.any(np.diff(t) <= 0):
            raise InputError("beat times must be strictly increasing across pushes")
        sus = np.zeros(t.shape[0], dtype=np.bool_) if suspect is None else np.asarray(suspect, dtype=np.bool_)
        if sus.shape != t.shape:
            raise InputError("suspect must have one entry per beat")
        prev = self._beats[-1:] if self._beats.shape[0] else t[:0]
        d = np.diff(np.concatenate((prev, t))) * 1000.0
        offset = prev.shape[0]
        cuts = np.flatnonzero(d > self.max_ibi_ms) + 1 - offset  # index in t of a beat after a gap
        self._last_t = float(t[-1])
        parts = []
        start = 0
        for c in cuts:
            if c > start:
                parts.append(self._append(t[start:c], sus[start:c]))
            parts.append(self._close())
            start = int(c)
        parts.append(self._append(t[start:], sus[start:]))
        return NNBatch.concat(parts)

    def gap(self) -> NNBatch:
        """Signal a gap (lost signal, unusable stretch): finalise the current segment.

        No interval is formed across the gap; the next pushed beat starts a new segment.
        """
        return self._close()

    def flush(self) -> NNBatch:
        """End of stream: finalise everything pending (the stream may be reused after)."""
        return self._close()


def correct_beats(
    beat_t_s: np.ndarray,
    gap_after: np.ndarray | None = None,
    **stream_kwargs: float,
) -> NNBatch:
    """Batch correction: identical to pushing all beats into :class:`NNStream`, then flushing.

    Parameters
    ----------
    beat_t_s : ndarray, shape (n,)
        Detected beat times in s, strictly increasing.
    gap_after : ndarray, optional
        Either a boolean mask of shape (n,) or integer indices: a gap follows
        those beats (no interval is formed from them to the next beat).
    **stream_kwargs
        Passed to :class:`NNStream`.

    Returns
    -------
    NNBatch
        All kept beats and NN intervals.
    """
    t = np.ascontiguousarray(beat_t_s, dtype=np.float64).reshape(-1)
    stream = NNStream(**stream_kwargs)
    if gap_after is None:
        idx = np.empty(0, dtype=np.int64)
    else:
        g = np.asarray(gap_after)
        if g.dtype == bool:
            if g.shape != t.shape:
                raise InputError("a boolean gap_after must have one entry per beat")
            idx = np.flatnonzero(g)
        else:
            idx = np.unique(g.astype(np.int64))
            if idx.size and (idx[0] < 0 or idx[-1] >= t.shape[0]):
                raise InputError("gap_after indices must index beat_t_s")
    parts = []
    start = 0
    for i in idx:
        parts.append(stream.push(t[start : i + 1]))
        parts.append(stream.gap())
        start = int(i) + 1
    parts.append(stream.push(t[start:]))
    parts.append(stream.flush())
    return NNBatch.concat(parts)
