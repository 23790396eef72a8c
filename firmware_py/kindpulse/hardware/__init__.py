"""All the hardware: the MAX30102 driver and its link, pins, button, motor, display, INT wait.

Nothing here opens hardware on import; RPi.GPIO and luma.oled devices load only when built.
"""

from kindpulse.hardware.button import Button
from kindpulse.hardware.led_control import LedCurrentController
from kindpulse.hardware.max30102 import MAX30102, FifoBatch, FifoFlags, SensorSettings
from kindpulse.hardware.motor import Motor
from kindpulse.hardware.pins import Pins, RPiGpioPins
from kindpulse.hardware.wait import IntPinWaiter, PollWaiter

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
