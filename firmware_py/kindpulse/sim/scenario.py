"""Scenarios: a day (or a minute) of a wearer, as TOML segments -> a PPG source with truth.

    description = "..."
    seed = 7
    [defaults]                 # applied to every segment
    hr_bpm = 66
    [config.baseline]          # optional device config overrides, same tables as config.toml
    ...
    [[segments]]
    name = "calm"
    duration = "25m"           # "8h", "90s", "1h30m" or seconds
    hr_bpm = 66                # mean heart rate
    rmssd_ms = 42              # short-term HRV
    resp_rate_hz = 0.25        # breathing
    stress = 0.0               # 0..1: 1 = HR +12 bpm, RMSSD -45 %, breathing +0.07 Hz
    ramp = "60s"               # transition from the previous segment's values
    motion_per_hour = 4        # random motion bursts (seeded)
    motion_s = 6               # mean burst length
    motion_strength = 4.0      # in pulse amplitudes
    finger = true              # false: no finger on the sensor for the whole segment
    press_at = ["30s"]         # button presses, from the segment's start
    long_press_at = []         # long presses (snooze)

    [wearer]                   # how the emulated wearer answers the device (sim/wearer.py)
    follows_pacer = true       # breathe with the break's pacer (default true)
    accept_prompts_after = "15s"   # press this long after each prompt (default: never)

Bundled scenarios live in ``kindpulse/sim/scenarios/NAME.toml``.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from kindpulse.errors import ConfigError
from kindpulse.inputs import MAX_DURATION_S, check_number, exists, read_toml
from kindpulse.sim.sources import WearerSource
from kindpulse.sim.wearer import Wearer, WearerConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# What "stress = 1" means: the change the device must notice (issue: ~12 bpm, ~45 % RMSSD).
STRESS_HR_RISE_BPM = 12.0
STRESS_RMSSD_FALL = 0.45
STRESS_RESP_RISE_HZ = 0.07

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")


def parse_duration(value: Any, name: str = "duration", *, allow_zero: bool = False) -> float:
    """'8h', '25m', '90s', '1h30m' or a number of seconds -> seconds, > 0 (>= 0 with `allow_zero`)
    and at most 90 days (`kindpulse.inputs.MAX_DURATION_S`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{name} must be a duration like 90s, 25m or 8h, not {value!r}")
    if isinstance(value, str):
        m = _DURATION.match(value)
        if not m or not any(m.groups()):
            raise ConfigError(f"{name} must be a duration like 90s, 25m or 8h, not {value!r}")
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise ConfigError(f"{name} must be at most 90 days (2160h), not {value!r}")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ConfigError(f"{name} must be positive, not {value!r}")
    return seconds


@dataclass(frozen=True)
class Segment:
    duration_s: float
    name: str = ""
    hr_bpm: float = 66.0
    rmssd_ms: float = 42.0
    resp_rate_hz: float = 0.25
    stress: float = 0.0
    ramp_s: float = 60.0
    motion_per_hour: float = 0.0
    motion_s: float = 6.0
    motion_strength: float = 4.0
    finger: bool = True
    press_at_s: tuple[float, ...] = ()
    long_press_at_s: tuple[float, ...] = ()

    @property
    def effective_hr_bpm(self) -> float:
        return self.hr_bpm + STRESS_HR_RISE_BPM * self.stress

    @property
    def effective_rmssd_ms(self) -> float:
        return self.rmssd_ms * (1.0 - STRESS_RMSSD_FALL * self.stress)

    @property
    def effective_resp_rate_hz(self) -> float:
        return self.resp_rate_hz + STRESS_RESP_RISE_HZ * self.stress


_SEGMENT_KEYS = {
    "name", "duration", "hr_bpm", "rmssd_ms", "resp_rate_hz", "stress", "ramp", "motion_per_hour",
    "motion_s", "motion_strength", "finger", "press_at", "long_press_at",
}


# Kinds and ranges of the segment numbers: what a person (and the synthesiser) can do.
_RANGES = {
    "hr_bpm": (30.0, 220.0),
    "rmssd_ms": (0.0, 300.0),
    "resp_rate_hz": (0.05, 1.0),  # 3 to 60 breaths a minute
    "stress": (0.0, 1.0),
    "motion_per_hour": (0.0, 600.0),  # 600 bursts of 6 s an hour: moving all the time
    "motion_s": (0.1, 600.0),
    "motion_strength": (0.0, 100.0),  # pulse amplitudes
}


MAX_MOTION_BURSTS = 100_000  # each burst keeps its own waveform parameters in memory


def _segment(raw: Any, where: str) -> Segment:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table ([[segments]] with keys), not {raw!r}")
    unknown = set(raw) - _SEGMENT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_SEGMENT_KEYS))})")
    if "duration" not in raw:
        raise ConfigError(f"{where}: every segment needs a duration, e.g. duration = \"10m\"")
    kw: dict[str, Any] = {"duration_s": parse_duration(raw["duration"], f"{where}.duration")}
    for key, (lo, hi) in _RANGES.items():
        if key in raw:
            kw[key] = check_number(raw[key], f"{where}.{key}", lo=lo, hi=hi)
    if "name" in raw:
        if not isinstance(raw["name"], str):
            raise ConfigError(f"{where}.name must be a string, not {raw['name']!r}")
        kw["name"] = raw["name"]
    if "ramp" in raw:
        ramp = raw["ramp"]
        kw["ramp_s"] = 0.0 if ramp == "0" else parse_duration(ramp, f"{where}.ramp", allow_zero=True)
    if "finger" in raw:
        if not isinstance(raw["finger"], bool):
            raise ConfigError(f"{where}.finger must be true or false, not {raw['finger']!r}")
        kw["finger"] = raw["finger"]
    for key in ("press_at", "long_press_at"):
        if key in raw:
            values = raw[key] if isinstance(raw[key], list) else [raw[key]]
            if len(values) > 10_000:
                raise ConfigError(f"{where}.{key} lists {len(values)} presses; at most 10000")
            kw[f"{key}_s"] = tuple(parse_duration(v, f"{where}.{key}", allow_zero=True) for v in values)
    return Segment(**kw)


@dataclass(frozen=True)
class Scenario:
    name: str
    segments: tuple[Segment, ...]
    description: str = ""
    seed: int = 0
    config: dict = field(default_factory=dict)
    wearer: WearerConfig = field(default_factory=WearerConfig)

    @property
    def duration_s(self) -> float:
        return float(sum(s.duration_s for s in self.segments))

    def starts_s(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum([s.duration_s for s in self.segments])])

    def _profile(self, attr: str) -> tuple[np.ndarray, np.ndarray]:
        """Knots of a piecewise-linear profile: each segment ramps in, then holds."""
        starts = self.starts_s()
        xs, ys = [], []
        for i, seg in enumerate(self.segments):
            ramp = 0.0 if i == 0 else min(seg.ramp_s, seg.duration_s)
            xs += [starts[i] + ramp, starts[i + 1]]
            ys += [getattr(seg, attr)] * 2
        return np.asarray(xs), np.asarray(ys)

    def presses(self) -> tuple[list[float], list[float]]:
        """Absolute times (s) of short and long button presses."""
        starts = self.starts_s()
        short = [starts[i] + t for i, s in enumerate(self.segments) for t in s.press_at_s]
        long_ = [starts[i] + t for i, s in enumerate(self.segments) for t in s.long_press_at_s]
        return sorted(short), sorted(long_)

    def stress_onsets_s(self) -> list[float]:
        """Start times of segments that raise stress above the previous one (the truth for latency)."""
        starts = self.starts_s()
        out = []
        for i, seg in enumerate(self.segments):
            prev = self.segments[i - 1].stress if i else 0.0
            if seg.stress >= 0.5 > prev:
                out.append(float(starts[i]))
        return out

    def source(self, t0_s: float = 1.0, until_s: float | None = None) -> WearerSource:
        """The emulated finger: a wearer living the profiles (and answering the device's breaks),
        motion bursts and finger-off stretches. The wearer makes its beats as the run goes; with
        `until_s` (s), motion and finger-off stretches are drawn only that far (a 90-day scenario
        run for a minute does not draw 90 days of bursts first)."""
        rng = np.random.default_rng(self.seed)
        span_s = self.duration_s if until_s is None else min(self.duration_s, float(until_s))
        profiles = {a: self._profile(a) for a in ("effective_hr_bpm", "effective_rmssd_ms", "effective_resp_rate_hz")}

        def at(attr: str):
            xs, ys = profiles[attr]
            return lambda t: float(np.interp(t - t0_s, xs, ys))

        wearer = Wearer(at("effective_hr_bpm"), at("effective_rmssd_ms"), at("effective_resp_rate_hz"),
                        seed=self.seed, t0_s=t0_s, config=self.wearer)
        starts = self.starts_s()
        motion, finger_off = [], []
        for i, seg in enumerate(self.segments):
            a, b = starts[i], starts[i + 1]
            if a > span_s:
                break
            if not seg.finger:
                finger_off.append((a, b))
            if seg.motion_per_hour > 0:
                n = rng.poisson(seg.motion_per_hour * seg.duration_s / 3600.0)
                for t in np.sort(rng.uniform(a, b, n)):
                    length = seg.motion_s * rng.uniform(0.5, 1.5)
                    motion.append((float(t), float(min(t + length, b)), seg.motion_strength * rng.uniform(0.5, 1.5)))
        return WearerSource(wearer, seed=self.seed + 1, motion=motion, finger_off=finger_off)


def _wearer(raw: Any, name: str) -> WearerConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"scenario {name}: [wearer] must be a table")
    known = {"follows_pacer", "accept_prompts_after"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"scenario {name}: [wearer] has unknown key {sorted(unknown)[0]!r} "
                          f"(known: {', '.join(sorted(known))})")
    follows = raw.get("follows_pacer", True)
    if not isinstance(follows, bool):
        raise ConfigError(f"scenario {name}: wearer.follows_pacer must be true or false")
    accept = raw.get("accept_prompts_after")
    if accept in (None, False, "never"):
        after = None
    else:
        where = f"scenario {name}: wearer.accept_prompts_after"
        after = 0.0 if accept in (0, "0", "0s") else parse_duration(accept, where)
    return WearerConfig(follows_pacer=follows, accept_after_s=after)


def scenario_from_dict(data: dict, name: str) -> Scenario:
    """Check every value's kind and range (one-line `ConfigError` naming it) -> `Scenario`."""
    known = {"description", "seed", "defaults", "config", "segments", "wearer"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"scenario {name}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
    segments = data.get("segments")
    if not isinstance(segments, list) or not segments:
        raise ConfigError(f"scenario {name}: needs at least one [[segments]] table")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"scenario {name}: [defaults] must be a table of segment keys, not {defaults!r}")
    segs = tuple(_segment({**defaults, **raw} if isinstance(raw, dict) else raw,
                          f"scenario {name}: segments[{i}]") for i, raw in enumerate(segments))
    total = sum(seg.duration_s for seg in segs)
    if total > MAX_DURATION_S:
        raise ConfigError(f"scenario {name}: the segments last {total / 86400:.0f} days; at most 90 days")
    bursts = sum(seg.motion_per_hour * seg.duration_s / 3600.0 for seg in segs)
    if bursts > MAX_MOTION_BURSTS:
        raise ConfigError(f"scenario {name}: about {bursts:.0f} motion bursts in all; at most "
                          f"{MAX_MOTION_BURSTS} (lower motion_per_hour or shorten the segments)")
    seed = check_number(data.get("seed", 0), f"scenario {name}: seed", lo=0, hi=2**32 - 2, integer=True)
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"scenario {name}: [config] must be a table")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"scenario {name}: description must be a string")
    return Scenario(name=name, segments=segs, description=description, seed=int(seed), config=config,
                    wearer=_wearer(data.get("wearer", {}), name))


def bundled_names() -> list[str]:
    folder = resources.files("kindpulse.sim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_scenario(name_or_path: str) -> Scenario:
    """A bundled scenario by name, or a TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or exists(path):
        data, name = read_toml(path, "scenario"), path.stem
    else:
        res = resources.files("kindpulse.sim") / "scenarios" / f"{name_or_path}.toml"
        if not res.is_file():
            raise ConfigError(
                f"no scenario named {name_or_path!r}: use one of {', '.join(bundled_names())} or a .toml file"
            )
        text, name = res.read_text(encoding="utf-8"), name_or_path
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"scenario {name} is not valid TOML ({exc})") from None
    return scenario_from_dict(data, name)
