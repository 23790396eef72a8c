"""The emulated MAX30102 against datasheet facts (19-7740 Rev 1), through raw bus calls only.

These tests do not use the driver, so a shared misreading of the datasheet cannot hide.
"""

from __future__ import annotations

import numpy as np
import pytest
from smbus2 import i2c_msg

from kindpulse.sim import (
    ConstantSource,
    EmulatedBus,
    EmulatedMAX30102,
    RampSource,
    RecordedSource,
    SyntheticSource,
    VirtualClock,
)

A = 0x57


def make(source=None, **kw):
    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock, source=source or RampSource(), **kw)
    return clock, chip, EmulatedBus({A: chip}, record=True)


def spo2_100sps(bus, rollover=False, a_full_empty=0x0):
    """SpO2 mode, 100 sps, SMP_AVE 1, 411 us, 4096 nA, LEDs 7 mA: values written by hand."""
    bus.write_byte_data(A, 0x09, 0x03)
    bus.write_byte_data(A, 0x08, (0x10 if rollover else 0) | a_full_empty)
    bus.write_byte_data(A, 0x0A, (0b01 << 5) | (0b001 << 2) | 0b11)
    bus.write_byte_data(A, 0x0C, 0x23)
    bus.write_byte_data(A, 0x0D, 0x23)


def read_fifo(bus, n_bytes):
    w, r = i2c_msg.write(A, [0x07]), i2c_msg.read(A, n_bytes)
    bus.i2c_rdwr(w, r)
    return list(r)


def decode(raw, channels=2):
    b = np.array(raw, dtype=np.int64).reshape(-1, channels, 3)
    return (b[..., 0] << 16 | b[..., 1] << 8 | b[..., 2]) & 0x3FFFF


def test_power_on_values_and_pwr_rdy():
    _, _, bus = make()
    assert bus.read_byte_data(A, 0xFF) == 0x15
    assert [bus.read_byte_data(A, r) for r in range(0x13, 0x18)] == [0xFF] * 5
    assert bus.read_byte_data(A, 0x09) == 0x00
    assert bus.read_byte_data(A, 0x00) == 0x01  # PWR_RDY after power-up
    assert bus.read_byte_data(A, 0x00) == 0x00  # cleared by the read


def test_auto_increment_stops_at_0xff():
    _, _, bus = make()
    assert bus.read_i2c_block_data(A, 0xFE, 2) == [0x03, 0x15]
    out = bus.read_i2c_block_data(A, 0xFF, 3)
    assert out[0] == 0x15
    # the pointer did not wrap to 0x00: PWR_RDY is still unread
    assert bus.read_byte_data(A, 0x00) == 0x01


def test_writes_auto_increment_and_reserved_registers_are_rw():
    _, _, bus = make()
    bus.write_i2c_block_data(A, 0x0C, [0x11, 0x22, 0x33, 0x44])
    assert bus.read_i2c_block_data(A, 0x0C, 4) == [0x11, 0x22, 0x33, 0x44]
    bus.write_byte_data(A, 0xFF, 0x00)  # read-only
    assert bus.read_byte_data(A, 0xFF) == 0x15


def test_fifo_data_does_not_auto_increment():
    clock, _, bus = make()
    spo2_100sps(bus)
    clock.advance(0.05)  # 5 samples
    out = bus.read_i2c_block_data(A, 0x07, 30)
    assert len(out) == 30
    assert bus.read_i2c_block_data(A, 0x04, 3) == [5, 0, 5]
    assert bus.read_byte_data(A, 0x08) == 0x00  # untouched: the reads stayed at 0x07


def test_lazy_sampling_is_exact_however_the_clock_moves():
    c1, _, b1 = make(RampSource(slope_per_s=1000.0))
    c2, _, b2 = make(RampSource(slope_per_s=1000.0))
    spo2_100sps(b1)
    spo2_100sps(b2)
    c1.advance(0.25)
    for step in (0.003, 0.0071, 0.05, 0.1899):
        c2.advance(step)
        b2.read_byte_data(A, 0x04)  # touch the chip at odd times
    assert b1.read_i2c_block_data(A, 0x04, 3) == b2.read_i2c_block_data(A, 0x04, 3) == [25, 0, 0]
    v1, v2 = decode(read_fifo(b1, 25 * 6)), decode(read_fifo(b2, 25 * 6))
    assert np.array_equal(v1, v2)
    # sample k (k = 1..25) at exactly k / 100 s: ramp value 1000 + 1000 t (ref setting 7 mA)
    expected = np.floor(1000 + 1000 * np.arange(1, 26) / 100.0).astype(int)
    assert np.array_equal(v1[:, 1], expected)


def test_pointers_wrap_modulo_32():
    clock, _, bus = make()
    spo2_100sps(bus)
    for _ in range(3):
        clock.advance(0.2)
        wr, _, rd = bus.read_i2c_block_data(A, 0x04, 3)
        read_fifo(bus, ((wr - rd) % 32) * 6)
    assert bus.read_i2c_block_data(A, 0x04, 3) == [60 % 32, 0, 60 % 32]


@pytest.mark.parametrize("rollover", [False, True])
def test_overflow_counter_and_which_samples_survive(rollover):
    clock, _, bus = make(RampSource(slope_per_s=1000.0))
    spo2_100sps(bus, rollover=rollover)
    clock.advance(0.40)  # 40 samples into a 32-deep FIFO
    wr, ovf, rd = bus.read_i2c_block_data(A, 0x04, 3)
    assert wr == rd and ovf == 8
    ir = decode(read_fifo(bus, 32 * 6))[:, 1]
    first_k = 9 if rollover else 1  # rollover keeps the newest, otherwise the oldest
    assert ir[0] == int(1000 + 1000 * first_k / 100.0)
    assert np.all(np.diff(ir) == 10)
    assert bus.read_byte_data(A, 0x05) == 0  # reset by popping a sample


def test_overflow_counter_saturates_at_0x1f():
    clock, _, bus = make()
    spo2_100sps(bus)
    clock.advance(10.0)
    assert bus.read_byte_data(A, 0x05) == 0x1F


def test_clear_on_read_flags_and_almost_full_threshold():
    clock, _, bus = make()
    bus.read_byte_data(A, 0x00)  # clear PWR_RDY
    spo2_100sps(bus, a_full_empty=0xF)  # A_FULL at 17 unread
    clock.advance(0.16)
    st = bus.read_byte_data(A, 0x00)
    assert st & 0x40 and not st & 0x80  # PPG_RDY, not yet A_FULL
    clock.advance(0.01)
    assert bus.read_byte_data(A, 0x00) & 0x80
    assert bus.read_byte_data(A, 0x00) == 0x00
    clock.advance(0.01)
    read_fifo(bus, 6)
    assert not bus.read_byte_data(A, 0x00) & 0x40  # PPG_RDY cleared by reading FIFO_DATA


def test_int_pin_follows_enabled_flags():
    clock, chip, bus = make()
    assert chip.int_level() is False  # PWR_RDY cannot be masked
    bus.read_byte_data(A, 0x00)
    assert chip.int_level() is True
    spo2_100sps(bus, a_full_empty=0xF)
    bus.write_byte_data(A, 0x02, 0x80)
    clock.advance(0.16)
    assert chip.int_level() is True
    clock.advance(0.01)
    assert chip.int_level() is False
    bus.read_byte_data(A, 0x00)
    assert chip.int_level() is True


def test_reset_clears_itself_restores_por_without_pwr_rdy():
    clock, chip, bus = make(reset_duration_s=0.001)
    bus.read_byte_data(A, 0x00)
    spo2_100sps(bus)
    bus.write_byte_data(A, 0x09, 0x40)
    assert bus.read_byte_data(A, 0x09) & 0x40
    clock.advance(0.002)
    assert bus.read_byte_data(A, 0x09) == 0x00
    assert bus.read_byte_data(A, 0x0A) == 0x00 and bus.read_byte_data(A, 0x13) == 0xFF
    assert bus.read_byte_data(A, 0x00) == 0x00


def test_shutdown_stops_sampling_and_clears_interrupts():
    clock, _, bus = make()
    spo2_100sps(bus)
    clock.advance(0.1)
    bus.write_byte_data(A, 0x09, 0x83)
    assert bus.read_byte_data(A, 0x00) == 0x00
    wr = bus.read_byte_data(A, 0x04)
    clock.advance(1.0)
    assert bus.read_byte_data(A, 0x04) == wr


@pytest.mark.parametrize(("mode", "sr_code", "pw", "expect_code"), [
    (0x03, 0b111, 0b11, 0b011),  # SpO2, 3200 sps @ 411 us -> 400
    (0x03, 0b110, 0b10, 0b100),  # SpO2, 1600 @ 215 -> 800
    (0x02, 0b111, 0b01, 0b110),  # HR, 3200 @ 118 -> 1600
    (0x02, 0b101, 0b11, 0b101),  # HR, 1000 @ 411 allowed
])
def test_sample_rate_clamped_for_pulse_width(mode, sr_code, pw, expect_code):
    _, _, bus = make()
    bus.write_byte_data(A, 0x09, mode)
    bus.write_byte_data(A, 0x0A, (sr_code << 2) | pw)
    assert (bus.read_byte_data(A, 0x0A) >> 2) & 0x7 == expect_code


def test_die_temperature_takes_29_ms_and_encodes_negative_values():
    clock, chip, bus = make(die_temp_c=-127.5)
    bus.write_byte_data(A, 0x21, 0x01)
    assert bus.read_byte_data(A, 0x21) == 0x00  # TEMP_EN clears at once (SF#19)
    clock.advance(0.028)
    assert not bus.read_byte_data(A, 0x01) & 0x02
    clock.advance(0.002)
    assert bus.read_i2c_block_data(A, 0x1F, 2) == [0x80, 0x08]  # -128 + 8 x 0.0625
    assert not bus.read_byte_data(A, 0x01) & 0x02  # cleared by reading TFRAC


@pytest.mark.parametrize(("pw_code", "zero_bits"), [(0b00, 3), (0b01, 2), (0b10, 1), (0b11, 0)])
def test_adc_resolution_by_pulse_width(pw_code, zero_bits):
    clock, _, bus = make(SyntheticSource.resting(60.0, seed=3))
    bus.write_byte_data(A, 0x09, 0x03)
    bus.write_byte_data(A, 0x0A, (0b01 << 5) | (0b001 << 2) | pw_code)
    bus.write_byte_data(A, 0x0D, 0x23)
    bus.write_byte_data(A, 0x0C, 0x23)
    clock.advance(0.3)
    v = decode(read_fifo(bus, 30 * 6))
    assert np.all(v & ((1 << zero_bits) - 1) == 0)
    if zero_bits < 3:
        assert np.any(v & (1 << zero_bits))


def test_saturation_at_full_scale_and_led_current_scaling():
    clock, chip, bus = make(ConstantSource(red=50_000, ir=400_000))
    spo2_100sps(bus)
    clock.advance(0.05)
    v = decode(read_fifo(bus, 5 * 6))
    assert np.all(v[:, 1] == 0x3FFFF)  # clipped at 2^18 - 1
    assert np.all(v[:, 0] == 50_000)  # at the reference 7 mA / 4096 nA
    bus.write_byte_data(A, 0x0C, 0x46)  # 14 mA: twice the light
    bus.write_byte_data(A, 0x0A, (0b10 << 5) | (0b001 << 2) | 0b11)  # 8192 nA: half the counts
    clock.advance(0.05)
    wr, _, rd = bus.read_i2c_block_data(A, 0x04, 3)
    v = decode(read_fifo(bus, ((wr - rd) % 32) * 6))
    assert np.all(v[:, 0] == 50_000)


def test_ambient_light_overflow_sets_alc_ovf():
    clock, chip, bus = make(ConstantSource(), ambient_na=400.0, alc_limit_na=200.0)
    bus.read_byte_data(A, 0x00)
    spo2_100sps(bus)
    clock.advance(0.05)
    assert bus.read_byte_data(A, 0x00) & 0x20
    v = decode(read_fifo(bus, 6))
    assert v[0, 1] > 100_000  # the uncancelled ambient adds to the counts


def test_split_reads_keep_the_byte_position():
    c1, _, b1 = make(RampSource(slope_per_s=1000.0))
    c2, _, b2 = make(RampSource(slope_per_s=1000.0))
    for clock, bus in ((c1, b1), (c2, b2)):
        spo2_100sps(bus)
        clock.advance(0.1)
    whole = b1.read_i2c_block_data(A, 0x07, 30)
    first = b2.read_i2c_block_data(A, 0x07, 4)
    assert b2.read_byte_data(A, 0x06) == 1  # RD_PTR moved on the first byte of the sample
    rest = b2.read_i2c_block_data(A, 0x07, 26)
    assert first + rest == whole
    assert b2.read_byte_data(A, 0x06) == 5


def test_clone_board_swaps_red_and_ir():
    clock, _, bus = make(ConstantSource(red=50_000, ir=90_000), red_ir_swapped=True)
    spo2_100sps(bus)
    clock.advance(0.02)
    v = decode(read_fifo(bus, 6))
    assert list(v[0]) == [90_000, 50_000]


def test_hr_mode_has_three_bytes_per_sample():
    clock, _, bus = make(ConstantSource(red=50_000))
    bus.write_byte_data(A, 0x09, 0x02)
    bus.write_byte_data(A, 0x0A, (0b01 << 5) | (0b001 << 2) | 0b11)
    bus.write_byte_data(A, 0x0C, 0x23)
    clock.advance(0.03)
    assert list(decode(read_fifo(bus, 9), channels=1)[:, 0]) == [50_000] * 3


def test_faults_absent_chip_and_chip_that_comes_back():
    clock, chip, bus = make()
    bus.fail_next(1, errno=5)
    with pytest.raises(OSError) as e:
        bus.read_byte_data(A, 0xFF)
    assert e.value.errno == 5
    assert bus.read_byte_data(A, 0xFF) == 0x15
    bus.read_byte_data(A, 0x00)
    spo2_100sps(bus)
    chip.present = False
    with pytest.raises(OSError) as e:
        bus.read_byte_data(A, 0xFF)
    assert e.value.errno == 121
    with pytest.raises(OSError):
        EmulatedBus({}).read_byte_data(A, 0xFF)
    chip.present = True  # a power cycle: POR values, PWR_RDY
    assert bus.read_byte_data(A, 0x09) == 0x00
    assert bus.read_byte_data(A, 0x00) == 0x01


def test_fault_in_the_middle_of_a_read_pops_what_was_sent():
    clock, _, bus = make()
    spo2_100sps(bus)
    clock.advance(0.1)
    bus.fail_on(lambda tx: tx.kind == "i2c_rdwr", after_bytes=13, count=1)
    with pytest.raises(OSError):
        read_fifo(bus, 60)
    assert bus.read_byte_data(A, 0x06) == 3  # three samples were started
    assert bus.read_byte_data(A, 0x04) == 10


def test_block_read_limit_is_32_bytes_but_i2c_rdwr_has_none():
    clock, _, bus = make()
    spo2_100sps(bus)
    clock.advance(0.32)
    with pytest.raises(ValueError):
        bus.read_i2c_block_data(A, 0x07, 33)
    assert len(read_fifo(bus, 192)) == 192


def test_synthetic_source_counts_look_like_a_finger():
    src = SyntheticSource.resting(120.0, hr_bpm=72.0, seed=5)
    t = np.arange(10.0, 70.0, 0.01)
    red, ir = src.sample(t)
    assert 90_000 < ir.mean() < 110_000
    ptp = np.percentile(ir, 99) - np.percentile(ir, 1)
    assert 0.01 < ptp / ir.mean() < 0.05
    spec = np.abs(np.fft.rfft(ir - ir.mean()))
    f = np.fft.rfftfreq(t.size, 0.01)
    band = (f > 0.7) & (f < 3.0)
    assert abs(f[band][np.argmax(spec[band])] - 72 / 60) < 0.1
    assert red.mean() < ir.mean()


def test_recorded_source_resamples():
    counts = np.column_stack([np.arange(10.0), 10 * np.arange(10.0)])
    src = RecordedSource(counts, fs=10.0)
    red, ir = src.sample(np.array([0.0, 0.05, 0.3, 5.0]))
    assert list(red) == [0.0, 0.5, 3.0, 9.0]
    _, ir_n = RecordedSource(counts, fs=10.0, interpolation="nearest").sample(np.array([0.04, 0.06]))
    assert list(ir_n) == [0.0, 10.0]
    _, ir_loop = RecordedSource(counts, fs=10.0, loop=True).sample(np.array([1.05]))
    assert ir_loop[0] == pytest.approx(5.0)
