"""`Device`: the loop and the routing, sensor -> dsp -> stress -> (session, screens, motor, store).

`Device` gets everything injected (config, clock, I2C bus, pins, display, store, an optional
INT waiter, observers) and opens nothing itself, so the same loop runs on a Pi, against the
emulator at real speed, and against the emulator far faster than real time. The rigs
(`kindpulse.rigs`) build it. Each part it ties together owns one job: the `SensorLink`
(acquisition), the `PulseFeed` (beats, NN, signal state), the `StressMonitor` (HRV, baseline,
trigger), the `Session` (prompt, break, result), the `ScreenPresenter` (frames on the OLED).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

from kindpulse.clock import Clock, local_time
from kindpulse.config import Config
from kindpulse.hardware.button import Button
from kindpulse.hardware.display import Display
from kindpulse.hardware.link import SensorLink
from kindpulse.hardware.max30102 import SMBusLike
from kindpulse.hardware.motor import Motor
from kindpulse.hardware.pins import Pins
from kindpulse.hardware.wait import DataWaiter
from kindpulse.observers import DeviceObserver
from kindpulse.pulse import PulseFeed
from kindpulse.session import BREAK, IDLE, RESULT, STRESS, Session
from kindpulse.store.db import Store
from kindpulse.stress.monitor import MonitorUpdate, StressMonitor
from kindpulse.ui import screens
from kindpulse.ui.presenter import ScreenPresenter
from kindpulse.ui.state import ScreenState

log = logging.getLogger("kindpulse")

__all__ = ["Device", "DeviceObserver"]


class Device:
    """Everything the wearer lives with, in one loop. Call `step()` repeatedly, or `run()`."""

    def __init__(self, config: Config, *, clock: Clock, bus: SMBusLike, pins: Pins, display: Display,
                 store: Store, on_event: Callable[[dict], None] | None = None,
                 on_frame: Callable[[float, Image.Image], None] | None = None,
                 waiter: DataWaiter | None = None, observers: Sequence[DeviceObserver] = ()) -> None:
        self.config, self.clock, self.pins, self.store = config, clock, pins, store
        self.waiter = waiter  # INT pin (real hardware); None: sleep on the clock
        self._on_event = on_event
        self.observers = tuple(observers)
        self.t0 = clock.monotonic()
        dev = config.device
        self.link = SensorLink(bus, dev.sensor_address, config.sensor, clock, self.emit,
                               red_ir_swapped=dev.red_ir_swapped, use_int=config.pins.int_pin >= 0,
                               led_auto_adjust=dev.led_auto_adjust)
        self.button = Button(pins, config.pins.button_pin, clock, on_short=self._short_press,
                             on_long=self._long_press)
        self.motor = Motor(pins, config.pins.motor_pin, clock, pwm_hz=config.pins.motor_pwm_hz)
        self.monitor = StressMonitor(config.rolling, config.baseline, config.trigger, store=store,
                                     emit=self.emit)
        self.baseline, self.trigger = self.monitor.baseline, self.monitor.trigger
        self.pulse = PulseFeed(store=store, emit=self.emit, on_nn=self.monitor.push_nn)
        self.session = Session(config.prompt, config.break_, emit=self.emit, play=self.motor.play,
                               measure=self.monitor.measure, desk=dev.mode == "desk")
        self.screen = ScreenPresenter(display, config.display, self.emit, on_frame)
        self._stopping = False
        store.on_event = self._announce  # the store's own events (clock synced, disk low or full)
        self.emit("start", mode=dev.mode, baseline_ready=self.baseline.ready)

    def now(self) -> float:
        return self.clock.monotonic() - self.t0

    def emit(self, type_: str, **data: Any) -> None:
        t = round(self.now(), 3)
        self.store.event(t, type_, data)
        self._announce({"t": t, "type": type_, **data})

    def _announce(self, event: dict) -> None:
        """An event that is in the log already: to the event sink, the observers and the journal."""
        type_, data = event["type"], {k: v for k, v in event.items() if k not in ("t", "type")}
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
            self.pulse.feed(now, batch, self.link.full_scale_counts)
            self.link.adjust_leds(batch, safe_to_change=not self.pulse.signal.usable)
        elif not self.link.up:
            self.pulse.no_sensor(now)
        self.button.update()
        self.motor.update()
        self.session.tick(now)
        local = local_time(self.clock, self.config.device.timezone_offset_min).time()
        self._route(now, self.monitor.tick(now, local, self.pulse.quality(now),
                                           guided=self.session.guided_recently(now)))
        self.session.checkin(now)
        if self.screen.due(now, animating=self.session.state == BREAK):
            self.screen.show(now, self.screen_view(now))
        self.store.tick()
        if self.observers:
            state = self.screen_state(now)
            for observer in self.observers:
                observer.on_turn(state)
        period = self.link.poll_interval_s(now)  # the FIFO's pace; faster while the break animates
        if self.link.up and self.session.state == BREAK:
            period = min(period, 1.0 / self.config.display.fps_break)
        return period

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
            self.screen.display.clear()
        except Exception:  # a display that is gone must not stop the flush  # noqa: BLE001
            log.warning("could not clear the display")
        self.link.close()
        self.pulse.flush(self.now())
        self.monitor.save()
        self.emit("stop")
        self.store.close()

    # -- routing ----------------------------------------------------------------------
    def _route(self, now: float, update: MonitorUpdate) -> None:
        for change in update.state_changes:  # the trigger's states go to the log only
            self.store.event(round(now, 3), "state", {"state": change.state, "from": change.previous})
        for detail in update.invitations:
            if self.session.state in (IDLE, RESULT):
                self.session.invite(now, STRESS, detail)

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

    # -- what the screens see -----------------------------------------------------------
    def screen_view(self, now: float) -> object:
        """Which screen, with what on it (pure data; ui.screens draws it)."""
        return screens.choose_view(self.screen_state(now))

    def screen_state(self, now: float) -> ScreenState:
        """Everything the screens (and observers) see, in one frozen value."""
        session, monitor, signal = self.session, self.monitor, self.pulse.signal
        snoozed = now < monitor.snoozed_until_s
        offset_min = self.config.device.timezone_offset_min
        until = ""
        if snoozed:
            until = local_time(self.clock, offset_min, monitor.snoozed_until_s + self.t0).strftime("%H:%M")
        return ScreenState(
            now_s=now, sensor_up=self.link.up, sensor_fault=self.link.fault,
            finger=signal.present, usable=signal.usable, motion=signal.moving(now),
            session=session.state, since_s=session.since_s, prompt_reason=session.prompt_reason,
            break_config=session.script.config, result=session.result,
            baseline=monitor.baseline_state, trigger=monitor.status,
            hr_bpm=self.pulse.hr_bpm, rmssd_ms=monitor.rmssd_ms, rmssd_trend=monitor.rmssd_trend,
            snoozed=snoozed, snoozed_until_hhmm=until, storage=self.store.storage,
        )
