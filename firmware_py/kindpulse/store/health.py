"""The log's health for `kindpulse doctor`: readable, intact, private, who writes it, free space,
and whether the daemon last said the disk was full. Read-only; takes no lock."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kindpulse.store.db import MIN_FREE_BYTES, free_bytes_of
from kindpulse.store.lock import holder
from kindpulse.store.schema import LOG_NAME, SCHEMA_VERSION, schema_version

STORAGE_EVENTS = ("storage_low", "storage_full", "storage_ok")


@dataclass(frozen=True)
class LogCheck:
    ok: bool
    what: str
    fix: str = ""


def log_checks(
    data_dir: Path, free_bytes: Callable[[], int] | None = None, min_free_bytes: int = MIN_FREE_BYTES
) -> list[LogCheck]:
    data_dir = Path(data_dir)
    path = data_dir / LOG_NAME
    checks: list[LogCheck] = []
    if not data_dir.is_dir():
        return [
            LogCheck(
                False,
                f"data directory {data_dir} does not exist",
                "install kindpulse (systemd-tmpfiles creates it), or set device.data_dir",
            )
        ]
    try:
        free = (free_bytes or free_bytes_of(data_dir))()
    except OSError as exc:
        free = None
        checks.append(
            LogCheck(False, f"cannot see the free space in {data_dir} ({exc.strerror})", "check the mount")
        )
    if free is not None:
        mb = free // 2**20
        checks.append(
            LogCheck(
                free >= min_free_bytes,
                f"{mb} MB free in {data_dir}"
                if free >= min_free_bytes
                else f"only {mb} MB free in {data_dir}: raw PPG is not logged below "
                f"{min_free_bytes // 2**20} MB",
                "free space on the card, or lower device.keep_raw_ppg_days",
            )
        )
    if not path.exists():
        checks.append(LogCheck(True, f"no log in {data_dir} yet (the daemon makes it at its first start)"))
        return checks
    mode = stat.S_IMODE(path.stat().st_mode)
    checks.append(
        LogCheck(
            not mode & 0o007,
            f"the log is private (mode {mode:o})"
            if not mode & 0o007
            else f"the log {path} is readable by everyone (mode {mode:o})",
            f"chmod 640 {path}",
        )
    )
    who = holder(path)
    checks.append(LogCheck(True, f"the log is written by {who}" if who else "no process writes the log now"))
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = schema_version(db)
            intact = db.execute("PRAGMA quick_check(1)").fetchone()[0] == "ok"
            last = db.execute(
                "SELECT type, data, wall FROM events WHERE type IN (?, ?, ?) ORDER BY id DESC LIMIT 1",
                STORAGE_EVENTS,
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        checks.append(
            LogCheck(
                False,
                f"the log {path} cannot be read ({exc})",
                "run doctor as root or as a member of the kindpulse group",
            )
        )
        return checks
    checks.append(
        LogCheck(
            intact,
            f"the log passes SQLite's check (schema {version}/{SCHEMA_VERSION})"
            if intact
            else f"the log {path} is damaged",
            f"stop kindpulse, keep a copy, and run sqlite3 {path} '.recover' into a new file",
        )
    )
    if last is not None and last[0] != "storage_ok":
        data = json.loads(last[1]) if last[1] else {}
        checks.append(
            LogCheck(
                False,
                f"the daemon reported {last[0].replace('_', ' ')} ({data.get('free_mb')} MB "
                "free): raw PPG paused, derived data kept",
                f"free space in {data_dir}",
            )
        )
    elif last is not None:
        checks.append(LogCheck(True, "raw PPG is logged again since the disk had room"))
    return checks
