"""SensorLink: acquisition over the emulated bus (faults typed by exception, outage folded into
the batch, retry on request, one LED controller across reconnects) and the stress monitor."""

from __future__ import annotations

import errno

import pytest

from kindpulse.clock import VirtualClock
from kindpulse.config import PinsConfig
from kindpulse.errors import ConfigError
from kindpulse.hardware.link import DOWN_POLL_MAX_S, RETRY_BACKOFF_S, SensorLink
from kindpulse.hardware.max30102 import SensorSettings
from kindpulse.session import AFTER_BREAK_S, BreakResult, Session
from kindpulse.sim import EmulatedBus, EmulatedMAX30102


def _link(**kw):
    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock)
    bus = EmulatedBus({0x57: chip})
    events: list[tuple[str, dict]] = []
    link = SensorLink(bus, 0x57, SensorSettings(), clock, lambda t, **d: events.append((t, d)), **kw)
    return link, clock, chip, bus, events


def test_missing_chip_is_a_missing_fault_and_retries_with_backoff():
    link, clock, chip, _, events = _link()
    chip.present = False
    assert link.poll(0.0) is None
    assert (link.up, link.fault) == (False, "missing")
    assert [t for t, _ in events] == ["sensor_error"]
    assert link.poll_interval_s(0.0) == DOWN_POLL_MAX_S  # the button stays responsive
    assert link.poll_interval_s(RETRY_BACKOFF_S[0] - 0.01) == pytest.approx(0.05)  # the floor
    chip.present = True
    assert link.poll(RETRY_BACKOFF_S[0] - 0.01) is None  # backoff not over yet
    clock.advance(1.0)
    assert link.poll(RETRY_BACKOFF_S[0]) is not None
    assert (link.up, link.fault) == (True, None)
    assert [t for t, _ in events] == ["sensor_error", "sensor_recovered"]


def test_a_failed_drain_is_an_io_fault():
    link, clock, _, bus, _ = _link()
    assert link.poll(0.0) is not None
    clock.advance(0.2)
    bus.fail_next(10, errno.EIO)
    assert link.poll(0.2) is None
    assert link.fault == "io"


def test_retry_now_skips_the_backoff():
    link, clock, chip, _, events = _link()
    chip.present = False
    for t in (0.0, 1.0, 3.0, 8.0):  # backoff grows: 1, 2, 5, 10 s
        clock.advance(t - clock.monotonic())
        link.poll(t)
    chip.present = True
    clock.advance(0.5)
    assert link.poll(8.5) is None  # next try at 18 s
    link.retry_now(8.5)
    assert link.poll(8.5) is not None
    assert events[-1][0] == "sensor_recovered"


def test_the_outage_is_folded_into_the_first_batch_after_it():
    link, clock, chip, _, _ = _link()
    fs = SensorSettings().output_rate_sps
    clock.advance(0.3)
    first = link.poll(0.3)
    assert first is not None and first.lost == 0
    chip.present = False
    clock.advance(0.2)
    assert link.poll(0.5) is None
    chip.present = True
    clock.advance(RETRY_BACKOFF_S[0])
    after = link.poll(1.5)  # reconnects, then drains
    assert after is not None
    assert after.lost == round((1.5 - 0.3) * fs) and after.lost_at == 0  # before its first sample
    clock.advance(0.3)
    assert link.poll(1.8).lost == 0  # counted once


def test_led_controller_follows_the_chip_across_reconnects():
    link, clock, chip, _, _ = _link(led_auto_adjust=True)
    clock.advance(0.3)
    link.poll(0.3)
    leds = link._leds
    chip.present = False
    clock.advance(0.2)
    link.poll(0.5)
    chip.present = True
    clock.advance(1.0)
    link.poll(1.5)
    assert link._leds is leds and leds.sensor is link._sensor and leds.dc == [None, None]


def test_config_refuses_one_gpio_for_two_roles():
    with pytest.raises(ConfigError, match="button_pin and int_pin are both GPIO 4"):
        PinsConfig(button_pin=4, motor_pin=18, int_pin=4)
    with pytest.raises(ConfigError, match="button_pin and motor_pin"):
        PinsConfig(button_pin=18, motor_pin=18)
    assert PinsConfig(int_pin=-1).int_pin == -1


def test_guided_recently_covers_the_break_and_a_minute_after():
    from kindpulse.config import PromptConfig
    from kindpulse.ui.break_script import BreakConfig

    s = Session(PromptConfig(), BreakConfig(), emit=lambda *a, **k: None, play=lambda p: None,
                measure=lambda now: (None, None))
    assert not s.guided_recently(0.0)
    s.invite(10.0)
    assert s.guided_recently(10.0)
    s.result = BreakResult(10.0, 200.0, True, False, None, None, None, None)
    s.long_press(200.0)  # back to idle
    assert s.guided_recently(200.0 + AFTER_BREAK_S - 0.1)
    assert not s.guided_recently(200.0 + AFTER_BREAK_S)
