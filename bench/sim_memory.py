"""Peak memory of `kindpulse sim` against simulated time: 1 h, 8 h and 24 h of the calm day;
and what the online wearer costs the emulator.

Each run is a fresh `kindpulse sim` process (calm-day repeated to 24 h, GIF, log and all);
its peak resident memory comes from the kernel (wait4's ru_maxrss), with the frames kept
for the GIF and the simulation's speed beside it. Flat memory = the GIF no longer grows.

Emulator cost: the chip and the finger alone, drained at the daemon's pace for one hour,
with the calm day's wearer making its beats online (`WearerSource`, what scenarios use now)
against the same profiles as one precomputed RR series (`SyntheticSource`, as before).

    .venv/bin/python bench/sim_memory.py            # about 12 minutes on a shared 2-core box
    .venv/bin/python bench/sim_memory.py 1 2        # other durations (hours)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def long_calm_day(path: Path, repeats: int = 3) -> Path:
    """calm-day.toml with its segments repeated: 8 h x `repeats`."""
    text = (resources.files("kindpulse.sim") / "scenarios" / "calm-day.toml").read_text(encoding="utf-8")
    head, first, rest = text.partition("[[segments]]")
    path.write_text(head + (first + rest) * repeats, encoding="utf-8")
    return path


def run_sim(scenario: Path, hours: float, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "firmware_py")}
    cmd = [
        sys.executable,
        "-m",
        "kindpulse.cli",
        "sim",
        "--scenario",
        str(scenario),
        "--duration",
        f"{hours}h",
        "--out",
        str(out),
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"kindpulse sim {hours} h failed: {proc.stderr.read().decode()[-500:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "hours": hours,
        "peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1),
        "wall_s": round(wall, 1),
        "speedup": round(hours * 3600 / wall),
        "frames_in_gif": summary["frames_in_gif"],
        "gif_kb": round((out / "frames.gif").stat().st_size / 1024),
    }


def emulator_cpu_s(source, hours: float = 1.0) -> float:
    from kindpulse.clock import VirtualClock
    from kindpulse.hardware.max30102 import MAX30102, SensorSettings
    from kindpulse.sim import EmulatedBus, EmulatedMAX30102

    clock = VirtualClock()
    chip = EmulatedMAX30102(clock=clock, source=source)
    sensor = MAX30102(EmulatedBus({0x57: chip}), clock=clock)
    sensor.reset()
    sensor.configure(SensorSettings())
    cpu0 = time.process_time()
    while clock.monotonic() < hours * 3600:
        sensor.drain()
        clock.advance(sensor.poll_interval_s)
    return time.process_time() - cpu0


def source_cost() -> None:
    import numpy as np

    from kindpulse.sim import synth
    from kindpulse.sim.scenario import load_scenario
    from kindpulse.sim.sources import SyntheticSource

    sc = load_scenario("calm-day")
    online = sc.source()
    prof = {a: sc._profile(a) for a in ("effective_hr_bpm", "effective_rmssd_ms", "effective_resp_rate_hz")}
    at = {a: (lambda xs, ys: lambda t: float(np.interp(t, xs, ys)))(*v) for a, v in prof.items()}
    t0 = time.process_time()
    rr = synth.rr_series(
        3600 + 6.0,
        hr_bpm=at["effective_hr_bpm"],
        rmssd_ms=at["effective_rmssd_ms"],
        resp_rate_hz=at["effective_resp_rate_hz"],
        seed=sc.seed,
    )
    batch = SyntheticSource(rr, seed=sc.seed + 1, motion=online.ppg.motion, resp_rate_hz=0.25)
    make = time.process_time() - t0
    cpu_batch = emulator_cpu_s(batch) + make
    cpu_online = emulator_cpu_s(online)
    print(
        f"emulator alone, 1 h of the calm day: precomputed RR {cpu_batch:.2f} CPU s "
        f"({3600 / cpu_batch:.0f}x real time), online wearer {cpu_online:.2f} CPU s "
        f"({3600 / cpu_online:.0f}x real time), ratio {cpu_online / cpu_batch:.2f}"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--sources"]:
        source_cost()
        return
    hours = [float(h) for h in argv] or [1.0, 8.0, 24.0]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = long_calm_day(Path(tmp) / "calm-day-24h.toml", repeats=max(1, int(-(-max(hours) // 8))))
        rows = [run_sim(scenario, h, Path(tmp) / f"out{h}") for h in hours]
    print(f"{'simulated':>10} {'peak RSS':>10} {'wall':>8} {'speed':>8} {'GIF frames':>11} {'GIF':>8}")
    for r in rows:
        print(
            f"{r['hours']:>8.0f} h {r['peak_rss_mb']:>7.1f} MB {r['wall_s']:>6.1f} s {r['speedup']:>6}x "
            f"{r['frames_in_gif']:>11} {r['gif_kb']:>5} KB"
        )
    growth = rows[-1]["peak_rss_mb"] - rows[0]["peak_rss_mb"]
    print(f"growth {rows[0]['hours']:.0f} h -> {rows[-1]['hours']:.0f} h: {growth:+.1f} MB")
    print(json.dumps(rows))
    source_cost()


if __name__ == "__main__":
    main(sys.argv[1:])
