"""The device, as systemd sees it: a `DeviceObserver` that drives the `ServiceNotifier`.

READY=1 after the first turn that has either the sensor up or the sensor-error screen showing
(the device then retries on its own); WATCHDOG=1 from `on_turn`, so only a turning loop pings;
STATUS= a line a person reads in `systemctl status`; STOPPING=1 when shutdown begins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kindpulse.clock import Clock, local_time
from kindpulse.notify import ServiceNotifier, ServiceStatus
from kindpulse.observers import DeviceObserver
from kindpulse.session import BREAK, PROMPT, RESULT
from kindpulse.ui.state import ScreenState

FAULT_WORDS = {"missing": "sensor not found on I2C", "io": "I2C transfer failed"}


def describe(state: ScreenState, error: str = "", last_prompt: str = "") -> ServiceStatus:
    """The state in words: what the device is doing, its heart rate or what is wrong."""
    hr = f"HR {state.hr_bpm:.0f} bpm" if state.hr_bpm is not None and state.usable else ""
    if not state.sensor_up:
        what = error or FAULT_WORDS.get(state.sensor_fault or "", "connecting")
        return ServiceStatus("sensor error, retrying", what, last_prompt)
    if state.session in (PROMPT, BREAK, RESULT):
        name = {PROMPT: "inviting a break", BREAK: "guided break", RESULT: "break done"}[state.session]
        return ServiceStatus(name, hr, last_prompt)
    if not state.finger:
        return ServiceStatus("waiting for a finger", "", last_prompt)
    if not state.usable:
        return ServiceStatus("poor signal", "motion" if state.motion else "", last_prompt)
    if state.snoozed:
        return ServiceStatus(f"snoozed until {state.snoozed_until_hhmm}", hr, last_prompt)
    if not state.baseline.ready:  # in 10% steps: a line a minute at most while calibrating
        return ServiceStatus(f"calibrating {int(state.baseline.progress * 10) * 10}%", hr, last_prompt)
    return ServiceStatus(f"monitoring ({state.trigger.state.replace('_', ' ')})", hr, last_prompt)


class SystemdObserver(DeviceObserver):
    """Type=notify for the device's loop; the clock and time zone give the last prompt's HH:MM."""

    def __init__(self, notifier: ServiceNotifier, clock: Clock, timezone_offset_min: int = 0) -> None:
        self.notifier = notifier
        self.clock = clock
        self.tz_min = timezone_offset_min
        self.error = ""
        self.last_prompt = ""

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "sensor_error":
            self.error = str(event.get("error", ""))
        elif kind == "sensor_recovered":
            self.error = ""
        elif kind == "prompt":
            self.last_prompt = local_time(self.clock, self.tz_min).strftime("%H:%M")

    def on_turn(self, state: ScreenState) -> None:
        status = describe(state, self.error, self.last_prompt)
        if not self.notifier.is_ready and (state.sensor_up or state.sensor_fault is not None):
            self.notifier.ready(status)
        self.notifier.tick(status)

    def on_stop(self) -> None:
        self.notifier.stopping()


def systemd_observers(environ: Mapping[str, str] | None, clock: Clock,
                      timezone_offset_min: int = 0) -> tuple[DeviceObserver, ...]:
    """For a rig: the observer that speaks sd_notify when ``environ`` has a usable NOTIFY_SOCKET
    (the process's environment under systemd), else none. None: not asked to."""
    if environ is None:
        return ()
    notifier = ServiceNotifier.from_environ(clock, environ)
    return (SystemdObserver(notifier, clock, timezone_offset_min),) if notifier.active else ()
