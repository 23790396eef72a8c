"""What the device costs, measured in one run (each part in a fresh subprocess).

1. Simulation speed: the bundled scenarios on the emulator, as multiples of real time.
2. CPU per hour of monitoring: process CPU for one simulated hour, minus what the
   emulator alone (chip + synthetic finger, drained at the same pace) costs.
3. Peak memory (max RSS) of the device running an hour, against a process that
   only imports numba and loads the cached kernels (the floor for any numba daemon).
4. Start to first beat, warm numba cache: wall time from spawning the process to
   the first detected beat, (a) with the emulated finger at max speed (the software
   start-up: imports, kernel loading, sensor set-up), and (b) at real speed, where
   the signal itself must arrive first.

    .venv/bin/python bench/device.py            # all of it, about a minute
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    """Peak resident memory of this process image (VmHWM; ru_maxrss survives exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_kernels() -> dict:
    """numba + the kernels the device uses, loaded from cache and run once."""
    import numpy as np

    from kindpulse.dsp.hrv import hrv_metrics
    from kindpulse.dsp.pipeline import PPGStream
    from kindpulse.sim.synth import SyntheticPPG, beat_times, rr_series

    bt = beat_times(rr_series(70, seed=1))
    x = SyntheticPPG(bt, seed=1).ir(np.arange(0, 60, 0.01))
    s = PPGStream(100.0, invert=True, full_scale=2**18 - 1)
    u = s.push(x)
    hrv_metrics(u.nn_t_s, u.nn_ms)
    return {"rss_mb": _rss_mb()}


def _hour_rig(tmp: Path, hours: float):
    from kindpulse.config import Config
    from kindpulse.rigs.simulated import build_sim_rig, sim_config
    from kindpulse.sim.sources import SyntheticSource

    source = SyntheticSource.resting(hours * 3600 + 60, seed=2)
    return build_sim_rig(source, sim_config(Config(), {}, tmp), tmp)


def child_device(tmp: str, hours: float) -> dict:
    """The whole device for `hours` of emulated monitoring at max speed."""
    rig = _hour_rig(Path(tmp), hours)
    cpu0, t0 = _cpu_s(), time.perf_counter()
    rig.run_until(hours * 3600)
    cpu, wall = _cpu_s() - cpu0, time.perf_counter() - t0
    rig.device.shutdown()
    return {"cpu_s": cpu, "wall_s": wall, "rss_mb": _rss_mb()}


def child_emulator(hours: float) -> dict:
    """The emulator alone: the same chip and finger, drained at the daemon's pace."""
    from kindpulse.clock import VirtualClock
    from kindpulse.hardware.max30102 import MAX30102, SensorSettings
    from kindpulse.sim import EmulatedBus, EmulatedMAX30102
    from kindpulse.sim.sources import SyntheticSource

    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock, source=SyntheticSource.resting(hours * 3600 + 60, seed=2))
    sensor = MAX30102(EmulatedBus({0x57: chip}), clock=clock)
    sensor.reset()
    sensor.configure(SensorSettings())
    cpu0 = _cpu_s()
    while clock.monotonic() < hours * 3600:
        sensor.drain()
        clock.advance(sensor.poll_interval_s)  # the daemon's pace without INT
    return {"cpu_s": _cpu_s() - cpu0}


def child_first_beat(tmp: str, spawned: float, speed: float | None) -> dict:
    """Wall time from the parent's spawn to the first detected beat."""
    from kindpulse.config import Config
    from kindpulse.rigs.simulated import build_sim_rig, sim_config
    from kindpulse.sim.sources import SyntheticSource

    source = SyntheticSource.resting(120, seed=4)
    rig = build_sim_rig(source, sim_config(Config(), {}, Path(tmp)), Path(tmp))
    ready = time.time() - spawned
    while not any(e["type"] == "first_beat" for e in rig.events):
        rig.run_until(rig.device.now() + 0.25, speed=speed)
    first = time.time() - spawned
    beat = next(e for e in rig.events if e["type"] == "first_beat")
    rig.device.shutdown()
    return {"ready_s": ready, "first_beat_s": first, "signal_s": beat["at_s"]}


def _child(args: list[str]) -> dict:
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import tempfile

    from kindpulse.commands.sim import SimPlan, simulate
    from kindpulse.rigs.simulated import sim_config
    from kindpulse.sim.scenario import load_scenario

    print("kindpulse device benchmark (one run, this machine)\n")
    _child(["kernels"])  # make sure the numba cache is warm
    print("1. simulation speed (whole device on the emulator, max speed)")
    from kindpulse.config import Config

    for name in ("demo", "stress-episode", "calm-day"):
        sc = load_scenario(name)
        with tempfile.TemporaryDirectory() as tmp:
            plan = SimPlan(sc.source(), sc.duration_s, [], sc.config, name, sc)
            r = simulate(plan, sim_config(Config(), sc.config, Path(tmp)), Path(tmp))
        print(
            f"   {name:<15} {sc.duration_s / 3600:5.2f} h in {r.wall_s:6.1f} s  = {r.speedup:6.0f}x real time"
        )

    hours = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        dev = _child(["device", tmp, str(hours)])
    emu = _child(["emulator", str(hours)])
    ker = _child(["kernels"])
    per_h = (dev["cpu_s"] - emu["cpu_s"]) / hours
    print("\n2. CPU per hour of monitoring")
    print(f"   device + emulator {dev['cpu_s']:.2f} s, emulator alone {emu['cpu_s']:.2f} s"
          f" -> device {per_h:.2f} s CPU per hour = {100 * per_h / 3600:.3f} % of one core")
    print("\n3. peak memory (max RSS)")
    print(
        f"   numba + cached kernels only: {ker['rss_mb']:.1f} MB;"
        f" device running {hours:g} h: {dev['rss_mb']:.1f} MB"
        f" -> ratio {dev['rss_mb'] / ker['rss_mb']:.2f} (target <= 1.25)"
    )
    print("\n4. start to first beat (warm numba cache)")
    with tempfile.TemporaryDirectory() as tmp:
        fast = _child(["first-beat", tmp, repr(time.time()), "max"])
    with tempfile.TemporaryDirectory() as tmp:
        real = _child(["first-beat", tmp, repr(time.time()), "1"])
    print(f"   software start-up (process spawn -> device ready): {fast['ready_s']:.2f} s")
    print(f"   process spawn -> first beat, finger at max speed:  {fast['first_beat_s']:.2f} s")
    print(f"   process spawn -> first beat, finger at real speed: {real['first_beat_s']:.2f} s"
          f" (the beat itself sits {real['signal_s']:.2f} s into the signal)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "kernels":
            res = child_kernels()
        elif kind == "device":
            res = child_device(rest[0], float(rest[1]))
        elif kind == "emulator":
            res = child_emulator(float(rest[0]))
        else:
            res = child_first_beat(rest[0], float(rest[1]), None if rest[2] == "max" else float(rest[2]))
        print(json.dumps(res))
    else:
        main()
