"""The display factory: dummy device for tests, luma.oled devices over an injected bus."""

from __future__ import annotations

import pytest
from luma.core.render import canvas

from kindpulse.errors import ConfigError
from kindpulse.hardware.display import DisplayError, make_display
from kindpulse.sim import EmulatedBus, EmulatedMAX30102, RecordingDevice, VirtualClock


def test_dummy_captures_frames():
    dev = make_display("dummy")
    assert (dev.width, dev.height, dev.mode) == (128, 64, "1")
    with canvas(dev) as draw:
        draw.rectangle((10, 10, 20, 20), fill="white")
    assert dev.image.getpixel((15, 15)) == 255 and dev.image.getpixel((50, 50)) == 0


def test_dummy_rotation_swaps_the_canvas():
    dev = make_display("dummy", rotate=1)
    assert (dev.width, dev.height) == (64, 128)


@pytest.mark.parametrize("kind", ["ssd1306", "sh1106"])
def test_oled_on_a_shared_bus_with_the_sensor(kind):
    clock = VirtualClock()
    oled = RecordingDevice()
    bus = EmulatedBus({0x57: EmulatedMAX30102(clock=clock), 0x3C: oled})
    dev = make_display(kind, bus=bus)
    assert 0xAF in oled.commands  # display on, at the end of the init sequence
    with canvas(dev) as draw:
        draw.text((0, 0), "hi", fill="white")
    assert oled.data_bytes > 0
    assert bus.read_byte_data(0x57, 0xFF) == 0x15  # the sensor still answers on the same bus


def test_missing_oled_and_bad_config_are_clear_errors():
    with pytest.raises(DisplayError, match="0x3C"):
        make_display("ssd1306", bus=EmulatedBus({}))
    with pytest.raises(ConfigError, match="kind"):
        make_display("ili9341")
    with pytest.raises(ConfigError, match="rotate"):
        make_display("dummy", rotate=90)
