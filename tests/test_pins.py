"""Button, motor and the RPi.GPIO backend, with fake pins and a virtual clock."""

from __future__ import annotations

import sys
import types

import pytest

from kindpulse.errors import ConfigError
from kindpulse.hardware.button import Button
from kindpulse.hardware.motor import Motor
from kindpulse.hardware.pins import GpioUnavailable, RPiGpioPins
from kindpulse.sim import FakePins, VirtualClock

BTN, MOTOR = 27, 18


def button_rig(**kw):
    clock = VirtualClock()
    pins = FakePins(clock)
    events: list[tuple[str, float]] = []
    btn = Button(pins, BTN, clock, on_short=lambda: events.append(("short", clock.monotonic())),
                 on_long=lambda: events.append(("long", clock.monotonic())), **kw)
    return clock, pins, btn, events


def run(clock, btn, seconds, step=0.01):
    for _ in range(round(seconds / step)):
        clock.advance(step)
        btn.update()


def test_short_press_fires_on_release():
    clock, pins, btn, events = button_rig()
    pins.press(BTN)
    run(clock, btn, 0.3)
    assert btn.pressed and events == []
    pins.release(BTN)
    run(clock, btn, 0.1)
    assert [e for e, _ in events] == ["short"] and not btn.pressed


def test_long_press_fires_while_held_and_not_again_on_release():
    clock, pins, btn, events = button_rig()
    pins.press(BTN)
    run(clock, btn, 2.0)
    assert [e for e, _ in events] == ["long"]
    assert 1.5 <= events[0][1] < 1.6
    pins.release(BTN)
    run(clock, btn, 0.2)
    assert [e for e, _ in events] == ["long"]


def test_bounces_shorter_than_debounce_are_ignored():
    clock, pins, btn, events = button_rig()
    for _ in range(5):
        pins.press(BTN)
        clock.advance(0.005)
        btn.update()
        pins.release(BTN)
        clock.advance(0.005)
        btn.update()
    run(clock, btn, 0.2)
    assert events == [] and not btn.pressed


def test_quick_tap_between_two_loop_turns_is_not_missed():
    clock, pins, btn, events = button_rig()
    clock.advance(0.2)
    pins.press(BTN)  # edge callbacks record the time; the loop is asleep
    clock.advance(0.1)
    pins.release(BTN)
    clock.advance(0.3)
    btn.update()  # one loop turn, 0.4 s after the previous one
    assert [e for e, _ in events] == ["short"]


def test_button_held_at_start_up_is_not_a_press():
    clock = VirtualClock()
    pins = FakePins(clock)
    pins.setup_input(BTN)
    pins.press(BTN)
    events = []
    btn = Button(
        pins, BTN, clock, on_short=lambda: events.append("short"), on_long=lambda: events.append("long")
    )
    run(clock, btn, 2.0)
    pins.release(BTN)
    run(clock, btn, 0.1)
    assert events == []


def test_button_rejects_bad_timing():
    clock = VirtualClock()
    with pytest.raises(ConfigError):
        Button(FakePins(clock), BTN, clock, debounce_s=0.5, long_press_s=0.2)


def test_motor_plays_pattern_with_times_and_strengths():
    clock = VirtualClock()
    pins = FakePins(clock)
    motor = Motor(pins, MOTOR, clock)
    motor.play([(0.2, 1.0), (0.1, 0.0), (0.3, 0.5)])
    assert motor.busy
    while motor.busy:
        clock.advance(0.01)
        motor.update()
    hist = [(round(t, 2), v) for t, v in pins.output_history(MOTOR)]
    assert hist[-4:] == [(0.0, 1.0), (0.2, 0.0), (0.3, 0.5), (0.6, 0.0)]
    assert pins.pwm_hz[MOTOR] == 200.0


def test_motor_stop_and_bad_steps():
    clock = VirtualClock()
    pins = FakePins(clock)
    motor = Motor(pins, MOTOR, clock)
    motor.play([(1.0, 0.8)])
    clock.advance(0.1)
    motor.stop()
    assert not motor.busy and pins.outputs[MOTOR] == 0.0
    with pytest.raises(ConfigError):
        motor.play([(0.1, 1.5)])


def test_fake_pins_refuse_what_real_pins_would():
    pins = FakePins(VirtualClock())
    with pytest.raises(ValueError):
        pins.read(5)
    with pytest.raises(ValueError):
        pins.set_duty(5, 0.5)


def test_rpigpio_missing_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "RPi", None)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", None)
    with pytest.raises(GpioUnavailable, match="rpi-lgpio"):
        RPiGpioPins()


class _FakeGPIO(types.ModuleType):
    BCM, IN, OUT, PUD_UP, PUD_DOWN, HIGH, LOW = "BCM", "IN", "OUT", "PUD_UP", "PUD_DOWN", 1, 0
    RISING, FALLING, BOTH = "R", "F", "B"

    def __init__(self):
        super().__init__("RPi.GPIO")
        self.calls = []

    def __getattr__(self, name):  # record every library call
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: self.calls.append((name, a, k)) or (1 if name == "input" else _PWM(self))


class _PWM:
    def __init__(self, gpio):
        self.gpio = gpio

    def start(self, duty):
        self.gpio.calls.append(("pwm.start", (duty,), {}))

    def ChangeDutyCycle(self, duty):  # noqa: N802 - RPi.GPIO's name
        self.gpio.calls.append(("pwm.duty", (duty,), {}))

    def stop(self):
        self.gpio.calls.append(("pwm.stop", (), {}))


def test_rpigpio_backend_is_a_thin_translation(monkeypatch):
    gpio = _FakeGPIO()
    rpi = types.ModuleType("RPi")
    rpi.GPIO = gpio
    monkeypatch.setitem(sys.modules, "RPi", rpi)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", gpio)
    pins = RPiGpioPins()
    pins.setup_input(27, pull_up=True)
    pins.setup_output(18)
    pins.pwm(18, 200.0)
    pins.set_duty(18, 0.25)
    assert pins.read(27) is True
    pins.close()
    names = [(c[0], c[1]) for c in gpio.calls]
    assert ("setmode", ("BCM",)) in names
    assert ("setup", (27, "IN")) in names and ("PWM", (18, 200.0)) in names
    assert ("pwm.duty", (25.0,)) in names and ("cleanup", ()) in names
