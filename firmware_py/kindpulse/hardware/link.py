"""The sensor's lifecycle for the daemon: connect with retries and backoff, drain, recover.

`SensorLink` owns acquisition. A fault (I2C error, chip gone) drops the driver object and
records a typed `fault`; the next attempt builds a new one after a backoff, resets and
configures the chip. The samples that fell into the outage are folded into the first batch
after it (`FifoBatch.lost`, before sample 0), so the batch is the one place that counts lost
samples and no inter-beat interval is measured across a gap. The LED current controller
lives as long as the link and follows the chip across reconnects.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable

from kindpulse.clock import Clock
from kindpulse.errors import SensorError, SensorFault, sensor_fault
from kindpulse.hardware.led_control import LedCurrentController
from kindpulse.hardware.max30102 import MAX30102, FifoBatch, SensorSettings, SMBusLike

RETRY_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
# While the sensor is down the loop still turns this often (the button must stay responsive),
# and never faster than the floor (a retry is due at most this early).
DOWN_POLL_MAX_S = 0.1
DOWN_POLL_MIN_S = 0.05

Emit = Callable[..., None]  # emit(type, **data): sensor_error, sensor_recovered


class SensorLink:
    """The MAX30102 over an injected bus: `poll(now)` gives batches, or None while it is down."""

    def __init__(self, bus: SMBusLike, address: int, settings: SensorSettings, clock: Clock, emit: Emit, *,
                 red_ir_swapped: bool = False, use_int: bool = False, led_auto_adjust: bool = False) -> None:
        self._bus, self._address, self._settings = bus, address, settings
        self._clock, self._emit = clock, emit
        self._red_ir_swapped = red_ir_swapped
        self._use_int = use_int  # INT is wired: enable A_FULL
        self._sensor: MAX30102 | None = None
        self._leds: LedCurrentController | None = None
        self._led_auto_adjust = led_auto_adjust
        self._failures = 0
        self._next_try_s = 0.0
        self._down_since_s: float | None = None
        self._announced_down = False
        self._last_sample_s: float | None = None
        self._outage_lost = 0
        self.fault: SensorFault | None = None  # None while up (or before the first attempt)
        self.last_error = ""  # the driver's message, for the log

    @property
    def up(self) -> bool:
        return self._sensor is not None

    @property
    def full_scale_counts(self) -> int:
        """ADC full scale of the connected chip (counts); only meaningful while up."""
        if self._sensor is None:
            raise SensorError("the sensor is down: no full scale to report")
        return self._sensor.full_scale_counts

    def poll(self, now_s: float) -> FifoBatch | None:
        """A FifoBatch, or None when the sensor is down (then it retries with backoff).

        The first batch after a reconnect carries the outage's samples in ``lost`` (at
        ``lost_at`` 0 when the drain itself lost none: they came before its first sample)."""
        if self._sensor is None:
            if now_s < self._next_try_s:
                return None
            self._connect(now_s)
            if self._sensor is None:
                return None
        try:
            batch = self._sensor.drain()
        except SensorError as exc:
            self._fail(now_s, exc)
            return None
        self._last_sample_s = now_s
        if self._outage_lost:
            at = batch.lost_at if batch.lost else 0
            batch = dataclasses.replace(batch, lost=batch.lost + self._outage_lost, lost_at=at)
            self._outage_lost = 0
        return batch

    def poll_interval_s(self, now_s: float) -> float:
        """How long the loop may wait before the next `poll`: the driver's FIFO pace while up,
        else until the next retry (at most `DOWN_POLL_MAX_S`, to keep the button responsive)."""
        if self._sensor is None:
            return min(max(DOWN_POLL_MIN_S, self._next_try_s - now_s), DOWN_POLL_MAX_S)
        return self._sensor.poll_interval_s

    def retry_now(self, now_s: float) -> None:
        """Try to reconnect at the next `poll` (the wearer says the cable is fixed)."""
        if self._sensor is None:
            self._next_try_s = now_s

    def adjust_leds(self, batch: FifoBatch, *, safe_to_change: bool) -> None:
        """Feed the LED current controller (when auto-adjust is on) with a batch just polled."""
        if self._leds is not None:
            self._leds.update(batch, safe_to_change=safe_to_change)

    def _connect(self, now_s: float) -> None:
        try:
            sensor = MAX30102(self._bus, self._address, clock=self._clock,
                              red_ir_swapped=self._red_ir_swapped)
            sensor.probe()  # PART_ID: a clear "not found" / "not a MAX30102" before anything else
            sensor.reset()
            sensor.configure(self._settings)
            if self._use_int:
                sensor.enable_interrupts(a_full=True)
        except SensorError as exc:
            self._fail(now_s, exc)
            return
        if self._last_sample_s is not None:  # samples that fell into the outage
            self._outage_lost = max(0, round((now_s - self._last_sample_s) * sensor.output_rate_sps))
        self._sensor = sensor
        if self._led_auto_adjust:  # configure() restored the configured currents: start afresh
            if self._leds is None:
                self._leds = LedCurrentController(sensor, self._clock)
            else:
                self._leds.follow(sensor)
        if self._announced_down:
            self._emit("sensor_recovered", down_s=round(now_s - (self._down_since_s or now_s), 1))
        self._failures = 0
        self._down_since_s = None
        self._announced_down = False
        self.fault = None

    def _fail(self, now_s: float, exc: SensorError) -> None:
        self._sensor = None
        self.fault = sensor_fault(exc)
        self.last_error = str(exc)
        if self._down_since_s is None:
            self._down_since_s = now_s
        if not self._announced_down:
            self._emit("sensor_error", error=str(exc))
            self._announced_down = True
        delay = RETRY_BACKOFF_S[min(self._failures, len(RETRY_BACKOFF_S) - 1)]
        self._failures += 1
        self._next_try_s = now_s + delay

    def close(self) -> None:
        if self._sensor is not None:
            with contextlib.suppress(SensorError):
                self._sensor.close()
            self._sensor = None
