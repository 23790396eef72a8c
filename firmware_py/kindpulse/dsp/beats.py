"""Streaming systolic-peak detector for finger PPG with sub-sample timing.

Decisions are made on the band-passed signal (see :mod:`kindpulse.dsp.filter`):
a local maximum is a beat candidate when it lies outside the refractory period after the
last beat and its rise above the lowest point since that beat exceeds a fraction of
the recent beat amplitude (median of the last five rises; the threshold halves while no
beat has come for two expected intervals). A later, higher maximum within a short
look-ahead replaces the candidate when it also rises well from the trough after it (a
dicrotic wave rises little from its notch, even on a baseline ramp), which removes
dicrotic/diastolic peaks.

The expected interval (refractory period, look-ahead) is not taken from the detected
beats: once a few dicrotic waves are taken, the detected intervals shrink, the refractory
shrinks with them and the detector feeds on itself. It is the autocorrelation peak of the
last 8 s of good signal, re-estimated every second (ignored when the window is dominated
by a transient). A candidate in the first 0.6 of that interval after the last beat (where
a dicrotic wave lies) must rise at least 0.8 x the window's beat amplitude
(0.7 x its 2-98 percentile range), which the detected beats cannot corrupt either; in the
compensatory pause after a premature beat, so must one within 0.8 of the interval that
rises less than 0.7 x the premature beat (its diastolic wave).

The time of an accepted beat is refined on a smoother copy (causal 0.7-5 Hz band-pass)
that is run backwards through the same filter over a bounded window (``refine_span_s``
each side of the candidate): locally the same as zero-phase ``sosfiltfilt``, so the
causal filter's frequency-dependent delay does not move beat times, but with a bounded
latency. A three-point parabola through the maximum gives the time below one sample.
At 100 Hz this brings inter-beat intervals from 10 ms quantisation to about a
millisecond (Béres & Hejjel 2021, BSPC 68:102589: interpolated peaks make 50-100 ms
sampling usable for RMSSD). A causal peak is biased by the baseline slope on the flat
side of the systolic peak (about 10 ms on synthetic finger PPG); the local zero-phase
pass removes that bias.

The 5 Hz edge of the timing copy rounds the asymmetric systolic peak, and moves it by an
amount that follows the pulse interval (up to 3.5 ms IBI error on clean 100 Hz PPG whose
heart rate ramps). At 100 Hz and above, a second copy (0.7-30 Hz, at most 0.4 fs) is timed
the same way, and its time is reported while a noise gauge (what that copy leaves above its
upper edge, relative to the pulse; median of the last 16 beats) says the signal is clean:
under sensor noise the wide band lets the noise move the flat top, and the timing copy is
better. The mode has hysteresis, and the interval before a beat where it switches mixes two
timings, so it is marked like a missed beat's (never an NN interval).

Every decision uses only samples up to the current one plus explicit state, so feeding a
recording in one block or in chunks of any size gives identical beats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kindpulse.dsp._numba import kernel, ring_median
from kindpulse.dsp.filter import BandpassFilter

__all__ = ["BeatDetector", "DetectorParams"]

# layout of the float64 state vector passed to the detection kernel
(_CAND, _CAND_VAL, _CAND_RISE, _TROUGH, _TROUGH_AFTER, _LAST, _IBI, _NAMP, _AMP0, _NIBI, _PRIOR,
 _GOOD, _AWIN, _SEC_T, _SEC_V, _NSEC, _MID, _CAND_MID, _MID_T, _CAND_MID_T, _PASS_T, _PASS_RISE,
 _PASS_TROUGH) = range(23)
_NSTATE = 23
_NRING = 5
_SD_RANGE = 2.8  # beat amplitude / SD of a window of finger PPG (2.83 for a sine)


@kernel
def _acf_interval(y, end, w, d, lo, hi, peak_frac, prior, min_corr, jump_corr,
                  sd_range):  # pragma: no cover - compiled
    """Beat interval (samples) from the autocorrelation of y[end - w + 1 : end + 1]
    decimated by block means of ``d`` samples, and the 2-98 percentile range of the window.

    The interval is the first peak over lags lo..hi (decimated samples) that reaches
    ``peak_frac`` of the highest, refined by a parabola. It is 0 (keep the old one) when
    there is no positive peak, when the peak's correlation (normalised by lag 0) is under
    ``min_corr`` (a transient dominates the window), or when it is under ``jump_corr``
    and the interval is outside 0.7-1.4 x ``prior`` (a transient's half or double interval).
    """
    m = w // d
    z = np.empty(m)
    a = end - m * d + 1
    mean = 0.0
    for k in range(m):
        s = 0.0
        for q in range(d):
            s += y[a + k * d + q]
        z[k] = s / d
        mean += z[k]
    mean /= m
    for k in range(m):
        z[k] -= mean
    e0 = 0.0
    for k in range(m):
        e0 += z[k] * z[k]
    amp = sd_range * np.sqrt(e0 / m)
    hi = min(hi, m // 2)
    if hi <= lo + 1:
        return 0.0, amp
    ac = np.empty(hi + 3 - lo)  # lags lo - 1 .. hi + 1
    for lag in range(lo - 1, hi + 2):
        s = 0.0
        for k in range(m - lag):
            s += z[k] * z[k + lag]
        ac[lag - lo + 1] = s
    top = 0.0
    for q in range(1, hi - lo + 2):
        if ac[q] > ac[q - 1] and ac[q] >= ac[q + 1] and ac[q] > top:
            top = ac[q]
    if top <= 0.0:
        return 0.0, amp  # no peak inside the range (a ramp, or no rhythm)
    # the first peak that reaches peak_frac of the highest: a regular rhythm correlates as
    # well at two intervals as at one, and the longer lag would halve the beat rate
    best = 1
    for q in range(1, hi - lo + 2):
        if ac[q] > ac[q - 1] and ac[q] >= ac[q + 1] and ac[q] >= peak_frac * top:
            best = q
            break
    b = ac[best]
    corr = b / e0 if e0 > 0.0 else 0.0
    a0, c0 = ac[best - 1], ac[best + 1]
    den = a0 - 2.0 * b + c0
    off = 0.5 * (a0 - c0) / den if den < 0.0 else 0.0
    est = (lo - 1 + best + off) * d
    if corr < min_corr:
        return 0.0, amp
    if prior > 0.0 and (est < 0.7 * prior or est > 1.4 * prior) and corr < jump_corr:
        return 0.0, amp
    return est, amp


@kernel
def _confirm(st, ring, iring, fs, miss_frac, out_idx, out_amp, out_miss,
             n_out):  # pragma: no cover - compiled
    """Make the pending candidate a beat: write it out, update the running rise and interval.

    A missed beat (the interval spans about two of the signal's own intervals and a maximum
    rising like a pulse was passed over inside it) is written out too, at that maximum,
    before the candidate: the pulse is there (a premature beat on the previous one's
    diastolic wave, a beat the expected interval held back). Neither interval around it
    may become an NN interval, so both beats are marked missed. Only for a maximum rising
    at least 0.5 x the window's beat amplitude, at least 0.4 interval from either beat (not
    a bump on an upstroke), and not after a short interval: there the long one is the
    compensatory pause of a premature beat, and what lies inside it is that beat's own
    diastolic wave."""
    miss = (st[_LAST] >= 0.0 and st[_PRIOR] > 0.0
            and st[_CAND] - st[_LAST] > miss_frac * st[_PRIOR]
            and st[_CAND_MID] >= 0.3 * st[_AWIN])
    gap = 0.4 * st[_PRIOR]
    before = iring[(int(st[_NIBI]) - 1) % iring.shape[0]] if st[_NIBI] >= 1.0 else 0.0
    if (miss and before >= 0.85 * st[_PRIOR] and st[_CAND_MID] >= 0.5 * st[_AWIN]
            and st[_CAND_MID_T] - st[_LAST] >= gap and st[_CAND] - st[_CAND_MID_T] >= gap):
        out_idx[n_out] = st[_CAND_MID_T]
        out_amp[n_out] = st[_CAND_MID]
        out_miss[n_out] = True
        n_out += 1
    out_idx[n_out] = st[_CAND]
    out_amp[n_out] = st[_CAND_RISE]
    out_miss[n_out] = miss
    if st[_LAST] >= 0.0:
        dt = st[_CAND] - st[_LAST]
        if dt < 2.5 * fs:  # running interval: median of the last five
            iring[int(st[_NIBI]) % iring.shape[0]] = dt
            st[_NIBI] += 1.0
            if st[_NIBI] >= 3.0 or st[_IBI] <= 0.0:
                st[_IBI] = ring_median(iring, int(st[_NIBI]))
    ring[int(st[_NAMP]) % ring.shape[0]] = st[_CAND_RISE]
    st[_NAMP] += 1.0
    st[_LAST] = st[_CAND]
    st[_CAND] = -1.0
    st[_TROUGH] = st[_TROUGH_AFTER]
    return n_out + 1


@kernel
def _detect(ybp, bad, start, base, st, ring, iring, fs, thr_frac, refr_s, refr_frac, look_s, look_frac,
            repl_frac, acf_w, acf_hop, acf_d, acf_lo, acf_hi, acf_frac, acf_corr, early_phase, early_rise,
            sring, miss_frac, strong_frac, pause_phase, final, out_idx, out_amp, out_miss):  # pragma: no cover - compiled
    """Run the detector over ybp[start:] (ybp[:start] is history already processed);
    ``final``: the signal ends there, so the pending candidate becomes a beat.

    The global sample index of local sample i is base + i. Writes the global index of
    each accepted beat's band-pass maximum to out_idx, its rise to out_amp and to
    out_miss whether a beat was missed before it (the interval is longer than
    ``miss_frac`` x the signal's interval and a pulse-like maximum lies inside); returns
    how many.
    """
    n_out = 0
    n = ybp.shape[0]
    for i in range(start, n):
        g = base + i
        v = ybp[i]
        if bad[i]:
            st[_CAND] = -1.0
            st[_LAST] = -1.0
            st[_TROUGH] = np.inf
            st[_TROUGH_AFTER] = np.inf
            st[_GOOD] = 0.0
            st[_SEC_T] = 0.0
            st[_SEC_V] = -np.inf
            st[_MID] = 0.0
            st[_PASS_T] = -1.0
            continue
        st[_GOOD] += 1.0
        # expected interval: autocorrelation of the last acf_w good samples, every acf_hop
        # samples of stream time (not the detected intervals, which a dicrotic wave can corrupt)
        # (from the first acf_corr[3] samples of good signal on, over what there is: the
        # interval is known within seconds of a finger being placed)
        if st[_GOOD] >= acf_corr[3] and g % acf_hop == 0:
            w = min(acf_w, int(st[_GOOD]) // acf_d * acf_d)
            est, wamp = _acf_interval(ybp, i, w, acf_d, acf_lo, acf_hi, acf_frac, st[_PRIOR],
                                      acf_corr[0], acf_corr[1], acf_corr[2])
            if est > 0.0:
                st[_PRIOR] = est
            st[_AWIN] = 0.7 * wamp
        ibi = st[_PRIOR]
        if ibi <= 0.0:
            ibi = st[_IBI]
        if ibi <= 0.0:
            ibi = fs  # 60 bpm until we know better
        refr = refr_s * fs
        if st[_PRIOR] > 0.0 or st[_IBI] > 0.0:
            refr = max(refr, refr_frac * ibi)
        # confirm a pending candidate once the look-ahead has passed without a higher maximum;
        # the look-ahead covers the refractory period, so a systolic peak that follows a
        # wrongly taken diastolic wave replaces it instead of being blocked (in-phase lock)
        if st[_CAND] >= 0.0:
            look = max(min(max(look_frac * ibi, 0.15 * fs), look_s * fs), refr)
            if g - st[_CAND] >= look:
                n_out = _confirm(st, ring, iring, fs, miss_frac, out_idx, out_amp, out_miss, n_out)
        if v < st[_TROUGH]:
            st[_TROUGH] = v
        if v < st[_TROUGH_AFTER]:
            st[_TROUGH_AFTER] = v
        if v < st[_PASS_TROUGH]:
            st[_PASS_TROUGH] = v
        # local maximum at i - 1 ?
        if g >= 2 and i >= 2:
            y1 = ybp[i - 1]
            if ybp[i - 2] < y1 and y1 >= v:
                j = g - 1
                since = j - st[_LAST] if st[_LAST] >= 0.0 else 1e18
                amp = ring_median(ring, int(st[_NAMP])) if st[_NAMP] > 0 else st[_AMP0]
                thr = thr_frac * amp
                if since > 2.0 * ibi:
                    thr *= 0.5
                if since > 4.0 * ibi:
                    thr *= 0.5
                rise = y1 - st[_TROUGH]
                # a later, higher maximum replaces the candidate only when it also rises
                # well from the trough after the candidate (a dicrotic wave rises little
                # from its notch, even when a baseline ramp lifts it above the systolic peak)
                left = y1 - st[_TROUGH_AFTER]
                better = st[_CAND] < 0.0 or (y1 > st[_CAND_VAL] and left >= thr
                                             and left >= repl_frac * st[_CAND_RISE])
                # early (a dicrotic wave's place): only a rise like a systolic one's. Where the
                # beats' diastolic waves are known to lie (the median delay of the highest other
                # maximum after each beat), that holds only near that delay, so a premature
                # beat elsewhere in the early part is still taken
                early = since < early_phase * ibi and rise < early_rise * st[_AWIN]
                if early and st[_NSEC] >= 3.0:
                    d_typ = ring_median(sring, int(st[_NSEC]))
                    early = abs(since - d_typ) <= max(0.07 * fs, 0.25 * d_typ)
                basic_early = early
                # after a premature beat (the last interval short) its compensatory pause
                # follows, and the diastolic wave in it lies where no normal beat's does (at a
                # high rate the next upstroke hides it): only a systolic rise there
                if not early and st[_NIBI] >= 2.0 and rise < early_rise * st[_AWIN]:
                    k = int(st[_NIBI])
                    last = iring[(k - 1) % iring.shape[0]]
                    before = iring[(k - 2) % iring.shape[0]]
                    ref = min(ibi, before)
                    early = (since < pause_phase * ref and last < pause_phase * ref and before < 1.2 * ibi
                             and rise < 0.7 * ring[(int(st[_NAMP]) - 1) % ring.shape[0]])
                # the same after a pulse passed over as early (a premature beat where a
                # diastolic wave would be): its own diastolic wave rises from the notch after
                # it, though from the trough before it it rises like a beat
                if not early and st[_PASS_T] >= 0.0 and j - st[_PASS_T] < pause_phase * ibi:
                    rp = y1 - st[_PASS_TROUGH]
                    early = rp < early_rise * st[_AWIN] and rp < 0.7 * st[_PASS_RISE]
                # a second full pulse while the candidate waits: the heart rate has risen
                # past the expected interval; confirm the candidate rather than replace it
                # (rising 0.55 x the candidate at least: a premature beat fills less)
                full = early_rise * st[_AWIN]
                if (st[_CAND] >= 0.0 and j - st[_CAND] >= max(refr_s * fs, strong_frac * ibi)
                        and st[_CAND_RISE] >= full and left >= full and left >= 0.55 * st[_CAND_RISE]):
                    n_out = _confirm(st, ring, iring, fs, miss_frac, out_idx, out_amp, out_miss, n_out)
                    since = j - st[_LAST]
                    rise = y1 - st[_TROUGH]
                    better = True
                # a full systolic upstroke is held back only by the short refractory
                refr_j = max(refr_s * fs, strong_frac * ibi) if rise >= full else refr
                if since >= refr_j and rise >= thr and better and not early:
                    st[_PASS_T] = -1.0
                    # a new beat's candidate: the last beat's diastolic delay is complete
                    if st[_CAND] < 0.0 and st[_SEC_T] > 0.0:
                        sring[int(st[_NSEC]) % sring.shape[0]] = st[_SEC_T]
                        st[_NSEC] += 1.0
                    st[_SEC_T] = 0.0
                    st[_SEC_V] = -np.inf
                    if st[_CAND] < 0.0:
                        st[_CAND_MID] = st[_MID]
                        st[_CAND_MID_T] = st[_MID_T]
                    st[_MID] = 0.0
                    st[_CAND] = j
                    st[_CAND_VAL] = y1
                    st[_CAND_RISE] = rise
                    st[_TROUGH_AFTER] = v
                else:
                    if basic_early and st[_CAND] < 0.0 and since >= refr_j and rise >= thr:
                        st[_PASS_T] = j
                        st[_PASS_RISE] = rise
                        st[_PASS_TROUGH] = v
                    # the highest other maximum after the latest beat (its diastolic wave)
                    ref = st[_CAND] if st[_CAND] >= 0.0 else st[_LAST]
                    if ref >= 0.0:
                        since_ref = j - ref
                        if 0.06 * fs <= since_ref <= 0.7 * ibi and y1 > st[_SEC_V]:
                            st[_SEC_T] = since_ref
                            st[_SEC_V] = y1
                    # a pulse passed over half an interval or more after the latest beat
                    if ref >= 0.0 and j - ref >= 0.5 * ibi:
                        mid = left if st[_CAND] >= 0.0 else rise
                        if mid > st[_MID]:
                            st[_MID] = mid
                            st[_MID_T] = j
    if final and st[_CAND] >= 0.0:
        n_out = _confirm(st, ring, iring, fs, miss_frac, out_idx, out_amp, out_miss, n_out)
    return n_out


@kernel
def _backward(ys, end, stop, sos, buf, z):  # pragma: no cover - compiled
    """Run ``sos`` backwards over ys[end] .. ys[stop], started in steady state for the
    constant input ys[end]; buf[q] is the output at ys index end - q."""
    n_sec = sos.shape[0]
    u = ys[end]
    for s in range(n_sec):
        y = u * (sos[s, 0] + sos[s, 1] + sos[s, 2]) / (1.0 + sos[s, 4] + sos[s, 5])
        z[s, 1] = sos[s, 2] * u - sos[s, 5] * y
        z[s, 0] = sos[s, 1] * u - sos[s, 4] * y + z[s, 1]
        u = y
    for q in range(end - stop + 1):
        v = ys[end - q]
        for s in range(n_sec):
            y = sos[s, 0] * v + z[s, 0]
            z[s, 0] = sos[s, 1] * v - sos[s, 4] * y + z[s, 1]
            z[s, 1] = sos[s, 2] * v - sos[s, 5] * y
            v = y
        buf[q] = v


@kernel
def _vertex(buf, qa, qb, kfit):  # pragma: no cover - compiled
    """Maximum of buf[qa..qb] below one sample: argmax, then the vertex of a least-squares
    parabola through the 2 x kfit + 1 samples around it (kfit = 1: the three-point
    parabola; more points average sensor noise on a flat systolic top). Returns the buf
    index (float; buf runs backwards in time)."""
    best = qa
    for q in range(qa, qb + 1):
        if buf[q] > buf[best]:
            best = q
    d = 0.0
    k = min(kfit, best - qa, qb - best)
    if k >= 1:
        sxy = 0.0
        sx2 = 0.0
        for q in range(-k, k + 1):
            sxy += q * buf[best + q]
            sx2 += q * q
        m2 = sx2 / (2 * k + 1)
        sa = 0.0
        sa2 = 0.0
        for q in range(-k, k + 1):
            w = q * q - m2
            sa += w * buf[best + q]
            sa2 += w * w
        a2 = sa / sa2
        if a2 < 0.0:
            d = -(sxy / sx2) / (2.0 * a2)
            d = min(0.5 * k, max(-0.5 * k, d))
    return best + d


@kernel
def _timing_end(bad, j, span, guard, n):  # pragma: no cover - compiled
    """Last sample of a backward pass for a peak at local index j: j + span, or the sample
    before the first bad one after j + guard, or the end of the buffer."""
    end = min(j + span, n - 1)  # shorter at the end of a recording
    for q in range(j + guard, end + 1):
        if bad[q]:
            return q - 1
    return end


@kernel
def _refine(ys, bad, base, cand, sos, span, search_lo, search_hi, kfit, out_t):  # pragma: no cover - compiled
    """Zero-phase peak time of each candidate: backward pass of ``sos`` over the causal
    output ``ys`` from cand + span (or the sample before the next bad one) down to
    cand - search_lo, then the least-squares vertex (:func:`_vertex`) of the maximum in
    [cand - search_lo, cand + search_hi].

    ``ys[q]`` is global sample base + q. Times are written in samples (global)."""
    buf = np.empty(span + search_lo + 1)
    z = np.empty((sos.shape[0], 2))
    for c in range(cand.shape[0]):
        j = int(cand[c]) - base
        end = _timing_end(bad, j, span, search_hi + 2, ys.shape[0])
        _backward(ys, end, j - search_lo, sos, buf, z)
        qa = end - j - search_hi  # buf index of cand + search_hi
        qb = end - j + search_lo - 1  # keep one neighbour on each side
        out_t[c] = base + end - _vertex(buf, qa, qb, kfit)


@kernel
def _refine_fine(yf, xr, bad, base, cand, sos, span, search_lo, search_hi, kfit, out_t, out_g):  # pragma: no cover - compiled
    """Peak time on the wide-band timing copy ``yf`` (as :func:`_refine`), and the noise
    gauge of the beat.

    The gauge is median |second difference of (raw - zero-phase wide band)| over the
    backward window, divided by the window's range of the wide band: what the wide band
    lets through above its upper edge, relative to the pulse. ``xr`` is the raw signal
    aligned with ``yf``; times in samples (global)."""
    buf = np.empty(span + search_lo + 1)
    r = np.empty(span + search_lo + 1)
    d2 = np.empty(span + search_lo + 1)
    z = np.empty((sos.shape[0], 2))
    for c in range(cand.shape[0]):
        j = int(cand[c]) - base
        end = _timing_end(bad, j, span, search_hi + 2, yf.shape[0])
        _backward(yf, end, j - search_lo, sos, buf, z)
        m = end - j + search_lo + 1
        out_t[c] = base + end - _vertex(buf, end - j - search_hi, m - 2, kfit)
        lo = buf[0]
        hi = buf[0]
        for q in range(m):
            r[q] = xr[end - q] - buf[q]
            lo = min(lo, buf[q])
            hi = max(hi, buf[q])
        for q in range(1, m - 1):
            d2[q - 1] = abs(r[q - 1] - 2.0 * r[q] + r[q + 1])
        out_g[c] = np.median(d2[: m - 2]) / (hi - lo) if m > 2 and hi > lo else np.inf


@kernel
def _timing_mode(g, ring, n_seen, fine, thr_in, thr_out, t_fine, t, switched):  # pragma: no cover - compiled
    """Per beat: push its noise gauge ``g`` into ``ring``; the wide-band timing is on while
    the ring's median is below ``thr_in``, and off again above ``thr_out`` (hysteresis).
    Writes ``t_fine`` into ``t`` where on, and marks in ``switched`` the beats where the
    mode changed (not the very first beat: it has no interval). Returns (n_seen, fine)."""
    for k in range(g.shape[0]):
        ring[n_seen % ring.shape[0]] = g[k]
        n_seen += 1
        level = ring_median(ring, n_seen)
        on = level <= thr_out if fine else level < thr_in
        switched[k] = on != fine and n_seen > 1
        fine = on
        if on:
            t[k] = t_fine[k]
    return n_seen, fine


@dataclass(frozen=True)
class DetectorParams:
    """Tunable constants of the beat detector (times in seconds).

    Attributes
    ----------
    thr_frac : float
        A candidate's rise must reach this fraction of the recent beat amplitude.
    refractory_s, refractory_frac : float
        No beat within ``max(refractory_s, refractory_frac * IBI)`` of the last one
        (0.27 s: 220 bpm).
    lookahead_s, lookahead_frac : float
        A candidate is final after ``min(max(lookahead_frac * IBI, 0.15 s), lookahead_s)``
        without a replacement.
    replace_frac : float
        A later, higher maximum within the look-ahead replaces the candidate when its rise
        from the trough after the candidate reaches this fraction of the candidate's rise.
    timing_low_hz, timing_high_hz : float
        Band of the timing copy (smoother than the detection band: sensor noise moves
        the maximum of the flat systolic top).
    refine_span_s : float
        Length of the local backward (zero-phase) pass after each candidate; also the
        latency of a beat.
    timing_fit_s : float
        Half-width of the least-squares parabola fitted to the top of the timing copy
        (at least one sample each side).
    interval_window_s, interval_hop_s, interval_rate_hz : float
        The expected interval (refractory, look-ahead) is the autocorrelation peak
        (0.3-2 s) of the last ``interval_window_s`` of good detection signal, decimated to
        at least ``interval_rate_hz``, re-estimated every ``interval_hop_s``; from
        ``interval_min_window_s`` of good signal on, over the shorter window there is.
    interval_peak_frac : float
        The first autocorrelation peak reaching this fraction of the highest is taken
        (a regular rhythm correlates as well at two intervals as at one).
    interval_min_corr, interval_jump_corr : float
        An estimate is kept only when its normalised correlation reaches ``min_corr``, and
        ``jump_corr`` when it is outside 0.7-1.4 x the current interval.
    early_phase, early_rise_frac : float
        A candidate within ``early_phase`` x interval after the last beat must rise at
        least ``early_rise_frac`` x the window's beat amplitude (0.7 x 2-98 percentile
        range): a dicrotic wave there rises less than a systolic upstroke. Once the delay of
        the beats' diastolic waves is known (median of the last five), only near it.
    pause_phase : float
        After a premature beat (its interval under ``pause_phase`` x the expected one and
        x the interval before it, which was not long), a maximum within ``pause_phase`` x
        the expected interval that rises less than a systolic upstroke and under 0.7 x
        that beat's rise is its diastolic wave: at a high rate the next upstroke hides the
        normal beats' waves, so the learnt delay does not cover the one standing alone in
        a compensatory pause.
    strong_refractory_frac : float
        A maximum rising like a systolic upstroke (``early_rise_frac`` x the window's beat
        amplitude) is held back only within ``max(refractory_s, this x IBI)``, and a second
        such pulse that long after a pending candidate confirms it: the expected interval
        lags a rising heart rate, so it must not halve the beat rate.
    missed_frac : float
        An interval longer than this many expected intervals, with a maximum rising at least
        0.3 x the window's beat amplitude passed over inside it, follows a missed beat.
    fine_low_hz, fine_high_hz, fine_min_fs : float
        Band of the wide-band timing copy used on clean signal (upper edge at most 0.4 fs;
        none below ``fine_min_fs``): the 5 Hz edge of the timing band rounds the systolic
        peak asymmetrically, and the rounding follows the pulse interval.
    fine_noise_in, fine_noise_out : float
        Noise gauge (see :func:`_refine_fine`; median of the last ``fine_ring`` beats) below
        which the wide-band time is reported, and above which the timing copy's again. The
        wide band is the better timing only on nearly noise-free signal: on synthetic PPG
        at 100 Hz it loses to the timing copy from white noise of about 0.06 % of the pulse
        on (gauge 0.0009); 1 % gives a gauge of about 0.015.
    fine_ring : int
        Beats in the gauge median.
    """

    thr_frac: float = 0.35
    refractory_s: float = 0.27
    refractory_frac: float = 0.55
    lookahead_s: float = 0.6
    lookahead_frac: float = 0.5
    replace_frac: float = 0.6
    timing_low_hz: float = 0.7
    timing_high_hz: float = 5.0
    refine_span_s: float = 1.5
    timing_fit_s: float = 0.01
    interval_window_s: float = 8.0
    interval_min_window_s: float = 3.0
    interval_hop_s: float = 1.0
    interval_rate_hz: float = 25.0
    interval_peak_frac: float = 0.75
    interval_min_corr: float = 0.3
    interval_jump_corr: float = 0.5
    early_phase: float = 0.6
    early_rise_frac: float = 0.8
    pause_phase: float = 0.8
    missed_frac: float = 1.5
    strong_refractory_frac: float = 0.5
    fine_low_hz: float = 0.7
    fine_high_hz: float = 30.0
    fine_min_fs: float = 100.0
    fine_noise_in: float = 0.0006
    fine_noise_out: float = 0.0012
    fine_ring: int = 16


class BeatDetector:
    """Streaming beat detector; owns the state the numba kernels work on.

    Parameters
    ----------
    fs : float
        Sample rate in Hz.
    params : DetectorParams, optional

    Notes
    -----
    :meth:`process` takes the detection chunk (band-passed, blood-volume-up polarity)
    and the raw chunk (same polarity, for the timing copy). It returns the beats whose
    timing window is complete, as times in samples from the stream start (float,
    refined below one sample), so beats come out ``refine_span_s`` late. After
    :meth:`skip` (samples lost) or :meth:`reset` the pending beats are dropped.
    """

    def __init__(self, fs: float, params: DetectorParams | None = None) -> None:
        self.fs = float(fs)
        self.p = params or DetectorParams()
        self.timing = BandpassFilter(self.fs, self.p.timing_low_hz, self.p.timing_high_hz, 2)
        self.fine = None
        if self.fs >= self.p.fine_min_fs:
            hi = min(self.p.fine_high_hz, 0.4 * self.fs)
            self.fine = BandpassFilter(self.fs, self.p.fine_low_hz, hi, 2)
        self.gring = np.full(max(1, self.p.fine_ring), np.inf)  # noise gauges of the last beats
        self.n_gauge = 0
        self.fine_mode = False  # kept across reset: the finger and its noise stay
        self.span = max(4, int(round(self.p.refine_span_s * self.fs)))
        self.search_lo = max(2, int(round(0.15 * self.fs)))
        self.search_hi = max(2, int(round(0.1 * self.fs)))
        self.kfit = max(1, int(round(self.p.timing_fit_s * self.fs)))
        self.acf_d = max(1, int(self.fs // self.p.interval_rate_hz))
        self.acf_w = max(8 * self.acf_d, int(round(self.p.interval_window_s * self.fs)))
        self.acf_hop = max(1, int(round(self.p.interval_hop_s * self.fs)))
        min_w = int(round(self.p.interval_min_window_s * self.fs))
        self.acf_min = float(min(self.acf_w, max(8 * self.acf_d, min_w)))
        self.acf_lo = max(2, int(0.3 * self.fs / self.acf_d))
        self.acf_hi = int(math.ceil(2.0 * self.fs / self.acf_d))
        self.state = np.zeros(_NSTATE)
        self.ring = np.zeros(_NRING)
        self.iring = np.zeros(_NRING)
        self.sring = np.zeros(_NRING)  # delays (samples) of the diastolic waves of the last beats
        self._ibi0 = 0.0
        self._prior0 = 0.0
        self.n_seen = 0
        self._ybp = np.zeros(0)
        self._bp_base = 0
        self._ys = np.zeros(0)
        self._yf = np.zeros(0)
        self._xr = np.zeros(0)
        self._ysbad = np.zeros(0, dtype=np.bool_)
        self._ys_base = 0
        self._pend_idx = np.zeros(0)
        self._pend_amp = np.zeros(0)
        self._pend_miss = np.zeros(0, dtype=bool)
        self._dropped_last = False
        self._amp0 = 0.0
        self.reset()

    # -- state ------------------------------------------------------------
    def reset(self) -> None:
        """Forget beats, candidates and filter state (after a gap); time base is kept."""
        st = self.state
        if st[_NAMP] > 0:
            self._amp0 = float(np.median(self.ring[: int(min(st[_NAMP], _NRING))]))
        if st[_IBI] > 0:
            self._ibi0 = float(st[_IBI])
        if st[_PRIOR] > 0:
            self._prior0 = float(st[_PRIOR])
        st[:] = 0.0
        st[_CAND] = -1.0
        st[_LAST] = -1.0
        st[_TROUGH] = np.inf
        st[_TROUGH_AFTER] = np.inf
        st[_AMP0] = self._amp0
        st[_AWIN] = self._amp0
        st[_IBI] = self._ibi0
        st[_PRIOR] = self._prior0
        self.ring[:] = 0.0
        self.iring[:] = 0.0
        self.sring[:] = 0.0
        st[_SEC_V] = -np.inf
        st[_PASS_T] = -1.0
        self.timing.reset()
        if self.fine is not None:
            self.fine.reset()
        self._ybp = np.zeros(0)
        self._bp_base = self.n_seen
        self._ys = np.zeros(0)
        self._yf = np.zeros(0)
        self._xr = np.zeros(0)
        self._ysbad = np.zeros(0, dtype=np.bool_)
        self._ys_base = self.n_seen
        self._pend_idx = np.zeros(0)
        self._pend_amp = np.zeros(0)
        self._pend_miss = np.zeros(0, dtype=bool)
        self._dropped_last = False

    def set_amplitude(self, amp0: float) -> None:
        """Beat amplitude (rise, band-passed units) assumed before the first beat."""
        self._amp0 = float(amp0)
        self.state[_AMP0] = self._amp0
        self.state[_AWIN] = self._amp0

    def set_interval(self, ibi_s: float) -> None:
        """Inter-beat interval (s) assumed before the first beats (sets the refractory)."""
        self._ibi0 = max(0.0, float(ibi_s)) * self.fs
        self._prior0 = self._ibi0
        self.state[_IBI] = self._ibi0
        self.state[_PRIOR] = self._prior0

    @property
    def amplitude(self) -> float:
        """Current beat amplitude estimate (median of the last rises)."""
        n = int(self.state[_NAMP])
        if n == 0:
            return float(self.state[_AMP0])
        return float(np.median(self.ring[: min(n, _NRING)]))

    @property
    def ibi_s(self) -> float:
        """Running inter-beat interval estimate in s (0 before two beats)."""
        return float(self.state[_IBI] / self.fs)

    def skip(self, n: int) -> None:
        """Advance time by ``n`` lost samples; forgets state (no beat spans the gap)."""
        self.n_seen += int(n)
        self.reset()

    # -- processing ---------------------------------------------------------
    def process(self, ybp: np.ndarray, x: np.ndarray,
                bad: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feed aligned chunks; return the beats now final.

        Parameters
        ----------
        ybp : ndarray
            Band-passed chunk (detection), blood-volume-up polarity.
        x : ndarray
            Raw chunk, same polarity and length (timing copy is filtered here).
        bad : ndarray of bool, optional
            Samples of an unusable stretch: no beat there, none bridging it.

        Returns
        -------
        t_samples, rises, missed_before : ndarray
            Beat times in samples from the stream start (refined below one sample), their
            rises (band-passed units), and whether a beat was missed just before each one
            (its interval must not become an NN interval).
        """
        ybp = np.ascontiguousarray(ybp, dtype=np.float64).ravel()
        x = np.ascontiguousarray(x, dtype=np.float64).ravel()
        ys_new = self.timing.process(x)
        p = self.p
        start = self._ybp.size
        bp = np.concatenate([self._ybp, ybp])
        mask = np.zeros(bp.size, dtype=np.bool_)
        if bad is not None:
            mask[start:] = np.asarray(bad, dtype=np.bool_).ravel()
        self._run_detect(bp, mask, start)
        self.n_seen += ybp.size
        keep = min(bp.size, max(4, self.acf_w))
        self._ybp = bp[bp.size - keep:].copy()
        self._bp_base = self.n_seen - keep
        ys = np.concatenate([self._ys, ys_new])
        ysbad = np.concatenate([self._ysbad, mask[start:]])
        if self.fine is not None:
            self._yf = np.concatenate([self._yf, self.fine.process(x)])
            self._xr = np.concatenate([self._xr, x])
        ready = (self._pend_idx + self.span) < self.n_seen
        # candidates too close to the start of the timing buffer cannot be refined
        ok = (self._pend_idx - self.search_lo - 1) >= self._ys_base
        out = self._release(ys, ysbad, ready, ok)
        keep = min(ys.size, self.span + self.search_lo + int(p.lookahead_s * self.fs) + 8)
        self._ys_base = self.n_seen - keep
        self._ys = ys[ys.size - keep:].copy()
        self._ysbad = ysbad[ysbad.size - keep:].copy()
        if self.fine is not None:
            self._yf = self._yf[self._yf.size - keep:].copy()
            self._xr = self._xr[self._xr.size - keep:].copy()
        return out

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """End of the signal: confirm the pending candidate and return every pending beat
        (as :meth:`process`), timed on the samples there are (a shorter backward pass).
        Then :meth:`reset`."""
        if self.state[_CAND] >= 0.0:
            self._run_detect(self._ybp, np.zeros(self._ybp.size, dtype=np.bool_), self._ybp.size, final=True)
        # a peak needs its search window and one sample after it to be timed
        ok = ((self._pend_idx - self.search_lo - 1) >= self._ys_base) & \
             (self._pend_idx + self.search_hi + 2 <= self.n_seen - 1)
        out = self._release(self._ys, self._ysbad, np.ones(self._pend_idx.size, dtype=bool), ok)
        self.reset()
        return out

    def _run_detect(self, bp: np.ndarray, mask: np.ndarray, start: int, final: bool = False) -> None:
        """The detection kernel over bp[start:]; its beats join the pending ones."""
        p = self.p
        cap = (bp.size - start) // 2 + 4  # a beat, and a missed one before it, per refractory period
        out_i = np.empty(cap)
        out_a = np.empty(cap)
        out_m = np.zeros(cap, dtype=np.bool_)
        n = _detect(bp, mask, start, self._bp_base, self.state, self.ring, self.iring, self.fs, p.thr_frac,
                    p.refractory_s, p.refractory_frac, p.lookahead_s, p.lookahead_frac, p.replace_frac,
                    self.acf_w, self.acf_hop, self.acf_d, self.acf_lo, self.acf_hi, p.interval_peak_frac,
                    np.array([p.interval_min_corr, p.interval_jump_corr, _SD_RANGE, self.acf_min]),
                    p.early_phase, p.early_rise_frac, self.sring, p.missed_frac, p.strong_refractory_frac,
                    p.pause_phase, final, out_i, out_a, out_m)
        self._pend_idx = np.concatenate([self._pend_idx, out_i[:n]])
        self._pend_amp = np.concatenate([self._pend_amp, out_a[:n]])
        self._pend_miss = np.concatenate([self._pend_miss, out_m[:n]])

    def _release(self, ys, ysbad, ready, ok):
        go = ready & ok
        idx = np.ascontiguousarray(self._pend_idx[go])
        t = np.empty(idx.size)
        switched = np.zeros(idx.size, dtype=bool)
        if idx.size:
            _refine(ys, ysbad, self._ys_base, idx, self.timing.sos, self.span, self.search_lo,
                    self.search_hi, self.kfit, t)
            if self.fine is not None:
                switched = self._fine_times(ysbad, idx, t)
        # a beat that cannot be timed is dropped: the next one's interval spans it
        miss = self._pend_miss.copy()
        dropped = ready & ~ok
        for k in range(miss.size):  # pending beats: a handful
            prev_dropped = dropped[k - 1] if k > 0 else self._dropped_last
            if prev_dropped:
                miss[k] = True
        rd = np.flatnonzero(ready)
        if rd.size:
            self._dropped_last = bool(dropped[rd[-1]])
        a = self._pend_amp[go]
        m = miss[go] | switched
        pending = ~ready
        self._pend_idx = self._pend_idx[pending]
        self._pend_amp = self._pend_amp[pending]
        self._pend_miss = miss[pending]
        return t, a, m

    def _fine_times(self, ysbad: np.ndarray, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Replace the coarse times ``t`` (in place) by the wide-band ones while the noise
        gauge says the signal is clean. Returns which beats switched timing: the interval
        before such a beat mixes two timings and must not become an NN interval."""
        tf = np.empty(t.size)
        g = np.empty(t.size)
        _refine_fine(self._yf, self._xr, ysbad, self._ys_base, idx, self.fine.sos, self.span,
                     self.search_lo, self.search_hi, self.kfit, tf, g)
        switched = np.zeros(t.size, dtype=np.bool_)
        n, on = _timing_mode(g, self.gring, self.n_gauge, self.fine_mode, self.p.fine_noise_in,
                             self.p.fine_noise_out, tf, t, switched)
        self.n_gauge, self.fine_mode = int(n), bool(on)
        return switched
