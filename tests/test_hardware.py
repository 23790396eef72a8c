"""hardware/: the wiring data agrees with the Pi's header, the config defaults, the README's table,
and the checked-in schematic is what the generator draws from it."""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from kindpulse.config import Config

HW = Path(__file__).resolve().parents[1] / "hardware"
_spec = importlib.util.spec_from_file_location("schematic", HW / "schematic.py")
schematic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(schematic)


def _pins():
    return [(part["name"], p) for part in schematic.load() for p in part["pins"]]


def test_every_connection_lands_on_the_right_header_pin():
    for part, p in _pins():
        name = schematic.HEADER[p["pin"]]
        if "gpio" in p:
            assert schematic.header_gpio(p["pin"]) == p["gpio"], (part, p)
        elif p["signal"] in ("GND", "B"):
            assert name == "GND", (part, p)
        elif p["signal"] == "5V":
            assert name == "5V", (part, p)
        else:
            assert p["signal"] in ("VIN", "VCC") and name == "3V3", (part, p)  # 3.3 V parts only


def test_wiring_matches_the_config_defaults_and_the_motor_has_pwm():
    pins = Config().pins
    wired = {p["config"]: p["gpio"] for _, p in _pins() if "config" in p}
    assert wired == {"int_pin": pins.int_pin, "button_pin": pins.button_pin, "motor_pin": pins.motor_pin}
    assert wired["motor_pin"] in schematic.HARDWARE_PWM_GPIOS


def test_readme_table_lists_every_connection_and_shows_the_schematic():
    readme = (HW / "README.md").read_text()
    for part, p in _pins():
        row = rf"^\| {re.escape(part)} \| {re.escape(p['signal'])} \| {p['pin']}\b"
        assert re.search(row, readme, re.M), (part, p)
    assert "![kindpulse wiring](schematic.svg)" in readme


def test_schematic_is_current_and_well_formed():
    svg = (HW / "schematic.svg").read_text()
    assert svg == schematic.render(schematic.load()), "run python hardware/schematic.py"
    root = ET.fromstring(svg)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"MAX30102 module", "OLED 128x64", "GPIO18 PWM0", "1N4148"} <= texts
