"""The service's start-up, as systemd sees it, measured on `kindpulse run --sim` (one run).

For each start: wall time from spawning the process to READY=1 on a real NOTIFY_SOCKET, and to
the first detected beat (the `first_beat` event on stdout; the emulated finger at real speed,
so the signal itself takes its time to arrive), WATCHDOG=1 pings while it runs, then SIGTERM
-> STOPPING=1 and the exit code. Warm cache (what the installer's warm-up leaves) and cold
(an empty NUMBA_CACHE_DIR: what a first boot without the warm-up would pay).

    .venv/bin/python bench/service.py              # 1 cold + 5 warm starts, about a minute
    .venv/bin/python bench/service.py --runs 2
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WATCHDOG_USEC = 2_000_000  # pings every second: enough to count them in a short run


def start_once(workdir: Path, cache: Path, hold_s: float = 3.0, timeout_s: float = 300.0) -> dict:
    """One start: spawn, wait for READY and the first beat, hold, SIGTERM, wait for the exit."""
    sock_path = workdir / "notify.sock"
    sock_path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": str(WATCHDOG_USEC),
           "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT / "firmware_py")}
    cmd = [sys.executable, "-m", "kindpulse", "run", "--sim", "--data-dir", str(workdir / "data")]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "notify")
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    out: dict = {"ready_s": None, "first_beat_s": None, "pings": 0, "status": []}
    term_at = None
    while proc.poll() is None or sel.select(timeout=0):
        now = time.perf_counter() - t0
        if now > timeout_s:
            proc.kill()
            break
        if term_at is None and out["first_beat_s"] is not None and now >= out["first_beat_s"] + hold_s:
            proc.send_signal(signal.SIGTERM)
            term_at = now
        for key, _ in sel.select(timeout=0.05):
            if key.data == "notify":
                lines = sock.recv(4096).decode().split("\n")
                if "READY=1" in lines and out["ready_s"] is None:
                    out["ready_s"] = now
                out["pings"] += "WATCHDOG=1" in lines
                out["stopping"] = out.get("stopping") or "STOPPING=1" in lines
                out["status"] += [x[7:] for x in lines if x.startswith("STATUS=")]
            else:
                line = proc.stdout.readline()
                if not line:
                    sel.unregister(proc.stdout)
                    continue
                if line.startswith("{") and json.loads(line).get("type") == "first_beat":
                    out["first_beat_s"] = out["first_beat_s"] or now
    out["exit_code"] = proc.wait()
    out["stop_s"] = None if term_at is None else time.perf_counter() - t0 - term_at
    out["term_s"] = term_at
    out["run_s"] = time.perf_counter() - t0
    sock.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="warm starts (default 5)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kindpulse-bench-service-"))
    try:
        cache = work / "numba"
        cold = start_once(work, cache)  # also warms the cache for the rest
        warm = [start_once(work, cache) for _ in range(args.runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(name: str, r: dict) -> str:
        up_s = r["term_s"] - r["ready_s"]  # READY to SIGTERM: the watchdog's time
        return (f"{name:<8} READY {r['ready_s']:6.2f} s  first beat {r['first_beat_s']:6.2f} s  "
                f"SIGTERM->exit {r['stop_s']:.2f} s  exit {r['exit_code']}  "
                f"STOPPING {bool(r.get('stopping'))}  WATCHDOG=1 per s after READY {r['pings'] / up_s:.2f}")

    print(f"kindpulse run --sim under a NOTIFY_SOCKET (WATCHDOG_USEC={WATCHDOG_USEC}); "
          f"host: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(row("cold", cold))
    for i, r in enumerate(warm):
        print(row(f"warm {i + 1}", r))
    ready = [r["ready_s"] for r in warm]
    beat = [r["first_beat_s"] for r in warm]
    print(f"warm median: READY {statistics.median(ready):.2f} s "
          f"(min {min(ready):.2f}, max {max(ready):.2f}), "
          f"first beat {statistics.median(beat):.2f} s (min {min(beat):.2f}, max {max(beat):.2f}); "
          f"cold READY {cold['ready_s']:.2f} s = {cold['ready_s'] / statistics.median(ready):.1f}x warm")
    print("status lines seen (warm 1):", " | ".join(warm[0]["status"]))
    return 0 if all(r["exit_code"] == 0 for r in [cold, *warm]) else 1


if __name__ == "__main__":
    sys.exit(main())
