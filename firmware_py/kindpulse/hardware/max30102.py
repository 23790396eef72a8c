"""MAX30102 driver over an injected smbus2-compatible bus (datasheet 19-7740 Rev 1).

The driver never opens a bus and never reads the wall clock: the composition root passes an
`smbus2.SMBus` (or `kindpulse.sim.EmulatedBus`) and a `Clock`.

    sensor = MAX30102(bus, clock=clock)
    sensor.probe()                      # PART_ID 0x15 or SensorNotFound
    sensor.reset()
    sensor.configure(SensorSettings())  # SpO2 mode, 400 sps / 4 = 100 sps, 411 us, 4096 nA
    batch = sensor.drain()              # red, ir, lost, flags, first_index

Timing comes from samples: sample ``first_index + i`` of a batch was taken at
``t0_s + (first_index + i) / output_rate_sps`` on the injected clock, where ``t0_s`` is one sample
period after `configure()` started the chip, and indices count lost samples too, so an
inter-beat interval never spans a gap without the gap being visible (``lost``, ``lost_at``).

Error policy: I2C errors (OSError 121 EREMOTEIO, 5 EIO, ...) become `SensorError`. Register reads
and writes are idempotent and are retried ``retries`` times; a FIFO read is never retried
(the chip has already popped what it sent); with rollover off the read pointer is put back
instead, as the datasheet advises (DS p16-17), so the next drain reads those samples again.
"""

from __future__ import annotations

import errno as errno_mod
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from kindpulse.clock import Clock, RealClock
from kindpulse.errors import SensorConfigError, SensorError, SensorNotFound, SensorTimeout
from kindpulse.hardware import registers as R

log = logging.getLogger(__name__)

SATURATION_FRACTION = 0.98  # a sample this close to full scale counts as saturated


class SMBusLike(Protocol):
    """The smbus2 calls the driver uses; `smbus2.SMBus` and `EmulatedBus` both satisfy it."""

    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None: ...

    def i2c_rdwr(self, *i2c_msgs: Any) -> None: ...


@dataclass(frozen=True)
class SensorSettings:
    """What `configure()` programs; the daemon config reuses this dataclass.

    ``mode`` is "spo2" (red + IR) or "hr" (red only). ``fifo_almost_full`` is the number of
    unread samples (17..32) at which A_FULL fires (DS p17 stores 32 minus it). The output rate
    is ``sample_rate_sps / sample_average``. Invalid values and SR x PW x mode combinations
    (DS p23 Tables 11/12) raise `SensorConfigError`; nothing is snapped to a nearby value.
    """

    mode: str = "spo2"
    sample_rate_sps: int = 400
    sample_average: int = 4
    led_pw_us: int = 411
    adc_range_na: int = 4096
    red_current_ma: float = 7.0
    ir_current_ma: float = 7.0
    fifo_almost_full: int = 17
    rollover: bool = False

    def __post_init__(self) -> None:
        def bad(name: str, value: object, allowed: object) -> SensorConfigError:
            return SensorConfigError(f"sensor {name}={value!r} is not allowed; use one of {allowed}")

        if self.mode not in ("spo2", "hr"):
            raise bad("mode", self.mode, "'spo2', 'hr'")
        if self.sample_rate_sps not in R.SAMPLE_RATES_SPS:
            raise bad("sample_rate_sps", self.sample_rate_sps, R.SAMPLE_RATES_SPS)
        if self.sample_average not in R.SMP_AVE_CHOICES:
            raise bad("sample_average", self.sample_average, R.SMP_AVE_CHOICES)
        if self.led_pw_us not in R.LED_PW_US:
            raise bad("led_pw_us", self.led_pw_us, R.LED_PW_US)
        if self.adc_range_na not in R.ADC_RANGES_NA:
            raise bad("adc_range_na", self.adc_range_na, R.ADC_RANGES_NA)
        for name in ("red_current_ma", "ir_current_ma"):
            value = getattr(self, name)
            if not 0.0 <= value <= R.LED_MA_MAX:
                raise bad(name, value, f"0..{R.LED_MA_MAX:.1f} mA in {R.LED_MA_PER_LSB} mA steps")
        if not 17 <= self.fifo_almost_full <= 32:
            raise bad("fifo_almost_full", self.fifo_almost_full, "17..32 unread samples")
        top = R.max_sample_rate_sps(self.mode_code, self.led_pw_us)
        if self.sample_rate_sps > top:
            raise SensorConfigError(
                f"sensor: {self.sample_rate_sps} sps with {self.led_pw_us} us pulses is not allowed in "
                f"{self.mode} mode (datasheet Table {11 if self.mode == 'spo2' else 12}); "
                f"use at most {top} sps or a shorter led_pw_us"
            )

    @property
    def mode_code(self) -> int:
        return R.MODES[self.mode]

    @property
    def output_rate_sps(self) -> float:
        return self.sample_rate_sps / self.sample_average

    @property
    def channels(self) -> int:
        return 2 if self.mode == "spo2" else 1


@dataclass(frozen=True)
class FifoFlags:
    """Signal-quality and health flags of one drain."""

    alc_overflow: bool = False  # ambient light beat the cancellation: counts include ambient
    saturated_red: bool = False  # some sample within 2 % of full scale
    saturated_ir: bool = False
    lost_estimated: bool = False  # OVF_COUNTER saturated or a transfer failed: `lost` is a clock estimate
    led_changed: bool = False  # LED currents changed since the last drain: the DC level steps
    chip_restarted: bool = False  # PWR_RDY seen: the chip lost power and was configured again


@dataclass(frozen=True)
class FifoBatch:
    """Samples of one drain, oldest first, as right-justified ADC counts.

    ``lost`` samples were lost to overflow since the last drain; they sit before sample
    ``lost_at`` of this batch (0: before the first; ``len``: after the last, which is where a
    full FIFO without rollover drops them). ``first_index`` counts every sample since
    `configure()`, lost ones included. In HR mode ``ir`` is empty.
    """

    red: np.ndarray
    ir: np.ndarray
    lost: int
    flags: FifoFlags
    first_index: int
    lost_at: int
    output_rate_sps: float
    t0_s: float = 0.0  # clock time of sample index 0

    def __len__(self) -> int:
        return int(self.red.size)

    def indices(self) -> np.ndarray:
        """Sample index of each sample since `configure()` (lost samples keep their indices)."""
        return self.first_index + np.arange(len(self), dtype=np.int64)

    def times_s(self) -> np.ndarray:
        """Clock time (s, the injected monotonic clock) at which each sample was taken."""
        return self.t0_s + self.indices() / self.output_rate_sps


@dataclass
class _DrainState:
    next_index: int = 0
    last_drain_s: float = 0.0
    pending_lost: int = 0  # from a failed transfer that could not be undone
    led_changed: bool = False
    resync: bool = False  # RD_PTR must be rewritten before the next FIFO read


class MAX30102:
    """Driver for one MAX30102 at ``address`` on an injected bus.

    ``red_ir_swapped``: some clone boards deliver IR first in the FIFO (RF#22, RF#13); set it
    and ``drain()`` still returns ``red`` and ``ir`` the right way round.
    """

    def __init__(self, bus: SMBusLike, address: int = R.I2C_ADDRESS, *, clock: Clock | None = None,
                 red_ir_swapped: bool = False, retries: int = 2, bus_name: str | None = None) -> None:
        self.bus = bus
        self.address = address
        self.clock: Clock = clock if clock is not None else RealClock()
        self.red_ir_swapped = red_ir_swapped
        self.retries = retries
        number = getattr(bus, "bus_number", None)
        self.bus_name = bus_name or (f"/dev/i2c-{number}" if number is not None else "the I2C bus")
        self.rev_id: int | None = None
        self._settings: SensorSettings | None = None
        self._state = _DrainState()
        self._red_ma = self._ir_ma = 0.0
        self.t0_s = 0.0

    # ---- I2C with error translation -------------------------------------------------------
    def _where(self) -> str:
        return f"MAX30102 at 0x{self.address:02X} on {self.bus_name}"

    def _error(self, exc: OSError, what: str) -> SensorError:
        hint = {
            errno_mod.EREMOTEIO: "no answer (check wiring, power and the address)",
            errno_mod.EIO: "I/O error (loose wire or bus noise)",
            errno_mod.ENXIO: "no answer (check wiring, power and the address)",
            errno_mod.ETIMEDOUT: "bus timeout",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        err = SensorError(exc.errno, f"{what} failed on the {self._where()}: {hint} (errno {exc.errno})")
        return err

    def _retry(self, what: str, fn: Any, *args: Any) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return fn(*args)
            except OSError as exc:
                if attempt == self.retries:
                    raise self._error(exc, what) from exc
                log.debug("%s: %s, retrying", what, exc)
        raise AssertionError("unreachable")

    def read_register(self, reg: R.Register | int) -> int:
        addr = reg if isinstance(reg, int) else reg.addr
        return int(self._retry(f"reading register 0x{addr:02X}", self.bus.read_byte_data, self.address, addr))

    def read_registers(self, start: R.Register | int, length: int) -> list[int]:
        addr = start if isinstance(start, int) else start.addr
        return list(self._retry(f"reading registers 0x{addr:02X}+{length}",
                                self.bus.read_i2c_block_data, self.address, addr, length))

    def write_register(self, reg: R.Register | int, value: int) -> None:
        addr = reg if isinstance(reg, int) else reg.addr
        self._retry(
            f"writing register 0x{addr:02X}", self.bus.write_byte_data, self.address, addr, value & 0xFF
        )

    # ---- identity, reset, configuration ---------------------------------------------------
    def part_id(self) -> int:
        return self.read_register(R.PART_ID)

    def probe(self) -> int:
        """Check PART_ID is 0x15 (DS p11); log and return REV_ID. Raises `SensorNotFound`."""
        try:
            rev, part = self.read_registers(R.REV_ID, 2)
        except SensorError as exc:
            raise SensorNotFound(
                exc.errno,
                f"no MAX30102 answers at 0x{self.address:02X} on {self.bus_name}: "
                f"{exc.strerror}; check SDA/SCL/3V3/GND wiring and run 'kindpulse doctor'",
            ) from exc
        if part != R.PART_ID_VALUE:
            raise SensorNotFound(
                errno_mod.ENODEV,
                f"the device at 0x{self.address:02X} on {self.bus_name} has "
                f"PART_ID 0x{part:02X}, not 0x{R.PART_ID_VALUE:02X}: it is not a MAX30102",
            )
        self.rev_id = rev
        log.info("MAX30102 at 0x%02X on %s: REV_ID 0x%02X", self.address, self.bus_name, rev)
        return rev

    def reset(self, timeout_s: float = 0.1, poll_s: float = 0.001) -> None:
        """Soft reset (MODE_CONFIG.RESET, DS p18); poll the self-clearing bit until ``timeout_s``."""
        self.write_register(R.MODE_CONFIG, R.MODE_RESET)
        deadline = self.clock.monotonic() + timeout_s
        while self.read_register(R.MODE_CONFIG) & R.MODE_RESET:
            if self.clock.monotonic() >= deadline:
                raise SensorTimeout(
                    errno_mod.ETIMEDOUT,
                    f"the {self._where()} did not finish its reset within "
                    f"{timeout_s * 1000:.0f} ms; power-cycle the sensor",
                )
            self.clock.sleep(poll_s)
        self._settings = None

    def configure(self, settings: SensorSettings) -> None:
        """Program mode, rates, ranges, currents and FIFO (DS p17-20), then clear the FIFO.

        The chip is put in shutdown while it is reprogrammed, pointers and OVF are cleared
        (DS p14-15), and the interrupt status is read to clear PWR_RDY.
        """
        if not isinstance(settings, SensorSettings):
            raise SensorConfigError("configure() takes a SensorSettings")
        s = settings
        self.write_register(R.MODE_CONFIG, R.MODE_SHDN | s.mode_code)
        self.write_register(R.FIFO_CONFIG, R.FIFO_CONFIG.pack(
            smp_ave=s.sample_average, fifo_rollover_en=int(s.rollover),
            fifo_a_full_empty_slots=R.FIFO_DEPTH - s.fifo_almost_full))
        self.write_register(R.SPO2_CONFIG, R.SPO2_CONFIG.pack(
            adc_range_na=s.adc_range_na, sample_rate_sps=s.sample_rate_sps, led_pw_us=s.led_pw_us))
        self.write_register(R.LED1_PA, R.led_ma_to_lsb(s.red_current_ma))
        self.write_register(R.LED2_PA, R.led_ma_to_lsb(s.ir_current_ma))
        self.write_register(R.INT_ENABLE_1, R.INT_A_FULL)
        for reg in (R.FIFO_WR_PTR, R.OVF_COUNTER, R.FIFO_RD_PTR):
            self.write_register(reg, 0)
        self.read_register(R.INT_STATUS_1)
        self.read_register(R.INT_STATUS_2)
        spo2 = self.read_register(R.SPO2_CONFIG)
        if R.SPO2_CONFIG.field("sample_rate_sps").decode(spo2) != s.sample_rate_sps:  # chip clamped it
            raise SensorConfigError(f"the {self._where()} did not accept {s.sample_rate_sps} sps")
        self._red_ma = R.led_lsb_to_ma(R.led_ma_to_lsb(s.red_current_ma))
        self._ir_ma = R.led_lsb_to_ma(R.led_ma_to_lsb(s.ir_current_ma))
        self._settings = s
        self.write_register(R.MODE_CONFIG, s.mode_code)  # leave shutdown: sampling starts now
        now = self.clock.monotonic()
        self._state = _DrainState(last_drain_s=now)
        self.t0_s = now + 1.0 / s.output_rate_sps  # the first sample completes one period later

    @property
    def settings(self) -> SensorSettings:
        if self._settings is None:
            raise SensorConfigError("the MAX30102 is not configured; call configure() first")
        return self._settings

    @property
    def output_rate_sps(self) -> float:
        return self.settings.output_rate_sps

    @property
    def full_scale_counts(self) -> int:
        """Largest right-justified count at the configured pulse width (2^bits - 1)."""
        return (1 << R.ADC_BITS_BY_PW_US[self.settings.led_pw_us]) - 1

    @property
    def poll_interval_s(self) -> float:
        """How often to drain without INT: every half FIFO (16 samples, 0.16 s at 100 sps), so a
        wake-up up to that late still loses nothing."""
        return (R.FIFO_DEPTH // 2) / self.output_rate_sps

    @property
    def led_currents_ma(self) -> tuple[float, float]:
        return self._red_ma, self._ir_ma

    def set_led_currents(self, red_ma: float, ir_ma: float) -> None:
        """Change LED currents (0.2 mA steps, DS p20); the next batch has ``flags.led_changed``."""
        red_code, ir_code = R.led_ma_to_lsb(red_ma), R.led_ma_to_lsb(ir_ma)
        self.write_register(R.LED1_PA, red_code)
        self.write_register(R.LED2_PA, ir_code)
        self._red_ma, self._ir_ma = R.led_lsb_to_ma(red_code), R.led_lsb_to_ma(ir_code)
        self._state.led_changed = True

    def enable_interrupts(self, *, a_full: bool = True, ppg_rdy: bool = False, alc_ovf: bool = False) -> None:
        """Which events pull INT low (DS p13). PWR_RDY always does."""
        self.write_register(R.INT_ENABLE_1, R.INT_ENABLE_1.pack(
            a_full_en=int(a_full), ppg_rdy_en=int(ppg_rdy), alc_ovf_en=int(alc_ovf)))

    # ---- FIFO -------------------------------------------------------------------------------
    def drain(self) -> FifoBatch:
        """Read every sample in the FIFO (DS p14-16).

        One 3-byte burst reads WR_PTR, OVF_COUNTER and RD_PTR; WR == RD means empty unless
        OVF > 0 or A_FULL is set (then full). All samples come in one `i2c_rdwr` transfer
        (no 32-byte SMBus limit), so no sample is ever split.
        """
        s = self.settings
        st = self._state
        status = self.read_register(R.INT_STATUS_1)
        flags: dict[str, bool] = {"alc_overflow": bool(status & R.INT_ALC_OVF),
                                  "led_changed": st.led_changed}
        if status & R.INT_PWR_RDY:
            return self._recover_power_loss(flags)
        wr, ovf, rd = self.read_registers(R.FIFO_WR_PTR, 3)
        if st.resync:
            self.write_register(R.FIFO_RD_PTR, rd)
            st.resync = False
        n = (wr - rd) % R.FIFO_DEPTH
        if n == 0 and (ovf > 0 or status & R.INT_A_FULL):
            n = R.FIFO_DEPTH
        now = self.clock.monotonic()
        bps = R.BYTES_PER_CHANNEL * s.channels
        raw = np.zeros((0, s.channels, 3), dtype=np.uint8)
        if n:
            raw = self._read_fifo(n, bps, rd).reshape(n, s.channels, 3)
        lost = ovf
        if ovf >= R.OVF_COUNTER_MAX:  # saturated: the true count may be larger; ask the clock
            expected = int((now - st.last_drain_s) * s.output_rate_sps)
            lost = max(ovf, expected - n)
            flags["lost_estimated"] = True
        if st.pending_lost:
            lost += st.pending_lost
            flags["lost_estimated"] = True
        counts = ((raw[..., 0].astype(np.int32) << 16) | (raw[..., 1].astype(np.int32) << 8)
                  | raw[..., 2].astype(np.int32)) & R.DATA_MASK_18BIT
        counts >>= R.adc_shift(s.led_pw_us)
        if s.channels == 2:
            first, second = counts[:, 0], counts[:, 1]
            red, ir = (second, first) if self.red_ir_swapped else (first, second)
        else:
            red, ir = counts[:, 0], np.zeros(0, dtype=np.int32)
        limit = SATURATION_FRACTION * self.full_scale_counts
        flags["saturated_red"] = bool(red.size and red.max() >= limit)
        flags["saturated_ir"] = bool(ir.size and ir.max() >= limit)
        # Without rollover a full FIFO drops the newest samples (after these); with it, the oldest.
        gap_after = not s.rollover and not st.pending_lost
        lost_at = n if gap_after else 0
        first_index = st.next_index if gap_after else st.next_index + lost
        st.next_index += n + lost
        st.last_drain_s, st.pending_lost, st.led_changed = now, 0, False
        return FifoBatch(np.ascontiguousarray(red), np.ascontiguousarray(ir), int(lost), FifoFlags(**flags),
                         first_index, lost_at if lost else n, s.output_rate_sps, self.t0_s)

    def _read_fifo(self, n: int, bps: int, rd: int) -> np.ndarray:
        from smbus2 import i2c_msg

        write = i2c_msg.write(self.address, [R.FIFO_DATA.addr])
        read = i2c_msg.read(self.address, n * bps)
        try:
            self.bus.i2c_rdwr(write, read)  # never retried: the chip popped what it sent
        except OSError as exc:
            self._after_failed_transfer(n, rd)
            raise self._error(exc, f"reading {n} FIFO samples") from exc
        return np.frombuffer(bytes(read), dtype=np.uint8)

    def _after_failed_transfer(self, n: int, rd: int) -> None:
        """Recover from a broken FIFO read. The chip may have stopped mid-sample, so RD_PTR is
        always written (which restarts at a sample's first byte). Without rollover it is rewound
        to where the read began (DS p16-17) and nothing is lost; with rollover the samples the
        chip popped are counted as lost (old ones may already be overwritten)."""
        st = self._state
        try:
            if not self.settings.rollover and n < R.FIFO_DEPTH:
                self.write_register(R.FIFO_RD_PTR, rd)
                return
            rd_now = self.read_register(R.FIFO_RD_PTR)
            self.write_register(R.FIFO_RD_PTR, rd_now)
            st.pending_lost += (rd_now - rd) % R.FIFO_DEPTH or n
        except SensorError:
            st.pending_lost += n
            st.resync = True  # realign at the next drain

    def _recover_power_loss(self, flags: dict[str, bool]) -> FifoBatch:
        """PWR_RDY: the chip browned out and came back with POR values; configure it again."""
        s = self.settings
        st = self._state
        now = self.clock.monotonic()
        rate = s.output_rate_sps
        # the restarted chip's first sample (now + 1/rate), as an index on the old time base
        next_index = max(st.next_index, round((now + 1.0 / rate - self.t0_s) * rate))
        lost = next_index - st.next_index
        log.warning("the %s restarted (PWR_RDY); reconfiguring, about %d samples lost", self._where(), lost)
        empty = np.zeros(0, dtype=np.int32)
        t0_s = self.t0_s
        self.configure(s)
        self.t0_s = t0_s  # indices continue on the old time base
        self._state.next_index = next_index
        return FifoBatch(empty, empty.copy(), lost,
                         FifoFlags(chip_restarted=True, lost_estimated=True, led_changed=True),
                         next_index, 0, s.output_rate_sps, t0_s)

    # ---- temperature, power -----------------------------------------------------------------
    def temperature_c(self, timeout_s: float = 0.1, poll_s: float = 0.002) -> float:
        """Die temperature (DS p22): set TEMP_EN, poll DIE_TEMP_RDY (not TEMP_EN, SF#19), read
        TINT (two's complement) + TFRAC x 0.0625. Conversion takes about 29 ms (DS p4)."""
        self.read_register(R.INT_STATUS_2)  # clear a stale DIE_TEMP_RDY
        self.write_register(R.TEMP_CONFIG, R.TEMP_EN)
        deadline = self.clock.monotonic() + timeout_s
        self.clock.sleep(R.TEMP_CONVERSION_S)
        while not self.read_register(R.INT_STATUS_2) & R.INT_DIE_TEMP_RDY:
            if self.clock.monotonic() >= deadline:
                raise SensorTimeout(errno_mod.ETIMEDOUT, f"the {self._where()} gave no temperature within "
                                    f"{timeout_s * 1000:.0f} ms")
            self.clock.sleep(poll_s)
        tint, tfrac = self.read_registers(R.TEMP_INT, 2)
        whole = tint - 256 if tint & 0x80 else tint
        return whole + (tfrac & 0x0F) * R.TFRAC_STEP_C

    def shutdown(self) -> None:
        """SHDN (DS p18): LEDs off, registers kept, interrupts cleared."""
        mode = self._settings.mode_code if self._settings else 0
        self.write_register(R.MODE_CONFIG, R.MODE_SHDN | mode)

    def close(self) -> None:
        """Shut the chip down (best effort); the bus stays open: its owner closes it."""
        try:
            self.shutdown()
        except SensorError as exc:
            log.warning("could not shut down the %s: %s", self._where(), exc)

    def __enter__(self) -> MAX30102:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
