"""`kindpulse doctor` against the emulator and against broken environments."""

from __future__ import annotations

import argparse

from kindpulse.commands import doctor
from kindpulse.hardware.pins import GpioUnavailable


def lines_of(env):
    out: list[str] = []
    env.say = out.append
    results = doctor.run_checks(env)
    return results, [ln for ln in out if ln.startswith(("OK", "FAIL"))]


def test_sim_passes_every_check_and_presses_the_button_itself():
    results, lines = lines_of(doctor.sim_env())
    assert all(c.ok for c in results), lines
    text = "\n".join(lines)
    for expected in ("OK   I2C bus /dev/i2c-1 opens", "answers at 0x57", "answers at 0x3C",
                     "PART_ID 0x15", "die temperature 31.2 C", "LEDs light", "INT on GPIO4",
                     "motor pulsed on GPIO18", "button on GPIO17 pressed"):
        assert expected in text


def test_cli_entry_exit_codes():
    parser = argparse.ArgumentParser()
    doctor.add_parser(parser.add_subparsers())
    args = parser.parse_args(["doctor", "--sim", "--no-int"])
    assert args.run(args) == 0
    args = parser.parse_args(["doctor", "--sim", "--button-pin", "5"])
    assert args.run(args) == 0  # the simulated person presses whatever button is configured


def test_absent_sensor_and_no_button_press_say_what_to_do():
    results, lines = lines_of(doctor.sim_env(chip_present=False, press_button=False))
    fails = [ln for ln in lines if ln.startswith("FAIL")]
    assert any("nothing answers at 0x57" in ln and "-> check the sensor wiring" in ln for ln in fails)
    assert any("no button press on GPIO17" in ln and "GND" in ln for ln in fails)
    assert not all(c.ok for c in results)


def test_i2c_disabled_points_at_raspi_config():
    env = doctor.sim_env()
    env.dev_exists = lambda path: False
    _, lines = lines_of(env)
    assert lines[0] == ("FAIL I2C bus /dev/i2c-1 does not exist -> sudo raspi-config nonint do_i2c 0 "
                        "(or dtparam=i2c_arm=on in /boot/firmware/config.txt), then reboot")


def test_permissions_point_at_the_groups():
    env = doctor.sim_env()

    def denied(n):
        raise PermissionError(13, "Permission denied", f"/dev/i2c-{n}")

    env.open_bus = denied
    _, lines = lines_of(env)
    assert ("FAIL I2C bus /dev/i2c-1 cannot be opened by this user -> "
            "sudo usermod -aG i2c,gpio $USER, then log in again") in lines


def test_missing_gpio_library_points_at_rpi_lgpio():
    env = doctor.sim_env(int_pin=None)

    def no_gpio():
        raise GpioUnavailable("cannot load RPi.GPIO (x); on a Pi 1-4: sudo apt install python3-rpi.gpio; "
                              "on a Pi 5: sudo apt remove python3-rpi.gpio && pip install rpi-lgpio")

    env.make_pins = no_gpio
    results, lines = lines_of(env)
    assert any(ln.startswith("FAIL GPIO library ->") and "rpi-lgpio" in ln for ln in lines)
    assert sum(not c.ok for c in results) == 1


def test_no_finger_fails_the_led_test_with_advice():
    from kindpulse.sim import ConstantSource

    env = doctor.sim_env()
    chip = env.open_bus(1).devices[0x57]
    chip.source = ConstantSource(red=0.0, ir=0.0)
    _, lines = lines_of(env)
    assert any("IR barely changes" in ln and "fingertip" in ln for ln in lines)


def test_addresses_come_from_the_config(tmp_path, capsys):
    """An OLED on 0x3D (address jumper) set in the config is looked for there."""
    from kindpulse.cli import main

    cfg = tmp_path / "c.toml"
    cfg.write_text("[display]\naddress = 0x3D\n", encoding="utf-8")
    assert main(["doctor", "--sim", "--config", str(cfg)]) == 0
    assert "OLED answers at 0x3D" in capsys.readouterr().out
