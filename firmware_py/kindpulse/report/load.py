"""Where the report's records come from: a device's data directory or a synced copy of it
(DEST/<device id>/), read as the export's flat records."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from kindpulse.errors import InputError
from kindpulse.report.sqlite_records import LOG_NAME, iter_sqlite_records


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


def iter_records(data_dir: Path, since: float | None = None, until: float | None = None) -> Iterator[dict]:
    """The log's records with since <= wall < until (Unix s); runs, device, baseline always."""
    d = check_data_dir(data_dir)
    try:
        yield from iter_sqlite_records(d, since, until)
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"cannot read the log in {d} ({exc}): is it a kindpulse log? "
            "sync it again or point --data-dir elsewhere"
        ) from None
