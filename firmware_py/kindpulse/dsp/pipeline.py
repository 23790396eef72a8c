"""PPG to beats, NN intervals and quality: the streaming pipeline and its batch form.

::

    raw counts -> polarity (blood volume up) -> causal band-pass 0.5-8 Hz
        -> quality per 0.5 s block (no_signal, saturation, clipping, motion)
        -> beat detector (skips unusable blocks) -> local zero-phase timing
        -> usable beats (away from flagged blocks) -> NNStream (Lipponen-Tarvainen)

:class:`PPGStream` is what the daemon runs; :func:`analyze_ppg` pushes a whole recording
through the same stream, so batch and streaming give the same beats. Beat times are
seconds from the first sample by sample index (``index / fs``), refined below one sample.
The stream first buffers ``warmup_s`` of signal to detect the polarity (when not told)
and the initial beat amplitude; a recording shorter than that is processed at flush.

Polarity: the MAX30102 reports light, which falls as blood volume rises. The systolic
upstroke of blood volume is steep and the decay slow, so in blood-volume-up polarity the
first difference of the band-passed signal is positively skewed; the stream flips the
signal when it is negatively skewed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kindpulse.dsp.artifacts import NNBatch, NNStream
from kindpulse.dsp.beats import BeatDetector, DetectorParams
from kindpulse.dsp.filter import BandpassFilter
from kindpulse.dsp.hrv import HRV_KEYS, hrv_metrics
from kindpulse.dsp.quality import MIN_HRV_FS, QualityParams, QualityTracker, flag_names
from kindpulse.dsp.shape import BeatShape
from kindpulse.errors import ConfigError, InputError

__all__ = ["PPGStream", "StreamUpdate", "analyze_ppg", "detect_inverted", "dominant_interval_s"]

_GAP = 16  # block flag: samples lost (not a quality issue of the signal itself)


@dataclass
class StreamUpdate:
    """What one :meth:`PPGStream.push` made final.

    Attributes
    ----------
    beats_s : ndarray
        Accepted beat times in s from the stream start (beats judged extra left out).
    nn_t_s, nn_ms : ndarray
        Time (s) of the beat ending each valid NN interval, and its length (ms).
    usable_fraction : float
        Fraction of the blocks measured in this push that have no quality flag (nan when
        no block completed).
    issues : list of str
        Flags seen in this push: no_signal, saturation, clipping, motion, lost_samples,
        low_sample_rate.
    blocks, good_blocks : int
        Quality blocks measured in this push, and those without a flag.
    hr_bpm : float or None
        Latest heart rate from the detector's running interval (None before two beats).
    t_s : float
        Stream time in s of the last sample measured for quality.
    """

    beats_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    nn_t_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    nn_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    usable_fraction: float = math.nan
    blocks: int = 0
    good_blocks: int = 0
    issues: list[str] = field(default_factory=list)
    hr_bpm: float | None = None
    t_s: float = 0.0


def detect_inverted(x: np.ndarray, fs: float) -> bool:
    """True when ``x`` looks like raw sensor light (blood volume down).

    In blood-volume-up polarity the band-passed PPG has sharp high systolic peaks and
    broad troughs, so its skewness is positive (checked on synthetic PPG, HeartPy's and
    systole's recordings); raw light is the mirror image.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    return x.size >= 8 and _negative_skew(_settled_bandpass(x, fs))


def _settled_bandpass(x: np.ndarray, fs: float) -> np.ndarray:
    """The causal band-pass of ``x`` without its first second (the start-up transient)."""
    y = BandpassFilter(fs).process(x)
    return y[int(min(1.0 * fs, y.size // 4)):]


def _negative_skew(y: np.ndarray) -> bool:
    y = y - y.mean()
    sd = y.std()
    return bool(sd > 0 and float(np.mean(y**3) / sd**3) < 0.0)


def dominant_interval_s(y: np.ndarray, fs: float, lo_s: float = 0.3, hi_s: float = 2.0) -> float:
    """Beat interval (s) from the autocorrelation peak of a band-passed stretch (0 if none).

    The highest local maximum of the autocorrelation over lags ``lo_s``..``hi_s``; an end of
    the range is no peak (an autocorrelation still falling at 0.3 s, from slow respiratory
    wander in a short stretch, gave 0.3 s for a 50 bpm pulse, and the detector then took
    every wiggle for a beat).
    """
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    a, b = max(1, int(lo_s * fs)), min(int(hi_s * fs), y.size // 2)
    if b <= a + 2 or not np.any(y):
        return 0.0
    n = y.size
    spec = np.fft.rfft(y, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[: n]
    seg = ac[a - 1:b + 1]
    peak = (seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])
    if not np.any(peak):
        return 0.0
    vals = np.where(peak, seg[1:-1], -np.inf)
    k = int(np.argmax(vals))
    if vals[k] <= 0:
        return 0.0
    return (a + k) / fs


class PPGStream:
    """Streaming PPG analysis with explicit state.

    Parameters
    ----------
    fs : float
        Sample rate in Hz (> 0). Below 25 Hz beats are still found but no NN intervals
        are given (issue ``low_sample_rate``).
    invert : bool or None
        True for raw sensor counts (more blood, less light), False for blood-volume-up
        PPG, None to detect from the first ``warmup_s``.
    full_scale : float, optional
        ADC full scale in counts (``2**18 - 1`` for the MAX30102): enables saturation and
        no-finger checks.
    warmup_s : float
        Signal buffered before the first beat decision (polarity, initial amplitude).
    detector, quality : parameter dataclasses, optional
    nn_lookahead_beats : int, optional
        Look-ahead of the artefact correction (NNStream default when None).
    """

    def __init__(
        self,
        fs: float,
        *,
        invert: bool | None = None,
        full_scale: float | None = None,
        warmup_s: float = 8.0,
        detector: DetectorParams | None = None,
        quality: QualityParams | None = None,
        nn_lookahead_beats: int | None = None,
    ) -> None:
        if not (isinstance(fs, (int, float)) and math.isfinite(fs) and fs > 0):
            raise ConfigError(f"sample rate must be a positive number of Hz, got {fs!r}")
        if fs < 10.0:
            raise ConfigError(f"sample rate {fs} Hz is too low to find beats; "
                              "record at >= 25 Hz (100 Hz best)")
        self.fs = float(fs)
        self.invert = invert
        self.hrv_ok = self.fs >= MIN_HRV_FS
        self.warmup = max(1, int(round(warmup_s * self.fs)))
        self.bp = BandpassFilter(self.fs)
        self.det = BeatDetector(self.fs, detector)
        self.q = QualityTracker(self.fs, full_scale, quality)
        self.block = self.q.block
        self._blockmask = self.q.blocking | _GAP
        self.mb = int(round(self.q.p.margin_before_s * self.fs))
        self.ma = int(round(self.q.p.margin_after_s * self.fs))
        self.m_blocks = int(math.ceil(self.ma / self.block))
        self.nn = NNStream() if nn_lookahead_beats is None else NNStream(lookahead_beats=nn_lookahead_beats)
        self.shape = BeatShape(self.fs, max_after_s=0.9 * self.q.p.margin_before_s)
        self._yh = np.empty(0)  # band-passed history for the beat-shape check
        self._yh0 = 0  # stream sample of _yh[0]
        self._yh_keep = int(round(8.0 * self.fs))  # trimmed in steps of at least this
        self.off_shape_beats = 0
        self._warm: list[np.ndarray] | None = []
        self._n_warm = 0
        self._sign = 1.0
        self._n = 0  # samples consumed (index of the next sample), incl. lost ones
        self._pend_raw = np.empty(0)
        self._pend_x = np.empty(0)
        self._pend_y = np.empty(0)
        self._pend_start = 0
        # block history: start sample, end sample, flags (trimmed to recent blocks)
        self._b_start = np.empty(0, dtype=np.int64)
        self._b_end = np.empty(0, dtype=np.int64)
        self._b_flag = np.empty(0, dtype=np.int64)
        self._q_end = 0  # quality known for samples < _q_end
        self._queue = np.empty(0)  # detected beats (samples) awaiting quality
        self._queue_miss = np.empty(0, dtype=bool)  # a beat was missed just before it
        self._last_pushed = -math.inf  # sample time of the last beat given to NNStream
        self._gap_open = False
        self._hr: float | None = None
        # totals (for analyze)
        self.n_blocks = 0
        self.n_good_blocks = 0
        self.issue_counts: dict[str, int] = {}

    # -- public ----------------------------------------------------------------------------
    @property
    def inverted(self) -> bool | None:
        """Polarity in use (None until decided)."""
        return None if self._warm is not None else self._sign < 0

    def push(self, samples: np.ndarray, lost_before: int = 0) -> StreamUpdate:
        """Feed the next chunk of raw samples.

        Parameters
        ----------
        samples : ndarray, shape (n,)
            Raw samples (counts), any chunk size.
        lost_before : int
            Samples lost just before this chunk (FIFO overflow): time advances by them,
            no beat or interval spans them, filters restart.
        """
        x = np.asarray(samples, dtype=np.float64).ravel()
        if not np.all(np.isfinite(x)):
            raise InputError("PPG samples must be finite numbers; drop or interpolate NaN/inf first")
        upd = StreamUpdate()
        if lost_before < 0:
            raise InputError("lost_before must be >= 0")
        if lost_before:
            if self._warm is not None:
                self._finish_warmup(upd)
            self._lose(int(lost_before), upd)
        if self._warm is not None:
            self._warm.append(x)
            self._n_warm += x.size
            if self._n_warm >= self.warmup:
                self._finish_warmup(upd)
            return self._finalise(upd)
        self._process(x, upd)
        return self._finalise(upd)

    def flush(self) -> StreamUpdate:
        """End of the stream: finish the partial block and every pending beat."""
        upd = StreamUpdate()
        if self._warm is not None:
            self._finish_warmup(upd)
        # the partial last block takes the blocking flags of the block before it (too short to
        # measure); the detector then times its pending beats on the samples there are, so a
        # recording has beats up to its end
        if self._pend_raw.size:
            a, b = self._pend_start, self._pend_start + self._pend_raw.size
            flag = int(self._b_flag[-1]) & self._blockmask if self._b_flag.size else _GAP
            self._b_start = np.concatenate([self._b_start, [a]])
            self._b_end = np.concatenate([self._b_end, [b]])
            self._b_flag = np.concatenate([self._b_flag, [flag]])
            self._enqueue(*self.det.process(self._pend_y, self._pend_x, np.full(b - a, flag != 0)))
            self._pend_raw = self._pend_raw[:0]
            self._pend_x = self._pend_x[:0]
            self._pend_y = self._pend_y[:0]
            self._pend_start = b
            self._q_end = b
        self._enqueue(*self.det.finish())
        self._release(upd, final=True)
        self._emit(self.nn.flush(), upd)
        return self._finalise(upd)

    # -- internals -------------------------------------------------------------------------
    def _finish_warmup(self, upd: StreamUpdate) -> None:
        buf = np.concatenate(self._warm) if self._warm else np.empty(0)
        self._warm = None
        head = buf[: self.warmup]
        y = _settled_bandpass(head, self.fs) if head.size else head
        inv = self.invert if self.invert is not None else (head.size >= 8 and _negative_skew(y))
        self._sign = -1.0 if inv else 1.0
        if buf.size:
            y = self._sign * y  # the filter is linear: flipping after it is the same
            amp = float(np.percentile(y, 98) - np.percentile(y, 2)) if y.size else 0.0
            self.det.set_amplitude(0.7 * amp)
            self.det.set_interval(dominant_interval_s(y, self.fs))
            self._process(buf, upd)

    def _process(self, raw: np.ndarray, upd: StreamUpdate) -> None:
        if raw.size == 0:
            return
        x = self._sign * raw
        y = self.bp.process(x)
        if self._yh.size == 0:
            self._yh0 = self._n
        self._yh = np.concatenate([self._yh, y])
        self._n += raw.size
        self._pend_raw = np.concatenate([self._pend_raw, raw])
        self._pend_x = np.concatenate([self._pend_x, x])
        self._pend_y = np.concatenate([self._pend_y, y])
        nb = self._pend_raw.size // self.block
        if nb == 0:
            return
        m = nb * self.block
        flags = self.q.measure(self._pend_raw[:m], self._pend_y[:m])
        starts = self._pend_start + self.block * np.arange(nb, dtype=np.int64)
        self._add_blocks(starts, starts + self.block, flags, upd)
        # detector mask: a flagged block and half the margin after it (ringing), so the
        # detector has settled when beats become usable again
        mb = max(0, self.m_blocks - 1)
        hist = np.concatenate([np.zeros(mb, dtype=bool), (self._b_flag & self._blockmask) != 0])[-(nb + mb):]
        bad_b = np.zeros(nb, dtype=bool)
        for k in range(mb + 1):  # mb is small (2)
            bad_b |= hist[mb - k: mb - k + nb]
        bad = np.repeat(bad_b, self.block)
        self._enqueue(*self.det.process(self._pend_y[:m], self._pend_x[:m], bad))
        self._pend_raw = self._pend_raw[m:]
        self._pend_x = self._pend_x[m:]
        self._pend_y = self._pend_y[m:]
        self._pend_start += m
        self._q_end = self._pend_start
        self._release(upd)

    def _enqueue(self, t: np.ndarray, _rises: np.ndarray, missed: np.ndarray) -> None:
        self._queue = np.concatenate([self._queue, t])
        self._queue_miss = np.concatenate([self._queue_miss, missed])

    def _add_blocks(self, starts, ends, flags, upd: StreamUpdate) -> None:
        self._b_start = np.concatenate([self._b_start, starts])
        self._b_end = np.concatenate([self._b_end, ends])
        self._b_flag = np.concatenate([self._b_flag, flags])
        real = flags & ~_GAP
        self.n_blocks += int(np.count_nonzero((flags & _GAP) == 0))
        self.n_good_blocks += int(np.count_nonzero((flags & self._blockmask) == 0))
        upd.blocks += int(np.count_nonzero((flags & _GAP) == 0))
        upd.good_blocks += int(np.count_nonzero((flags & self._blockmask) == 0))
        for bit in (1, 2, 4, 8):
            c = int(np.count_nonzero(real & bit))
            if c:
                name = flag_names(bit)[0]
                self.issue_counts[name] = self.issue_counts.get(name, 0) + c
                if name not in upd.issues:
                    upd.issues.append(name)
        if np.any(flags & _GAP) and "lost_samples" not in upd.issues:
            upd.issues.append("lost_samples")

    def _mark_lost(self, a: int, b: int) -> None:
        self._b_start = np.concatenate([self._b_start, [a]])
        self._b_end = np.concatenate([self._b_end, [b]])
        self._b_flag = np.concatenate([self._b_flag, [_GAP]])
        self._q_end = max(self._q_end, b)

    def _close_partial(self, upd: StreamUpdate) -> None:
        a = self._pend_start
        b = a + self._pend_raw.size
        self._mark_lost(a, b)
        self._pend_raw = self._pend_raw[:0]
        self._pend_x = self._pend_x[:0]
        self._pend_y = self._pend_y[:0]
        self._pend_start = b

    def _lose(self, n: int, upd: StreamUpdate) -> None:
        rest = self._pend_raw.size
        a = self._pend_start
        self._close_partial(upd)
        self._mark_lost(a, a + rest + n)
        self._n += n
        self._pend_start = self._n
        self.det.skip(rest + n)
        self.bp.reset()
        self._yh = self._yh[:0]
        self.shape.restart_intervals()
        self.q.reset_reference()
        if "lost_samples" not in upd.issues:
            upd.issues.append("lost_samples")
        self._release(upd)

    def _release(self, upd: StreamUpdate, final: bool = False) -> None:
        q = self._queue
        if q.size == 0 and not final:
            self._trim_blocks()
            return
        ready = np.ones(q.size, dtype=bool) if final else (q + self.mb < self._q_end)
        t = q[ready]
        missed = self._queue_miss[ready]
        self._queue = q[~ready]
        self._queue_miss = self._queue_miss[~ready]
        if t.size:
            bad = (self._b_flag & self._blockmask) != 0
            cum = np.concatenate([[0], np.cumsum(bad)])
            # bad blocks overlapping [t - ma, t + mb]
            lo = np.searchsorted(self._b_end, t - self.ma, side="right")
            hi = np.searchsorted(self._b_start, t + self.mb, side="right")
            usable = (cum[hi] - cum[lo]) == 0
            # a usable beat whose shape is unlike the recent beats' (motion below the block
            # threshold) stays a beat, but no NN interval ends or starts on it (NNStream)
            corr = self.shape.correlate(self._yh, self._yh0, t, usable)
            off_shape = usable & (corr < self.q.p.shape_corr_min)
            self.off_shape_beats += int(np.count_nonzero(off_shape))
            # a bad block, or a dropped beat, between consecutive usable beats -> gap
            prev = np.concatenate([[self._last_pushed], t[:-1]])
            lo2 = np.searchsorted(self._b_end, prev, side="right")
            hi2 = np.searchsorted(self._b_start, t, side="right")
            between_bad = (cum[hi2] - cum[lo2]) > 0
            idx_usable = np.flatnonzero(usable)
            if idx_usable.size:
                nd = np.cumsum(~usable)[idx_usable]  # beats dropped before each usable one
                gap_before = np.diff(np.concatenate([[0], nd])) > 0
                gap_before[0] |= self._gap_open
                gap_before |= between_bad[idx_usable]
                gap_before |= missed[idx_usable]  # a missed beat: no interval spans it
                odd = off_shape[idx_usable]
                tu = t[idx_usable] / self.fs
                cuts = np.flatnonzero(gap_before)
                start = 0
                for c in cuts:  # one iteration per unusable stretch, not per beat
                    if c > start:
                        part = tu[start:c]
                        self._emit(self.nn.push(part, odd[start:c]) if self.hrv_ok else _beats_only(part), upd)
                    self._emit(self.nn.gap() if self.hrv_ok else NNBatch.empty(), upd)
                    start = int(c)
                self._emit(self.nn.push(tu[start:], odd[start:]) if self.hrv_ok else _beats_only(tu[start:]), upd)
                self._last_pushed = float(t[idx_usable[-1]])
                self._gap_open = not bool(usable[-1])
            else:
                self._gap_open = True
        self._trim_blocks()

    def _trim_history(self) -> None:
        # the shape check needs the signal from 1 s before the oldest beat still to come:
        # a queued one, or one the detector has yet to time (at most ~2.5 s behind q_end)
        oldest = min(float(self._queue[0]) if self._queue.size else math.inf, self._q_end - 4.0 * self.fs)
        cut = int(oldest - self.fs) - self._yh0
        if cut > self._yh_keep:
            self._yh = self._yh[cut:]
            self._yh0 += cut

    def _trim_blocks(self) -> None:
        self._trim_history()
        horizon = min(self._last_pushed if math.isfinite(self._last_pushed) else 0.0,
                      float(self._queue[0]) if self._queue.size else math.inf) - self.ma - 4 * self.block
        k = int(np.searchsorted(self._b_end, horizon, side="left"))
        if k > 256:
            self._b_start = self._b_start[k:]
            self._b_end = self._b_end[k:]
            self._b_flag = self._b_flag[k:]

    def _emit(self, batch: NNBatch, upd: StreamUpdate) -> None:
        if batch.beats_s.size:
            upd.beats_s = np.concatenate([upd.beats_s, batch.beats_s])
        if batch.nn_ms.size:
            upd.nn_t_s = np.concatenate([upd.nn_t_s, batch.nn_t_s])
            upd.nn_ms = np.concatenate([upd.nn_ms, batch.nn_ms])

    def _finalise(self, upd: StreamUpdate) -> StreamUpdate:
        if upd.blocks:
            upd.usable_fraction = upd.good_blocks / upd.blocks
        if not self.hrv_ok and "low_sample_rate" not in upd.issues:
            upd.issues.append("low_sample_rate")
        ibi = self.det.ibi_s
        if ibi > 0:
            self._hr = 60.0 / ibi
        upd.hr_bpm = self._hr
        upd.t_s = self._q_end / self.fs
        return upd


def _beats_only(t_s: np.ndarray) -> NNBatch:
    return NNBatch(np.asarray(t_s, dtype=np.float64), np.empty(0), np.empty(0))


def _hrv(nn_t: np.ndarray, nn_ms: np.ndarray, ok: bool) -> dict[str, float | None]:
    if not ok or nn_ms.size == 0:
        return dict.fromkeys(HRV_KEYS)
    return hrv_metrics(nn_t, nn_ms)


def hrv_windows(nn_t_s: np.ndarray, nn_ms: np.ndarray, duration_s: float, window_s: float,
                ok: bool = True) -> list[dict]:
    """HRV per consecutive window ``[k * window_s, (k + 1) * window_s)`` (s from start).

    An NN interval belongs to the window that holds its ending beat; the last, partial
    window is kept when it is at least half a window long.
    """
    if not (window_s > 0):
        raise ConfigError(f"--window must be a positive number of seconds, got {window_s}")
    out = []
    n_win = int(math.floor(duration_s / window_s))
    if duration_s - n_win * window_s >= 0.5 * window_s:
        n_win += 1
    for k in range(n_win):
        a, b = k * window_s, min((k + 1) * window_s, duration_s)
        sel = (nn_t_s >= a) & (nn_t_s < b)
        out.append({"start_s": a, "end_s": b, **_hrv(nn_t_s[sel], nn_ms[sel], ok)})
    return out


def analyze_ppg(
    x: np.ndarray,
    fs: float,
    *,
    invert: bool | None = None,
    window_s: float | None = None,
    full_scale: float | None = None,
) -> dict:
    """Analyse a whole PPG recording: the structure of ``kindpulse analyze --format json``.

    Parameters
    ----------
    x : ndarray, shape (n,)
        PPG samples (raw counts or any unit); NaN marks a missing sample (a gap).
    fs : float
        Sample rate in Hz.
    invert : bool or None
        Polarity (see :class:`PPGStream`); None detects it.
    window_s : float, optional
        Also give HRV per consecutive window of this many seconds.
    full_scale : float, optional
        ADC full scale for saturation / no-finger checks.

    Returns
    -------
    dict
        ``fs``, ``duration_s``, ``inverted``, ``beats_s``, ``nn`` ([t_s, ibi_ms] pairs),
        ``quality`` {``usable_fraction``, ``issues``, ``hrv_refused``, ``missing_s``, ``off_shape_beats``
        (beats unlike the recent ones: no NN interval starts or ends on them)}, ``hrv`` and, with
        ``window_s``, ``windows``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if not np.isfinite(x).any():
        raise InputError("the recording holds no samples")
    stream = PPGStream(fs, invert=invert, full_scale=full_scale)
    # NaN = missing samples: each finite run is pushed after the samples lost before it, so
    # the time axis runs on and no interval spans a gap; a leading gap only shifts the times.
    ok = np.isfinite(x)
    lead = int(np.argmax(ok))
    edges = np.flatnonzero(np.diff(ok.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [x.size]])
    parts = []
    lost = 0
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if ok[a]:
            parts.append(stream.push(x[a:b], lost_before=lost if a > lead else 0))
        else:
            lost = int(b - a)
    parts.append(stream.flush())
    shift = lead / float(fs)
    beats = np.concatenate([u.beats_s for u in parts]) + shift
    nn_t = np.concatenate([u.nn_t_s for u in parts]) + shift
    nn_ms = np.concatenate([u.nn_ms for u in parts])
    duration = x.size / float(fs)
    missing = int(x.size - np.count_nonzero(ok))
    issues = [k for k in ("no_signal", "saturation", "clipping", "motion") if stream.issue_counts.get(k)]
    if missing:
        issues.append("lost_samples")
    refused = None
    if not stream.hrv_ok:
        issues.append("low_sample_rate")
        refused = (f"sample rate {fs:g} Hz is below {MIN_HRV_FS:g} Hz: beat times are too coarse "
                   "for HRV; record at 100 Hz (at least 25 Hz)")
    elif nn_ms.size == 0:
        refused = "no valid NN intervals (no usable beats found)"
    usable = stream.n_good_blocks / stream.n_blocks if stream.n_blocks else 0.0
    usable *= 1.0 - missing / x.size  # missing samples are not usable signal
    out = {
        "fs": float(fs),
        "duration_s": duration,
        "inverted": stream.inverted,
        "beats_s": beats.tolist(),
        "nn": np.column_stack([nn_t, nn_ms]).tolist(),
        "quality": {"usable_fraction": usable, "issues": issues, "hrv_refused": refused,
                    "missing_s": missing / float(fs), "off_shape_beats": stream.off_shape_beats},
        "hrv": _hrv(nn_t, nn_ms, stream.hrv_ok),
    }
    if window_s is not None:
        out["windows"] = hrv_windows(nn_t, nn_ms, duration, window_s, stream.hrv_ok)
    return out
