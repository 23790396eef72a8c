"""TOML config -> frozen dataclasses, with one-line errors that name the key.

Each part owns its config dataclass (units in field names, defaults, checks in
``__post_init__``); this module only composes them into one `Config` and maps
the TOML tables onto them. Missing file -> built-in defaults (unless the user
named the file). Unknown key or bad value -> `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kindpulse.errors import ConfigError
from kindpulse.hardware.display import KINDS as DISPLAY_KINDS
from kindpulse.hardware.max30102 import SensorSettings
from kindpulse.inputs import check_number, exists, read_toml
from kindpulse.stress.baseline import BaselineConfig
from kindpulse.stress.rolling import RollingConfig
from kindpulse.stress.trigger import TriggerConfig
from kindpulse.ui.break_script import BreakConfig

DEFAULT_PATH = Path("/etc/kindpulse/config.toml")
MODES = ("worn", "desk")


@dataclass(frozen=True)
class DeviceConfig:
    """Where the device keeps its data and how it is used."""

    mode: str = "worn"  # "worn" (finger clip, continuous) or "desk" (finger now and then)
    data_dir: str = "/var/lib/kindpulse"
    i2c_bus: int = 1
    sensor_address: int = 0x57
    red_ir_swapped: bool = False  # some clone boards deliver IR first in the FIFO
    led_auto_adjust: bool = True  # keep the DC level in a good band of the ADC range
    timezone_offset_min: int = 0  # local time = UTC + this, for quiet hours (the Pi may have no TZ set)
    keep_raw_ppg_days: float = 7.0  # raw sensor counts (~70 MB a day) are pruned after this; 0 = keep none

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.keep_raw_ppg_days < 0:
            raise ConfigError("keep_raw_ppg_days must be 0 (keep none) or positive")
        if not 0 <= self.sensor_address <= 0x7F:
            raise ConfigError("sensor_address must be a 7-bit I2C address (0x57 for the MAX30102)")


@dataclass(frozen=True)
class PinsConfig:
    """BCM pin numbers (see hardware/README.md for the wiring)."""

    button_pin: int = 17
    motor_pin: int = 18
    int_pin: int = 4  # MAX30102 INT (active low); -1 = not wired, poll the FIFO
    motor_pwm_hz: float = 200.0

    def __post_init__(self) -> None:
        for name in ("button_pin", "motor_pin"):
            if not 0 <= getattr(self, name) <= 27:
                raise ConfigError(f"{name} must be a BCM GPIO number 0-27")
        if not -1 <= self.int_pin <= 27:
            raise ConfigError("int_pin must be a BCM GPIO number 0-27, or -1 when INT is not wired")
        used = [(name, getattr(self, name)) for name in ("button_pin", "motor_pin", "int_pin")]
        for i, (a, pin) in enumerate(used):
            for b, other in used[i + 1:]:
                if pin == other and pin >= 0:
                    raise ConfigError(f"{a} and {b} are both GPIO {pin}: give each its own pin")


@dataclass(frozen=True)
class DisplayConfig:
    """The OLED: driver chip, I2C address (on the sensor's bus) and rotation."""

    kind: str = "ssd1306"  # one of hardware.display.KINDS (ssd1306, sh1106, dummy, emulator)
    address: int = 0x3C
    rotate: int = 0  # 0-3, quarter turns
    fps_idle: float = 1.0
    fps_break: float = 8.0  # the breathing animation

    def __post_init__(self) -> None:
        if self.kind not in DISPLAY_KINDS:
            raise ConfigError(f"kind must be one of {', '.join(DISPLAY_KINDS)}, not {self.kind!r}")
        if self.rotate not in (0, 1, 2, 3):
            raise ConfigError("rotate must be 0, 1, 2 or 3 (quarter turns)")
        if not (0 < self.fps_idle <= 30 and 0 < self.fps_break <= 30):
            raise ConfigError("fps_idle and fps_break must be in (0, 30]")


@dataclass(frozen=True)
class PromptConfig:
    """How long the invitation waits, how long the result stays, desk check-ins."""

    timeout_s: float = 90.0
    result_s: float = 20.0
    checkin_interval_min: float = 0.0  # desk mode: invite a check-in this often (0 = never)

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.result_s <= 0:
            raise ConfigError("timeout_s and result_s must be positive")
        if self.checkin_interval_min < 0:
            raise ConfigError("checkin_interval_min must be 0 (off) or positive")


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = field(default_factory=DeviceConfig)
    sensor: SensorSettings = field(default_factory=SensorSettings)
    pins: PinsConfig = field(default_factory=PinsConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    rolling: RollingConfig = field(default_factory=RollingConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    trigger: TriggerConfig = field(default_factory=TriggerConfig)
    break_: BreakConfig = field(default_factory=BreakConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)


# TOML table name -> Config attribute ("break" is a Python keyword)
_TABLES = {f.name.rstrip("_"): f.name for f in dataclasses.fields(Config)}


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, not {value!r}")
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, key) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be a whole number, not {value!r}")
        return value
    if hint is float:  # NaN would pass every range check below it (nan <= 0 is False)
        return check_number(value, key)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, not {value!r}")
        return value
    return value


def _build(cls: type, table: dict, prefix: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"[{prefix}] must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in table.items():
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"unknown key {prefix}.{key} (known keys in [{prefix}]: {known})")
        kwargs[key] = _coerce(value, hints[key], f"{prefix}.{key}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"[{prefix}] {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{prefix}] {exc}") from None


def config_from_dict(data: dict, base: Config | None = None) -> Config:
    """Build a `Config` from parsed TOML, on top of ``base`` (defaults when None)."""
    base = base or Config()
    parts = {}
    for table, value in data.items():
        if table not in _TABLES:
            raise ConfigError(f"unknown table [{table}] (known: {', '.join(sorted(_TABLES))})")
        attr = _TABLES[table]
        current = getattr(base, attr)
        merged = {f.name: getattr(current, f.name) for f in dataclasses.fields(current) if f.init}
        merged.update(value if isinstance(value, dict) else {"": value})
        parts[attr] = _build(type(current), merged, table)
    return dataclasses.replace(base, **parts)


def load_config(path: Path | str | None = None, *, required: bool = False) -> Config:
    """Load the TOML config at ``path`` (default /etc/kindpulse/config.toml).

    An absent file gives the built-in defaults unless ``required`` (the user named it).
    """
    p = Path(path) if path is not None else DEFAULT_PATH
    if not exists(p):
        if required:
            raise ConfigError(f"config file {p} not found: check the path, or leave out --config for the defaults")
        return Config()
    data = read_toml(p, "config file")
    try:
        return config_from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
