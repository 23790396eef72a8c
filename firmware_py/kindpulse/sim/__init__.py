"""Emulated hardware: the same code runs here as on a Pi.

    from kindpulse.sim import VirtualClock, EmulatedBus, EmulatedMAX30102
    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock)          # a resting finger at about 70 bpm
    bus = EmulatedBus({0x57: chip})               # smbus2-compatible
    clock.advance(0.5)                            # the chip samples as virtual time passes
"""

from kindpulse.clock import VirtualClock
from kindpulse.sim.bus import EmulatedBus, RecordingDevice, Transaction
from kindpulse.sim.max30102 import EmulatedMAX30102
from kindpulse.sim.pins import FakePins
from kindpulse.sim.sources import (
    ConstantSource,
    PPGSource,
    RampSource,
    RecordedSource,
    SyntheticSource,
)

__all__ = [
    "ConstantSource",
    "EmulatedBus",
    "EmulatedMAX30102",
    "FakePins",
    "PPGSource",
    "RampSource",
    "RecordedSource",
    "RecordingDevice",
    "SyntheticSource",
    "Transaction",
    "VirtualClock",
]
