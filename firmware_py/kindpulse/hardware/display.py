"""Display factory: the luma device the UI renders on, built from config.

    make_display("ssd1306", i2c_port=1, address=0x3C)   # on the Pi (opens /dev/i2c-1 via luma)
    make_display("ssd1306", bus=shared_bus)             # share one open smbus2 bus with the sensor
    make_display("dummy")                               # tests and simulation: frames in .image
    make_display("emulator")                            # a live window (pip install luma.emulator)

luma.oled and luma.emulator are imported only when such a device is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from kindpulse.errors import ConfigError, KindpulseError

if TYPE_CHECKING:
    from PIL import Image

# Every display kind, listed once (config.DisplayConfig checks against this).
KINDS = ("ssd1306", "sh1106", "dummy", "emulator")


class Display(Protocol):
    """The part of a luma device the daemon uses."""

    def display(self, image: Image.Image) -> None: ...

    def clear(self) -> None: ...


class DisplayError(KindpulseError, OSError):
    """The OLED did not answer or cannot be opened; the message says what to check."""


def make_display(kind: str = "ssd1306", *, i2c_port: int = 1, address: int = 0x3C, rotate: int = 0,
                 width: int = 128, height: int = 64, bus: Any = None) -> Display:
    """Build a luma device. ``rotate`` is 0-3 quarter turns; ``bus``, if given, is an open
    smbus2-compatible bus that the caller owns (luma then never opens or closes one)."""
    if kind not in KINDS:
        raise ConfigError(f"display kind {kind!r} is not one of {', '.join(KINDS)}")
    if rotate not in (0, 1, 2, 3):
        raise ConfigError(f"display rotate={rotate!r}: use 0, 1, 2 or 3 quarter turns")
    if kind == "dummy":
        from luma.core.device import dummy

        return dummy(width=width, height=height, rotate=rotate, mode="1")
    if kind == "emulator":
        try:
            from luma.emulator.device import pygame
        except ImportError as exc:
            raise ConfigError("display kind 'emulator' needs luma.emulator: "
                              ".venv/bin/pip install luma.emulator") from exc
        return pygame(width=width, height=height, rotate=rotate, mode="1")
    import luma.core.error
    from luma.core.interface.serial import i2c

    try:
        serial = i2c(bus=bus, port=i2c_port, address=address)
        if kind == "ssd1306":
            from luma.oled.device import ssd1306 as device_class
        else:
            from luma.oled.device import sh1106 as device_class
        return device_class(serial, width=width, height=height, rotate=rotate)
    except luma.core.error.DevicePermissionError as exc:
        raise DisplayError(f"cannot open /dev/i2c-{i2c_port}: {exc}; "
                           "sudo usermod -aG i2c $USER, then log in again") from exc
    except luma.core.error.DeviceNotFoundError as exc:
        raise DisplayError(f"no {kind} OLED at 0x{address:02X} on /dev/i2c-{i2c_port} ({exc}); "
                           "check wiring, or the address (0x3C or 0x3D)") from exc
