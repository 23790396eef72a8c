"""A behavioural model of the MAX30102 (datasheet 19-7740 Rev 1), for tests and the simulator.

It models behaviour, not a flat array of registers:

* power-on values (DS p10-11), PWR_RDY at power-on but not after RESET (DS p18);
* read auto-increment, except at FIFO_DATA (0x07) and 0xFF (DS p14, p29-30);
* a 32-sample FIFO with 5-bit pointers, OVF_COUNTER saturating at 0x1F, rollover on and off,
  the almost-full threshold (DS p13-17), and the byte position inside a sample when a read is
  split across transactions (RD_PTR moves on the first byte of a sample, DS p15);
* clear-on-read interrupt flags (DS p12-13), SHDN clearing them (DS p18);
* SR clamped to the highest rate allowed for the pulse width (DS p19, Tables 11/12);
* TEMP_EN then DIE_TEMP_RDY 29 ms later (DS p4, p22), with TEMP_EN clearing at once (SF#19);
* ADC resolution by pulse width, saturation at full scale, ambient-light overflow.

Sampling is lazy and exact: at every access the chip generates the samples due since its last
update, sample k of the current configuration at ``t_epoch + k / output_rate`` on the injected
clock, in vectorised blocks, so the result does not depend on how the clock was advanced.

Inferences where the datasheet is silent (marked in the code): reading an empty FIFO returns
the stale slot without moving RD_PTR; with rollover, a full FIFO drops its oldest sample and
RD_PTR follows WR_PTR; A_FULL re-fires for each new sample while the FIFO is above the threshold.
"""

from __future__ import annotations

import math

import numpy as np

from kindpulse.clock import Clock
from kindpulse.hardware import registers as R
from kindpulse.sim.sources import REF_ADC_RANGE_NA, REF_LED_MA, PPGSource, SyntheticSource

_PREFETCH = 2048  # source samples computed ahead per block (pure function of time)


class EmulatedMAX30102:
    """The chip behind `EmulatedBus`. Drive time with the injected (virtual) clock.

    ``source`` gives the light at the photodiode (`sim.sources`); without one, a resting finger
    at about 70 bpm. ``red_ir_swapped`` models clone boards whose FIFO delivers IR first.
    ``ambient_na`` is the ambient photocurrent; above ``alc_limit_na`` the ambient-light
    cancellation overflows (ALC_OVF) and the excess shows in the counts.
    """

    def __init__(
        self,
        clock: Clock,
        source: PPGSource | None = None,
        *,
        rev_id: int = 0x03,
        die_temp_c: float = 31.25,
        ambient_na: float = 0.0,
        alc_limit_na: float = 200.0,
        red_ir_swapped: bool = False,
        reset_duration_s: float = 0.0,
    ) -> None:
        self.clock = clock
        self._source: PPGSource = source if source is not None else SyntheticSource.resting(8 * 3600.0)
        self.rev_id = rev_id
        self.die_temp_c = die_temp_c
        self.ambient_na = ambient_na
        self.alc_limit_na = alc_limit_na
        self.red_ir_swapped = red_ir_swapped
        self.reset_duration_s = reset_duration_s
        self.reset_stuck = False  # fault: RESET never clears
        self.samples_generated = 0  # every sample the ADC produced, stored or lost
        self._present = True
        self._power_on()

    # ---- power and reset --------------------------------------------------------------
    def _power_on(self) -> None:
        self._por()
        self._ptr = 0
        self._status1 = R.INT_PWR_RDY  # set on power-up (DS p12)

    def _por(self) -> None:
        self._regs = R.por_values()
        self._status1 = 0
        self._status2 = 0
        self._fifo = np.zeros((R.FIFO_DEPTH, 4), dtype=np.int64)  # left-justified, per slot
        self._wr = self._rd = self._ovf = self._count = 0
        self._byte_pos = 0
        self._cur = b""
        self._temp_done_at: float | None = None
        self._tint = 0
        self._tfrac = 0
        self._reset_until: float | None = None
        self._new_epoch()

    @property
    def source(self) -> PPGSource:
        return self._source

    @source.setter
    def source(self, value: PPGSource) -> None:
        """Swap what the photodiode sees (a new finger, a recording); takes effect at once."""
        self._sync()
        self._source = value
        self._cache = None

    @property
    def present(self) -> bool:
        """False: the chip does not answer (OSError 121). Setting it back to True is a power-on."""
        return self._present

    @present.setter
    def present(self, value: bool) -> None:
        if value and not self._present:
            self._power_on()
        self._present = bool(value)

    # ---- configuration derived from registers ------------------------------------------
    @property
    def mode(self) -> int:
        return self._regs[0x09] & 0x07

    @property
    def shutdown(self) -> bool:
        return bool(self._regs[0x09] & R.MODE_SHDN)

    @property
    def sample_rate_sps(self) -> int:
        return R.SAMPLE_RATES_SPS[(self._regs[0x0A] >> 2) & 0x07]

    @property
    def led_pw_us(self) -> int:
        return R.LED_PW_US[self._regs[0x0A] & 0x03]

    @property
    def adc_range_na(self) -> int:
        return R.ADC_RANGES_NA[(self._regs[0x0A] >> 5) & 0x03]

    @property
    def sample_average(self) -> int:
        return R.SMP_AVE_CHOICES[min((self._regs[0x08] >> 5) & 0x07, 5)]

    @property
    def rollover(self) -> bool:
        return bool(self._regs[0x08] & 0x10)

    @property
    def output_rate_sps(self) -> float:
        return self.sample_rate_sps / self.sample_average

    @property
    def fifo_count(self) -> int:
        """Unread samples (the truth the pointers cannot tell when WR == RD)."""
        self._sync()
        return self._count

    def _channels(self) -> tuple[int, ...]:
        """Slot contents in FIFO order: SLOT_RED / SLOT_IR / other (reads as 0)."""
        mode = self.mode
        if mode == R.MODE_HR:
            return (R.SLOT_RED,)
        if mode == R.MODE_SPO2:
            return (R.SLOT_IR, R.SLOT_RED) if self.red_ir_swapped else (R.SLOT_RED, R.SLOT_IR)
        if mode == R.MODE_MULTI:
            slots = (self._regs[0x11] & 7, self._regs[0x11] >> 4 & 7,
                     self._regs[0x12] & 7, self._regs[0x12] >> 4 & 7)
            out = []
            for s in slots:  # slots are enabled in order; the first off slot ends the list (DS p21)
                if s == R.SLOT_OFF:
                    break
                out.append(s)
            return tuple(out)
        return ()

    def _timing(self) -> tuple[bool, float, tuple[int, ...]]:
        chans = self._channels()
        active = bool(chans) and not self.shutdown and self._reset_until is None
        return active, self.output_rate_sps, chans

    def _new_epoch(self) -> None:
        self._synced_at = float("nan")  # the next access re-evaluates
        self._t_epoch = self.clock.monotonic()
        self._k_done = 0
        self._active, self._rate, self._chans = self._timing()
        self._cache_k0 = 0
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    # ---- lazy time ---------------------------------------------------------------------
    def _sync(self) -> None:
        now = self.clock.monotonic()
        if now == self._synced_at:  # nothing can have changed since the last access
            return
        self._synced_at = now
        if self._reset_until is not None and now >= self._reset_until and not self.reset_stuck:
            self._reset_until = None
            self._new_epoch()
        if self._temp_done_at is not None and now >= self._temp_done_at:
            self._temp_done_at = None
            whole = math.floor(self.die_temp_c)
            self._tint = whole & 0xFF
            self._tfrac = min(15, round((self.die_temp_c - whole) / R.TFRAC_STEP_C))
            self._status2 |= R.INT_DIE_TEMP_RDY
        if not self._active:
            return
        n_total = int(math.floor((now - self._t_epoch) * self._rate + 1e-9))
        n_new = n_total - self._k_done
        if n_new > 0:
            self._push(self._k_done + 1, n_new)
            self._k_done = n_total

    def _source_block(self, k_first: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Source values for samples k_first..k_first+n-1 of this epoch, computed in blocks."""
        c = self._cache
        if c is None or k_first < self._cache_k0 or k_first + n > self._cache_k0 + c[0].size:
            size = max(n, _PREFETCH)
            t = self._t_epoch + np.arange(k_first, k_first + size, dtype=np.float64) / self._rate
            red, ir = self._source.sample(t)
            c = self._cache = (np.asarray(red, dtype=np.float64), np.asarray(ir, dtype=np.float64))
            self._cache_k0 = k_first
        i = k_first - self._cache_k0
        return c[0][i:i + n], c[1][i:i + n]

    def _convert(self, red: np.ndarray, ir: np.ndarray) -> np.ndarray:
        """ADC: scale by LED current and range, add uncancelled ambient, quantise, clip."""
        rng = self.adc_range_na
        gain = REF_ADC_RANGE_NA / rng
        excess = max(0.0, self.ambient_na - self.alc_limit_na) / rng * (R.FULL_SCALE_18BIT + 1)
        shift = R.adc_shift(self.led_pw_us)
        out = np.zeros((red.size, 4), dtype=np.int64)
        for j, slot in enumerate(self._chans):
            if slot == R.SLOT_RED:
                v = red * (R.led_lsb_to_ma(self._regs[0x0C]) / REF_LED_MA)
            elif slot == R.SLOT_IR:
                v = ir * (R.led_lsb_to_ma(self._regs[0x0D]) / REF_LED_MA)
            else:
                continue
            counts = np.clip(np.floor(v * gain + excess), 0, R.FULL_SCALE_18BIT).astype(np.int64)
            out[:, j] = (counts >> shift) << shift  # resolution by pulse width, left-justified
        return out

    def _push(self, k_first: int, n: int) -> None:
        """Samples k_first..k_first+n-1 arrive; closed-form FIFO and overflow arithmetic."""
        self.samples_generated += n
        depth = R.FIFO_DEPTH
        if self.ambient_na > self.alc_limit_na:
            self._status1 |= R.INT_ALC_OVF
        if self.rollover:
            keep = min(n, depth)
            skip = n - keep
            lost = max(0, self._count + n - depth)
            vals = self._convert(*self._source_block(k_first + skip, keep))
            pos = (self._wr + skip + np.arange(keep)) % depth
            self._fifo[pos] = vals
            self._wr = (self._wr + n) % depth
            if lost:
                # inference: the oldest samples are overwritten and RD_PTR follows WR_PTR
                self._rd = self._wr
                self._count = depth
                self._byte_pos = 0
            else:
                self._count += n
            stored = keep
        else:
            # DS p17: with rollover off the FIFO is not updated while full; new samples are lost
            keep = min(n, depth - self._count)
            lost = n - keep
            if keep:
                vals = self._convert(*self._source_block(k_first, keep))
                pos = (self._wr + np.arange(keep)) % depth
                self._fifo[pos] = vals
                self._wr = (self._wr + keep) % depth
                self._count += keep
            stored = keep
        if lost:
            self._ovf = min(R.OVF_COUNTER_MAX, self._ovf + lost)
        if stored:
            self._status1 |= R.INT_PPG_RDY
        threshold = depth - (self._regs[0x08] & 0x0F)
        if self._count >= threshold:
            self._status1 |= R.INT_A_FULL

    # ---- register access ----------------------------------------------------------------
    def _read_reg(self, addr: int) -> int:
        if addr == 0x00:
            v, self._status1 = self._status1, 0
            return v
        if addr == 0x01:
            v, self._status2 = self._status2, 0
            return v
        if addr == 0x04:
            return self._wr
        if addr == 0x05:
            return self._ovf
        if addr == 0x06:
            return self._rd
        if addr == 0x09:
            return self._regs[0x09] | (R.MODE_RESET if self._reset_until is not None else 0)
        if addr == 0x1F:
            return self._tint
        if addr == 0x20:
            self._status2 &= ~R.INT_DIE_TEMP_RDY  # cleared by reading TFRAC too (DS p12)
            return self._tfrac
        if addr == 0xFE:
            return self.rev_id
        if addr == 0xFF:
            return R.PART_ID_VALUE
        return self._regs[addr]

    def _clamp_sr(self) -> None:
        mode = self.mode
        if mode not in (R.MODE_HR, R.MODE_SPO2, R.MODE_MULTI):
            return
        top = R.max_sample_rate_sps(mode, self.led_pw_us)
        if self.sample_rate_sps > top:  # DS p19: "the highest possible sample rate is programmed"
            code = R.SAMPLE_RATES_SPS.index(top)
            self._regs[0x0A] = (self._regs[0x0A] & ~0x1C) | (code << 2)

    def _write_reg(self, addr: int, v: int) -> None:
        v &= 0xFF
        if addr in R.READ_ONLY_ADDRS or addr == 0x07:
            return
        before = self._timing()
        if addr == 0x02:
            self._regs[addr] = v & 0xE0
        elif addr == 0x03:
            self._regs[addr] = v & 0x02
        elif addr == 0x04:
            if self.mode in (R.MODE_HR, R.MODE_SPO2, R.MODE_MULTI):  # DS p13
                self._wr = v & 0x1F
                self._count = (self._wr - self._rd) % R.FIFO_DEPTH
        elif addr == 0x05:
            self._ovf = v & 0x1F
        elif addr == 0x06:
            if v & 0x1F != self._rd:  # rewriting the same value only realigns the byte position
                self._rd = v & 0x1F
                self._count = (self._wr - self._rd) % R.FIFO_DEPTH
            self._byte_pos = 0
        elif addr == 0x09:
            if v & R.MODE_RESET:
                self._por()
                self._reset_until = self.clock.monotonic() + self.reset_duration_s
                self._new_epoch()
                return
            self._regs[addr] = v & 0x87
            if self.shutdown:
                self._status1 = self._status2 = 0  # SHDN clears all interrupts (DS p18)
            self._clamp_sr()
        elif addr == 0x0A:
            self._regs[addr] = v & 0x7F
            self._clamp_sr()
        elif addr in (0x11, 0x12):
            self._regs[addr] = v & 0x77
        elif addr == 0x21:
            if v & R.TEMP_EN and self._temp_done_at is None:
                self._temp_done_at = self.clock.monotonic() + R.TEMP_CONVERSION_S
            self._regs[addr] = 0  # TEMP_EN clears almost at once (SF#19): poll DIE_TEMP_RDY
        else:
            self._regs[addr] = v
        if self._timing() != before:
            self._new_epoch()

    # ---- FIFO_DATA ---------------------------------------------------------------------
    def _sample_bytes(self, slots: np.ndarray) -> np.ndarray:
        """(k, 3 * channels) uint8 rows for the FIFO slots given."""
        nch = len(self._chans) or 1
        vals = self._fifo[slots, :nch] & R.DATA_MASK_18BIT
        b = np.stack([(vals >> 16) & 0x03, (vals >> 8) & 0xFF, vals & 0xFF], axis=-1)
        return b.reshape(len(slots), nch * 3).astype(np.uint8)

    def _read_fifo(self, n: int) -> bytes:
        out = bytearray()
        bps = 3 * (len(self._chans) or 1)
        if self._byte_pos:
            take = min(n, bps - self._byte_pos)
            out += self._cur[self._byte_pos:self._byte_pos + take]
            self._byte_pos = (self._byte_pos + take) % bps
            n -= take
        if n <= 0:
            return bytes(out)
        whole, rest = divmod(n, bps)
        pops = min(whole + (1 if rest else 0), self._count)
        if pops:
            slots = (self._rd + np.arange(pops)) % R.FIFO_DEPTH
            rows = self._sample_bytes(slots).reshape(-1)
            full_bytes = min(n, pops * bps)
            out += rows[:full_bytes].tobytes()
            self._rd = (self._rd + pops) % R.FIFO_DEPTH  # RD_PTR moves on a sample's first byte
            self._count -= pops
            self._ovf = 0  # reset when a sample is popped (DS p13)
            if full_bytes % bps:
                self._cur = rows[(pops - 1) * bps:pops * bps].tobytes()
                self._byte_pos = full_bytes % bps
            n -= full_bytes
        if n > 0:  # inference: an empty FIFO repeats the stale slot at RD_PTR, RD_PTR stays
            stale = self._sample_bytes(np.array([self._rd])).reshape(-1).tobytes()
            out += (stale * (n // bps + 1))[:n]
        self._status1 &= ~R.INT_PPG_RDY  # cleared by reading FIFO_DATA (DS p12)
        return bytes(out)

    # ---- I2C device interface (used by EmulatedBus) ----------------------------------------
    def i2c_write(self, data: bytes) -> None:
        """One write message: register pointer, then data with auto-increment (DS p29)."""
        if not data:
            return
        self._sync()
        self._ptr = data[0]
        for b in data[1:]:
            self._write_reg(self._ptr, b)
            if self._ptr not in (0x07, 0xFF):
                self._ptr += 1

    def i2c_read(self, n: int) -> bytes:
        """One read message of n bytes from the current register pointer (DS p30)."""
        self._sync()
        out = bytearray()
        at_ff = False
        while len(out) < n:
            if self._ptr == 0x07:
                out += self._read_fifo(n - len(out))
                break
            if self._ptr == 0xFF:
                out.append(0x00 if at_ff else self._read_reg(0xFF))  # "not meaningful" after 0xFF
                at_ff = True
                continue
            out.append(self._read_reg(self._ptr))
            self._ptr += 1
        return bytes(out)

    # ---- pins --------------------------------------------------------------------------
    def int_level(self) -> bool:
        """Level of the open-drain, active-low INT pin: False (low) while an enabled flag is set."""
        self._sync()
        pending = (self._status1 & (self._regs[0x02] | R.INT_PWR_RDY)) or (self._status2 & self._regs[0x03])
        return not (pending and self._present)
