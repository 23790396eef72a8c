"""The log's SQLite schema, its version and the migrations from every older version.

Every appended record has one global sequence number `seq`, the rowid of its row (``events.id``
is that rowid under its old name), allocated in write order by the one writer. A reader that has
seen every record up to `seq` N has seen a prefix: the cursor of incremental export and sync.
The stable identity of a record is ``<device_id>/<run>/<seq>``, the same on the device and in a
laptop's copy. docs/store.md describes every table and record kind.

Version 1 (before the store issue): events, nn, hrv, ppg (raw int32 blobs), state, sessions;
rowids per table. Version 2 renumbers the rowids into one sequence, adds the device's identity,
run details, NN quality, compressed raw chunks, baseline snapshots, the sync log, and the
indexes per-run queries need; nothing is dropped or rewritten otherwise.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

SCHEMA_VERSION = 2
LOG_NAME = "kindpulse.sqlite"

# Append-only tables whose rowid is the record's seq, in the order v1 rows are renumbered.
SEQ_TABLES = ("events", "nn", "hrv", "ppg", "snapshots")

_V1 = """
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
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, started_wall REAL NOT NULL, info TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_type ON events(type);
CREATE INDEX IF NOT EXISTS ppg_wall ON ppg(wall);
"""

_V2_ADDITIONS = """
ALTER TABLE sessions ADD COLUMN seq INTEGER;
ALTER TABLE sessions ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE nn ADD COLUMN quality INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ppg ADD COLUMN codec TEXT NOT NULL DEFAULT 'i4';
ALTER TABLE ppg ADD COLUMN n INTEGER;
CREATE TABLE device (
    device_id TEXT NOT NULL, created_wall REAL NOT NULL, sim INTEGER NOT NULL DEFAULT 0);
CREATE TABLE snapshots (
    session INTEGER NOT NULL, t_s REAL NOT NULL, wall REAL NOT NULL, key TEXT NOT NULL,
    value TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sync_log (
    batch INTEGER PRIMARY KEY, source TEXT NOT NULL, cursor INTEGER NOT NULL, count INTEGER NOT NULL,
    sha256 TEXT NOT NULL, wall REAL NOT NULL);
CREATE INDEX events_run ON events(session, t_s);
CREATE INDEX hrv_run ON hrv(session, t_s);
CREATE INDEX snapshots_key ON snapshots(key);
"""
# No (session, t_s) index on nn and ppg, the big tables: a run's rows are one contiguous rowid
# range (its seq up to the next run's), which the primary key already indexes (run_rows()).


def open_log(path: Path, *, create: bool, durable: bool = True) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # WAL + FULL: a commit survives a power cut (an fsync per commit). NORMAL survives a kill -9
    # but not a power cut: enough for simulated logs, which then run faster than real time.
    db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def new_device_id() -> str:
    """A random, filesystem-safe device id made once, at the log's first start."""
    return "kp-" + os.urandom(5).hex()


def schema_version(db: sqlite3.Connection) -> int:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE name='events'").fetchone():
        return 1  # the first store never set user_version before creating its tables
    return version


def migrate(
    db: sqlite3.Connection, *, wall: float, device_id: Callable[[], str] = new_device_id, sim: bool = False
) -> int:
    """Bring the log to SCHEMA_VERSION in one transaction; returns the version it found.

    `wall` (Unix s) dates the device record when the log is new; an old log's device record is
    dated by its first run.
    """
    found = schema_version(db)
    if found == SCHEMA_VERSION:
        return found
    if found == 0:
        db.executescript(_V1)  # a new log: the first schema, then the same migrations as an old one
    db.execute("BEGIN IMMEDIATE")
    try:
        _v1_to_v2(db, wall=wall, device_id=device_id(), sim=sim)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return found


def _v1_to_v2(db: sqlite3.Connection, *, wall: float, device_id: str, sim: bool) -> None:
    for statement in _V2_ADDITIONS.strip().split(";"):
        if statement.strip():
            db.execute(statement)
    # One sequence over every table: v1 rowids, table after table, then one seq per old run.
    offset = 0
    for table in SEQ_TABLES:
        rowid = "id" if table == "events" else "rowid"
        # negate first so that the shift never collides with a row not yet moved
        db.execute(f"UPDATE {table} SET {rowid} = -{rowid}")
        db.execute(f"UPDATE {table} SET {rowid} = -{rowid} + ?", (offset,))
        offset = int(db.execute(f"SELECT COALESCE(MAX({rowid}), ?) FROM {table}", (offset,)).fetchone()[0])
    runs = [r[0] for r in db.execute("SELECT id FROM sessions ORDER BY id")]
    for i, run in enumerate(runs, start=1):
        db.execute("UPDATE sessions SET seq=? WHERE id=?", (offset + i, run))
    db.execute("UPDATE ppg SET n = length(ir) / 4 WHERE codec='i4'")
    first = db.execute("SELECT MIN(started_wall) FROM sessions").fetchone()[0]
    db.execute(
        "INSERT INTO device(device_id, created_wall, sim) VALUES (?, ?, ?)",
        (device_id, first if first is not None else wall, int(sim)),
    )
    # v1 saved the baseline only as current state: keep it as the first snapshot too
    seq = offset + len(runs)
    for key, value, at in db.execute("SELECT key, value, wall FROM state ORDER BY key").fetchall():
        if _is_json(value):
            seq += 1
            db.execute(
                "INSERT INTO snapshots(rowid, session, t_s, wall, key, value) VALUES (?, ?, ?, ?, ?, ?)",
                (seq, runs[-1] if runs else 0, 0.0, at, key, value),
            )
    db.execute("INSERT INTO meta(key, value) VALUES ('next_seq', ?)", (str(next_seq_floor(db)),))


def next_seq_floor(db: sqlite3.Connection) -> int:
    """One more than the highest seq any table holds (rows may have been pruned since)."""
    highest = 0
    for table in SEQ_TABLES:
        highest = max(highest, int(db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0]))
    highest = max(highest, int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM sessions").fetchone()[0]))
    return highest + 1


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def run_rows(db: sqlite3.Connection, run: int) -> tuple[int, int]:
    """The seq range (lo, hi], as rowids, that holds the records of `run`: per-run queries on
    nn and ppg use ``WHERE rowid > lo AND rowid <= hi`` (the primary key)."""
    row = db.execute("SELECT seq FROM sessions WHERE id=?", (run,)).fetchone()
    after = db.execute("SELECT MIN(seq) FROM sessions WHERE id > ?", (run,)).fetchone()
    lo = int(row[0]) if row and row[0] is not None else 0
    hi = int(after[0]) - 1 if after and after[0] is not None else 2**62
    return lo, hi
