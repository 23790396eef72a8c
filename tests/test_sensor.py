"""The MAX30102 driver against the emulated chip: configuration, FIFO, overflow, faults."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from kindpulse.errors import SensorConfigError, SensorError, SensorNotFound, SensorTimeout
from kindpulse.hardware import (
    MAX30102,
    IntPinWaiter,
    LedCurrentController,
    PollWaiter,
    SensorSettings,
)
from kindpulse.hardware import registers as R
from kindpulse.sim import (
    ConstantSource,
    EmulatedBus,
    EmulatedMAX30102,
    FakePins,
    RampSource,
    SyntheticSource,
    VirtualClock,
)

SLOPE = 1000.0  # ramp counts per second: a sample's value tells its time


def rig(source=None, settings=None, *, chip_kw=None, **driver_kw):
    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock, source=source or RampSource(slope_per_s=SLOPE), **(chip_kw or {}))
    bus = EmulatedBus({0x57: chip}, record=True)
    sensor = MAX30102(bus, clock=clock, **driver_kw)
    sensor.probe()
    sensor.reset()
    sensor.configure(settings or SensorSettings(sample_rate_sps=100, sample_average=1))
    return clock, chip, bus, sensor


def ramp_time(ir_counts):
    """Invert RampSource (offset 1000, 7 mA reference, 411 us): counts -> sample time."""
    return (np.asarray(ir_counts, dtype=float) - 1000.0) / SLOPE


# ---- identity, reset, configuration ----------------------------------------------------------

def test_probe_reads_part_and_revision():
    _, _, _, sensor = rig()
    assert sensor.part_id() == 0x15
    assert sensor.rev_id == 0x03


class _OtherChip:
    present = True

    def i2c_write(self, data):
        pass

    def i2c_read(self, n):
        return bytes([0x11] * n)


def test_probe_rejects_other_part_and_absent_chip_with_address_and_bus():
    sensor = MAX30102(EmulatedBus({0x57: _OtherChip()}), clock=VirtualClock())
    with pytest.raises(SensorNotFound, match=r"0x57 on /dev/i2c-1.*PART_ID 0x11"):
        sensor.probe()
    with pytest.raises(SensorNotFound, match=r"no MAX30102 answers at 0x57 on /dev/i2c-1"):
        MAX30102(EmulatedBus({}), clock=VirtualClock()).probe()


def test_reset_polls_with_timeout():
    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock, source=RampSource(), reset_duration_s=0.005)
    sensor = MAX30102(EmulatedBus({0x57: chip}), clock=clock)
    sensor.reset()
    assert 0.005 <= clock.monotonic() < 0.01
    chip.reset_stuck = True
    with pytest.raises(SensorTimeout, match="did not finish its reset"):
        sensor.reset(timeout_s=0.05)


def test_configure_writes_the_datasheet_encodings():
    s = SensorSettings(mode="spo2", sample_rate_sps=400, sample_average=4, led_pw_us=215,
                       adc_range_na=16384, red_current_ma=6.4, ir_current_ma=25.4,
                       fifo_almost_full=20, rollover=True)
    _, chip, bus, sensor = rig(settings=s)
    regs = {a: bus.read_byte_data(0x57, a) for a in (0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x02)}
    assert regs[0x08] == (0b010 << 5) | 0x10 | 12  # SMP_AVE 4, rollover, 12 empty slots
    assert regs[0x09] == 0x03
    assert regs[0x0A] == (0b11 << 5) | (0b011 << 2) | 0b10
    assert regs[0x0C] == 0x20 and regs[0x0D] == 0x7F
    assert regs[0x02] == 0x80
    assert sensor.output_rate_sps == 100.0
    assert sensor.full_scale_counts == (1 << 17) - 1
    assert chip.output_rate_sps == 100.0


# DS p23, Tables 11 and 12, typed in independently of registers.py
ALLOWED = {
    "spo2": {50: 411, 100: 411, 200: 411, 400: 411, 800: 215, 1000: 118, 1600: 69, 3200: 0},
    "hr": {50: 411, 100: 411, 200: 411, 400: 411, 800: 411, 1000: 411, 1600: 215, 3200: 69},
}


@pytest.mark.parametrize("mode", ["spo2", "hr"])
def test_every_sr_pw_combination_is_accepted_or_rejected_per_tables_11_12(mode):
    for sr, max_pw in ALLOWED[mode].items():
        for pw in (69, 118, 215, 411):
            if pw <= max_pw:
                assert SensorSettings(mode=mode, sample_rate_sps=sr, led_pw_us=pw).sample_rate_sps == sr
            else:
                with pytest.raises(SensorConfigError, match="Table 1[12]"):
                    SensorSettings(mode=mode, sample_rate_sps=sr, led_pw_us=pw)


@pytest.mark.parametrize("kw", [
    {"sample_rate_sps": 120}, {"led_pw_us": 400}, {"adc_range_na": 5000}, {"sample_average": 3},
    {"red_current_ma": 60.0}, {"ir_current_ma": -1.0}, {"fifo_almost_full": 10}, {"mode": "multi"},
])
def test_invalid_settings_are_rejected_not_snapped(kw):
    with pytest.raises(SensorConfigError, match="not allowed"):
        SensorSettings(**kw)


# ---- FIFO ---------------------------------------------------------------------------------------

def test_drains_are_contiguous_across_pointer_wrap_and_times_are_exact():
    clock, _, bus, sensor = rig()
    rng = np.random.default_rng(1)
    times, idx, stamped = [], [], []
    for _ in range(40):
        clock.advance(float(rng.uniform(0.01, 0.3)))
        b = sensor.drain()
        assert b.lost == 0
        times.append(ramp_time(b.ir))
        idx.append(b.indices())
        stamped.append(b.times_s())
    t, i = np.concatenate(times), np.concatenate(idx)
    assert np.array_equal(i, np.arange(i.size))
    # sample index k was taken at (k + 1) / rate after configure (k = 0 is the first sample)
    np.testing.assert_allclose(t, (i + 1) / 100.0, atol=1.5 / SLOPE)
    np.testing.assert_allclose(np.concatenate(stamped), t, atol=1.5 / SLOPE)
    rdwr = [tx for tx in bus.log if tx.kind == "i2c_rdwr"]
    assert max(tx.length for tx in rdwr) > 32  # one transfer beyond the SMBus block limit
    assert all(tx.length % 6 == 0 and tx.reg == 0x07 for tx in rdwr)  # never a split sample


def test_overflow_without_rollover_keeps_oldest_and_puts_the_gap_after():
    clock, _, _, sensor = rig()
    clock.advance(1.0)  # 100 samples, 32 fit
    b = sensor.drain()
    assert (len(b), b.lost, b.lost_at, b.first_index) == (32, 68, 32, 0)
    np.testing.assert_allclose(ramp_time(b.ir), np.arange(1, 33) / 100.0, atol=1.5 / SLOPE)
    clock.advance(0.1)
    b2 = sensor.drain()
    assert b2.first_index == 100 and b2.lost == 0
    np.testing.assert_allclose(ramp_time(b2.ir), (b2.indices() + 1) / 100.0, atol=1.5 / SLOPE)


def test_overflow_with_rollover_keeps_newest_and_puts_the_gap_before():
    s = SensorSettings(sample_rate_sps=100, sample_average=1, rollover=True)
    clock, _, _, sensor = rig(settings=s)
    clock.advance(0.5)  # 50 samples, 18 overwritten
    b = sensor.drain()
    assert (len(b), b.lost, b.lost_at, b.first_index) == (32, 18, 0, 18)
    np.testing.assert_allclose(ramp_time(b.ir), (b.indices() + 1) / 100.0, atol=1.5 / SLOPE)


def test_saturated_overflow_counter_falls_back_to_the_clock():
    clock, _, _, sensor = rig()
    clock.advance(3.0)
    b = sensor.drain()
    assert b.flags.lost_estimated and b.lost == 300 - 32
    clock.advance(0.1)
    assert sensor.drain().first_index == 300


def test_full_fifo_with_equal_pointers_is_not_mistaken_for_empty():
    clock, _, _, sensor = rig()
    clock.advance(0.325)  # exactly 32 samples, OVF still 0: A_FULL tells full from empty
    b = sensor.drain()
    assert len(b) == 32 and b.lost == 0


def test_fault_in_the_middle_of_a_drain_is_not_retried_and_loses_nothing():
    clock, _, bus, sensor = rig()
    clock.advance(0.2)
    bus.fail_on(lambda tx: tx.kind == "i2c_rdwr", after_bytes=40, count=1)
    n_rdwr = sum(tx.kind == "i2c_rdwr" for tx in bus.log)
    with pytest.raises(SensorError, match="reading 20 FIFO samples"):
        sensor.drain()
    assert sum(tx.kind == "i2c_rdwr" for tx in bus.log) == n_rdwr + 1  # not retried
    clock.advance(0.05)
    b = sensor.drain()  # RD_PTR was rewound: the same samples again, nothing lost
    assert b.lost == 0 and b.first_index == 0 and len(b) == 25
    np.testing.assert_allclose(ramp_time(b.ir), np.arange(1, 26) / 100.0, atol=1.5 / SLOPE)


def test_fault_mid_drain_with_rollover_marks_an_estimated_gap():
    s = SensorSettings(sample_rate_sps=100, sample_average=1, rollover=True)
    clock, _, bus, sensor = rig(settings=s)
    clock.advance(0.2)
    bus.fail_on(lambda tx: tx.kind == "i2c_rdwr", after_bytes=40, count=1)
    with pytest.raises(SensorError):
        sensor.drain()
    clock.advance(0.1)
    b = sensor.drain()
    assert b.lost == 7 and b.flags.lost_estimated and b.first_index == 7  # 40 bytes: 7 samples begun
    np.testing.assert_allclose(ramp_time(b.ir), (b.indices() + 1) / 100.0, atol=1.5 / SLOPE)


def test_register_reads_are_retried_and_errors_become_domain_errors():
    clock, _, bus, sensor = rig(retries=2)
    clock.advance(0.1)
    bus.fail_next(2, errno=errno.EIO)
    assert len(sensor.drain()) == 10  # status read failed twice, third try worked
    bus.fail_next(3, errno=errno.EIO)
    with pytest.raises(SensorError) as e:
        sensor.drain()
    assert e.value.errno == errno.EIO and "0x57" in str(e.value)
    assert isinstance(e.value, OSError)


def test_flags_saturation_alc_and_swapped_clone_board():
    s = SensorSettings(sample_rate_sps=100, sample_average=1)
    clock, _, _, sensor = rig(ConstantSource(red=50_000, ir=300_000), s,
                              chip_kw={"red_ir_swapped": True, "ambient_na": 300.0}, red_ir_swapped=True)
    clock.advance(0.1)
    b = sensor.drain()
    ambient = 100 / 4096 * (1 << 18)  # 100 nA above the ALC limit shows in the counts
    assert np.all(b.red == 50_000 + ambient) and np.all(b.ir == (1 << 18) - 1)
    assert b.flags.saturated_ir and not b.flags.saturated_red and b.flags.alc_overflow


def test_hr_mode_and_pulse_width_shift():
    s = SensorSettings(mode="hr", sample_rate_sps=100, sample_average=1, led_pw_us=69)
    clock, _, _, sensor = rig(ConstantSource(red=80_000), s)
    clock.advance(0.1)
    b = sensor.drain()
    assert b.ir.size == 0 and np.all(b.red == 80_000 >> 3)
    assert sensor.full_scale_counts == (1 << 15) - 1


def test_temperature():
    _, chip, _, sensor = rig(chip_kw={"die_temp_c": -5.25})
    assert sensor.temperature_c() == -5.25
    chip.die_temp_c = 36.0625
    assert sensor.temperature_c() == 36.0625


def test_chip_that_loses_power_is_reconfigured():
    clock, chip, _, sensor = rig()
    clock.advance(0.1)
    sensor.drain()
    chip.present = False
    clock.advance(0.1)
    with pytest.raises(SensorError):
        sensor.drain()
    chip.present = True
    clock.advance(0.3)
    b = sensor.drain()
    assert b.flags.chip_restarted and b.lost == 40 and len(b) == 0
    assert chip.mode == R.MODE_SPO2
    clock.advance(0.1)
    b = sensor.drain()
    assert len(b) == 10 and b.first_index == 50
    np.testing.assert_allclose(b.times_s(), ramp_time(b.ir), atol=1.5 / SLOPE)  # same time base


def test_close_shuts_the_chip_down():
    clock, chip, _, sensor = rig()
    sensor.close()
    assert chip.shutdown
    n = chip.samples_generated
    clock.advance(1.0)
    assert chip.fifo_count >= 0 and chip.samples_generated == n


# ---- waiting -------------------------------------------------------------------------------------

def test_int_pin_waiter_wakes_on_almost_full():
    clock, chip, _, sensor = rig()
    pins = FakePins(clock)
    pins.connect(17, chip.int_level)
    waiter = IntPinWaiter(pins, 17, clock)
    assert waiter.wait(timeout_s=1.0)
    assert chip.fifo_count >= 17
    assert len(sensor.drain()) >= 17
    assert chip.int_level()  # status read released INT


def test_int_pin_waiter_times_out_when_nothing_comes():
    clock, chip, _, sensor = rig()
    sensor.shutdown()
    pins = FakePins(clock)
    pins.connect(17, chip.int_level)
    assert not IntPinWaiter(pins, 17, clock).wait(timeout_s=0.5)


def test_poll_waiter_keeps_the_fifo_from_filling():
    clock, _, _, sensor = rig()
    waiter = PollWaiter(clock, sensor.poll_interval_s)
    total = 0
    for _ in range(100):
        waiter.wait(1.0)
        b = sensor.drain()
        assert b.lost == 0 and len(b) == 16
        total += len(b)
    assert total == 1600


# ---- LED current control -----------------------------------------------------------------------

def test_led_controller_lowers_current_only_when_safe():
    s = SensorSettings(sample_rate_sps=100, sample_average=1, red_current_ma=20.0, ir_current_ma=20.0)
    clock, _, _, sensor = rig(SyntheticSource.resting(60.0, seed=2), s)
    ctrl = LedCurrentController(sensor, clock, hold_s=1.0)
    changed = None
    for _ in range(30):
        clock.advance(0.1)
        changed = ctrl.update(sensor.drain(), safe_to_change=False)
        assert changed is None  # DC is far too high, but never mid-beat
    clock.advance(0.1)
    changed = ctrl.update(sensor.drain(), safe_to_change=True)
    assert changed is not None and changed[1] < 20.0
    clock.advance(0.1)
    b = sensor.drain()
    assert b.flags.led_changed
    dc = b.ir.mean() / sensor.full_scale_counts
    assert 0.3 < dc < 0.6


def test_led_controller_leaves_a_good_level_and_a_missing_finger_alone():
    s = SensorSettings(sample_rate_sps=100, sample_average=1)
    for source in (ConstantSource(red=90_000, ir=110_000), ConstantSource(red=300.0, ir=400.0)):
        clock, _, _, sensor = rig(source, s)
        ctrl = LedCurrentController(sensor, clock, hold_s=0.5)
        for _ in range(30):
            clock.advance(0.1)
            assert ctrl.update(sensor.drain(), safe_to_change=True) is None
        assert sensor.led_currents_ma == (7.0, 7.0)
