"""PPG sources for the emulated MAX30102.

A source answers "what light reaches the photodiode at time t": ``sample(t_s)`` returns
(red, ir) as float raw counts *at the reference setting* (`REF_LED_MA`, `REF_ADC_RANGE_NA`,
18-bit resolution). The emulated chip scales them by its LED currents and ADC range,
quantises for the pulse width and clips at full scale, like the real ADC.

Sources are pure functions of time, so the chip can ask for any block of sample times in
any order of chunking and get the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from kindpulse.sim import synth
from kindpulse.sim.wearer import Wearer

REF_LED_MA = 7.0  # the current at which a source's counts are given
REF_ADC_RANGE_NA = 4096


class PPGSource(Protocol):
    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(red, ir) float counts at the reference setting for each time in seconds."""


class SyntheticSource:
    """Synthetic finger PPG whose beats come from a given RR series (the truth tests check).

    Scenarios build one RR series for the whole run (segments of HR, RMSSD, breathing rate
    as profiles of time) plus event lists for motion and finger-off, so the source changes
    over time while staying a pure function of it.
    """

    def __init__(
        self,
        rr_ms: np.ndarray,
        *,
        t0_s: float = 1.0,
        seed: int = 0,
        motion: Sequence = (),
        finger_off: Sequence = (),
        **ppg_kwargs: float,
    ) -> None:
        self.rr_ms = np.asarray(rr_ms, dtype=np.float64)
        self.beat_times_s = synth.beat_times(self.rr_ms, t0_s=t0_s)
        self.ppg = synth.SyntheticPPG(
            self.beat_times_s, seed=seed, motion=motion, finger_off=finger_off, **ppg_kwargs
        )

    @classmethod
    def resting(cls, duration_s: float = 3600.0, *, hr_bpm: float = 70.0, rmssd_ms: float = 40.0,
                seed: int = 0) -> SyntheticSource:
        """A resting finger: about 70 bpm, healthy HRV, breathing at 0.25 Hz."""
        rr = synth.rr_series(duration_s + 5.0, hr_bpm=hr_bpm, rmssd_ms=rmssd_ms, seed=seed)
        return cls(rr, seed=seed)

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t_s, dtype=np.float64)
        return self.ppg.red(t), self.ppg.ir(t)


class WearerSource:
    """Finger PPG from an emulated wearer whose beats are made shortly before they are needed
    (`LOOKAHEAD_S` past the newest sample asked for), so the device's breaks can change them.

    Deterministic for a given seed and the same device behaviour; `beat_times_s` holds the
    beats made so far (the truth, growing as the run goes on).
    """

    LOOKAHEAD_S = 4.0  # a pulse needs its beat, the next two (its decay, their upstroke)

    def __init__(self, wearer: Wearer, *, seed: int = 0, motion: Sequence = (), finger_off: Sequence = (),
                 **ppg_kwargs: float) -> None:
        self.wearer = wearer
        self._until = wearer.next_beat_s + self.LOOKAHEAD_S
        first = wearer.beats_until(self._until)
        self.ppg = synth.SyntheticPPG(first, seed=seed, motion=motion, finger_off=finger_off,
                                      respiration=wearer.respiration, **ppg_kwargs)

    @property
    def beat_times_s(self) -> np.ndarray:
        return self.ppg.beat_times_s

    @property
    def rr_ms(self) -> np.ndarray:
        return np.diff(self.ppg.beat_times_s) * 1000.0

    def extend_to(self, t_s: float) -> None:
        """Make the beats up to t_s + LOOKAHEAD_S (what the wearer's heart has done by then)."""
        if t_s + self.LOOKAHEAD_S > self._until:
            self._until = t_s + self.LOOKAHEAD_S
            new = self.wearer.beats_until(self._until)
            if new.size:
                self.ppg.extend(new)

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t_s, dtype=np.float64)
        if t.size:
            self.extend_to(float(t.max()))
        return self.ppg.red(t), self.ppg.ir(t)


class RecordedSource:
    """Recorded raw counts replayed at the chip's sample times.

    ``counts`` is (n,) for IR only (red is taken as 0.8 x IR) or (n, 2) as (red, ir), sampled
    at ``fs`` Hz, first sample at ``t0_s``. Between samples: ``linear`` or ``nearest``.
    Outside the recording: ``loop`` wraps around, otherwise the edge value is held.
    """

    def __init__(self, counts: np.ndarray, fs: float, *, t0_s: float = 0.0,
                 interpolation: str = "linear", loop: bool = False) -> None:
        c = np.asarray(counts, dtype=np.float64)
        if c.ndim == 1:
            c = np.column_stack([0.8 * c, c])
        if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] < 2:
            raise ValueError("counts must be (n,) or (n, 2) with n >= 2")
        if fs <= 0:
            raise ValueError("fs must be positive")
        if interpolation not in ("linear", "nearest"):
            raise ValueError("interpolation must be 'linear' or 'nearest'")
        self.counts, self.fs, self.t0_s = c, float(fs), float(t0_s)
        self.interpolation, self.loop = interpolation, loop

    @property
    def duration_s(self) -> float:
        return self.counts.shape[0] / self.fs

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.counts.shape[0]
        x = (np.asarray(t_s, dtype=np.float64) - self.t0_s) * self.fs
        x = np.mod(x, n) if self.loop else np.clip(x, 0.0, n - 1)
        if self.interpolation == "nearest":
            idx = np.minimum(np.rint(x).astype(np.int64), n - 1) % n
            return self.counts[idx, 0], self.counts[idx, 1]
        i0 = np.floor(x).astype(np.int64)
        frac = x - i0
        i0 %= n
        i1 = (i0 + 1) % n if self.loop else np.minimum(i0 + 1, n - 1)
        out = self.counts[i0] * (1.0 - frac)[:, None] + self.counts[i1] * frac[:, None]
        return out[:, 0], out[:, 1]


class ConstantSource:
    """A steady light level: for tests of scaling, saturation and register behaviour."""

    def __init__(self, red: float = 80_000.0, ir: float = 100_000.0) -> None:
        self.red, self.ir = float(red), float(ir)

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t_s, dtype=np.float64)
        return np.full(t.shape, self.red), np.full(t.shape, self.ir)


class RampSource:
    """Counts that encode the sample time (``counts = offset + slope * t``): lets tests check
    that every sample arrives once, in order, at its exact time."""

    def __init__(self, slope_per_s: float = 100.0, offset: float = 1000.0) -> None:
        self.slope, self.offset = float(slope_per_s), float(offset)

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = self.offset + self.slope * np.asarray(t_s, dtype=np.float64)
        return v.copy(), v
