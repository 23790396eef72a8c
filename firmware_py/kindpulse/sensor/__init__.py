"""The hardware layer: MAX30102 driver, pins (button, motor), display factory.

Nothing here opens hardware on import; RPi.GPIO and luma.oled devices load only when built.
"""

from kindpulse.sensor.led_control import LedCurrentController
from kindpulse.sensor.max30102 import MAX30102, FifoBatch, FifoFlags, SensorSettings
from kindpulse.sensor.pins import Button, Motor, Pins, RPiGpioPins
from kindpulse.sensor.wait import IntPinWaiter, PollWaiter

__all__ = [
    "MAX30102",
    "Button",
    "FifoBatch",
    "FifoFlags",
    "IntPinWaiter",
    "LedCurrentController",
    "Motor",
    "Pins",
    "PollWaiter",
    "RPiGpioPins",
    "SensorSettings",
]
