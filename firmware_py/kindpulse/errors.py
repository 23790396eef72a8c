"""One exception root for the project; errno translation happens at the hardware boundary."""

from __future__ import annotations

from typing import Literal


class KindpulseError(Exception):
    """Root of every error kindpulse raises on purpose."""


class ConfigError(KindpulseError, ValueError):
    """A config file, scenario or CLI value is wrong; the message names it and says what to do."""


class InputError(KindpulseError, ValueError):
    """A recording or data file cannot be used; the message says why and what to do."""


class SensorError(KindpulseError, OSError):
    """The sensor failed in a way that a retry may fix (I2C error, bus gone)."""


class SensorNotFound(SensorError):
    """Nothing answers at the address, or something that is not a MAX30102 does."""


class SensorTimeout(SensorError, TimeoutError):
    """A self-clearing bit or a conversion did not finish in time."""


class SensorConfigError(KindpulseError, ValueError):
    """A sensor configuration the datasheet does not allow (for example SR x PW x mode)."""


# What the screens tell the wearer about a sensor that is down, from the exception's type
# (never from its message text): "missing" (nothing, or not a MAX30102, answers), "io" (it
# answered, then a transfer failed). None: the sensor is up.
SensorFault = Literal["missing", "io"]
MISSING: SensorFault = "missing"
IO: SensorFault = "io"


def sensor_fault(exc: SensorError) -> SensorFault:
    """The fault a `SensorError` stands for: `SensorNotFound` -> "missing", anything else "io"."""
    return MISSING if isinstance(exc, SensorNotFound) else IO
