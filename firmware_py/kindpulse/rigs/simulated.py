"""The simulated rig: `Device` on the emulated MAX30102 and bus, fake pins, luma's dummy display,
on a `VirtualClock`. Button presses are scheduled on the virtual clock; every part stays
reachable so tests can inject faults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kindpulse.clock import VirtualClock
from kindpulse.config import Config, config_from_dict
from kindpulse.device import Device
from kindpulse.errors import InputError
from kindpulse.hardware.display import Display, make_display
from kindpulse.hardware.wait import IntPinWaiter
from kindpulse.observers import DeviceObserver
from kindpulse.service_status import systemd_observers
from kindpulse.sim import EmulatedBus, EmulatedMAX30102, FakePins
from kindpulse.sim.sources import PPGSource
from kindpulse.store.db import Store, last_wall
from kindpulse.store.schema import LOG_NAME

SIM_DATE = dt.date(2026, 1, 5)  # a Monday; the wall clock of a simulation
SHORT_PRESS_S = 0.2
LONG_PRESS_S = 2.0


def sim_config(base: Config, overrides: dict, data_dir: Path) -> Config:
    config = config_from_dict(overrides, base) if overrides else base
    return dataclasses.replace(
        config,
        device=dataclasses.replace(config.device, data_dir=str(data_dir), timezone_offset_min=0),
        # luma's dummy keeps the frames; a config that asks for the emulator's window keeps it
        display=dataclasses.replace(config.display,
                                    kind="emulator" if config.display.kind == "emulator" else "dummy"),
    )


def make_out_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{out} is a file, not a directory: give --out a directory") from None
    except OSError as exc:
        raise InputError(f"cannot create {out} ({exc.strerror}): choose another --out directory") from None


@dataclasses.dataclass
class SimRig:
    """The device on emulated hardware, with every part reachable (tests inject faults here)."""

    clock: VirtualClock
    chip: EmulatedMAX30102
    bus: EmulatedBus
    pins: FakePins
    display: Display
    store: Store
    device: Device
    events: list[dict]
    _actions: list[tuple[float, int, str]] = dataclasses.field(default_factory=list)
    _seq: int = 0

    def schedule_press(self, t: float, kind: str = "short") -> None:
        """Press the button at device time t (s), short or long."""
        hold = LONG_PRESS_S if kind == "long" else SHORT_PRESS_S
        heapq.heappush(self._actions, (t, self._seq, "press"))
        heapq.heappush(self._actions, (t + hold, self._seq + 1, "release"))
        self._seq += 2

    def run_until(self, t_end: float, *, speed: float | None = None,
                  each_step: Callable[[float], None] | None = None) -> None:
        """Step the device until device time t_end, pressing the button on schedule."""
        device, button = self.device, self.device.config.pins.button_pin
        real_start, t_start = time.perf_counter(), device.now()
        while device.now() < t_end and not device.stopping:
            now = device.now()
            while self._actions and self._actions[0][0] <= now:
                _, _, action = heapq.heappop(self._actions)
                (self.pins.press if action == "press" else self.pins.release)(button)
            wait = device.step()
            if each_step is not None:
                each_step(device.now())
            next_action = self._actions[0][0] if self._actions else np.inf
            wait = max(0.0, min(wait, next_action - device.now(), t_end - device.now()))
            device.wait(wait if wait > 0 else 1e-3)  # the INT waiter when wired, else the clock
            if speed is not None:
                ahead = (device.now() - t_start) / speed - (time.perf_counter() - real_start)
                if ahead > 0:
                    time.sleep(ahead)


def build_sim_rig(
    source: PPGSource,
    config: Config,
    out: Path,
    *,
    start: dt.time = dt.time(9, 0),
    on_event: Callable[[dict], None] | None = None,
    on_frame: Callable[[float, Any], None] | None = None,
    chip_present: bool = True,
    use_int: bool = False,
    observers: Sequence[DeviceObserver] = (),
    systemd: Mapping[str, str] | None = None,
) -> SimRig:
    """Wire `Device` to the emulator, fake pins and a dummy display; the log goes to out/.

    ``systemd``: an environment with NOTIFY_SOCKET (and WATCHDOG_USEC): the device speaks sd_notify
    on the virtual clock, as `kindpulse run` does under systemd.
    """
    make_out_dir(out)
    wall_start = dt.datetime.combine(SIM_DATE, start, tzinfo=dt.timezone.utc).timestamp()
    previous = last_wall(out / LOG_NAME)
    while previous is not None and wall_start <= previous:  # a continued log: restart on a later day
        wall_start += 86400.0
    clock = VirtualClock(wall_start=wall_start)
    observers = (*observers, *systemd_observers(systemd, clock, config.device.timezone_offset_min))
    chip = EmulatedMAX30102(clock=clock, source=source)
    chip.present = chip_present
    bus = EmulatedBus({config.device.sensor_address: chip})
    pins = FakePins(clock)
    display = make_display(config.display.kind if config.display.kind == "emulator" else "dummy")
    store = Store(out / LOG_NAME, clock, keep_raw_ppg_days=config.device.keep_raw_ppg_days,
                  info={"sim": True}, sim=True)
    events: list[dict] = []

    def collect(ev: dict) -> None:
        events.append(ev)
        if on_event is not None:
            on_event(ev)

    waiter = None
    if use_int and config.pins.int_pin >= 0:  # the INT line wired to the emulated chip's A_FULL
        pins.connect(config.pins.int_pin, chip.int_level)
        waiter = IntPinWaiter(pins, config.pins.int_pin, clock)
    device = Device(config, clock=clock, bus=bus, pins=pins, display=display, store=store,
                    on_event=collect, on_frame=on_frame, waiter=waiter, observers=observers)
    return SimRig(clock, chip, bus, pins, display, store, device, events)
