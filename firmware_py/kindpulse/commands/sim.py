"""`kindpulse sim`: the whole device on emulated hardware, from a scenario or a recording.

The simulated rig (`rigs.simulated`) runs the daemon's `Device` unchanged on the emulator,
on a virtual clock. Outputs in DIR: events.jsonl, frames.gif (the OLED), kindpulse.sqlite
(the log) and summary.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kindpulse.commands import help_for
from kindpulse.commands.args import sample_rate
from kindpulse.config import Config, load_config
from kindpulse.errors import ConfigError, InputError
from kindpulse.inputs import MAX_DURATION_S, arg_number
from kindpulse.recording import read_numbers
from kindpulse.rigs.simulated import SimRig, build_sim_rig, make_out_dir, sim_config
from kindpulse.sim.frames import FrameRecorder, terminal_frame
from kindpulse.sim.scenario import Scenario, load_scenario, parse_duration
from kindpulse.sim.sources import PPGSource, RecordedSource, SyntheticSource
from kindpulse.store.db import delete_log, log_made_by_sim
from kindpulse.store.lock import LogLocked, holder
from kindpulse.store.schema import LOG_NAME

# The run's own outputs (replaced by each run); the log, kindpulse.sqlite, continues across runs
# as a restarted daemon's would, unless --fresh.
OUTPUTS = ("events.jsonl", "frames.gif", "summary.json")


@dataclasses.dataclass
class SimResult:
    duration_s: float
    wall_s: float
    events: list[dict]
    frames: int

    @property
    def speedup(self) -> float:
        return self.duration_s / self.wall_s if self.wall_s > 0 else float("inf")


def _private(path: Path) -> None:
    """Health data: readable by the owner's group only, like the log (store.db)."""
    os.chmod(path, 0o640)


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
        counts = read_numbers(Path(args.ppg), "PPG")
        src = RecordedSource(counts, args.fs, t0_s=0.0)
        return SimPlan(src, duration or src.duration_s, presses, {}, Path(args.ppg).stem)
    if args.rr is not None:
        rr = read_numbers(Path(args.rr), "RR")
        if np.any(rr < 200) or np.any(rr > 3000):
            raise InputError(f"{args.rr}: RR values must be in ms (200-3000); seconds? multiply by 1000")
        src = SyntheticSource(rr, t0_s=1.0, seed=0)
        return SimPlan(src, duration or float(rr.sum() / 1000.0), presses, {}, Path(args.rr).stem)
    scenario: Scenario = load_scenario(args.scenario or "demo")
    short, long_ = scenario.presses()
    presses += [(t, "short") for t in short] + [(t, "long") for t in long_]
    return SimPlan(scenario.source(until_s=duration), duration or scenario.duration_s, presses,
                   scenario.config, scenario.name, scenario)


def simulate(
    plan: SimPlan,
    config: Config,
    out: Path,
    *,
    start: dt.time = dt.time(9, 0),
    speed: float | None = None,
    accept_prompts_after_s: float | None = None,
    on_frame: Callable[[float, Any], None] | None = None,
    fresh: bool = False,
    progress: Callable[[float], None] | None = None,
) -> SimResult:
    """Run the device on emulated hardware; `speed` None = as fast as possible. An existing
    simulated log in `out` is continued (a new run of the same device), or deleted with `fresh`;
    a real device's log is never touched. `progress` gets the device time (s) after each step."""
    make_out_dir(out)
    prepare_log(out / LOG_NAME, fresh)
    try:
        for name in OUTPUTS:  # this run's outputs replace the previous run's
            (out / name).unlink(missing_ok=True)
        events_file = (out / "events.jsonl").open("w", encoding="utf-8")
        _private(out / "events.jsonl")
    except OSError as exc:
        raise InputError(f"cannot write to {out} ({exc.strerror or exc}): choose a writable --out "
                         "directory") from None
    rig: SimRig | None = None

    wearer = getattr(plan.source, "wearer", None)  # a scenario's wearer: the rig wires it in
    if wearer is not None and accept_prompts_after_s is not None:  # the command line overrides it
        wearer.config = dataclasses.replace(wearer.config, accept_after_s=accept_prompts_after_s)

    def on_event(ev: dict) -> None:
        events_file.write(json.dumps(ev) + "\n")
        if ev["type"] == "prompt" and accept_prompts_after_s is not None and wearer is None and rig is not None:
            rig.schedule_press(ev["t"] + accept_prompts_after_s)

    recorder = FrameRecorder()

    def frame(t: float, image: Any) -> None:
        recorder.add(t, image, busy=rig is not None and rig.device.session.state != "idle")
        if on_frame is not None:
            on_frame(t, image)

    real_start = time.perf_counter()
    rig = build_sim_rig(plan.source, config, out, start=start, on_event=on_event, on_frame=frame)
    for t, kind in plan.presses:
        rig.schedule_press(t, kind)
    try:
        rig.run_until(plan.duration_s, speed=speed, each_step=progress)
    finally:
        wall_s = time.perf_counter() - real_start
        rig.device.shutdown()
        events_file.close()
    frames = recorder.save_gif(out / "frames.gif", rig.device.now())
    if frames:
        _private(out / "frames.gif")
    result = SimResult(plan.duration_s, wall_s, rig.events, frames)
    summary = {
        "name": plan.name,
        "duration_s": plan.duration_s,
        "wall_s": round(wall_s, 2),
        "speedup": round(result.speedup, 1),
        "counts": {k: sum(1 for e in rig.events if e["type"] == k) for k in sorted({e["type"] for e in rig.events})},
        "frames_in_gif": frames,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n",
                                      encoding="utf-8")
    _private(out / "summary.json")
    return result


def prepare_log(path: Path, fresh: bool) -> None:
    """Refuse a log in use and a real device's log; with `fresh`, delete a simulated one."""
    who = holder(path)
    if who is not None:
        raise LogLocked(f"{path.parent} is in use by {who}: stop that process first, or choose another --out")
    made_by_sim = log_made_by_sim(path)
    if made_by_sim is False:
        raise InputError(f"{path.parent} holds a real device's log: kindpulse sim never writes into it; "
                         "give --out another directory")
    if fresh and made_by_sim:
        delete_log(path)


# -- CLI -------------------------------------------------------------------------------
_speed_number = arg_number("--speed", lo=0.01, hi=1e6)  # slower than 1/100 real time: a typo


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        return float(_speed_number(text))
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"--speed takes a number or 'max': {exc}") from None


class Progress:
    """A progress bar on stderr for long simulations when stderr is a terminal; silent otherwise."""

    MIN_DURATION_S = 3600.0  # shorter simulations finish in seconds

    def __init__(self, duration_s: float, stream: Any = None, *, wall: Callable[[], float] = time.monotonic,
                 every_s: float = 0.5) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.on = duration_s >= self.MIN_DURATION_S and bool(isatty and isatty())
        self.duration_s, self.wall, self.every_s = duration_s, wall, every_s
        self._start = wall()
        self._last = -math.inf

    def __call__(self, t_s: float) -> None:
        if not self.on:
            return
        now = self.wall()
        if now - self._last < self.every_s:
            return
        self._last = now
        self.stream.write("\r" + self.line(t_s, now - self._start))
        self.stream.flush()

    def line(self, t_s: float, wall_s: float) -> str:
        frac = min(1.0, max(0.0, t_s / self.duration_s))
        bar = "#" * int(30 * frac)
        eta = wall_s * (1 - frac) / frac if frac > 0 else math.nan
        eta_txt = f"{eta / 60:.0f} min left" if math.isfinite(eta) else ""
        hours = f"{t_s / 3600:.1f} of {self.duration_s / 3600:.1f} h"
        return f"[{bar:<30}] {100 * frac:5.1f} %  {hours}  {eta_txt}"

    def done(self) -> None:
        if self.on:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()


def _seconds(option: str) -> Callable[[str], float]:
    return arg_number(option, lo=0.0, hi=MAX_DURATION_S, unit="s")  # type: ignore[return-value]


def _hhmm(text: str) -> dt.time:
    try:
        return dt.datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise argparse.ArgumentTypeError(f"--start takes HH:MM (e.g. 09:00), not {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help=help_for("sim"))
    src = p.add_argument_group("what the finger does (one of)")
    src.add_argument("--scenario", metavar="NAME_OR_FILE",
                     help="bundled: calm-day, stress-episode, exercise, finger-off, demo; or a .toml file")
    src.add_argument("--rr", metavar="FILE", help="RR intervals in ms, one per line")
    src.add_argument("--ppg", metavar="FILE", help="raw sensor counts, one per line (needs --fs)")
    p.add_argument("--fs", type=sample_rate("--fs"), help="sample rate of --ppg in Hz (10-3200)")
    p.add_argument("--duration", help="how long, e.g. 90s, 25m, 8h (default: the scenario or recording)")
    p.add_argument("--speed", type=_speed, default=None, metavar="N|max",
                   help="times faster than real time (default max)")
    p.add_argument("--press-at", type=_seconds("--press-at"), nargs="+", metavar="SECONDS",
                   help="press the button at these times")
    p.add_argument("--accept-prompts-after", type=_seconds("--accept-prompts-after"), metavar="SECONDS",
                   help="press the button this long after each prompt (default: the scenario's [wearer])")
    p.add_argument("--start", type=_hhmm, default=dt.time(9, 0), help="simulated wall clock at the start (HH:MM)")
    p.add_argument("--config", type=Path, help="device config TOML (default: built-in defaults)")
    p.add_argument("--live", action="store_true", help="show the OLED in the terminal")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="where events.jsonl, frames.gif and the log go (a log there is continued)")
    p.add_argument("--fresh", action="store_true",
                   help="start a new simulated log in DIR instead of continuing it")
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

    progress = Progress(plan.duration_s)
    try:
        result = simulate(plan, config, args.out, start=args.start, speed=args.speed,
                          accept_prompts_after_s=args.accept_prompts_after, on_frame=on_frame,
                          fresh=args.fresh, progress=progress)
    finally:
        progress.done()
    print(f"simulated {plan.name}: {result.duration_s / 60:.1f} min in {result.wall_s:.1f} s "
          f"({result.speedup:.0f}x real time)")
    for e in result.events:
        if e["type"] in ("baseline_ready", "prompt", "break_start", "break_end", "dismissed", "snoozed",
                         "sensor_error", "sensor_recovered"):
            detail = {k: v for k, v in e.items() if k not in ("t", "type")}
            print(f"  {e['t'] / 60:6.1f} min  {e['type']:<16} {json.dumps(detail) if detail else ''}")
    gif = (f"frames.gif ({result.frames} frames)" if result.frames
           else "no frames.gif (the OLED showed nothing)")
    print(f"wrote {args.out}/events.jsonl, {gif}, kindpulse.sqlite, summary.json")
    return 0


