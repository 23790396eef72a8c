"""Where the report's records come from: a device's data directory or a synced copy of it
(DEST/<device id>/), read through the store's export (`kindpulse.store.export.iter_records`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from kindpulse.errors import InputError
from kindpulse.store import export
from kindpulse.store.schema import LOG_NAME


def check_data_dir(data_dir: Path) -> Path:
    """The directory holding a kindpulse log, or a one-line InputError saying what to pass."""
    d = Path(data_dir)
    if not d.is_dir():
        raise InputError(
            f"{d} is not a directory: give --data-dir the device's data directory "
            "or a synced copy (DEST/<device id>/)"
        )
    if (d / LOG_NAME).is_file():
        return d
    devices = sorted(p.name for p in d.iterdir() if (p / LOG_NAME).is_file())
    if len(devices) == 1:
        return d / devices[0]
    if devices:
        raise InputError(
            f"{d} holds {len(devices)} devices ({', '.join(devices)}): give --data-dir {d}/<device id>"
        )
    raise InputError(
        f"no kindpulse log ({LOG_NAME}) in {d}: give --data-dir the device's data directory "
        "or a synced copy (DEST/<device id>/)"
    )


def iter_records(data_dir: Path) -> Iterator[dict]:
    """Every record of the log (no raw PPG), oldest first."""
    d = check_data_dir(data_dir)
    try:
        yield from export.iter_records(d)
    except sqlite3.DatabaseError as exc:
        raise InputError(f"cannot read the log in {d} ({exc}): is it a kindpulse log? "
                         "sync it again or point --data-dir elsewhere") from None
