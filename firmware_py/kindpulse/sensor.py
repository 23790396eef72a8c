"""The sensor's public name, as documented: `kindpulse.sensor.MAX30102(bus, address=0x57)`.

The driver lives in `kindpulse.hardware.max30102` with the rest of the hardware.
"""

from kindpulse.hardware.max30102 import MAX30102, FifoBatch, FifoFlags, SensorSettings

__all__ = ["MAX30102", "FifoBatch", "FifoFlags", "SensorSettings"]
