"""The sensor's lifecycle for the daemon: connect with retries and backoff, drain, recover.

A fault (I2C error, chip gone) drops the driver object; the next attempt builds a new
one after a backoff, resets and configures the chip, and counts the samples that fell
into the outage (`pending_lost`), so no inter-beat interval is measured across it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kindpulse.clock import Clock
from kindpulse.errors import SensorError
from kindpulse.hardware.max30102 import MAX30102, FifoBatch, SensorSettings

RETRY_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass
class SensorLink:
    """The MAX30102's lifecycle: connect with retries and backoff, drain, recover after faults."""

    bus: Any
    address: int
    settings: SensorSettings
    clock: Clock
    emit: Callable[..., None]  # emit(type, **data): sensor_error, sensor_recovered
    red_ir_swapped: bool = False
    use_int: bool = False  # INT is wired: enable A_FULL
    sensor: MAX30102 | None = None
    failures: int = 0
    next_try_s: float = 0.0
    down_since_s: float | None = None
    last_error: str = ""
    pending_lost: int = 0
    _announced_down: bool = False
    _last_sample_s: float | None = field(default=None, repr=False)

    @property
    def up(self) -> bool:
        return self.sensor is not None

    def poll(self, now_s: float) -> FifoBatch | None:
        """A FifoBatch, or None when the sensor is down (then it retries with backoff)."""
        if self.sensor is None:
            if now_s < self.next_try_s:
                return None
            self._connect(now_s)
            if self.sensor is None:
                return None
        try:
            batch = self.sensor.drain()
        except SensorError as exc:
            self._fail(now_s, exc)
            return None
        self._last_sample_s = now_s
        return batch

    def _connect(self, now_s: float) -> None:
        try:
            sensor = MAX30102(self.bus, self.address, clock=self.clock, red_ir_swapped=self.red_ir_swapped)
            sensor.probe()  # PART_ID: a clear "not found" / "not a MAX30102" before anything else
            sensor.reset()
            sensor.configure(self.settings)
            if self.use_int:
                sensor.enable_interrupts(a_full=True)
        except SensorError as exc:
            self._fail(now_s, exc)
            return
        if self._last_sample_s is not None:  # samples that fell into the outage
            self.pending_lost = max(0, round((now_s - self._last_sample_s) * sensor.output_rate_sps))
        self.sensor = sensor
        if self._announced_down:
            self.emit("sensor_recovered", down_s=round(now_s - (self.down_since_s or now_s), 1))
        self.failures = 0
        self.down_since_s = None
        self._announced_down = False

    def _fail(self, now_s: float, exc: Exception) -> None:
        self.sensor = None
        self.last_error = str(exc)
        if self.down_since_s is None:
            self.down_since_s = now_s
        if not self._announced_down:
            self.emit("sensor_error", error=str(exc))
            self._announced_down = True
        delay = RETRY_BACKOFF_S[min(self.failures, len(RETRY_BACKOFF_S) - 1)]
        self.failures += 1
        self.next_try_s = now_s + delay

    def close(self) -> None:
        if self.sensor is not None:
            with contextlib.suppress(SensorError):
                self.sensor.close()
            self.sensor = None
