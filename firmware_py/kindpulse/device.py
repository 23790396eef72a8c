"""The composition root and the main loop: sensor -> dsp -> stress -> (ui, haptics, store).

`Device` gets everything injected (clock, I2C bus, pins, display, store) and
opens nothing itself, so the same loop runs on a Pi, against the emulator at
real speed, and against the emulator far faster than real time. `run()` (the
`kindpulse run` command) is the only place that opens real hardware.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from luma.core.error import Error as LumaError

from kindpulse.clock import Clock
from kindpulse.config import Config
from kindpulse.dsp.pipeline import PPGStream
from kindpulse.hardware.button import Button
from kindpulse.hardware.led_control import LedCurrentController
from kindpulse.hardware.link import SensorLink
from kindpulse.hardware.motor import Motor
from kindpulse.hardware.pins import Pins
from kindpulse.hardware.wait import DataWaiter
from kindpulse.session import BREAK, IDLE, RESULT, Session
from kindpulse.signal_state import SignalState
from kindpulse.store.db import Store
from kindpulse.stress.baseline import Baseline
from kindpulse.stress.rolling import HrvSnapshot, RollingHRV, SignalQuality
from kindpulse.stress.trigger import StressTrigger
from kindpulse.ui import screens

log = logging.getLogger("kindpulse")

BASELINE_KEY = "baseline"
# NN intervals become final a few beats late (artefact look-ahead); HRV windows end at
# the newest NN interval unless it is older than this (then the gap counts against coverage).
MAX_NN_LATENCY_S = 12.0
# The sensor's polarity is known (inverted), so the stream needs only enough signal to
# size its first threshold: the first beat shows within about 2 s of the finger arriving.
STREAM_WARMUP_S = 1.5
# The baseline is saved after every calm minute while calibrating, then every 10 (a power
# cut loses at most 10 calm minutes; each save rewrites the whole history).
BASELINE_SAVE_EVERY = 10
# Paced breathing inflates RMSSD for a while after a break: keep that out of the baseline.
AFTER_BREAK_S = 60.0


class Device:
    """Everything the wearer lives with, in one loop. Call `step()` repeatedly, or `run()`."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock,
        bus: Any,
        pins: Pins,
        display: Any,
        store: Store,
        on_event: Callable[[dict], None] | None = None,
        on_frame: Callable[[float, Any], None] | None = None,
        waiter: DataWaiter | None = None,
    ) -> None:
        self.config = config
        self.waiter = waiter  # INT pin (real hardware); None: sleep on the clock
        self.clock = clock
        self.pins = pins
        self.display = display
        self.store = store
        self._on_event = on_event
        self._on_frame = on_frame
        self.t0 = clock.monotonic()
        self.link = SensorLink(bus, config.device.sensor_address, config.sensor, clock, self.emit,
                               red_ir_swapped=config.device.red_ir_swapped, use_int=config.pins.int_pin >= 0)
        self.button = Button(pins, config.pins.button_pin, clock, on_short=self._short_press,
                             on_long=self._long_press)
        self.motor = Motor(pins, config.pins.motor_pin, clock, pwm_hz=config.pins.motor_pwm_hz)
        self.baseline = self._load_baseline()
        self.rolling = RollingHRV(config.rolling)
        self.trigger = StressTrigger(config.trigger, self.baseline)
        self.session = Session(config.prompt, config.break_, emit=self.emit, play=self.motor.play,
                               measure=self._measure)
        self.signal = SignalState()
        self.last_hr_bpm: float | None = None
        self.stream: PPGStream | None = None
        self.leds: LedCurrentController | None = None
        self._stream_fs = 0.0
        self._snapshot: HrvSnapshot | None = None
        self._last_nn_t = -math.inf
        self._first_beat = False
        self._rmssd_trend: list[float] = []
        self._last_frame_s = -math.inf
        self._last_view: object = None
        self._display_failed = False
        self._unsaved_windows = 0
        self._last_long: object = None
        self._last_checkin_s = 0.0
        self._calibrating_announced = False
        self._stopping = False
        self.emit("start", mode=config.device.mode, baseline_ready=self.baseline.ready)

    # -- events -----------------------------------------------------------------
    def now(self) -> float:
        return self.clock.monotonic() - self.t0

    def emit(self, type_: str, **data: Any) -> None:
        t = round(self.now(), 3)
        self.store.event(t, type_, data)
        if self._on_event is not None:
            self._on_event({"t": t, "type": type_, **data})
        log.info("%s %s", type_, data if data else "")

    # -- the loop ---------------------------------------------------------------
    def step(self) -> float:
        """One turn: read the sensor, process, decide, show. Returns seconds until the next turn."""
        now = self.now()
        batch = self.link.poll(now)
        if batch is not None:
            self._process(now, batch)
        elif not self.link.up:
            self._signal(now, present=False, usable=False, motion=False)
        self.button.update()
        self.motor.update()
        self.session.tick(now)
        self._hrv_tick(now)
        self._checkin(now)
        self._show(now)
        self.store.tick()
        return self._period()

    def run(self, until_s: float | None = None, should_stop: Callable[[], bool] = lambda: False) -> None:
        while not self._stopping and not should_stop():
            if until_s is not None and self.now() >= until_s:
                break
            wait = self.step()
            if until_s is not None:
                wait = min(wait, max(0.0, until_s - self.now()))
            self.wait(wait)

    def wait(self, seconds: float) -> None:
        """Sleep until the next turn: on the INT line when it is wired (wakes early), else the clock."""
        if self.waiter is not None and self.link.up:
            self.waiter.wait(seconds)
        else:
            self.clock.sleep(seconds)

    def stop(self) -> None:
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    def shutdown(self) -> None:
        """In order: motor off, display cleared, sensor shut down, data flushed."""
        self.motor.stop()
        try:
            self.display.clear()
        except Exception:  # a display that is gone must not stop the flush  # noqa: BLE001
            log.warning("could not clear the display")
        self.link.close()
        if self.stream is not None:
            self._consume(self.now(), self.stream.flush())
        self.store.set_state(BASELINE_KEY, self.baseline.to_dict())
        self.emit("stop")
        self.store.close()

    def _period(self) -> float:
        """Drain at the FIFO's pace (the driver's poll interval); faster while the break animates."""
        sensor = self.link.sensor
        if sensor is None:
            return min(max(0.05, self.link.next_try_s - self.now()), 0.1)  # stay responsive to the button
        period = sensor.poll_interval_s
        if self.session.state == BREAK:
            period = min(period, 1.0 / self.config.display.fps_break)
        return period

    # -- sensor -> dsp ------------------------------------------------------------
    def _process(self, now: float, batch) -> None:
        sensor = self.link.sensor
        fs = batch.output_rate_sps
        lost = int(batch.lost)
        if self.stream is None or fs != self._stream_fs:
            self.stream = PPGStream(fs, invert=True, full_scale=float(sensor.full_scale_counts),
                                    warmup_s=STREAM_WARMUP_S)
            self._stream_fs = fs
            self._stream_t0 = now - len(batch) / fs
            self.link.pending_lost = lost = 0
        lost += self.link.pending_lost
        self.link.pending_lost = 0
        if lost:
            self.emit("samples_lost", count=lost)
        if len(batch) == 0 and not lost:
            return
        ir = batch.ir if batch.ir.size else batch.red  # HR mode has the red LED only
        self.store.ppg(now - len(batch) / fs, fs, ir, batch.red, lost)
        x = np.asarray(ir, dtype=np.float64)
        # Lost samples sit before sample `lost_at`: push the part before them, then the rest.
        at = min(batch.lost_at, x.size) if lost else 0
        if at:
            self._consume(now, self.stream.push(x[:at]))
        self._consume(now, self.stream.push(x[at:], lost_before=lost))
        if self.config.device.led_auto_adjust:
            if self.leds is None or self.leds.sensor is not sensor:
                self.leds = LedCurrentController(sensor, self.clock)
            self.leds.update(batch, safe_to_change=not self.signal.usable)

    def _consume(self, now: float, update) -> None:
        offset = self._stream_t0 - self.t0
        if len(update.beats_s) and not self._first_beat:
            self._first_beat = True
            self.emit("first_beat", at_s=round(float(update.beats_s[0]) + offset, 3))
        if len(update.nn_ms):
            nn_t = np.asarray(update.nn_t_s) + offset
            self.rolling.push(nn_t, update.nn_ms)
            self._last_nn_t = float(nn_t[-1])
            self.store.nn(nn_t, update.nn_ms)
        if update.hr_bpm is not None:
            self.last_hr_bpm = update.hr_bpm
        if update.blocks == 0:
            return
        present = "no_signal" not in update.issues
        usable = update.good_blocks * 2 >= update.blocks
        self._signal(now, present=present, usable=usable, motion="motion" in update.issues)

    def _signal(self, now: float, *, present: bool, usable: bool, motion: bool) -> None:
        for type_, data in self.signal.update(now, present=present, usable=usable, motion=motion):
            self.emit(type_, **data)

    # -- dsp -> stress ------------------------------------------------------------
    def _hrv_time(self, now: float) -> float:
        return self._last_nn_t if now - self._last_nn_t <= MAX_NN_LATENCY_S else now

    def _hrv_tick(self, now: float) -> None:
        snap = self.rolling.update(self._hrv_time(now))
        if snap is None:
            return
        self._snapshot = snap
        quality = SignalQuality(usable=self.signal.usable, motion=self.signal.moving(now),
                                finger_present=self.signal.present)
        if snap.short.metrics is not None:
            self.store.hrv(now, snap.short.window_s, dict(snap.short.metrics))
            rmssd = snap.short.get("rmssd_ms")
            if rmssd is not None:
                self._rmssd_trend = (self._rmssd_trend + [rmssd])[-60:]
        if snap.long is not self._last_long and snap.long.metrics is not None:  # recomputed every 30 s
            self.store.hrv(now, snap.long.window_s, dict(snap.long.metrics))
        self._last_long = snap.long
        was_ready = self.baseline.ready
        events = self.trigger.step(now, self._local_time(), snap, quality)
        result = self.session.result
        in_break = self.session.busy or (result is not None and now - result.end_s < AFTER_BREAK_S)
        learned = self.baseline.add(now, snap.short.metrics, coverage=snap.short.coverage, usable=quality.usable,
                          motion=quality.motion, stressed=self.trigger.stressed, in_break=in_break)
        if learned:
            self._unsaved_windows += 1
        if not was_ready and self.baseline.ready:
            self.emit("baseline_ready", windows=self.baseline.state.n_windows)
        if self._unsaved_windows and (not was_ready or self._unsaved_windows >= BASELINE_SAVE_EVERY):
            self.store.set_state(BASELINE_KEY, self.baseline.to_dict())  # commits: survives a power cut
            self._unsaved_windows = 0
        elif not self.baseline.ready and not self._calibrating_announced and self.signal.usable:
            self.emit("calibrating")
            self._calibrating_announced = True
        for ev in events:
            if ev.kind == "prompt" and self.session.state in (IDLE, RESULT):
                self.session.invite(now, "stress", {k: _r(v) for k, v in ev.detail.items()})
            elif ev.kind == "state":
                self.store.event(round(now, 3), "state", {"state": ev.state, "from": ev.detail.get("from")})

    def _measure(self, now: float) -> tuple[float | None, float | None]:
        snap = self.rolling.compute(self._hrv_time(now))
        return snap.short.get("hr_bpm"), snap.short.get("rmssd_ms")

    def _local_time(self) -> dt.time:
        wall = self.clock.wall() + self.config.device.timezone_offset_min * 60
        return dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc).time()

    def _hhmm_at(self, t_s: float) -> str:
        wall = self.clock.wall() + (t_s - self.now()) + self.config.device.timezone_offset_min * 60
        return dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc).strftime("%H:%M")

    def _checkin(self, now: float) -> None:
        every = self.config.prompt.checkin_interval_min * 60
        if self.config.device.mode != "desk" or every <= 0 or self.session.state != IDLE:
            return
        if now - self._last_checkin_s >= every:
            self._last_checkin_s = now
            self.session.invite(now, "checkin")

    # -- buttons --------------------------------------------------------------------
    def _short_press(self) -> None:
        now = self.now()
        self.emit("button", press="short", state=self.session.state)
        if not self.link.up:  # the sensor-error screen asks for a press after fixing the cable
            self.link.next_try_s = now
            return
        was_break = self.session.state == BREAK
        self.session.short_press(now)
        if was_break or self.session.state == BREAK:
            self.trigger.note_break(now)

    def _long_press(self) -> None:
        now = self.now()
        self.emit("button", press="long", state=self.session.state)
        if self.session.long_press(now):
            self.trigger.snooze(now)
            self.emit("snoozed", until_s=round(self.trigger.snoozed_until_s, 1))

    # -- ui -------------------------------------------------------------------------
    def _show(self, now: float) -> None:
        fps = self.config.display.fps_break if self.session.state == BREAK else self.config.display.fps_idle
        if now - self._last_frame_s < 1.0 / fps - 1e-9:
            return
        self._last_frame_s = now
        view = self.screen_view(now)
        if view == self._last_view:  # views are frozen dataclasses: same view, same pixels
            return
        image = screens.render(view)
        try:
            self.display.display(image)
        except (OSError, LumaError) as exc:  # the OLED shares the bus: a glitch must not stop the loop
            if not self._display_failed:
                self.emit("display_error", error=str(exc))
                self._display_failed = True
            return  # try again with the next frame
        self._display_failed = False
        self._last_view = view
        if self._on_frame is not None:
            self._on_frame(now, image)

    def screen_view(self, now: float):
        """Which screen, with what on it (pure data; ui.screens draws it)."""
        return screens.choose_view(self._ui_state(now))

    def _ui_state(self, now: float) -> dict:
        snap = self._snapshot
        snoozed = now < self.trigger.snoozed_until_s
        return {
            "now_s": now,
            "sensor_up": self.link.up,
            "sensor_error": self.link.last_error,
            "finger": self.signal.present,
            "usable": self.signal.usable,
            "session": self.session.state,
            "since_s": self.session.since_s,
            "prompt_reason": self.session.prompt_reason,
            "script": self.session.script,
            "result": self.session.result,
            "baseline": self.baseline.state,
            "trigger": self.trigger.status,
            "hr_bpm": self.last_hr_bpm,
            "rmssd_ms": snap.short.get("rmssd_ms") if snap is not None else None,
            "rmssd_trend": tuple(self._rmssd_trend),
            "snoozed": snoozed,
            "snoozed_until_hhmm": self._hhmm_at(self.trigger.snoozed_until_s) if snoozed else "",
            "motion": self.signal.moving(now),
            "mode": self.config.device.mode,
        }

    def _load_baseline(self) -> Baseline:
        saved = self.store.get_state(BASELINE_KEY)
        if saved:
            try:
                return Baseline.from_dict(saved, self.config.baseline)
            except (KeyError, ValueError, TypeError):
                log.warning("saved baseline unreadable; calibrating afresh")
        return Baseline(self.config.baseline)


def _r(v: Any) -> Any:
    return round(v, 2) if isinstance(v, float) else v
