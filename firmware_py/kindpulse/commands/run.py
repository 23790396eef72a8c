"""`kindpulse run`: the daemon. On real hardware by default; `--sim` runs the same `Device` on the
emulator at real speed (a resting finger), printing events as JSON lines."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
from pathlib import Path

from kindpulse.commands import help_for
from kindpulse.config import load_config
from kindpulse.device import Device
from kindpulse.rigs.real import build_real_rig
from kindpulse.rigs.simulated import build_sim_rig, sim_config
from kindpulse.rigs.warm import load_kernels
from kindpulse.sim.sources import SyntheticSource

SIM_DEFAULT_DIR = Path("out/run-sim")
SIM_HORIZON_S = 24 * 3600.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help=help_for("run"))
    p.add_argument("--config", type=Path, help="TOML config (default /etc/kindpulse/config.toml)")
    p.add_argument("--sim", action="store_true", help="run on the emulator at real speed")
    p.add_argument("--data-dir", type=Path, help="override device.data_dir")
    p.add_argument("--verbose", "-v", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    config = load_config(args.config, required=args.config is not None)
    load_kernels()  # before the first turn, so before READY=1 (see rigs/warm.py)
    if args.sim:
        return _run_sim(config, args.data_dir or SIM_DEFAULT_DIR)
    rig = build_real_rig(config, args.data_dir, systemd=os.environ)  # Type=notify under systemd
    install_sigterm(rig.device)
    try:
        rig.device.run()
    finally:
        rig.device.shutdown()
        rig.close()
    return 0


def _run_sim(config, out: Path) -> int:
    """A resting finger on the emulator at real speed until Ctrl-C or SIGTERM."""
    rig = build_sim_rig(SyntheticSource.resting(SIM_HORIZON_S), sim_config(config, {}, out), out,
                        start=dt.datetime.now().time(), on_event=lambda ev: print(json.dumps(ev), flush=True),
                        use_int=True, systemd=os.environ)
    install_sigterm(rig.device)
    print(f"kindpulse run --sim: emulated hardware at real speed, log in {out}/kindpulse.sqlite; Ctrl-C stops",
          flush=True)
    try:
        rig.run_until(SIM_HORIZON_S, speed=1.0)
    except KeyboardInterrupt:
        pass
    finally:
        rig.device.shutdown()
    return 0


def install_sigterm(device: Device) -> None:
    """SIGTERM (systemd stop) ends the loop; shutdown() then runs in order."""

    def handler(signum: int, frame: object) -> None:
        device.stop()

    signal.signal(signal.SIGTERM, handler)
    if sys.platform != "win32":
        signal.signal(signal.SIGHUP, handler)
