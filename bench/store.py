"""What the log costs, measured in one run.

1. Size of a week at 100 Hz, with raw PPG and without (derived data only). The rows go through
   the Store API as the daemon writes them (NN per beat, HRV windows every 5 s and 30 s,
   events, the ~80 KB baseline saved every 10 min, raw counts of realistic synthetic PPG from
   `kindpulse.sim`), without running the DSP for a week. Commits every 10 s of device time;
   fsync is off for this part only (it changes the time, not the bytes).
2. The logging cost at the daemon's pace for one hour: drains of 16 samples at 6.25 Hz,
   commits every 10 s with fsync (synchronous=FULL): process CPU per hour, and the wall time
   of one commit (median, 95th percentile).
3. Sync over loopback through a real sshd (tests/sshd.py): a day's derived data (first sync),
   then one new hour (incremental), with the SSH connection and the remote start-up measured
   on their own; and a day with raw PPG (--raw).

    NUMBA_CACHE_DIR=.numba_cache .venv/bin/python bench/store.py          # 5-15 min (a week twice)
    NUMBA_CACHE_DIR=.numba_cache .venv/bin/python bench/store.py --days 1 # quicker; --only-sync, --skip-sync
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from kindpulse.clock import VirtualClock  # noqa: E402
from kindpulse.dsp.hrv import hrv_metrics  # noqa: E402
from kindpulse.sim.sources import SyntheticSource  # noqa: E402
from kindpulse.sim.synth import rr_series  # noqa: E402
from kindpulse.store.db import Store  # noqa: E402
from kindpulse.stress.baseline import PARAMS, Baseline  # noqa: E402

FS = 100.0
EVENTS_PER_HOUR = (
    "state",
    "state",
    "prompt",
    "vibrate",
    "button",
    "break_start",
    "break_end",
    "signal_lost",
    "signal_ok",
    "samples_lost",
)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Wearer:
    """Realistic rows to log: an hour of synthetic finger PPG (cycled), beats from an RR series,
    HRV metrics of the kind dsp.hrv gives, a full baseline history."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        src = SyntheticSource.resting(3600.0, seed=seed)
        t = np.arange(int(3600 * FS)) / FS
        red, ir = src.sample(t)
        noise = rng.normal(0, 15, size=(2, t.size))  # sensor noise, as the emulated chip adds
        self.ir = np.round(ir + noise[0]).astype(np.int64)
        self.red = np.round(red + noise[1]).astype(np.int64)
        self.rr = rr_series(3700.0, hr_bpm=70, rmssd_ms=40, seed=seed)
        self.beats = np.cumsum(self.rr) / 1000.0
        nn_t = self.beats[1:61]
        self.metrics60 = hrv_metrics(nn_t, self.rr[1:61])
        self.metrics300 = hrv_metrics(self.beats[1:301], self.rr[1:301])
        base = Baseline()
        calm = {p: 1.0 for p in PARAMS}
        for i in range(base.config.history_windows):
            base.add(
                60.0 * i,
                {p: v * (1 + 0.01 * (i % 17)) for p, v in calm.items()},
                coverage=1.0,
                usable=True,
                motion=False,
                stressed=False,
                in_break=False,
            )
        self.baseline = base.to_dict()

    def samples(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        idx = (start + np.arange(n)) % self.ir.size
        return self.ir[idx], self.red[idx]


def log_days(
    path: Path,
    wearer: Wearer,
    days: float,
    *,
    raw: bool,
    drain: int = 100,
    fsync: bool = False,
    commit_times: list[float] | None = None,
) -> Store:
    """`days` of monitoring through the Store API, `drain` samples per call; returns the closed store."""
    clock = VirtualClock()
    store = Store(
        path, clock, keep_raw_ppg_days=8.0 if raw else 0.0, info={"bench": True}, free_bytes=lambda: 1 << 40
    )
    if not fsync:
        store._db.execute("PRAGMA synchronous=OFF")  # sizes only: fsync changes time, not bytes
    if commit_times is not None:
        write = store._write_pending

        def timed() -> None:
            t0 = time.perf_counter()
            write()
            commit_times.append(time.perf_counter() - t0)

        store._write_pending = timed  # type: ignore[method-assign]
    store.event(0.0, "start", {"mode": "desk"})
    n_total = int(days * 86400 * FS)
    beat_i = 0
    beat_offset = 0.0
    period = len(wearer.beats) - 1
    next_hrv, next_long, next_event, next_base = 5.0, 30.0, 360.0, 600.0
    ev = 0
    for start in range(0, n_total, drain):
        clock.advance(drain / FS)
        now = store.now()
        if raw:
            ir, red = wearer.samples(start, drain)
            store.ppg(now - drain / FS, FS, ir, red)
        t_nn, ibi = [], []
        while beat_offset + wearer.beats[beat_i] <= now - 1.5:  # NN final a few beats late
            t_nn.append(beat_offset + wearer.beats[beat_i])
            ibi.append(wearer.rr[beat_i])
            beat_i += 1
            if beat_i >= period:
                beat_i, beat_offset = 0, beat_offset + wearer.beats[period - 1]
        if t_nn:
            store.nn(np.array(t_nn), np.array(ibi))
        if now >= next_hrv:
            store.hrv(now, 60.0, dict(wearer.metrics60))
            next_hrv += 5.0
        if now >= next_long:
            store.hrv(now, 300.0, dict(wearer.metrics300))
            next_long += 30.0
        if now >= next_event:
            store.event(
                now, EVENTS_PER_HOUR[ev % len(EVENTS_PER_HOUR)], {"hr_before": 80.1, "hr_after": 71.3}
            )
            ev += 1
            next_event += 360.0
        if now >= next_base:
            store.set_state("baseline", wearer.baseline)
            next_base += 600.0
        store.tick()
    store.close()
    return store


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if not p.name.endswith(".reserve"))


def bench_size(wearer: Wearer, days: float, tmp: Path) -> dict:
    out = {}
    for raw in (False, True):
        path = tmp / ("raw" if raw else "derived") / "kindpulse.sqlite"
        t0 = time.perf_counter()
        log_days(path, wearer, days, raw=raw)
        out["with_raw" if raw else "derived_only"] = {
            "mb": round(_size(path) / 1e6, 1),
            "mb_per_day": round(_size(path) / 1e6 / days, 2),
            "generated_in_s": round(time.perf_counter() - t0, 1),
        }
    raw_mb = out["with_raw"]["mb"] - out["derived_only"]["mb"]
    samples = days * 86400 * FS * 2
    out["raw_bytes_per_sample"] = round(raw_mb * 1e6 / samples, 2)
    out["raw_vs_int32"] = round(raw_mb * 1e6 / (samples * 4), 3)
    return out


def bench_cost(wearer: Wearer, tmp: Path) -> dict:
    path = tmp / "cost" / "kindpulse.sqlite"
    commits: list[float] = []
    c0, w0 = _cpu_s(), time.perf_counter()
    log_days(path, wearer, 1 / 24, raw=True, drain=16, fsync=True, commit_times=commits)
    cpu, wall = _cpu_s() - c0, time.perf_counter() - w0
    ms = sorted(1000 * c for c in commits)
    return {
        "cpu_s_per_hour": round(cpu, 2),
        "cpu_percent_of_one_core": round(100 * cpu / 3600, 3),
        "wall_s": round(wall, 2),
        "commits": len(ms),
        "commit_ms_median": round(statistics.median(ms), 2),
        "commit_ms_p95": round(ms[int(0.95 * (len(ms) - 1))], 2),
    }


def _timed(argv: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(argv, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip())
    return time.perf_counter() - t0, res.stdout.strip()


def bench_sync(wearer: Wearer, tmp: Path) -> dict:
    sshd, keygen = shutil.which("sshd") or "/usr/sbin/sshd", shutil.which("ssh-keygen")
    if not (os.access(sshd, os.X_OK) and keygen and shutil.which("ssh")):
        return {"skipped": "needs sshd, ssh-keygen and ssh (sudo make sysdeps)"}
    from sshd import start_sshd

    (tmp / "ssh").mkdir()
    server = start_sshd(sshd, keygen, tmp / "ssh")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "firmware_py")}
    ssh = ["ssh", *sum((["-o", o] for o in server.options), [])]
    try:
        out: dict = {}
        out["ssh_connect_s"] = round(min(_timed([*ssh, server.host, "true"], env)[0] for _ in range(3)), 3)
        out["ssh_plus_remote_start_s"] = round(
            min(_timed([*ssh, server.host, f"{server.remote} --version"], env)[0] for _ in range(3)), 3
        )
        out["laptop_start_s"] = round(
            min(_timed([sys.executable, "-m", "kindpulse", "sync", "--help"], env)[0] for _ in range(3)), 3
        )
        for raw in (False, True):
            device = tmp / f"device-{raw}"
            dest = tmp / f"laptop-{raw}"
            log_days(device / "kindpulse.sqlite", wearer, 1.0, raw=raw)
            argv = [
                sys.executable,
                "-m",
                "kindpulse",
                "sync",
                server.host,
                "--dest",
                str(dest),
                "--remote-command",
                server.remote,
                "--remote-data-dir",
                str(device),
            ]
            argv += sum((["--ssh-option", o] for o in server.options), []) + (["--raw"] if raw else [])
            first, line = _timed(argv, env)
            key = "day_with_raw" if raw else "day_derived"
            out[key] = {"first_sync_s": round(first, 2), "says": line}
            if not raw:  # one new hour on the device (a new run), then the incremental sync
                log_days(device / "kindpulse.sqlite", wearer, 1 / 24, raw=False)
                inc, line = _timed(argv, env)
                fixed = out["ssh_plus_remote_start_s"] + out["laptop_start_s"]
                out["new_hour_derived"] = {
                    "sync_s": round(inc, 3),
                    "says": line,
                    "transfer_and_ingest_s": round(inc - fixed, 3),
                }
        return out
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0, help="how long a log to size (default a week)")
    ap.add_argument("--skip-sync", action="store_true")
    ap.add_argument("--only-sync", action="store_true", help="skip the size and cost parts")
    args = ap.parse_args()
    wearer = Wearer()
    with tempfile.TemporaryDirectory(prefix="kp-bench-store-") as tmp_name:
        tmp = Path(tmp_name)
        result: dict = {"days": args.days, "load_average": os.getloadavg()[0]}
        if not args.only_sync:
            result.update(size=bench_size(wearer, args.days, tmp), cost=bench_cost(wearer, tmp))
        if not args.skip_sync:
            result["sync"] = bench_sync(wearer, tmp)
    result["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
