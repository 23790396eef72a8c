# The store as main had it at 1f497a7 (schema 1), kept verbatim to build old logs in tests/test_store_schema.py.
"""The device log: one SQLite file in the data directory.

Tables: ``events`` (everything the wearer lived: prompts, breaks, signal),
``nn`` (every valid NN interval), ``hrv`` (rolling HRV windows), ``ppg`` (raw
sensor counts in chunks, as little-endian int32 blobs, pruned after
``keep_raw_ppg_days``: about 70 MB a day at 100 sps) and ``state`` (JSON
values kept across restarts, such as the personal baseline).

Times: ``t_s`` is seconds on the device's monotonic clock since the daemon
started, ``wall`` is Unix time beside it (a Pi without RTC may boot with a
wrong date, so both are kept). Rows are committed in batches (every
``commit_every_s`` of device time, and on close), in WAL mode.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from kindpulse.clock import Clock
from kindpulse.errors import KindpulseError

SCHEMA_VERSION = 1
PRUNE_EVERY_S = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, session INTEGER NOT NULL, t_s REAL NOT NULL, wall REAL NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS nn (
    session INTEGER NOT NULL, t_s REAL NOT NULL, ibi_ms REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hrv (
    session INTEGER NOT NULL, t_s REAL NOT NULL, wall REAL NOT NULL, window_s REAL NOT NULL,
    metrics TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ppg (
    session INTEGER NOT NULL, t0_s REAL NOT NULL, wall REAL NOT NULL, fs REAL NOT NULL,
    lost_before INTEGER NOT NULL, ir BLOB NOT NULL, red BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL, wall REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id INTEGER PRIMARY KEY, started_wall REAL NOT NULL, info TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_type ON events(type);
CREATE INDEX IF NOT EXISTS ppg_wall ON ppg(wall);
"""


class Store:
    """Append-only device log. Not thread-safe: the daemon's loop owns it."""

    def __init__(
        self,
        path: Path | str,
        clock: Clock,
        *,
        commit_every_s: float = 30.0,
        keep_raw_ppg_days: float = 7.0,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            self._db = sqlite3.connect(self.path)
            if new:  # health data: owner and group only
                os.chmod(self.path, 0o640)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise KindpulseError(f"{self.path} was written by a newer kindpulse (schema {version}): "
                                     "upgrade kindpulse, or point the data directory elsewhere")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise KindpulseError(f"cannot open the log {self.path} ({exc}): check that the data directory "
                                 "exists and is writable by this user") from None
        self._clock = clock
        self._commit_every_s = commit_every_s
        self._last_commit = clock.monotonic()
        self._last_prune = -PRUNE_EVERY_S
        self.keep_raw_ppg_days = keep_raw_ppg_days
        cur = self._db.execute(
            "INSERT INTO sessions(started_wall, info) VALUES (?, ?)", (clock.wall(), json.dumps(info or {}))
        )
        self.session = int(cur.lastrowid)
        self._db.commit()

    # -- writing ------------------------------------------------------------
    def event(self, t_s: float, type_: str, data: dict[str, Any] | None = None) -> None:
        self._db.execute(
            "INSERT INTO events(session, t_s, wall, type, data) VALUES (?, ?, ?, ?, ?)",
            (self.session, t_s, self._clock.wall(), type_, json.dumps(data or {})),
        )
        self._maybe_commit()

    def nn(self, t_s: np.ndarray, ibi_ms: np.ndarray) -> None:
        if len(t_s):
            rows = [(self.session, float(t), float(i)) for t, i in zip(t_s, ibi_ms, strict=True)]
            self._db.executemany("INSERT INTO nn(session, t_s, ibi_ms) VALUES (?, ?, ?)", rows)

    def hrv(self, t_s: float, window_s: float, metrics: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO hrv(session, t_s, wall, window_s, metrics) VALUES (?, ?, ?, ?, ?)",
            (self.session, t_s, self._clock.wall(), window_s, json.dumps(metrics)),
        )

    def ppg(self, t0_s: float, fs: float, ir: np.ndarray, red: np.ndarray, lost_before: int = 0) -> None:
        if self.keep_raw_ppg_days > 0 and len(ir):
            self._db.execute(
                "INSERT INTO ppg(session, t0_s, wall, fs, lost_before, ir, red) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.session,
                    t0_s,
                    self._clock.wall(),
                    fs,
                    int(lost_before),
                    np.asarray(ir, dtype="<i4").tobytes(),
                    np.asarray(red, dtype="<i4").tobytes(),
                ),
            )

    def set_state(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO state(key, value, wall) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value, wall=excluded.wall",
            (key, json.dumps(value), self._clock.wall()),
        )
        self.commit()

    # -- reading ------------------------------------------------------------
    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT t_s, type, data FROM events WHERE session=?"
        args: tuple = (self.session,)
        if type_ is not None:
            sql += " AND type=?"
            args += (type_,)
        return [{"t": t, "type": ty, **json.loads(d)} for t, ty, d in self._db.execute(sql + " ORDER BY id", args)]

    def count(self, table: str) -> int:
        if table not in ("events", "nn", "hrv", "ppg"):
            raise ValueError(table)
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE session=?", (self.session,)).fetchone()[0])

    # -- lifecycle ------------------------------------------------------------
    def _maybe_commit(self) -> None:
        if self._clock.monotonic() - self._last_commit >= self._commit_every_s:
            self.commit()

    def tick(self) -> None:
        """Called by the loop: commits when a batch interval has passed; prunes old raw PPG hourly."""
        now = self._clock.monotonic()
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            self.prune_raw_ppg()
        self._maybe_commit()

    def prune_raw_ppg(self) -> int:
        """Delete raw PPG older than `keep_raw_ppg_days` (by wall time); returns the rows deleted."""
        cutoff = self._clock.wall() - self.keep_raw_ppg_days * 86400.0
        return self._db.execute("DELETE FROM ppg WHERE wall < ?", (cutoff,)).rowcount

    def commit(self) -> None:
        self._db.commit()
        self._last_commit = self._clock.monotonic()

    def close(self) -> None:
        if self._db is not None:
            self._db.commit()
            self._db.close()
            self._db = None  # type: ignore[assignment]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
