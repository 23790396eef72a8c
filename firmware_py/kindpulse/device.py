"""`Device`: the loop and the routing, sensor -> dsp -> stress -> (session, screens, motor, store).

`Device` gets everything injected (config, clock, I2C bus, pins, display, store, an optional
INT waiter, observers) and opens nothing itself, so the same loop runs on a Pi, against the
emulator at real speed, and against the emulator far faster than real time. The rigs
(`kindpulse.rigs`) build it; the parts it ties together each own one job: the sensor link
(acquisition), `PPGStream` (beats, NN, quality), `SignalState` (finger/usable), the
`StressMonitor` (HRV, baseline, trigger), the `Session` (prompt/break/result), the screens.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from luma.core.error import Error as LumaError
from PIL import Image

from kindpulse.clock import Clock
from kindpulse.config import Config
from kindpulse.dsp.pipeline import PPGStream, StreamUpdate
from kindpulse.hardware.button import Button
from kindpulse.hardware.display import Display
from kindpulse.hardware.link import SensorLink
from kindpulse.hardware.max30102 import FifoBatch, SMBusLike
from kindpulse.hardware.motor import Motor
from kindpulse.hardware.pins import Pins
from kindpulse.hardware.wait import DataWaiter
from kindpulse.session import BREAK, CHECKIN, IDLE, RESULT, STRESS, Session
from kindpulse.signal_state import SignalState
from kindpulse.store.db import Store
from kindpulse.stress.monitor import MonitorUpdate, StressMonitor
from kindpulse.stress.rolling import SignalQuality
from kindpulse.ui import screens
from kindpulse.ui.state import ScreenState

log = logging.getLogger("kindpulse")

# The sensor's polarity is known (inverted), so the stream needs only enough signal to
# size its first threshold: the first beat shows within about 2 s of the finger arriving.
STREAM_WARMUP_S = 1.5


class DeviceObserver:
    """Hooks for parts that watch the loop (a systemd notifier, a simulated wearer...).

    Override what you need: `on_event` gets every logged event (dict with t, type),
    `on_turn` the screen state after every turn, `on_stop` is called once as shutdown begins.
    """

    def on_event(self, event: dict[str, Any]) -> None:
        """Every event, as logged."""

    def on_turn(self, state: ScreenState) -> None:
        """After each turn of the loop."""

    def on_stop(self) -> None:
        """Shutdown begins."""


class Device:
    """Everything the wearer lives with, in one loop. Call `step()` repeatedly, or `run()`."""

    def __init__(self, config: Config, *, clock: Clock, bus: SMBusLike, pins: Pins, display: Display,
                 store: Store, on_event: Callable[[dict], None] | None = None,
                 on_frame: Callable[[float, Image.Image], None] | None = None,
                 waiter: DataWaiter | None = None, observers: Sequence[DeviceObserver] = ()) -> None:
        self.config = config
        self.clock, self.pins, self.display, self.store = clock, pins, display, store
        self.waiter = waiter  # INT pin (real hardware); None: sleep on the clock
        self._on_event, self._on_frame = on_event, on_frame
        self.observers = tuple(observers)
        self.t0 = clock.monotonic()
        dev = config.device
        self.link = SensorLink(bus, dev.sensor_address, config.sensor, clock, self.emit,
                               red_ir_swapped=dev.red_ir_swapped, use_int=config.pins.int_pin >= 0,
                               led_auto_adjust=dev.led_auto_adjust)
        self.button = Button(pins, config.pins.button_pin, clock, on_short=self._short_press,
                             on_long=self._long_press)
        self.motor = Motor(pins, config.pins.motor_pin, clock, pwm_hz=config.pins.motor_pwm_hz)
        self.monitor = StressMonitor(config.rolling, config.baseline, config.trigger, store=store, emit=self.emit)
        self.baseline, self.trigger = self.monitor.baseline, self.monitor.trigger
        self.session = Session(config.prompt, config.break_, emit=self.emit, play=self.motor.play,
                               measure=self.monitor.measure)
        self.signal = SignalState()
        self.stream: PPGStream | None = None
        self.last_hr_bpm: float | None = None
        self._stream_t0 = 0.0  # device time of the stream's first sample
        self._first_beat = False
        self._last_frame_s = -math.inf
        self._last_view: object = None
        self._display_failed = False
        self._last_checkin_s = 0.0
        self._stopping = False
        self.emit("start", mode=dev.mode, baseline_ready=self.baseline.ready)

    # -- events -----------------------------------------------------------------
    def now(self) -> float:
        return self.clock.monotonic() - self.t0

    def emit(self, type_: str, **data: Any) -> None:
        t = round(self.now(), 3)
        self.store.event(t, type_, data)
        event = {"t": t, "type": type_, **data}
        if self._on_event is not None:
            self._on_event(event)
        for observer in self.observers:
            observer.on_event(event)
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
        self._route(now, self.monitor.tick(now, self._local_time(), self._quality(now),
                                           guided=self.session.guided_recently(now)))
        self._checkin(now)
        self._show(now)
        self.store.tick()
        if self.observers:
            state = self.screen_state(now)
            for observer in self.observers:
                observer.on_turn(state)
        return self._period(now)

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
        for observer in self.observers:
            observer.on_stop()
        self.motor.stop()
        try:
            self.display.clear()
        except Exception:  # a display that is gone must not stop the flush  # noqa: BLE001
            log.warning("could not clear the display")
        self.link.close()
        if self.stream is not None:
            self._consume(self.now(), self.stream.flush())
        self.monitor.save()
        self.emit("stop")
        self.store.close()

    def _period(self, now: float) -> float:
        """Drain at the link's pace; faster while the break animates."""
        period = self.link.poll_interval_s(now)
        if self.link.up and self.session.state == BREAK:
            period = min(period, 1.0 / self.config.display.fps_break)
        return period

    # -- sensor -> dsp -> stress ----------------------------------------------------
    def _process(self, now: float, batch: FifoBatch) -> None:
        fs = batch.output_rate_sps
        lost = batch.lost
        if self.stream is None or fs != self.stream.fs:
            self.stream = PPGStream(fs, invert=True, full_scale=float(self.link.full_scale_counts),
                                    warmup_s=STREAM_WARMUP_S)
            self._stream_t0 = now - len(batch) / fs
            lost = 0  # a fresh stream starts here: nothing before it to keep apart
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
        self.link.adjust_leds(batch, safe_to_change=not self.signal.usable)

    def _consume(self, now: float, update: StreamUpdate) -> None:
        offset = self._stream_t0 - self.t0
        if len(update.beats_s) and not self._first_beat:
            self._first_beat = True
            self.emit("first_beat", at_s=round(float(update.beats_s[0]) + offset, 3))
        if len(update.nn_ms):
            nn_t = np.asarray(update.nn_t_s) + offset
            self.monitor.push_nn(nn_t, update.nn_ms)
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

    def _quality(self, now: float) -> SignalQuality:
        return SignalQuality(usable=self.signal.usable, motion=self.signal.moving(now),
                             finger_present=self.signal.present)

    # -- routing ----------------------------------------------------------------------
    def _route(self, now: float, update: MonitorUpdate) -> None:
        for change in update.state_changes:  # the trigger's states go to the log only
            self.store.event(round(now, 3), "state", {"state": change.state, "from": change.previous})
        for detail in update.invitations:
            if self.session.state in (IDLE, RESULT):
                self.session.invite(now, STRESS, detail)

    def _checkin(self, now: float) -> None:
        every = self.config.prompt.checkin_interval_min * 60
        if self.config.device.mode != "desk" or every <= 0 or self.session.state != IDLE:
            return
        if now - self._last_checkin_s >= every:
            self._last_checkin_s = now
            self.session.invite(now, CHECKIN)

    def _short_press(self) -> None:
        now = self.now()
        self.emit("button", press="short", state=self.session.state)
        if not self.link.up:  # the sensor-error screen asks for a press after fixing the cable
            self.link.retry_now(now)
            return
        was_break = self.session.state == BREAK
        self.session.short_press(now)
        if was_break or self.session.state == BREAK:
            self.monitor.note_break(now)

    def _long_press(self) -> None:
        now = self.now()
        self.emit("button", press="long", state=self.session.state)
        if self.session.long_press(now):
            self.monitor.snooze(now)
            self.emit("snoozed", until_s=round(self.monitor.snoozed_until_s, 1))

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

    def screen_view(self, now: float) -> object:
        """Which screen, with what on it (pure data; ui.screens draws it)."""
        return screens.choose_view(self.screen_state(now))

    def screen_state(self, now: float) -> ScreenState:
        """Everything the screens (and observers) see, in one frozen value."""
        session, monitor = self.session, self.monitor
        snoozed = now < monitor.snoozed_until_s
        return ScreenState(
            now_s=now, sensor_up=self.link.up, sensor_fault=self.link.fault,
            finger=self.signal.present, usable=self.signal.usable, motion=self.signal.moving(now),
            session=session.state, since_s=session.since_s, prompt_reason=session.prompt_reason,
            break_config=session.script.config, result=session.result,
            baseline=monitor.baseline_state, trigger=monitor.status,
            hr_bpm=self.last_hr_bpm, rmssd_ms=monitor.rmssd_ms, rmssd_trend=monitor.rmssd_trend,
            snoozed=snoozed, snoozed_until_hhmm=self._hhmm_at(monitor.snoozed_until_s) if snoozed else "",
        )

    # -- wall clock ---------------------------------------------------------------------
    def _local_time(self) -> dt.time:
        wall = self.clock.wall() + self.config.device.timezone_offset_min * 60
        return dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc).time()

    def _hhmm_at(self, t_s: float) -> str:
        wall = self.clock.wall() + (t_s - self.now()) + self.config.device.timezone_offset_min * 60
        return dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc).strftime("%H:%M")
