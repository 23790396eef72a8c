"""`kindpulse analyze` as a whole process against HeartPy's and NeuroKit2's, on the same CSV.

One hour of 100 Hz finger PPG (raw MAX30102-like counts from kindpulse.sim.synth, a
``time,ppg`` CSV with the time in seconds, 4.2 MB) is written to a temporary directory.
Each tool then runs as a new Python process, the way its user would run it: read the CSV,
find the beats, compute HRV, print the result as JSON.

* kindpulse: ``python -m kindpulse analyze FILE --format json`` (sample rate from the time
  column, numba kernels loaded from the cache).
* HeartPy 1.2.7: ``hp.get_data(FILE, column_name="ppg")``, its documented 0.5-8 Hz band-pass
  (``filter_signal``) and ``hp.process`` at 100 Hz, measures printed as JSON.
* NeuroKit2 0.2.13: ``pandas.read_csv``, ``nk.ppg_process`` and ``nk.hrv`` (time, frequency
  and non-linear indices), printed as JSON.

Every process runs once to warm the numba cache and the .pyc files (the CSV is read first, so
the disk cache is warm), then ``--repeats`` times (NeuroKit2 with one repeat: no warm-up), in
rounds that run each tool once, so a drift of the machine's speed falls on all of them alike;
the figures are the median wall time and the median CPU time (user + system, which a
busy machine disturbs less than the wall time). A breakdown of kindpulse's own process (start-up,
imports, reading, analysis, output) is measured in one more process.

    NUMBA_CACHE_DIR=.numba_cache .venv/bin/python bench/analyze_process.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "firmware_py"))

from kindpulse.sim.synth import SyntheticPPG, beat_times, rr_series  # noqa: E402

FS = 100.0

HEARTPY = """
import json, sys
import heartpy as hp
x = hp.get_data(sys.argv[1], column_name="ppg")
y = hp.filter_signal(-x, [0.5, 8.0], 100.0, order=2, filtertype="bandpass")  # raw light: invert
wd, m = hp.process(y, 100.0)
print(json.dumps({k: float(v) for k, v in m.items()}))
"""

NEUROKIT = """
import sys
import neurokit2 as nk
import pandas as pd
df = pd.read_csv(sys.argv[1])
signals, info = nk.ppg_process(-df["ppg"].to_numpy(), sampling_rate=100)  # raw light: invert
print(nk.hrv(info["PPG_Peaks"], sampling_rate=100).to_json())
"""

BREAKDOWN = """
import time
t0 = time.perf_counter()
import sys, io, json
from kindpulse.commands import analyze
t1 = time.perf_counter()
from kindpulse.recording import load_ppg
rec = load_ppg(sys.argv[1])
t2 = time.perf_counter()
from kindpulse.dsp.pipeline import analyze_ppg
analyze_ppg(rec.x[:3000], rec.fs)
t3 = time.perf_counter()
res = analyze_ppg(rec.x, rec.fs)
t4 = time.perf_counter()
json.dump(analyze._clean(res), io.StringIO(), allow_nan=False)
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "read_csv": t2 - t1, "kernels_load": t3 - t2, "analysis": t4 - t3,
                  "json": t5 - t4}))
"""


def write_csv(path: Path, minutes: float = 60.0) -> None:
    n = int(minutes * 60 * FS)
    bt = beat_times(rr_series(minutes * 60 + 5, seed=8))
    x = np.round(SyntheticPPG(bt, seed=8).ir(np.arange(n) / FS))
    t = np.arange(n) / FS
    with path.open("w") as fh:
        fh.write("time,ppg\n")
        fh.write("".join(f"{a:.2f},{b:.0f}\n" for a, b in zip(t, x, strict=True)))


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one process."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--neurokit-repeats", type=int, default=3,
                    help="NeuroKit2 takes a minute or more per run (1: no warm-up run either)")
    ap.add_argument("--skip-neurokit", action="store_true")
    opts = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "firmware_py")}
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        # every tool's .pyc files written by its warm-up run, as an installed package has them
        # (pip compiles at install; this machine sets PYTHONDONTWRITEBYTECODE, and an editable
        # checkout has none): in a private prefix, so the source tree stays clean
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        csv = Path(tmp) / "hour.csv"
        write_csv(csv)
        size_mb = len(csv.read_bytes()) / 1e6  # and the disk cache is warm
        tools = {
            "kindpulse": ([py, "-m", "kindpulse", "analyze", str(csv), "--format", "json"], opts.repeats),
            "HeartPy": ([py, "-c", HEARTPY, str(csv)], opts.repeats),
        }
        if not opts.skip_neurokit:
            tools["NeuroKit2"] = ([py, "-c", NEUROKIT, str(csv)], opts.neurokit_repeats)
        medians, cpu = {}, {}
        for argv, repeats in tools.values():
            if repeats > 1:  # warm: numba cache, .pyc files (the CSV is in the disk cache already)
                timed(argv, env)
        # round by round, every tool once per round: a drift of the machine's speed (a shared
        # VM) falls on all of them alike instead of on whichever ran last. This machine also
        # reclaims the page cache within a minute (DAMON), so after a NeuroKit2 run the next
        # tool would read its modules from disk: each timed run of the short tools follows an
        # untimed one, so every tool is timed with its files in memory
        timings: dict[str, list[tuple[float, float]]] = {name: [] for name in tools}
        for r in range(max(repeats for _, repeats in tools.values())):
            for name, (argv, repeats) in tools.items():
                if r < repeats:
                    if repeats > 1:
                        timed(argv, env)
                    timings[name].append(timed(argv, env))
        for name, (_, repeats) in tools.items():
            runs = timings[name]
            medians[name] = statistics.median(w for w, _ in runs)
            cpu[name] = statistics.median(c for _, c in runs)
            print(f"  {name:<10} wall median {medians[name]:7.3f} s (min {min(w for w, _ in runs):.3f}), "
                  f"CPU median {cpu[name]:7.3f} s, {repeats} runs", flush=True)
        out = subprocess.run([py, "-c", BREAKDOWN, str(csv)], check=True, capture_output=True, text=True,
                             env=env)
        t_start = timed([py, "-c", "pass"], env)[0]
        load = os.getloadavg()[0]
    print(f"\n`analyze` as a whole process on 1 h of 100 Hz PPG (CSV, {size_mb:.1f} MB), one run "
          f"(load average {load:.1f} on {os.cpu_count()} cores):")
    print(f"  {'':<10}{'wall':>9}{'':>14}{'CPU':>9}")
    for name in medians:
        print(f"  {name:<10}{medians[name]:>8.3f} s {medians[name] / medians['kindpulse']:>6.1f}x   "
              f"{cpu[name]:>8.3f} s {cpu[name] / cpu['kindpulse']:>6.1f}x")
    parts = json.loads(out.stdout)
    print(f"\nkindpulse's process in parts (s): interpreter start {t_start:.3f}, "
          + ", ".join(f"{k} {v:.3f}" for k, v in parts.items()))


if __name__ == "__main__":
    main()
