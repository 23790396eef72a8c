"""The emulator's vectorised FIFO against a naive one-sample-at-a-time model (hypothesis).

The reference below is written from the datasheet rules directly, as plain loops: push one
sample at a time, pop one byte at a time. Random interleavings of clock advances, FIFO reads of
any length (split mid-sample), pointer reads and rollover on/off must agree exactly.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from smbus2 import i2c_msg

from kindpulse.sim import EmulatedBus, EmulatedMAX30102, RampSource, VirtualClock

A = 0x57
RATE = 100.0


class NaiveFifo:
    def __init__(self, rollover: bool) -> None:
        self.rollover = rollover
        self.slots = [0] * 32
        self.wr = self.rd = self.ovf = self.count = 0
        self.k = 0
        self.byte_pos = 0
        self.cur = b""

    def advance_to(self, t: float) -> None:
        while (self.k + 1) / RATE <= t + 1e-9:
            self.k += 1
            value = int(1000 + 1000 * self.k / RATE)  # RampSource at the reference setting
            if self.count == 32:
                self.ovf = min(31, self.ovf + 1)
                if not self.rollover:
                    continue
                self.rd = (self.rd + 1) % 32
                self.count -= 1
                self.byte_pos = 0
            self.slots[self.wr] = value
            self.wr = (self.wr + 1) % 32
            self.count += 1

    def read(self, n: int) -> list[int]:
        out, stale_i = [], 0
        for _ in range(n):
            if self.byte_pos == 0:
                if self.count == 0:  # the emulator's inference: repeat the slot at RD_PTR
                    out.append(_bytes(self.slots[self.rd])[stale_i % 6])
                    stale_i += 1
                    continue
                self.cur = _bytes(self.slots[self.rd])
                self.rd = (self.rd + 1) % 32
                self.count -= 1
                self.ovf = 0
            out.append(self.cur[self.byte_pos])
            self.byte_pos = (self.byte_pos + 1) % 6
        return out


def _bytes(v: int) -> bytes:
    return bytes([v >> 16 & 3, v >> 8 & 0xFF, v & 0xFF] * 2)  # red and IR are equal for a ramp


ops = st.lists(st.one_of(
    st.tuples(st.just("advance"), st.floats(0.0, 0.5)),
    st.tuples(st.just("read"), st.integers(1, 200)),
    st.tuples(st.just("ptrs"), st.just(0)),
), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rollover=st.booleans(), ops=ops)
def test_vectorised_fifo_matches_naive_model(rollover, ops):
    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock, source=RampSource(slope_per_s=1000.0))
    bus = EmulatedBus({A: chip})
    bus.write_byte_data(A, 0x09, 0x03)
    bus.write_byte_data(A, 0x08, 0x10 if rollover else 0x00)
    bus.write_byte_data(A, 0x0A, (0b01 << 5) | (0b001 << 2) | 0b11)  # 100 sps, 411 us
    bus.write_byte_data(A, 0x0C, 0x23)
    bus.write_byte_data(A, 0x0D, 0x23)
    model = NaiveFifo(rollover)
    for op, arg in ops:
        if op == "advance":
            clock.advance(arg)
            continue
        model.advance_to(clock.monotonic())
        if op == "read":
            w, r = i2c_msg.write(A, [0x07]), i2c_msg.read(A, arg)
            bus.i2c_rdwr(w, r)
            assert list(r) == model.read(arg)
        else:
            assert bus.read_i2c_block_data(A, 0x04, 3) == [model.wr, model.ovf, model.rd]
    assert math.isclose(chip.samples_generated, model.k)

