"""`kindpulse sync [USER@]HOST --dest DIR`: pull a device's log over SSH into DIR/<device id>/.

Incremental, resumable and verified (store/sync.py). Runs on the laptop with the system `ssh`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from kindpulse.commands import help_for
from kindpulse.commands.export import DEFAULT_BATCH, _batch_size


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help=help_for("sync"))
    p.add_argument("host", metavar="[USER@]HOST", help="the device, as ssh knows it (~/.ssh/config works)")
    p.add_argument(
        "--dest", type=Path, required=True, metavar="DIR", help="where the copies live (one per device)"
    )
    p.add_argument(
        "--remote-command",
        default="kindpulse",
        metavar="CMD",
        help="kindpulse on the device (a shell fragment; default: kindpulse)",
    )
    p.add_argument(
        "--remote-data-dir", metavar="DIR", help="the log's directory on the device (default: its config)"
    )
    p.add_argument(
        "--ssh-option",
        action="append",
        default=[],
        metavar="OPTION",
        help="an ssh -o option, e.g. Port=2222 or IdentityFile=~/.ssh/kp (repeatable)",
    )
    p.add_argument("--raw", action="store_true", help="pull the raw PPG chunks too (from the first sync on)")
    p.add_argument("--batch-size", type=_batch_size, default=DEFAULT_BATCH, help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kindpulse.store.sync import sync

    start = time.perf_counter()
    result = sync(
        args.host,
        args.dest,
        remote_command=args.remote_command,
        remote_data_dir=args.remote_data_dir,
        ssh_options=args.ssh_option,
        raw=args.raw,
        batch_size=args.batch_size,
        wall=time.time,
    )
    print(
        f"{args.host}: device {result.device_id}, {result.records} new records in {result.batches} batches "
        f"({time.perf_counter() - start:.1f} s), at {result.cursor}, in {result.store}"
    )
    return 0
