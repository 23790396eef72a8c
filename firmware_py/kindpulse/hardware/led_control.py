"""LED current auto-adjust: keep each channel's DC level in a good band of the ADC range.

The photodiode DC depends on the finger, skin and pressure. Too low wastes resolution, too
high saturates (DS p20: LED current 0-51 mA in 0.2 mA steps). A change steps the DC level, so it
is applied only where the caller says it is safe, right after a beat's foot (or while there is
no pulse at all), never in the middle of a beat; the batch after it carries ``flags.led_changed``.
"""

from __future__ import annotations

from kindpulse.clock import Clock
from kindpulse.hardware.max30102 import MAX30102, FifoBatch


class LedCurrentController:
    """Steps LED currents towards ``target`` x full scale when the DC leaves ``band``.

    ``update(batch, safe_to_change=...)`` is called after every drain. The DC estimate is an
    exponential mean over about ``smoothing_s``; the DC must stay out of band for ``hold_s``
    before a change, and a finger-off level (below ``no_finger_fraction``) never raises the
    current (there is nothing to chase).
    """

    def __init__(self, sensor: MAX30102, clock: Clock, *, band: tuple[float, float] = (0.2, 0.8),
                 target: float = 0.45, min_ma: float = 1.0, max_ma: float = 30.0,
                 smoothing_s: float = 1.0, hold_s: float = 2.0, no_finger_fraction: float = 0.05) -> None:
        if not 0.0 < band[0] < target < band[1] < 1.0:
            raise ValueError("need 0 < band low < target < band high < 1")
        self.sensor, self.clock = sensor, clock
        self.band, self.target = band, target
        self.min_ma, self.max_ma = min_ma, max_ma
        self.smoothing_s, self.hold_s = smoothing_s, hold_s
        self.no_finger_fraction = no_finger_fraction
        self.dc: list[float | None] = [None, None]  # red, ir as fractions of full scale
        self._out_since: float | None = None

    def follow(self, sensor: MAX30102) -> None:
        """Control a new driver object for the same chip (after a reconnect): its currents were
        just configured afresh, so the DC estimate and the hold timer start over."""
        self.sensor = sensor
        self.dc = [None, None]
        self._out_since = None

    def _observe(self, batch: FifoBatch) -> None:
        fs = float(self.sensor.full_scale_counts)
        alpha = min(1.0, len(batch) / (self.smoothing_s * batch.output_rate_sps))
        for i, x in enumerate((batch.red, batch.ir)):
            if x.size == 0:
                continue
            level = float(x.mean()) / fs
            prev = self.dc[i]
            self.dc[i] = level if prev is None or batch.flags.led_changed else prev + alpha * (level - prev)

    def _wanted(self) -> tuple[float, float] | None:
        currents = list(self.sensor.led_currents_ma)
        changed = False
        for i, dc in enumerate(self.dc):
            if dc is None or dc < self.no_finger_fraction:
                continue
            if not self.band[0] <= dc <= self.band[1]:
                new = min(self.max_ma, max(self.min_ma, currents[i] * self.target / max(dc, 1e-3)))
                if abs(new - currents[i]) >= 0.2:
                    currents[i], changed = new, True
        return (currents[0], currents[1]) if changed else None

    def update(self, batch: FifoBatch, *, safe_to_change: bool) -> tuple[float, float] | None:
        """Returns the new (red_ma, ir_ma) when it changed them, else None."""
        if len(batch):
            self._observe(batch)
        wanted = self._wanted()
        now = self.clock.monotonic()
        if wanted is None:
            self._out_since = None
            return None
        if self._out_since is None:
            self._out_since = now
        if not safe_to_change or now - self._out_since < self.hold_s:
            return None
        self.sensor.set_led_currents(*wanted)
        self._out_since = None
        return self.sensor.led_currents_ma
