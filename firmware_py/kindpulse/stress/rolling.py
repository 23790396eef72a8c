"""Rolling HRV windows over the NN-interval stream.

`RollingHRV` keeps the last few minutes of NN intervals in fixed-size numpy ring
buffers and, every `update_every_s`, computes HRV over an ultra-short window
(default 60 s: HR, RMSSD and SD1 are usable there, Munoz et al. 2015) and a
5-minute window (the short-term standard; the only one where LF/HF is reported).
A window whose NN intervals cover too little of it (finger lifted, beats
rejected as artefacts) yields `metrics=None` rather than a number that looks
fine but is not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kindpulse.dsp.hrv import hrv_metrics
from kindpulse.errors import ConfigError

MetricsFn = Callable[[np.ndarray, np.ndarray], Mapping[str, float | None]]

# Shortest NN interval we ever buffer (220 bpm); sizes the ring buffer.
_MIN_NN_MS = 273.0


class QualityLike(Protocol):
    """The per-update signal-quality summary the DSP produces."""

    usable: bool
    motion: bool
    finger_present: bool


@dataclass(frozen=True)
class SignalQuality:
    """A concrete `QualityLike` (tests, simulation, logging)."""

    usable: bool = True
    motion: bool = False
    finger_present: bool = True


@dataclass(frozen=True)
class RollingConfig:
    update_every_s: float = 5.0
    short_window_s: float = 60.0
    long_window_s: float = 300.0
    # The 5-min window moves 10 % in 30 s; recomputing its spectrum every 5 s buys nothing.
    long_update_every_s: float = 30.0
    # Fraction of the window that NN intervals must span for metrics to be reported.
    min_coverage_short: float = 0.8
    min_coverage_long: float = 0.7

    def __post_init__(self) -> None:
        _positive(self, "update_every_s", "short_window_s", "long_window_s", "long_update_every_s")
        if self.long_window_s < self.short_window_s:
            raise ConfigError("rolling.long_window_s must be >= short_window_s")
        for name in ("min_coverage_short", "min_coverage_long"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ConfigError(f"rolling.{name} must be in (0, 1], got {v!r}")


def _positive(cfg: object, *names: str) -> None:
    section = type(cfg).__name__.removesuffix("Config").lower()
    for name in names:
        v = getattr(cfg, name)
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ConfigError(f"{section}.{name} must be a positive number, got {v!r}")


@dataclass(frozen=True)
class WindowHRV:
    """HRV over one window ending at the snapshot time."""

    window_s: float
    coverage: float  # 0..1, fraction of the window spanned by NN intervals
    n_nn: int
    metrics: Mapping[str, float | None] | None  # None: too little coverage

    def get(self, key: str) -> float | None:
        """One metric, or None when the window or the metric is unavailable."""
        if self.metrics is None:
            return None
        v = self.metrics.get(key)
        return None if v is None or not math.isfinite(v) else float(v)


@dataclass(frozen=True)
class HrvSnapshot:
    t_s: float
    short: WindowHRV
    long: WindowHRV


def window_coverage(nn_t_s: np.ndarray, nn_ms: np.ndarray, start_s: float, end_s: float) -> float:
    """Fraction of [start_s, end_s] spanned by the NN intervals (clipped to it)."""
    if nn_t_s.size == 0 or end_s <= start_s:
        return 0.0
    begin = nn_t_s - nn_ms / 1000.0
    covered = np.clip(np.minimum(nn_t_s, end_s) - np.maximum(begin, start_s), 0.0, None)
    return float(min(1.0, covered.sum() / (end_s - start_s)))


def _default_metrics_fn() -> MetricsFn:
    return hrv_metrics


class RollingHRV:
    """Buffers NN intervals and reports short and long-window HRV at a fixed cadence."""

    def __init__(self, config: RollingConfig | None = None, metrics_fn: MetricsFn | None = None):
        self.config = config or RollingConfig()
        self._metrics_fn = metrics_fn or _default_metrics_fn()
        # Capacity: the long window at 220 bpm, plus slack for one push of late beats.
        cap = int(math.ceil(self.config.long_window_s * 1000.0 / _MIN_NN_MS)) + 256
        self._t = np.zeros(cap)
        self._nn = np.zeros(cap)
        self._head = 0  # next write index
        self._count = 0
        self._last_t = -math.inf
        self._next_update_s: float | None = None
        self._next_long_s = -math.inf
        self._last_long: WindowHRV | None = None

    @property
    def capacity(self) -> int:
        return self._t.size

    def reset(self) -> None:
        """Forget all beats (finger lifted for long, sensor restarted)."""
        self._head = 0
        self._count = 0
        self._last_t = -math.inf
        self._next_long_s = -math.inf
        self._last_long = None

    def push(self, nn_t_s: np.ndarray | list[float], nn_ms: np.ndarray | list[float]) -> None:
        """Append NN intervals (end-beat time in s, interval in ms); stale or repeated beats are dropped."""
        t = np.asarray(nn_t_s, dtype=np.float64).ravel()
        nn = np.asarray(nn_ms, dtype=np.float64).ravel()
        if t.shape != nn.shape:
            raise ValueError(f"nn_t_s and nn_ms differ in length ({t.size} vs {nn.size})")
        keep = np.isfinite(t) & np.isfinite(nn) & (nn > 0)
        t, nn = t[keep], nn[keep]
        if t.size == 0:
            return
        # Beats must arrive in time order; anything not newer than the last buffered one is a repeat.
        newer = t > np.maximum.accumulate(np.concatenate(([self._last_t], t[:-1])))
        t, nn = t[newer], nn[newer]
        cap = self._t.size
        if t.size > cap:
            t, nn = t[-cap:], nn[-cap:]
        n = t.size
        if n == 0:
            return
        idx = (self._head + np.arange(n)) % cap
        self._t[idx] = t
        self._nn[idx] = nn
        self._head = (self._head + n) % cap
        self._count = min(cap, self._count + n)
        self._last_t = float(t[-1])

    def _ordered(self) -> tuple[np.ndarray, np.ndarray]:
        cap = self._t.size
        if self._count < cap:
            start = (self._head - self._count) % cap
            if start + self._count <= cap:
                sl = slice(start, start + self._count)
                return self._t[sl], self._nn[sl]
        order = (self._head - self._count + np.arange(self._count)) % cap
        return self._t[order], self._nn[order]

    def _window(self, t: np.ndarray, nn: np.ndarray, now_s: float, window_s: float, min_cov: float) -> WindowHRV:
        start = now_s - window_s
        lo = int(np.searchsorted(t, start, side="right"))
        hi = int(np.searchsorted(t, now_s, side="right"))
        wt, wnn = t[lo:hi], nn[lo:hi]
        cov = window_coverage(wt, wnn, start, now_s)
        metrics = None
        if cov >= min_cov and wt.size >= 2:
            metrics = dict(self._metrics_fn(np.ascontiguousarray(wt), np.ascontiguousarray(wnn)))
        return WindowHRV(window_s=window_s, coverage=cov, n_nn=int(wt.size), metrics=metrics)

    def update(self, now_s: float) -> HrvSnapshot | None:
        """A snapshot if `update_every_s` has passed since the last one, else None."""
        cfg = self.config
        if self._next_update_s is not None and now_s < self._next_update_s:
            return None
        # Keep a fixed grid so a late call does not drift the cadence.
        if self._next_update_s is None:
            self._next_update_s = now_s + cfg.update_every_s
        else:
            steps = math.floor((now_s - self._next_update_s) / cfg.update_every_s) + 1
            self._next_update_s += steps * cfg.update_every_s
        return self.compute(now_s)

    def compute(self, now_s: float) -> HrvSnapshot:
        """Both windows ending at `now_s`, now (ignores the cadence)."""
        cfg = self.config
        t, nn = self._ordered()
        short = self._window(t, nn, now_s, cfg.short_window_s, cfg.min_coverage_short)
        if self._last_long is None or now_s >= self._next_long_s:
            self._last_long = self._window(t, nn, now_s, cfg.long_window_s, cfg.min_coverage_long)
            self._next_long_s = now_s + cfg.long_update_every_s
        return HrvSnapshot(t_s=now_s, short=short, long=self._last_long)
