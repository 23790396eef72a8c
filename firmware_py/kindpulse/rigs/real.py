"""The real rig: the Pi's I2C bus, GPIO, OLED and the wall clock, wired to `Device` from the config."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kindpulse.clock import RealClock
from kindpulse.config import Config
from kindpulse.device import Device
from kindpulse.errors import KindpulseError
from kindpulse.hardware.display import make_display
from kindpulse.hardware.max30102 import SMBusLike
from kindpulse.hardware.pins import RPiGpioPins
from kindpulse.hardware.wait import IntPinWaiter
from kindpulse.observers import DeviceObserver
from kindpulse.service_status import systemd_observers
from kindpulse.store.db import Store, system_clock_synced
from kindpulse.store.schema import LOG_NAME


@dataclass
class RealRig:
    """The device on real hardware; `close()` releases what the rig opened, in reverse order."""

    device: Device
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):  # release everything, whatever one part says
                close()
        self._closers.clear()


def open_i2c_bus(number: int) -> SMBusLike:
    """smbus2.SMBus(number), or a one-line error that points at `kindpulse doctor`."""
    try:
        import smbus2

        return smbus2.SMBus(number)
    except (OSError, ImportError) as exc:
        raise KindpulseError(
            f"cannot open I2C bus {number} ({exc}): run 'kindpulse doctor' for what to fix"
        ) from None


def build_real_rig(config: Config, data_dir: Path | None = None,
                   on_event: Callable[[dict], None] | None = None,
                   observers: Sequence[DeviceObserver] = (),
                   systemd: Mapping[str, str] | None = None) -> RealRig:
    """Open the bus, pins, display and log named by the config and wire them to `Device`.

    ``systemd``: the process's environment; with a NOTIFY_SOCKET in it the device speaks
    sd_notify (READY, WATCHDOG, STATUS, STOPPING) from its loop.
    """
    clock = RealClock()
    observers = (*observers, *systemd_observers(systemd, clock, config.device.timezone_offset_min))
    rig = RealRig(device=None)  # type: ignore[arg-type]  # set below, once every part is open
    try:
        bus = open_i2c_bus(config.device.i2c_bus)
        rig._closers.append(bus.close)
        pins = RPiGpioPins()
        rig._closers.append(pins.close)
        waiter = IntPinWaiter(pins, config.pins.int_pin, clock) if config.pins.int_pin >= 0 else None
        display = make_display(config.display.kind, i2c_port=config.device.i2c_bus,
                               address=config.display.address, rotate=config.display.rotate)
        store = Store(Path(data_dir or config.device.data_dir) / LOG_NAME, clock,
                      keep_raw_ppg_days=config.device.keep_raw_ppg_days, info={"mode": config.device.mode},
                      clock_synced=system_clock_synced)
        rig.device = Device(config, clock=clock, bus=bus, pins=pins, display=display, store=store,
                            waiter=waiter, on_event=on_event, observers=observers)
    except BaseException:
        rig.close()
        raise
    return rig
