"""The wearer's personal HRV baseline: robust norms from their own calm minutes.

Absolute HRV thresholds do not transfer between people, sensors or window
lengths (hrv-and-stress.md section 6), so the trigger scores the wearer against
themselves. The baseline keeps a bounded history of calm, clean 60-s windows
(one per `sample_every_s`) and reports, per parameter, the median and a
MAD-based SD with a floor. Windows with motion, poor signal, flagged stress or
a running break (paced breathing inflates RMSSD) are never added, so a bad day
cannot drag the baseline toward "stressed is normal".

Calibration: "Calibrating..." until `min_calibration_windows` windows are in
(default 8 = 8 calm minutes, so the first day is useful); the estimate keeps
sharpening until the history is full, and from then on the oldest minute drops
out as each new one arrives (a running median across days).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kindpulse.dsp.hrv import Norm, Reference
from kindpulse.errors import ConfigError

# The six parameters that feed PNS/SNS (dsp.hrv.Reference fields), in storage order.
PARAMS: tuple[str, ...] = ("mean_nn_ms", "rmssd_ms", "sd1_ms", "hr_bpm", "stress_index", "sd2_ms")
FORMAT_VERSION = 1
_MAD_TO_SD = 1.4826  # MAD of a normal distribution x 1.4826 = its SD

# SD floors: max(absolute, relative x |median|). Without them one very steady
# calibration makes every later minute look extreme. HR and mean NN get absolute
# floors (a few bpm of drift is ordinary); the variability measures get relative
# ones, because minute-to-minute RMSSD varies by 20 % or more at rest.
SD_FLOOR_ABS: Mapping[str, float] = {
    "mean_nn_ms": 30.0, "rmssd_ms": 3.0, "sd1_ms": 2.0, "hr_bpm": 2.5, "stress_index": 1.0, "sd2_ms": 5.0,
}
SD_FLOOR_REL: Mapping[str, float] = {
    "mean_nn_ms": 0.0, "rmssd_ms": 0.2, "sd1_ms": 0.2, "hr_bpm": 0.0, "stress_index": 0.12, "sd2_ms": 0.15,
}


@dataclass(frozen=True)
class BaselineConfig:
    min_calibration_windows: int = 8  # calm minutes before the first estimate
    target_calibration_windows: int = 20  # calm minutes after which calibration is complete
    history_windows: int = 720  # calm minutes kept (about 2-3 days of wear)
    sample_every_s: float = 60.0  # one baseline sample per non-overlapping 60-s window
    min_coverage: float = 0.9
    # Per-parameter SD floors (see SD_FLOOR_ABS/REL); a partial mapping overrides some.
    sd_floor_abs: Mapping[str, float] = field(default_factory=lambda: dict(SD_FLOOR_ABS))
    sd_floor_rel: Mapping[str, float] = field(default_factory=lambda: dict(SD_FLOOR_REL))

    def __post_init__(self) -> None:
        for name in ("min_calibration_windows", "target_calibration_windows", "history_windows"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"baseline.{name} must be a positive integer, got {v!r}")
        if self.target_calibration_windows < self.min_calibration_windows:
            raise ConfigError("baseline.target_calibration_windows must be >= min_calibration_windows")
        if self.history_windows < self.target_calibration_windows:
            raise ConfigError("baseline.history_windows must be >= target_calibration_windows")
        if not (math.isfinite(self.sample_every_s) and self.sample_every_s > 0):
            raise ConfigError(f"baseline.sample_every_s must be > 0, got {self.sample_every_s!r}")
        if not 0 < self.min_coverage <= 1:
            raise ConfigError(f"baseline.min_coverage must be in (0, 1], got {self.min_coverage!r}")
        # A config may override some floors; the rest keep their defaults.
        for name, defaults in (("sd_floor_abs", SD_FLOOR_ABS), ("sd_floor_rel", SD_FLOOR_REL)):
            floors = getattr(self, name)
            unknown = set(floors) - set(PARAMS)
            if unknown:
                raise ConfigError(f"baseline.{name} has unknown keys {sorted(unknown)} (known: {', '.join(PARAMS)})")
            object.__setattr__(self, name, {**defaults, **floors})
        for k, v in self.sd_floor_abs.items():
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"baseline.sd_floor_abs.{k} must be > 0, got {v!r}")
        for k, v in self.sd_floor_rel.items():
            if not (math.isfinite(v) and 0 <= v < 1):
                raise ConfigError(f"baseline.sd_floor_rel.{k} must be in [0, 1), got {v!r}")


@dataclass(frozen=True)
class BaselineState:
    ready: bool
    progress: float  # 0..1 toward the first estimate; 1 once ready
    n_windows: int


class Baseline:
    """Personal norms; add calm windows with `add`, score with `z` or `reference()`."""

    def __init__(self, config: BaselineConfig | None = None):
        self.config = config or BaselineConfig()
        n = self.config.history_windows
        self._values = np.full((n, len(PARAMS)), np.nan)
        self._t = np.full(n, np.nan)
        self._head = 0
        self._count = 0
        self._last_sample_s = -math.inf
        self._norms: dict[str, Norm] | None = None

    # -- state ---------------------------------------------------------------
    @property
    def state(self) -> BaselineState:
        c = self.config
        return BaselineState(
            ready=self._count >= c.min_calibration_windows,
            progress=min(1.0, self._count / c.min_calibration_windows),
            n_windows=self._count,
        )

    @property
    def ready(self) -> bool:
        return self._count >= self.config.min_calibration_windows

    @property
    def calibration_complete(self) -> bool:
        return self._count >= self.config.target_calibration_windows

    # -- input ---------------------------------------------------------------
    def add(
        self,
        now_s: float,
        metrics: Mapping[str, float | None] | None,
        *,
        coverage: float,
        usable: bool,
        motion: bool = False,
        stressed: bool = False,
        in_break: bool = False,
    ) -> bool:
        """Offer one 60-s window; returns True if it became a baseline sample.

        `stressed` is the trigger's view (elevated or too active): excluded so
        that stress is never learned as normal.
        """
        if now_s - self._last_sample_s < self.config.sample_every_s:
            return False
        if metrics is None or not usable or motion or stressed or in_break:
            return False
        if coverage < self.config.min_coverage:
            return False
        row = np.empty(len(PARAMS))
        for i, k in enumerate(PARAMS):
            v = metrics.get(k)
            if v is None or not math.isfinite(v):
                return False
            row[i] = v
        self._values[self._head] = row
        self._t[self._head] = now_s
        self._head = (self._head + 1) % self._values.shape[0]
        self._count = min(self._count + 1, self._values.shape[0])
        self._last_sample_s = now_s
        self._norms = None
        return True

    # -- output --------------------------------------------------------------
    def norms(self) -> dict[str, Norm]:
        """Median and floored robust SD per parameter; raises if not ready."""
        if not self.ready:
            raise RuntimeError("baseline is still calibrating; check .ready first")
        if self._norms is None:
            vals = self._values[: self._count] if self._count < self._values.shape[0] else self._values
            med = np.median(vals, axis=0)
            mad = np.median(np.abs(vals - med), axis=0) * _MAD_TO_SD
            out = {}
            for i, k in enumerate(PARAMS):
                floor = max(self.config.sd_floor_abs[k], self.config.sd_floor_rel[k] * abs(float(med[i])))
                out[k] = Norm(mean=float(med[i]), sd=max(float(mad[i]), floor))  # median, floored 1.4826 MAD
            self._norms = out
        return dict(self._norms)

    def z(self, key: str, value: float | None) -> float | None:
        """(value - median) / sd for one parameter; None if not ready or no value."""
        if value is None or not self.ready or not math.isfinite(value):
            return None
        n = self.norms()[key]
        return (value - n.mean) / n.sd

    def reference(self) -> Reference:
        """The norms as a `kindpulse.dsp.hrv.Reference`, for `pns_sns`."""
        return Reference(**self.norms())

    # -- persistence ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able, versioned; oldest sample first."""
        order = (self._head - self._count + np.arange(self._count)) % self._values.shape[0]
        return {
            "version": FORMAT_VERSION,
            "params": list(PARAMS),
            "t_s": [float(x) for x in self._t[order]],
            "values": [[float(x) for x in row] for row in self._values[order]],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], config: BaselineConfig | None = None) -> Baseline:
        """Restore a stored baseline. Sample times are from the previous run's clock,
        so the next sample is accepted immediately."""
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise ValueError(f"baseline format version {version!r} is not supported (want {FORMAT_VERSION})")
        params = list(data.get("params", []))
        if params != list(PARAMS):
            raise ValueError(f"baseline params {params} do not match {list(PARAMS)}")
        b = cls(config)
        values = np.asarray(data["values"], dtype=np.float64).reshape(-1, len(PARAMS))
        t = np.asarray(data["t_s"], dtype=np.float64).ravel()
        if t.size != values.shape[0]:
            raise ValueError("baseline t_s and values differ in length")
        keep = np.isfinite(values).all(axis=1)
        values, t = values[keep], t[keep]
        n = min(values.shape[0], b._values.shape[0])  # a smaller history keeps the newest
        if n:
            b._values[:n] = values[-n:]
            b._t[:n] = t[-n:]
        b._count = n
        b._head = n % b._values.shape[0]
        return b
