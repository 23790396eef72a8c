"""Synthetic RR series and finger PPG with known beat times.

The truth of every synthetic recording is its beat times: the systolic peak of
pulse *i* lies exactly at ``beat_times_s[i]`` (zero slope there, no other pulse
overlaps it), so a detector's error is measured against a known answer.

Model
-----
* RR: mean RR from the heart-rate profile plus a unit-RMSSD deviation process
  (respiratory sinus arrhythmia at the breathing rate, a 0.1 Hz Mayer-wave
  oscillation and AR(1) noise), scaled to the RMSSD profile.
* Pulse: per beat a raised-cosine upstroke (crest time ~0.1-0.18 s), then a
  smoothstep decay to the next foot with a dicrotic (diastolic) wave; amplitude
  modulated by respiration and a little beat-to-beat jitter.
* Counts: like the MAX30102, more blood means less light: ``ir = dc - pulse``.
  Respiratory baseline wander, slow drift, white sensor noise, motion bursts
  and finger-off stretches are added on top.

Every output is a pure function of time, so a sample at time t has the same
value however a recording is cut into chunks. Values are floats: quantisation
and saturation belong to the ADC (the emulated chip).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Profile = float | Callable[[float], float]

_NOISE_TABLE_BITS = 16


def _at(profile: Profile, t_s: float) -> float:
    return float(profile(t_s)) if callable(profile) else float(profile)


def rr_series(
    duration_s: float,
    hr_bpm: Profile = 70.0,
    rmssd_ms: Profile = 40.0,
    resp_rate_hz: Profile = 0.25,
    seed: int = 0,
    t0_s: float = 0.0,
) -> np.ndarray:
    """RR intervals (ms) covering ``duration_s`` seconds.

    Parameters
    ----------
    duration_s : float
        Length of the series in seconds.
    hr_bpm, rmssd_ms, resp_rate_hz : float or callable(t_s) -> float
        Mean heart rate, target RMSSD and breathing rate, constant or as a
        function of time (s from ``t0_s``), so scenarios can change them.
    seed : int
        Seed of the noise and phases.

    Returns
    -------
    numpy.ndarray
        RR intervals in ms; their sum is at least ``duration_s``.
    """
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    rng = np.random.default_rng(seed)
    lf_phase = rng.uniform(0, 2 * np.pi)
    lf_hz = 0.1 * (1 + 0.05 * rng.standard_normal())
    # Pass 1: a unit deviation process on approximate beat times.
    n_max = int(duration_s * 240 / 60) + 10
    d = np.empty(n_max)
    t = 0.0
    resp_phase = rng.uniform(0, 2 * np.pi)
    ar = 0.0
    times = np.empty(n_max)
    n = 0
    while t < duration_s and n < n_max:
        rr_s = 60.0 / _at(hr_bpm, t)
        resp_phase += 2 * np.pi * _at(resp_rate_hz, t) * rr_s * (1 + 0.08 * rng.standard_normal())
        ar = 0.6 * ar + rng.standard_normal()
        d[n] = np.sin(resp_phase) + 0.6 * np.sin(2 * np.pi * lf_hz * t + lf_phase) + 0.35 * ar
        times[n] = t
        t += rr_s
        n += 1
    d = d[:n]
    d -= d.mean()
    unit = np.sqrt(np.mean(np.diff(d) ** 2)) if n > 2 else 1.0
    d /= unit
    # Pass 2: scale to the RMSSD profile on the real beat times.
    rr = np.empty(n + 64)
    t = 0.0
    k = 0
    while t < duration_s:
        dk = d[k] if k < n else d[k % n]
        rr[k] = 60000.0 / _at(hr_bpm, t) + _at(rmssd_ms, t) * dk
        t += rr[k] / 1000.0
        k += 1
        if k == rr.size:
            rr = np.concatenate([rr, np.empty(rr.size)])
    return np.clip(rr[:k], 300.0, 2000.0)


def beat_times(rr_ms: np.ndarray, t0_s: float = 1.0) -> np.ndarray:
    """Beat times (s): the first beat at ``t0_s``, then one per RR interval."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    return t0_s + np.concatenate([[0.0], np.cumsum(rr) / 1000.0])


def rmssd(rr_ms: np.ndarray) -> float:
    """RMSSD (ms) of a contiguous RR series: the truth for synthetic recordings."""
    diff = np.diff(np.asarray(rr_ms, dtype=np.float64))
    return float(np.sqrt(np.mean(diff**2)))


@dataclass(frozen=True)
class Stretch:
    """A time span (s) with a strength (motion: multiples of the pulse amplitude)."""

    start_s: float
    end_s: float
    strength: float = 1.0


def _stretches(items: Sequence) -> tuple[Stretch, ...]:
    out = []
    for item in items:
        out.append(item if isinstance(item, Stretch) else Stretch(*item))
    return tuple(out)


class SyntheticPPG:
    """Finger PPG in MAX30102-like raw counts, evaluated at any times.

    Parameters
    ----------
    beat_times_s : array
        Systolic peak times in seconds (the truth).
    dc_counts, red_dc_counts : float
        DC level of the IR and red channels (counts at the reference LED current).
    pulse_fraction : float
        IR pulse amplitude as a fraction of DC (typical finger: 0.01-0.02).
        Red uses half of it (a ratio R of about 0.5, SpO2 around 97 %).
    noise_fraction : float
        White sensor noise SD as a fraction of the IR pulse amplitude.
    resp_rate_hz : float
        Breathing rate for the synthetic respiration when ``respiration`` is None.
    respiration : (t_s, signal), callable(t_s) -> signal, or None
        A real respiration recording (z-scored and interpolated), or the wearer's own
        breathing as a function of time (unit amplitude).
    resp_baseline : float
        Respiratory baseline wander, in pulse amplitudes (peak).
    motion : sequence of (start_s, end_s, strength)
        Motion bursts; strength in pulse amplitudes.
    finger_off : sequence of (start_s, end_s)
        Stretches with no finger: ambient light only, no pulse.
    seed : int
        Seed of the noise, jitter and motion waveforms.
    """

    def __init__(
        self,
        beat_times_s: np.ndarray,
        *,
        seed: int = 0,
        dc_counts: float = 100_000.0,
        red_dc_counts: float = 80_000.0,
        pulse_fraction: float = 0.015,
        noise_fraction: float = 0.02,
        resp_rate_hz: float = 0.25,
        respiration: tuple[np.ndarray, np.ndarray] | Callable[[np.ndarray], np.ndarray] | None = None,
        resp_baseline: float = 0.3,
        resp_amplitude: float = 0.1,
        motion: Sequence = (),
        finger_off: Sequence = (),
        ambient_counts: float = 400.0,
    ) -> None:
        bt = np.asarray(beat_times_s, dtype=np.float64)
        if bt.ndim != 1 or bt.size < 2 or np.any(np.diff(bt) <= 0):
            raise ValueError("beat_times_s must be at least two increasing times")
        rng = np.random.default_rng(seed)
        self._n = 0
        self._bt = self._rise = self._foot = self._jit = np.empty(0)
        self._put(bt, 1.0 + 0.03 * rng.standard_normal(bt.size))
        self._extra_rng = np.random.default_rng([seed, 1])  # jitter of beats added later
        self.dc_counts = float(dc_counts)
        self.red_dc_counts = float(red_dc_counts)
        self.pulse_counts = float(dc_counts) * pulse_fraction
        self.red_pulse_counts = float(red_dc_counts) * pulse_fraction * 0.5
        self.noise_counts = noise_fraction * self.pulse_counts
        self.resp_rate_hz = resp_rate_hz
        self.resp_baseline = resp_baseline
        self.resp_amplitude = resp_amplitude
        self.ambient_counts = ambient_counts
        self.motion = _stretches(motion)
        self.finger_off = _stretches([(s[0], s[1]) if not isinstance(s, Stretch) else s for s in finger_off])
        self._resp_phase = rng.uniform(0, 2 * np.pi)
        self._drift_phase = rng.uniform(0, 2 * np.pi)
        if callable(respiration):
            self._resp = respiration
        elif respiration is not None:
            rt, rx = (np.asarray(a, dtype=np.float64) for a in respiration)
            rx = (rx - rx.mean()) / (rx.std() or 1.0)
            self._resp = (rt, rx)
        else:
            self._resp = None
        # Deterministic noise: two hashed lookup tables, a pure function of time.
        self._noise_tables = rng.standard_normal((4, 1 << _NOISE_TABLE_BITS))
        self._motion_params = [
            (rng.uniform(0.3, 3.0, 4), rng.uniform(0, 2 * np.pi, 4), rng.uniform(0.4, 1.0, 4), rng.uniform(-1, 1))
            for _ in self.motion
        ]

    # -- beats (a source may add beats ahead as the wearer lives them) ------------
    def _put(self, bt: np.ndarray, jitter: np.ndarray) -> None:
        n, k = self._n, bt.size
        if n + k > self._bt.size:  # grow by doubling: appending stays O(1) per beat
            cap = max(2 * self._bt.size, n + k, 256)
            old = (self._bt, self._rise, self._foot, self._jit)
            grown = [np.concatenate([a[:n], np.empty(cap - n)]) for a in old]
            self._bt, self._rise, self._foot, self._jit = grown
        self._bt[n:n + k] = bt
        self._jit[n:n + k] = jitter
        self._n = n + k
        # a beat's upstroke lasts 20 % of the interval that follows it (the last one: the one before)
        lo = max(n - 1, 0)
        rr = np.diff(self._bt[lo:self._n])
        rr = np.concatenate([rr, rr[-1:]])
        self._rise[lo:self._n] = np.clip(0.2 * rr, 0.08, 0.18)
        self._foot[lo:self._n] = self._bt[lo:self._n] - self._rise[lo:self._n]

    def extend(self, beat_times_s: np.ndarray) -> None:
        """Append later beats (increasing, after the last one). Values at times before the
        previous last beat's foot are unchanged; later ones now see the new beats."""
        bt = np.asarray(beat_times_s, dtype=np.float64)
        if bt.size == 0:
            return
        if bt[0] <= self._bt[self._n - 1] or np.any(np.diff(bt) <= 0):
            raise ValueError("extend: beats must be increasing and after the last beat")
        self._put(bt, 1.0 + 0.03 * self._extra_rng.standard_normal(bt.size))

    @property
    def beat_times_s(self) -> np.ndarray:
        return self._bt[:self._n]

    @property
    def _rise_s(self) -> np.ndarray:
        return self._rise[:self._n]

    @property
    def _foot_s(self) -> np.ndarray:
        return self._foot[:self._n]

    @property
    def _jitter(self) -> np.ndarray:
        return self._jit[:self._n]

    # -- components -------------------------------------------------------
    def pulse(self, t_s: np.ndarray) -> np.ndarray:
        """Blood-volume pulse, 0 at each foot and ~1 at each systolic peak (unitless)."""
        t = np.asarray(t_s, dtype=np.float64)
        i = np.searchsorted(self._foot_s, t, side="right") - 1
        out = np.zeros_like(t)
        ok = (i >= 0) & (i < self.beat_times_s.size - 1)
        i = i[ok]
        tt = t[ok]
        peak = self.beat_times_s[i]
        rise = self._rise_s[i]
        next_foot = self._foot_s[i + 1]
        up = tt < peak
        v = np.empty_like(tt)
        x = (tt[up] - (peak[up] - rise[up])) / rise[up]
        v[up] = 0.5 * (1.0 - np.cos(np.pi * x))
        dn = ~up
        u = np.clip((tt[dn] - peak[dn]) / (next_foot[dn] - peak[dn]), 0.0, 1.0)
        decay = 1.0 - 3.0 * u**2 + 2.0 * u**3
        w = np.clip((u - 0.3) / 0.4, 0.0, 1.0)
        v[dn] = decay + 0.22 * np.sin(np.pi * w) ** 2
        # Amplitude is constant within a beat so that the peak stays exactly at the beat time.
        out[ok] = v * self._jitter[i] * (1.0 + self.resp_amplitude * self.respiration(peak))
        return out

    def respiration(self, t_s: np.ndarray) -> np.ndarray:
        """Respiration signal, unit amplitude (z-scored when from a recording)."""
        t = np.asarray(t_s, dtype=np.float64)
        if callable(self._resp):
            return self._resp(t)
        if self._resp is not None:
            return np.interp(t, *self._resp)
        return np.sin(2 * np.pi * self.resp_rate_hz * t + self._resp_phase)

    def _noise(self, t: np.ndarray, channel: int) -> np.ndarray:
        key = np.round(t * 1e4).astype(np.int64)
        mask = (1 << _NOISE_TABLE_BITS) - 1
        h1 = ((key * 2654435761) >> 7) & mask
        h2 = ((key * 40503 + 12345) ^ (key >> 5)) & mask
        a, b = self._noise_tables[2 * channel], self._noise_tables[2 * channel + 1]
        return (a[h1] + b[h2]) / np.sqrt(2.0)

    def _motion(self, t: np.ndarray) -> np.ndarray:
        out = np.zeros_like(t)
        for st, (freqs, phases, amps, step) in zip(self.motion, self._motion_params, strict=True):
            inside = (t >= st.start_s) & (t < st.end_s)
            if not inside.any():
                continue
            tt = t[inside]
            edge = np.clip(np.minimum(tt - st.start_s, st.end_s - tt) / 0.3, 0.0, 1.0)
            taper = 0.5 * (1 - np.cos(np.pi * edge))
            wave = sum(a * np.sin(2 * np.pi * f * tt + p) for f, p, a in zip(freqs, phases, amps, strict=True))
            out[inside] = st.strength * taper * (wave / 2.0 + step)
        return out

    def _finger_present(self, t: np.ndarray) -> np.ndarray:
        present = np.ones_like(t)
        for st in self.finger_off:
            dist = np.minimum(t - st.start_s, st.end_s - t)  # > 0 inside
            present = np.minimum(present, np.clip(0.5 - dist / 0.2, 0.0, 1.0))
        return present

    def _counts(self, t_s: np.ndarray, dc: float, pulse_counts: float, channel: int) -> np.ndarray:
        t = np.asarray(t_s, dtype=np.float64)
        slow = 0.8 * np.sin(2 * np.pi * 0.013 * t + self._drift_phase)
        blood = self.pulse(t) + self.resp_baseline * self.respiration(t) + slow + self._motion(t)
        on = dc - pulse_counts * blood
        present = self._finger_present(t)
        clean = present * on + (1.0 - present) * self.ambient_counts
        return clean + self.noise_counts * (dc / self.dc_counts) * self._noise(t, channel)

    # -- public -----------------------------------------------------------
    def ir(self, t_s: np.ndarray) -> np.ndarray:
        """IR channel, raw counts (float), inverted like the sensor."""
        return self._counts(t_s, self.dc_counts, self.pulse_counts, 0)

    def red(self, t_s: np.ndarray) -> np.ndarray:
        """Red channel, raw counts (float), inverted like the sensor."""
        return self._counts(t_s, self.red_dc_counts, self.red_pulse_counts, 1)

    def disturbed(self, margin_s: float = 1.0) -> list[tuple[float, float]]:
        """Spans (s) of motion or no finger, widened by ``margin_s`` on each side."""
        spans = [(s.start_s - margin_s, s.end_s + margin_s) for s in (*self.motion, *self.finger_off)]
        return sorted(spans)

    def true_beats(self, start_s: float = -np.inf, end_s: float = np.inf, margin_s: float = 1.0) -> np.ndarray:
        """Beat times (s) in [start_s, end_s) outside motion and finger-off spans (+ margin)."""
        bt = self.beat_times_s
        keep = (bt >= start_s) & (bt < end_s)
        for a, b in self.disturbed(margin_s):
            keep &= ~((bt >= a) & (bt <= b))
        return bt[keep]
