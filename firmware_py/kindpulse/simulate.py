"""`kindpulse sim`: the whole device on emulated hardware, from a scenario or a recording.

The daemon's `Device` runs unchanged on `EmulatedMAX30102` + `EmulatedBus`,
`FakePins` and luma's dummy display, on a `VirtualClock`. Button presses are
scheduled on the virtual clock. Outputs in DIR: events.jsonl, frames.gif (the
OLED), kindpulse.sqlite (the log) and summary.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import heapq
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kindpulse.cli import positive_number
from kindpulse.clock import VirtualClock
from kindpulse.config import Config, config_from_dict, load_config
from kindpulse.errors import ConfigError, InputError
from kindpulse.sim.scenario import Scenario, load_scenario, parse_duration
from kindpulse.sim.sources import PPGSource, RecordedSource, SyntheticSource

SIM_DATE = dt.date(2026, 1, 5)  # a Monday; the wall clock of a simulation
SHORT_PRESS_S = 0.2
LONG_PRESS_S = 2.0
OUTPUTS = ("events.jsonl", "frames.gif", "kindpulse.sqlite", "kindpulse.sqlite-wal", "kindpulse.sqlite-shm",
           "summary.json")


@dataclasses.dataclass
class SimResult:
    duration_s: float
    wall_s: float
    events: list[dict]
    frames: int

    @property
    def speedup(self) -> float:
        return self.duration_s / self.wall_s if self.wall_s > 0 else float("inf")


class FrameRecorder:
    """Keeps OLED frames for the GIF: every change during prompts and breaks, else at most one per `idle_every_s`."""

    def __init__(self, idle_every_s: float = 5.0, max_frames: int = 3000) -> None:
        self.idle_every_s = idle_every_s
        self.max_frames = max_frames
        self.frames: list[tuple[float, Any]] = []
        self._last_t = -np.inf

    def add(self, t: float, image: Any, busy: bool) -> None:
        if not busy and t - self._last_t < self.idle_every_s:
            return
        if len(self.frames) >= self.max_frames:
            self.frames = self.frames[::2]  # thin out evenly rather than stop recording
            self.idle_every_s *= 2
        self.frames.append((t, image.copy()))
        self._last_t = t

    def save_gif(self, path: Path, end_t: float, speed: float = 20.0) -> int:
        """Animated GIF; each frame lasts its device time divided by `speed`, 80 ms to 2 s."""
        if not self.frames:
            return 0
        images = [img.convert("L").resize((256, 128)) for _, img in self.frames]
        times = [t for t, _ in self.frames] + [end_t]
        durations = [int(min(2000, max(80, 1000 * (b - a) / speed))) for a, b in zip(times, times[1:], strict=False)]
        images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)
        return len(images)


def terminal_frame(image: Any) -> str:
    """The 128x64 OLED as 32 lines of Unicode half blocks."""
    px = np.asarray(image.convert("1"), dtype=bool)
    chars = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584", (True, True): "\u2588"}
    lines = ["".join(chars[(bool(px[r, c]), bool(px[r + 1, c]))] for c in range(px.shape[1]))
             for r in range(0, px.shape[0] - 1, 2)]
    border = "+" + "-" * px.shape[1] + "+"
    return "\n".join([border, *("|" + line + "|" for line in lines), border])


def _read_column(path: Path, what: str) -> np.ndarray:
    """One numeric column (a header line allowed) -> float array."""
    if not path.exists():
        raise InputError(f"{what} file {path} not found: check the path")
    values = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({exc})") from None
    for i, line in enumerate(lines):
        cell = line.split(",")[0].strip()
        if not cell:
            continue
        try:
            values.append(float(cell))
        except ValueError:
            if i == 0:
                continue  # header
            raise InputError(f"{path}:{i + 1}: {cell!r} is not a number: {what} files hold one number per line") from None
    if len(values) < 2:
        raise InputError(f"{path} holds no {what} values: expected one number per line")
    return np.asarray(values, dtype=np.float64)


@dataclasses.dataclass
class SimPlan:
    source: PPGSource
    duration_s: float
    presses: list[tuple[float, str]]
    config_overrides: dict
    name: str
    truth: Any = None  # the Scenario, when there is one


def plan_from_args(args: argparse.Namespace) -> SimPlan:
    chosen = [x for x in (args.scenario, args.rr, args.ppg) if x is not None]
    if len(chosen) > 1:
        raise ConfigError("choose one of --scenario, --rr and --ppg")
    duration = parse_duration(args.duration, "--duration") if args.duration is not None else None
    presses = [(float(t), "short") for t in args.press_at or []]
    if args.ppg is not None:
        if args.fs is None:
            raise ConfigError("--ppg needs --fs HZ, the sample rate of the recording (e.g. --fs 100)")
        counts = _read_column(Path(args.ppg), "PPG")
        src = RecordedSource(counts, args.fs, t0_s=0.0)
        return SimPlan(src, duration or src.duration_s, presses, {}, Path(args.ppg).stem)
    if args.rr is not None:
        rr = _read_column(Path(args.rr), "RR")
        if np.any(rr < 200) or np.any(rr > 3000):
            raise InputError(f"{args.rr}: RR values must be in ms (200-3000); seconds? multiply by 1000")
        src = SyntheticSource(rr, t0_s=1.0, seed=0)
        return SimPlan(src, duration or float(rr.sum() / 1000.0), presses, {}, Path(args.rr).stem)
    scenario: Scenario = load_scenario(args.scenario or "demo")
    short, long_ = scenario.presses()
    presses += [(t, "short") for t in short] + [(t, "long") for t in long_]
    return SimPlan(scenario.source(), duration or scenario.duration_s, presses, scenario.config, scenario.name, scenario)


def sim_config(base: Config, overrides: dict, data_dir: Path) -> Config:
    config = config_from_dict(overrides, base) if overrides else base
    return dataclasses.replace(
        config,
        device=dataclasses.replace(config.device, data_dir=str(data_dir), timezone_offset_min=0),
        display=dataclasses.replace(config.display, kind="dummy"),
    )


def _make_out_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{out} is a file, not a directory: give --out a directory") from None
    except OSError as exc:
        raise InputError(f"cannot create {out} ({exc.strerror}): choose another --out directory") from None


@dataclasses.dataclass
class SimRig:
    """The device on emulated hardware, with every part reachable (tests inject faults here)."""

    clock: VirtualClock
    chip: Any
    bus: Any
    pins: Any
    display: Any
    store: Any
    device: Any
    events: list[dict]
    _actions: list[tuple[float, int, str]] = dataclasses.field(default_factory=list)
    _seq: int = 0

    def schedule_press(self, t: float, kind: str = "short") -> None:
        """Press the button at device time t (s), short or long."""
        hold = LONG_PRESS_S if kind == "long" else SHORT_PRESS_S
        heapq.heappush(self._actions, (t, self._seq, "press"))
        heapq.heappush(self._actions, (t + hold, self._seq + 1, "release"))
        self._seq += 2

    def run_until(self, t_end: float, *, speed: float | None = None,
                  each_step: Callable[[float], None] | None = None) -> None:
        """Step the device until device time t_end, pressing the button on schedule."""
        device, button = self.device, self.device.config.pins.button_pin
        real_start, t_start = time.perf_counter(), device.now()
        while device.now() < t_end and not device.stopping:
            now = device.now()
            while self._actions and self._actions[0][0] <= now:
                _, _, action = heapq.heappop(self._actions)
                (self.pins.press if action == "press" else self.pins.release)(button)
            wait = device.step()
            if each_step is not None:
                each_step(device.now())
            next_action = self._actions[0][0] if self._actions else np.inf
            wait = max(0.0, min(wait, next_action - device.now(), t_end - device.now()))
            self.clock.advance(wait if wait > 0 else 1e-3)
            if speed is not None:
                ahead = (device.now() - t_start) / speed - (time.perf_counter() - real_start)
                if ahead > 0:
                    time.sleep(ahead)


def build_rig(
    source: PPGSource,
    config: Config,
    out: Path,
    *,
    start: dt.time = dt.time(9, 0),
    on_event: Callable[[dict], None] | None = None,
    on_frame: Callable[[float, Any], None] | None = None,
    chip_present: bool = True,
) -> SimRig:
    """Wire `Device` to the emulator, fake pins and a dummy display; the log goes to out/."""
    from kindpulse.daemon import Device
    from kindpulse.sensor.display import make_display
    from kindpulse.sim import EmulatedBus, EmulatedMAX30102, FakePins
    from kindpulse.store.db import Store

    _make_out_dir(out)
    wall_start = dt.datetime.combine(SIM_DATE, start, tzinfo=dt.timezone.utc).timestamp()
    clock = VirtualClock(wall_start=wall_start)
    chip = EmulatedMAX30102(clock=clock, source=source)
    chip.present = chip_present
    bus = EmulatedBus({config.device.sensor_address: chip})
    pins = FakePins(clock)
    display = make_display("dummy")
    store = Store(out / "kindpulse.sqlite", clock, keep_raw_ppg_days=config.device.keep_raw_ppg_days,
                  info={"sim": True})
    events: list[dict] = []

    def collect(ev: dict) -> None:
        events.append(ev)
        if on_event is not None:
            on_event(ev)

    device = Device(config, clock=clock, bus=bus, pins=pins, display=display, store=store,
                    on_event=collect, on_frame=on_frame)
    return SimRig(clock, chip, bus, pins, display, store, device, events)


def simulate(
    plan: SimPlan,
    config: Config,
    out: Path,
    *,
    start: dt.time = dt.time(9, 0),
    speed: float | None = None,
    accept_prompts_after_s: float | None = None,
    on_frame: Callable[[float, Any], None] | None = None,
) -> SimResult:
    """Run the device on emulated hardware; `speed` None = as fast as possible."""
    _make_out_dir(out)
    for name in OUTPUTS:  # a fresh run replaces the previous run's outputs, nothing else
        (out / name).unlink(missing_ok=True)
    events_file = (out / "events.jsonl").open("w", encoding="utf-8")
    rig: SimRig | None = None

    def on_event(ev: dict) -> None:
        events_file.write(json.dumps(ev) + "\n")
        if ev["type"] == "prompt" and accept_prompts_after_s is not None and rig is not None:
            rig.schedule_press(ev["t"] + accept_prompts_after_s)

    recorder = FrameRecorder()

    def frame(t: float, image: Any) -> None:
        recorder.add(t, image, busy=rig is not None and rig.device.session.state != "idle")
        if on_frame is not None:
            on_frame(t, image)

    real_start = time.perf_counter()
    rig = build_rig(plan.source, config, out, start=start, on_event=on_event, on_frame=frame)
    for t, kind in plan.presses:
        rig.schedule_press(t, kind)
    try:
        rig.run_until(plan.duration_s, speed=speed)
    finally:
        wall_s = time.perf_counter() - real_start
        rig.device.shutdown()
        events_file.close()
    frames = recorder.save_gif(out / "frames.gif", rig.device.now())
    result = SimResult(plan.duration_s, wall_s, rig.events, frames)
    summary = {
        "name": plan.name,
        "duration_s": plan.duration_s,
        "wall_s": round(wall_s, 2),
        "speedup": round(result.speedup, 1),
        "counts": {k: sum(1 for e in rig.events if e["type"] == k) for k in sorted({e["type"] for e in rig.events})},
        "frames_in_gif": frames,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return result


# -- CLI -------------------------------------------------------------------------------
def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed takes a number or 'max', not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("--speed must be positive")
    return value


def _hhmm(text: str) -> dt.time:
    try:
        return dt.datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise argparse.ArgumentTypeError(f"--start takes HH:MM (e.g. 09:00), not {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="the whole device on emulated hardware")
    src = p.add_argument_group("what the finger does (one of)")
    src.add_argument("--scenario", metavar="NAME_OR_FILE",
                     help="bundled: calm-day, stress-episode, exercise, finger-off, demo; or a .toml file")
    src.add_argument("--rr", metavar="FILE", help="RR intervals in ms, one per line")
    src.add_argument("--ppg", metavar="FILE", help="raw sensor counts, one per line (needs --fs)")
    p.add_argument("--fs", type=positive_number("--fs"), help="sample rate of --ppg in Hz")
    p.add_argument("--duration", help="how long, e.g. 90s, 25m, 8h (default: the scenario or recording)")
    p.add_argument("--speed", type=_speed, default=None, metavar="N|max",
                   help="times faster than real time (default max)")
    p.add_argument("--press-at", type=float, nargs="+", metavar="SECONDS", help="press the button at these times")
    p.add_argument("--accept-prompts-after", type=float, metavar="SECONDS",
                   help="press the button this long after each prompt")
    p.add_argument("--start", type=_hhmm, default=dt.time(9, 0), help="simulated wall clock at the start (HH:MM)")
    p.add_argument("--config", type=Path, help="device config TOML (default: built-in defaults)")
    p.add_argument("--live", action="store_true", help="show the OLED in the terminal")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="where events.jsonl, frames.gif and the log go")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    plan = plan_from_args(args)
    config = sim_config(load_config(args.config, required=True) if args.config else Config(), plan.config_overrides,
                        args.out)
    on_frame = None
    if args.live:
        tty = sys.stdout.isatty()
        last = [0.0]

        def on_frame(t: float, image: Any) -> None:
            now = time.perf_counter()
            if now - last[0] < 0.1:
                return
            last[0] = now
            clock_txt = f"t = {int(t // 60):3d} min {int(t % 60):02d} s"
            sys.stdout.write(("\x1b[H\x1b[2J" if tty else "") + terminal_frame(image) + f"\n {clock_txt}\n")
            sys.stdout.flush()

    result = simulate(plan, config, args.out, start=args.start, speed=args.speed,
                      accept_prompts_after_s=args.accept_prompts_after, on_frame=on_frame)
    print(f"simulated {plan.name}: {result.duration_s / 60:.1f} min in {result.wall_s:.1f} s "
          f"({result.speedup:.0f}x real time)")
    for e in result.events:
        if e["type"] in ("baseline_ready", "prompt", "break_start", "break_end", "dismissed", "snoozed",
                         "sensor_error", "sensor_recovered"):
            detail = {k: v for k, v in e.items() if k not in ("t", "type")}
            print(f"  {e['t'] / 60:6.1f} min  {e['type']:<16} {json.dumps(detail) if detail else ''}")
    print(f"wrote {args.out}/events.jsonl, frames.gif ({result.frames} frames), kindpulse.sqlite")
    return 0


def run_realtime_sim(config: Config, data_dir: Path | None = None) -> int:
    """`kindpulse run --sim`: a resting finger on the emulator at real speed until Ctrl-C or SIGTERM."""
    from kindpulse.daemon import install_sigterm

    out = data_dir or Path("out/run-sim")
    cfg = sim_config(config, {}, out)
    rig = build_rig(SyntheticSource.resting(24 * 3600.0), cfg, out, start=dt.datetime.now().time(),
                    on_event=lambda ev: print(json.dumps(ev), flush=True))
    install_sigterm(rig.device)
    print(f"kindpulse run --sim: emulated hardware at real speed, log in {out}/kindpulse.sqlite; Ctrl-C stops",
          flush=True)
    try:
        rig.run_until(24 * 3600.0, speed=1.0)
    except KeyboardInterrupt:
        pass
    finally:
        rig.device.shutdown()
    return 0
