"""A third-party driver, unchanged, against the emulator: pimoroni's max30105 (uses i2cdevice).

It configures the chip with read-modify-write block accesses, polls the self-clearing RESET,
reads 16-bit registers across 0xFE/0xFF and the FIFO in 32-byte chunks that are not aligned to
samples, so it exercises auto-increment and the byte position inside a sample. Only its clock
is injected (it calls time.time/time.sleep), so nothing sleeps in real time.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

from kindpulse.sim import EmulatedBus, EmulatedMAX30102, SyntheticSource, VirtualClock

max30105 = pytest.importorskip("max30105")


@pytest.fixture
def rig(monkeypatch):
    clock = VirtualClock()
    monkeypatch.setattr(max30105, "time", types.SimpleNamespace(time=clock.monotonic, sleep=clock.sleep))
    chip = EmulatedMAX30102(clock=clock, source=SyntheticSource.resting(120.0, seed=4), die_temp_c=33.5)
    bus = EmulatedBus({0x57: chip})
    return clock, chip, bus


def test_pimoroni_driver_configures_and_reads_plausible_samples(rig):
    clock, chip, bus = rig
    sensor = max30105.MAX30105(i2c_dev=bus)
    sensor.setup(leds_enable=2)  # red + IR: SpO2 mode; defaults 400 sps / 4, 215 us, 16384 nA, 6.4 mA
    assert chip.mode == 0b011 and chip.output_rate_sps == 100.0 and chip.led_pw_us == 215
    assert sensor.get_chip_id() == (0x03, 0x15)
    assert sensor.get_temperature() == 33.5
    red, ir = [], []
    for _ in range(50):
        clock.advance(0.1)
        samples = sensor.get_samples() or []
        red += samples[0::2]
        ir += samples[1::2]
    # 100 sps for 5 s (plus the temperature wait); its clear_fifo() race never bites here
    # because virtual time stands still during a read
    assert 495 <= len(ir) <= 506
    ir_a, red_a = np.array(ir, dtype=float), np.array(red, dtype=float)
    # 100k counts at 7 mA / 4096 nA -> 6.4 mA / 16384 nA, left-justified (it does not shift)
    expected_dc = 100_000 * 6.4 / 7.0 * 4096 / 16384
    assert abs(ir_a.mean() / expected_dc - 1) < 0.05
    assert red_a.mean() < ir_a.mean()
    ptp = np.percentile(ir_a, 99) - np.percentile(ir_a, 1)
    assert 0.005 < ptp / ir_a.mean() < 0.05  # a pulse of about 1-2 % of DC


def test_pimoroni_default_three_slot_setup_reads_aligned_samples(rig):
    clock, chip, bus = rig
    sensor = max30105.MAX30105(i2c_dev=bus)
    sensor.setup()  # leds_enable=3: multi-LED mode, slot 3 'green' is 'none' on a MAX30102
    clock.advance(0.3)
    samples = sensor.get_samples()
    assert samples is not None and len(samples) % 3 == 0
    s = np.array(samples).reshape(-1, 3)
    assert np.all(s[:, 2] == 0) and np.all(s[:, 1] > s[:, 0]) and np.all(s[:, 0] > 10_000)
