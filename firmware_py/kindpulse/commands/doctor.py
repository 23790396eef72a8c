"""`kindpulse doctor`: check the hardware, one line per check, each OK or what to do.

    OK   I2C bus /dev/i2c-1 opens
    FAIL I2C bus /dev/i2c-1 does not exist -> sudo raspi-config nonint do_i2c 0, then reboot

Exit 0 when every check passed, 1 otherwise. ``--sim`` runs the same checks against the
emulated MAX30102, an emulated OLED and fake pins (the button test presses the fake button).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kindpulse.clock import Clock, RealClock
from kindpulse.commands import help_for
from kindpulse.commands.args import bcm_pin
from kindpulse.config import DisplayConfig, PinsConfig, load_config
from kindpulse.errors import KindpulseError
from kindpulse.hardware import registers as R
from kindpulse.hardware.button import Button
from kindpulse.hardware.max30102 import MAX30102, SensorSettings
from kindpulse.hardware.motor import Motor
from kindpulse.hardware.pins import Pins
from kindpulse.hardware.wait import IntPinWaiter
from kindpulse.inputs import arg_number

# Default wiring: the config's own defaults (BCM numbers, see hardware/README.md); the config
# file's [pins] and the command line win when present.
INT_PIN, BUTTON_PIN, MOTOR_PIN = PinsConfig().int_pin, PinsConfig().button_pin, PinsConfig().motor_pin
OLED_ADDRESS = DisplayConfig().address
GROUP_FIX = "sudo usermod -aG i2c,gpio $USER, then log in again"


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"OK   {self.what}" if self.ok else f"FAIL {self.what} -> {self.fix}"


@dataclass
class DoctorEnv:
    """Everything the checks touch, injected so that `--sim` and tests swap it."""

    bus_number: int
    clock: Clock
    dev_exists: Callable[[str], bool]
    open_bus: Callable[[int], Any]
    make_pins: Callable[[], Pins]
    int_pin: int | None = INT_PIN
    button_pin: int = BUTTON_PIN
    motor_pin: int = MOTOR_PIN
    sensor_address: int = R.I2C_ADDRESS
    oled_address: int = OLED_ADDRESS
    button_timeout_s: float = 10.0
    user: Callable[[float], None] | None = None  # sim: acts as the person at the device
    data_dir: Path | None = None  # the log's directory: free space, integrity, who writes it
    say: Callable[[str], None] = field(default=lambda msg: print(msg, flush=True))


def _scan(bus: Any, addr: int) -> bool:
    try:
        bus.read_byte(addr)
        return True
    except OSError:
        return False


def _sensor_checks(env: DoctorEnv, bus: Any, path: str) -> list[Check]:
    out: list[Check] = []
    sensor = MAX30102(bus, env.sensor_address, clock=env.clock, bus_name=path)
    try:
        rev = sensor.probe()
    except KindpulseError as exc:
        return [Check(False, f"MAX30102 part ID ({exc})", "check the sensor module's VIN/GND/SDA/SCL wiring")]
    out.append(Check(True, f"MAX30102 PART_ID 0x{R.PART_ID_VALUE:02X}, REV_ID 0x{rev:02X}"))
    try:
        sensor.reset()
        temp = sensor.temperature_c()
        out.append(Check(-20.0 <= temp <= 85.0, f"die temperature {temp:.1f} C",
                         "a reading outside -20..85 C: power-cycle the sensor"))
        out.append(_led_check(env, sensor))
        if env.int_pin is not None:
            out.append(_int_check(env, sensor))
    except KindpulseError as exc:
        out.append(Check(False, f"sensor test ({exc})", "check the wiring, then run kindpulse doctor again"))
    finally:
        sensor.close()
    return out


def _led_check(env: DoctorEnv, sensor: MAX30102) -> Check:
    """Samples arrive at the configured rate, and IR rises when the LEDs light (needs a finger)."""
    settings = SensorSettings(ir_current_ma=0.0, red_current_ma=0.0)
    sensor.configure(settings)
    env.clock.sleep(0.3)
    dark = sensor.drain().ir
    sensor.set_led_currents(7.0, 7.0)
    sensor.drain()
    env.clock.sleep(0.3)
    lit = sensor.drain().ir
    if dark.size + lit.size < 0.5 * 0.6 * settings.output_rate_sps:
        return Check(False, f"only {dark.size + lit.size} samples in 0.6 s",
                     "the sensor is not sampling: power-cycle it and check its 3.3 V supply")
    rise = float(lit.mean() - dark.mean()) if lit.size and dark.size else 0.0
    if rise < 5000:
        return Check(False, f"IR barely changes when the LEDs light ({rise:+.0f} counts)",
                     "rest a fingertip on the sensor and run again; if it still fails, check the LED supply")
    return Check(True, f"LEDs light: IR rises by {rise:.0f} counts with a finger on the sensor")


def _int_check(env: DoctorEnv, sensor: MAX30102) -> Check:
    try:
        pins = env.make_pins()
    except KindpulseError:
        return Check(False, f"INT on GPIO{env.int_pin} (no GPIO)", "fix the GPIO check below first")
    try:
        sensor.configure(SensorSettings())
        sensor.drain()
        waiter = IntPinWaiter(pins, env.int_pin or 0, env.clock)
        if waiter.wait(timeout_s=1.0):
            return Check(True, f"INT on GPIO{env.int_pin} falls when the FIFO fills")
        return Check(False, f"INT on GPIO{env.int_pin} never fell",
                     f"wire the sensor's INT to GPIO{env.int_pin}, or run without it (the daemon then polls)")
    finally:
        pins.close()


def _gpio_checks(env: DoctorEnv, add: Callable[[Check], None]) -> None:
    try:
        pins = env.make_pins()
    except KindpulseError as exc:
        fix = str(exc).split("; ", 1)[-1] if "; " in str(exc) else "install RPi.GPIO (Pi 5: rpi-lgpio)"
        add(Check(False, "GPIO library", fix))
        return
    except (PermissionError, RuntimeError) as exc:
        add(Check(False, f"GPIO access ({exc})", GROUP_FIX))
        return
    add(Check(True, "GPIO library loads"))
    try:
        _motor_and_button(env, pins, add)
    except RuntimeError as exc:  # RPi.GPIO: "No access to /dev/mem" and the like
        add(Check(False, f"GPIO access ({exc})", GROUP_FIX))
    finally:
        pins.close()


def _motor_and_button(env: DoctorEnv, pins: Pins, add: Callable[[Check], None]) -> None:
    motor = Motor(pins, env.motor_pin, env.clock)
    motor.play([(0.3, 1.0)])
    while motor.busy:
        env.clock.sleep(0.01)
    add(Check(True, f"motor pulsed on GPIO{env.motor_pin} for 0.3 s (you should have felt it)"))
    presses: list[str] = []
    button = Button(pins, env.button_pin, env.clock, on_short=lambda: presses.append("short"),
                    on_long=lambda: presses.append("long"))
    env.say(f"     press the button within {env.button_timeout_s:.0f} s ...")
    start = env.clock.monotonic()
    while not presses and env.clock.monotonic() - start < env.button_timeout_s:
        if env.user is not None:
            env.user(env.clock.monotonic() - start)
        env.clock.sleep(0.01)
        button.update()
    if presses:
        add(Check(True, f"button on GPIO{env.button_pin} pressed ({presses[0]} press)"))
    else:
        add(Check(False, f"no button press on GPIO{env.button_pin} within {env.button_timeout_s:.0f} s",
                         f"wire the button between GPIO{env.button_pin} and a GND pin (see hardware/README.md)"))


def run_checks(env: DoctorEnv) -> list[Check]:
    """All checks in order; each is printed through ``env.say`` as soon as it is known."""
    results: list[Check] = []

    def add(*checks: Check) -> None:
        for c in checks:
            results.append(c)
            env.say(c.line())

    path = f"/dev/i2c-{env.bus_number}"
    if not env.dev_exists(path):
        add(Check(False, f"I2C bus {path} does not exist",
                  "sudo raspi-config nonint do_i2c 0 (or dtparam=i2c_arm=on in /boot/firmware/config.txt), "
                  "then reboot"))
    else:
        add(Check(True, f"I2C bus {path} exists"))
        bus = None
        try:
            bus = env.open_bus(env.bus_number)
        except PermissionError:
            add(Check(False, f"I2C bus {path} cannot be opened by this user", GROUP_FIX))
        except OSError as exc:
            add(Check(False, f"I2C bus {path} does not open ({exc})", "reboot; if it persists, re-enable I2C"))
        if bus is not None:
            add(Check(True, f"I2C bus {path} opens"))
            try:
                found = _scan(bus, env.sensor_address)
                add(Check(found, f"sensor answers at 0x{env.sensor_address:02X}" if found else
                          f"nothing answers at 0x{env.sensor_address:02X} (MAX30102)",
                          "check the sensor wiring: VIN to 3V3 (pin 1), GND (pin 9), SDA pin 3, SCL pin 5"))
                oled = _scan(bus, env.oled_address)
                add(Check(oled, f"OLED answers at 0x{env.oled_address:02X}" if oled else
                          f"nothing answers at 0x{env.oled_address:02X} (OLED)",
                          "check the OLED wiring (same SDA/SCL), or its address jumper (0x3C/0x3D) "
                          "against display.address in the config"))
                if found:
                    for c in _sensor_checks(env, bus, path):
                        add(c)
            finally:
                close = getattr(bus, "close", None)
                if close is not None:
                    close()
    _gpio_checks(env, add)
    if env.data_dir is not None:
        from kindpulse.store.health import log_checks

        add(*(Check(c.ok, c.what, c.fix) for c in log_checks(env.data_dir)))
    return results


def real_env(bus_number: int, int_pin: int | None, button_pin: int, motor_pin: int, *,
             sensor_address: int = R.I2C_ADDRESS, oled_address: int = OLED_ADDRESS) -> DoctorEnv:
    def open_bus(n: int) -> Any:
        import smbus2

        return smbus2.SMBus(n)

    def make_pins() -> Pins:
        from kindpulse.hardware.pins import RPiGpioPins

        return RPiGpioPins()

    return DoctorEnv(bus_number, RealClock(), os.path.exists, open_bus, make_pins,
                     int_pin=int_pin, button_pin=button_pin, motor_pin=motor_pin,
                     sensor_address=sensor_address, oled_address=oled_address)


def sim_env(bus_number: int = 1, *, int_pin: int | None = INT_PIN, button_pin: int = BUTTON_PIN,
            motor_pin: int = MOTOR_PIN, say: Callable[[str], None] | None = None,
            chip_present: bool = True, press_button: bool = True,
            sensor_address: int = R.I2C_ADDRESS, oled_address: int = OLED_ADDRESS) -> DoctorEnv:
    """The emulated device: MAX30102 with a resting finger, an OLED, fake pins with INT wired."""
    from kindpulse.sim import EmulatedBus, EmulatedMAX30102, FakePins, RecordingDevice, VirtualClock

    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock)
    chip.present = chip_present
    bus = EmulatedBus({sensor_address: chip, oled_address: RecordingDevice()}, bus_number=bus_number)
    pins = FakePins(clock)
    if int_pin is not None:
        pins.connect(int_pin, chip.int_level)

    def user(elapsed_s: float) -> None:  # a short press half a second into the button test
        if not press_button:
            return
        if 0.5 <= elapsed_s < 0.7:
            pins.press(button_pin)
        elif elapsed_s >= 0.7:
            pins.release(button_pin)

    env = DoctorEnv(bus_number, clock, lambda _p: True, lambda _n: bus, lambda: pins,
                    int_pin=int_pin, button_pin=button_pin, motor_pin=motor_pin, user=user,
                    sensor_address=sensor_address, oled_address=oled_address)
    if say is not None:
        env.say = say
    return env


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("doctor", help=help_for("doctor"))
    p.add_argument("--sim", action="store_true", help="run every check against the emulator")
    p.add_argument("--config", default=None, help="config file for the pins (default /etc/kindpulse/config.toml)")
    p.add_argument("--bus", type=arg_number("--bus", lo=0, hi=255, integer=True), default=None,
                   help="I2C bus number (default 1: /dev/i2c-1)")
    p.add_argument("--int-pin", type=bcm_pin("--int-pin"), default=None,
                   help=f"BCM pin 0-27 of the sensor INT (default {INT_PIN})")
    p.add_argument("--no-int", action="store_true", help="INT is not wired")
    p.add_argument("--button-pin", type=bcm_pin("--button-pin"), default=None,
                   help=f"BCM pin 0-27 (default {BUTTON_PIN})")
    p.add_argument("--motor-pin", type=bcm_pin("--motor-pin"), default=None,
                   help=f"BCM pin 0-27 (default {MOTOR_PIN})")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="the log's directory (default: device.data_dir of the config; --sim: none)")
    p.set_defaults(run=run)


def _configured(args: argparse.Namespace):
    """The config file (or defaults), with the command line's pins and bus on top."""
    cfg = load_config(args.config, required=args.config is not None)
    int_pin = None if cfg.pins.int_pin < 0 else cfg.pins.int_pin
    if args.int_pin is not None:
        int_pin = args.int_pin
    if args.no_int:
        int_pin = None
    data_dir = getattr(args, "data_dir", None)
    if data_dir is None and not args.sim:
        data_dir = Path(cfg.device.data_dir)
    return {
        "data_dir": data_dir,
        "bus_number": args.bus if args.bus is not None else cfg.device.i2c_bus,
        "int_pin": int_pin,
        "button_pin": args.button_pin if args.button_pin is not None else cfg.pins.button_pin,
        "motor_pin": args.motor_pin if args.motor_pin is not None else cfg.pins.motor_pin,
        "sensor_address": cfg.device.sensor_address,
        "oled_address": cfg.display.address,
    }


def run(args: argparse.Namespace) -> int:
    wiring = _configured(args)
    data_dir = wiring.pop("data_dir")
    env = sim_env(**wiring) if args.sim else real_env(**wiring)
    env.data_dir = data_dir
    results = run_checks(env)
    return 0 if all(c.ok for c in results) else 1


__all__ = ["Check", "DoctorEnv", "add_parser", "real_env", "run", "run_checks", "sim_env"]
