"""MAX30102 register map as data, from the Maxim datasheet 19-7740 Rev 1 (10/18).

Page numbers are the PDF's. Both the driver (`sensor.max30102`) and the emulator
(`sim.max30102`) read this module, so an encoding bug cannot hide in a mirror image:
the emulator's behaviour tests check it against the datasheet facts independently.

Units are in the names: `_sps` samples per second, `_us` microseconds, `_na` nanoamps,
`_ma` milliamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

I2C_ADDRESS = 0x57  # 7-bit; 0xAE write / 0xAF read (DS p29)
PART_ID_VALUE = 0x15  # DS p11; the MAX30101/30105 answer the same value
FIFO_DEPTH = 32  # samples (DS p14)
BYTES_PER_CHANNEL = 3  # left-justified 18-bit value, MSB first (DS p14-15)
FULL_SCALE_18BIT = (1 << 18) - 1
DATA_MASK_18BIT = 0x3FFFF
OVF_COUNTER_MAX = 0x1F  # OVF_COUNTER saturates here (DS p13)
TEMP_CONVERSION_S = 0.029  # die temperature conversion, typical (DS p4)
TFRAC_STEP_C = 0.0625  # DS p22
LED_MA_PER_LSB = 0.2  # LEDx_PA: 0x1F = 6.2 mA, 0xFF = 51.0 mA typical (DS p20)
LED_MA_MAX = 0xFF * LED_MA_PER_LSB


@dataclass(frozen=True)
class Field:
    """A bit field inside a register. `codes` maps a value in the field's unit to its raw code."""

    name: str
    mask: int
    codes: Mapping[int, int] | None = None

    @property
    def shift(self) -> int:
        return (self.mask & -self.mask).bit_length() - 1

    def encode(self, value: int) -> int:
        """Raw bits for `value`, in position. Rejects values the datasheet does not list."""
        if self.codes is not None:
            if value not in self.codes:
                allowed = ", ".join(str(k) for k in self.codes)
                raise ValueError(f"{self.name}={value} is not one of {allowed}")
            raw = self.codes[value]
        else:
            raw = int(value)
        if raw < 0 or (raw << self.shift) & ~self.mask:
            raise ValueError(f"{self.name}={value} does not fit mask 0x{self.mask:02X}")
        return raw << self.shift

    def decode(self, reg_value: int) -> int:
        raw = (reg_value & self.mask) >> self.shift
        if self.codes is None:
            return raw
        for value, code in self.codes.items():
            if code == raw:
                return value
        raise ValueError(f"{self.name}: raw code {raw} is not in the datasheet table")


@dataclass(frozen=True)
class Register:
    name: str
    addr: int
    fields: tuple[Field, ...] = ()
    por: int = 0x00
    writable: bool = True
    _by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", MappingProxyType({f.name: f for f in self.fields}))

    def field(self, name: str) -> Field:
        return self._by_name[name]

    def pack(self, **values: int) -> int:
        """Register byte with the given fields set; fields not named are 0."""
        out = 0
        for name, value in values.items():
            out |= self.field(name).encode(value)
        return out


def _codes(values: tuple[int, ...]) -> Mapping[int, int]:
    return MappingProxyType({v: i for i, v in enumerate(values)})


# Option tables (DS p17-19). Index in the tuple = raw code.
SMP_AVE_CHOICES = (1, 2, 4, 8, 16, 32)  # codes 101..111 all mean 32
SAMPLE_RATES_SPS = (50, 100, 200, 400, 800, 1000, 1600, 3200)
LED_PW_US = (69, 118, 215, 411)
ADC_RANGES_NA = (2048, 4096, 8192, 16384)
ADC_BITS_BY_PW_US = MappingProxyType({69: 15, 118: 16, 215: 17, 411: 18})
SLOT_TIME_US_BY_PW = MappingProxyType({69: 427.1, 118: 524.7, 215: 720.0, 411: 1106.6})  # DS p3

MODE_HR = 0b010  # Red only
MODE_SPO2 = 0b011  # Red + IR
MODE_MULTI = 0b111
MODES = MappingProxyType({"hr": MODE_HR, "spo2": MODE_SPO2, "multi": MODE_MULTI})

# Slot codes for MULTI_LED_CTRL (DS p21). 011/100 are "none" on the MAX30102.
SLOT_OFF, SLOT_RED, SLOT_IR = 0b000, 0b001, 0b010

INT_A_FULL = 1 << 7
INT_PPG_RDY = 1 << 6
INT_ALC_OVF = 1 << 5
INT_PWR_RDY = 1 << 0
INT_DIE_TEMP_RDY = 1 << 1  # in INT_STATUS_2
MODE_SHDN = 1 << 7
MODE_RESET = 1 << 6
TEMP_EN = 1 << 0

INT_STATUS_1 = Register("INT_STATUS_1", 0x00, (Field("a_full", INT_A_FULL), Field("ppg_rdy", INT_PPG_RDY),
                                              Field("alc_ovf", INT_ALC_OVF), Field("pwr_rdy", INT_PWR_RDY)),
                        writable=False)
INT_STATUS_2 = Register("INT_STATUS_2", 0x01, (Field("die_temp_rdy", INT_DIE_TEMP_RDY),), writable=False)
INT_ENABLE_1 = Register(
    "INT_ENABLE_1",
    0x02,
    (Field("a_full_en", INT_A_FULL), Field("ppg_rdy_en", INT_PPG_RDY), Field("alc_ovf_en", INT_ALC_OVF)),
)
INT_ENABLE_2 = Register("INT_ENABLE_2", 0x03, (Field("die_temp_rdy_en", INT_DIE_TEMP_RDY),))
FIFO_WR_PTR = Register("FIFO_WR_PTR", 0x04, (Field("fifo_wr_ptr", 0x1F),))
OVF_COUNTER = Register("OVF_COUNTER", 0x05, (Field("ovf_counter", 0x1F),))
FIFO_RD_PTR = Register("FIFO_RD_PTR", 0x06, (Field("fifo_rd_ptr", 0x1F),))
FIFO_DATA = Register("FIFO_DATA", 0x07)
FIFO_CONFIG = Register("FIFO_CONFIG", 0x08, (
    Field("smp_ave", 0xE0, _codes(SMP_AVE_CHOICES)),
    Field("fifo_rollover_en", 0x10),
    Field("fifo_a_full_empty_slots", 0x0F),  # IRQ when this many slots are still empty (DS p17)
))
MODE_CONFIG = Register("MODE_CONFIG", 0x09, (Field("shdn", MODE_SHDN), Field("reset", MODE_RESET),
                                            Field("mode", 0x07)))
SPO2_CONFIG = Register("SPO2_CONFIG", 0x0A, (
    Field("adc_range_na", 0x60, _codes(ADC_RANGES_NA)),
    Field("sample_rate_sps", 0x1C, _codes(SAMPLE_RATES_SPS)),
    Field("led_pw_us", 0x03, _codes(LED_PW_US)),
))
LED1_PA = Register("LED1_PA", 0x0C, (Field("led1_pa_lsb", 0xFF),))  # Red
LED2_PA = Register("LED2_PA", 0x0D, (Field("led2_pa_lsb", 0xFF),))  # IR
MULTI_LED_CTRL1 = Register("MULTI_LED_CTRL1", 0x11, (Field("slot2", 0x70), Field("slot1", 0x07)))
MULTI_LED_CTRL2 = Register("MULTI_LED_CTRL2", 0x12, (Field("slot4", 0x70), Field("slot3", 0x07)))
TEMP_INT = Register("TEMP_INT", 0x1F, writable=False)  # two's complement degrees C
TEMP_FRAC = Register("TEMP_FRAC", 0x20, (Field("tfrac", 0x0F),), writable=False)
TEMP_CONFIG = Register("TEMP_CONFIG", 0x21, (Field("temp_en", TEMP_EN),))
REV_ID = Register("REV_ID", 0xFE, writable=False)
PART_ID = Register("PART_ID", 0xFF, por=PART_ID_VALUE, writable=False)

REGISTERS: tuple[Register, ...] = (
    INT_STATUS_1, INT_STATUS_2, INT_ENABLE_1, INT_ENABLE_2, FIFO_WR_PTR, OVF_COUNTER, FIFO_RD_PTR,
    FIFO_DATA, FIFO_CONFIG, MODE_CONFIG, SPO2_CONFIG, LED1_PA, LED2_PA, MULTI_LED_CTRL1,
    MULTI_LED_CTRL2, TEMP_INT, TEMP_FRAC, TEMP_CONFIG, REV_ID, PART_ID,
)
BY_ADDR: Mapping[int, Register] = MappingProxyType({r.addr: r for r in REGISTERS})


def por_values() -> bytearray:
    """All 256 power-on-reset values (DS p10-11): reserved 0x13-0x17 come up 0xFF."""
    regs = bytearray(256)
    for addr in range(0x13, 0x18):
        regs[addr] = 0xFF
    for reg in REGISTERS:
        regs[reg.addr] = reg.por
    return regs


# Reserved registers the datasheet marks read-only (DS p11); writes to them are ignored.
READ_ONLY_ADDRS = frozenset({0x00, 0x01, 0x1F, 0x20, 0xFE, 0xFF, *range(0x18, 0x1F)})


def max_sample_rate_sps(mode: int, led_pw_us: int) -> int:
    """Highest sample rate allowed for this mode and pulse width (DS p23 Tables 11 and 12).

    SpO2 (and multi-LED, which uses the same two-slot budget) limits: 800 sps up to 215 us,
    1000 sps up to 118 us, 1600 sps only at 69 us, 3200 never. HR (one slot): 1600 sps up to
    215 us, 3200 sps only at 69 us.
    """
    if led_pw_us not in ADC_BITS_BY_PW_US:
        raise ValueError(f"led_pw_us={led_pw_us} is not one of {LED_PW_US}")
    if mode == MODE_HR:
        return {69: 3200, 118: 1600, 215: 1600, 411: 1000}[led_pw_us]
    return {69: 1600, 118: 1000, 215: 800, 411: 400}[led_pw_us]


def sample_rate_allowed(mode: int, sample_rate_sps: int, led_pw_us: int) -> bool:
    return sample_rate_sps in SAMPLE_RATES_SPS and sample_rate_sps <= max_sample_rate_sps(mode, led_pw_us)


def adc_shift(led_pw_us: int) -> int:
    """Right shift that turns the left-justified 18-bit FIFO value into ADC counts (DS p14-15)."""
    return 18 - ADC_BITS_BY_PW_US[led_pw_us]


def led_ma_to_lsb(current_ma: float) -> int:
    """LEDx_PA code for a current; rounds to the 0.2 mA step, rejects out-of-range currents."""
    if not 0.0 <= current_ma <= LED_MA_MAX + 1e-9:
        raise ValueError(f"LED current {current_ma} mA is outside 0..{LED_MA_MAX:.1f} mA")
    return min(0xFF, round(current_ma / LED_MA_PER_LSB))


def led_lsb_to_ma(code: int) -> float:
    return code * LED_MA_PER_LSB
