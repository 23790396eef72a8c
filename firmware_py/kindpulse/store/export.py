"""Read the log as records: flat JSON objects with a kind and a stable identity (docs/store.md).

Read-only and safe while the daemon writes: one read transaction gives a consistent snapshot
(WAL). Records come in `seq` order, the order they were written; a cursor ``<device>/<seq>``
names the position after the last record, for incremental export and sync.

Wall times: each record's ``wall`` is what the clock said, unless its run later recorded a
``clock_synced`` event (NTP synced the clock): then ``wall`` is the corrected start of the run
(the synced wall time minus the run's monotonic time at that moment) plus ``t_s``, and the
clock's own reading is kept as ``wall_raw`` when the two differ by more than WALL_TOLERANCE_S.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kindpulse.errors import InputError, KindpulseError
from kindpulse.store.codec import decode_counts
from kindpulse.store.schema import LOG_NAME, SCHEMA_VERSION, next_seq_floor, schema_version

WALL_TOLERANCE_S = 1.0
KINDS = ("device", "run", "event", "state", "nn", "hrv", "baseline", "saved", "ppg")


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_NAME


def open_reader(data_dir: Path) -> sqlite3.Connection:
    """The log opened read-only, or a one-line error saying what is wrong."""
    path = log_path(data_dir)
    if not path.is_file():
        raise InputError(f"no kindpulse log in {data_dir} ({LOG_NAME} not found): check --data-dir")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA busy_timeout=5000")
        version = schema_version(db)
    except sqlite3.Error as exc:
        raise InputError(
            f"cannot read the log {path} ({exc}): check its permissions (the kindpulse group can read it)"
        ) from None
    if version > SCHEMA_VERSION:
        db.close()
        raise InputError(f"{path} was written by a newer kindpulse (schema {version}): upgrade kindpulse")
    if version < SCHEMA_VERSION:
        db.close()
        _upgrade(path)
        return open_reader(data_dir)
    return db


def _upgrade(path: Path) -> None:
    """An old log (schema 1): migrate it in place, under the writer lock."""
    from kindpulse.clock import RealClock
    from kindpulse.store.lock import WriterLock
    from kindpulse.store.schema import migrate, open_log

    try:
        lock = WriterLock(path)
    except KindpulseError as exc:  # in use, or an unwritable directory
        raise InputError(f"the log {path} has an older schema and cannot be upgraded now ({exc})") from None
    try:
        db = open_log(path, create=False)
        migrate(db, wall=RealClock().wall())
        db.close()
    except sqlite3.Error as exc:
        raise InputError(f"cannot upgrade the log {path} ({exc}): run export as the log's owner") from None
    finally:
        lock.release()


def parse_cursor(text: str, device_id: str) -> int:
    """A cursor (``<device>/<seq>``, a record id ``<device>/<run>/<seq>``, or a bare seq) -> seq."""
    parts = text.strip().split("/")
    if len(parts) in (2, 3) and parts[0] != device_id:
        raise InputError(f"cursor {text!r} is for device {parts[0]}, this log is device {device_id}")
    try:
        seq = int(parts[-1])
    except ValueError:
        seq = -1
    if seq < 0 or len(parts) > 3:
        raise InputError(f"{text!r} is not a cursor: give the '<device>/<seq>' that the last export printed")
    return seq


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return {"unreadable": text}


@dataclass
class Snapshot:
    """One read transaction on the log: the device, its runs and the clock corrections."""

    db: sqlite3.Connection
    device_id: str
    created_wall: float
    sim: bool
    last_seq: int
    runs: dict[int, tuple] = field(default_factory=dict)  # run -> (seq, started_wall, info, boot_id, version)
    offsets: dict[int, float] = field(default_factory=dict)  # run -> corrected wall of its t_s = 0

    def cursor(self, seq: int) -> str:
        return f"{self.device_id}/{seq}"

    def close(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")
        self.db.close()


def snapshot(data_dir: Path) -> Snapshot:
    db = open_reader(data_dir)
    try:
        db.execute("BEGIN")
        device_id, created, sim = db.execute("SELECT device_id, created_wall, sim FROM device").fetchone()
        snap = Snapshot(db, str(device_id), float(created), bool(sim), next_seq_floor(db) - 1)
        for row in db.execute(
            "SELECT id, seq, started_wall, info, boot_id, version FROM sessions ORDER BY id"
        ):
            snap.runs[int(row[0])] = tuple(row[1:])
        for run, t_s, data in db.execute(
            "SELECT session, t_s, data FROM events WHERE type='clock_synced' ORDER BY id"
        ):
            wall = _loads(data).get("wall")
            if run not in snap.offsets and isinstance(wall, (int, float)):
                snap.offsets[int(run)] = float(wall) - float(t_s)
    except (sqlite3.Error, TypeError) as exc:
        db.close()
        raise InputError(f"cannot read the log in {data_dir} ({exc}): is it a kindpulse log?") from None
    return snap


def _walls(snap: Snapshot, run: int, t_s: float, raw: float) -> dict[str, float]:
    offset = snap.offsets.get(run)
    if offset is not None:
        fixed = round(offset + t_s, 3)
        if abs(fixed - raw) > WALL_TOLERANCE_S:
            return {"wall": fixed, "wall_raw": raw}
    return {"wall": raw}


def _head(snap: Snapshot, kind: str, run: int, seq: int, t_s: float, wall_raw: float) -> dict[str, Any]:
    rec = {
        "kind": kind,
        "id": f"{snap.device_id}/{run}/{seq}",
        "device": snap.device_id,
        "run": run,
        "seq": seq,
        "t_s": t_s,
        "wall": wall_raw,
    }
    if run in snap.offsets:
        rec.update(_walls(snap, run, t_s, wall_raw))
    return rec


def _runs(snap: Snapshot, lo: int, hi: int) -> Iterator[tuple[int, dict]]:
    for run, (seq, started, info, boot_id, version) in snap.runs.items():
        if seq is not None and lo < seq <= hi:
            rec = _head(snap, "run", run, int(seq), 0.0, started)
            rec.update(boot_id=boot_id, started_wall=started, version=version, info=_loads(info))
            yield int(seq), rec


def _events(snap: Snapshot, lo: int, hi: int) -> Iterator[tuple[int, dict]]:
    for seq, run, t_s, wall, type_, data in snap.db.execute(
        "SELECT id, session, t_s, wall, type, data FROM events WHERE id > ? AND id <= ? ORDER BY id", (lo, hi)
    ):
        fields = _loads(data)
        if type_ == "state":
            rec = _head(snap, "state", run, seq, t_s, wall)
            rec.update(state=fields.get("state"), **{"from": fields.get("from")})
        else:
            rec = _head(snap, "event", run, seq, t_s, wall)
            rec.update(type=type_, data=fields)
        yield seq, rec


def _nn(snap: Snapshot, lo: int, hi: int) -> Iterator[tuple[int, dict]]:
    starts = {run: r[1] for run, r in snap.runs.items()}
    for seq, run, t_s, ibi, quality in snap.db.execute(
        "SELECT rowid, session, t_s, ibi_ms, quality FROM nn WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
        (lo, hi),
    ):
        rec = _head(snap, "nn", run, seq, t_s, round(starts.get(run, 0.0) + t_s, 3))
        rec.update(ibi_ms=ibi, quality=quality)
        yield seq, rec


def _hrv(snap: Snapshot, lo: int, hi: int) -> Iterator[tuple[int, dict]]:
    for seq, run, t_s, wall, window_s, metrics in snap.db.execute(
        "SELECT rowid, session, t_s, wall, window_s, metrics FROM hrv WHERE rowid > ? AND rowid <= ? "
        "ORDER BY rowid",
        (lo, hi),
    ):
        rec = _head(snap, "hrv", run, seq, t_s, wall)
        rec.update(window_s=window_s, metrics=_loads(metrics))
        yield seq, rec


def _snapshots(snap: Snapshot, lo: int, hi: int) -> Iterator[tuple[int, dict]]:
    for seq, run, t_s, wall, key, value in snap.db.execute(
        "SELECT rowid, session, t_s, wall, key, value FROM snapshots WHERE rowid > ? AND rowid <= ? "
        "ORDER BY rowid",
        (lo, hi),
    ):
        if key == "baseline":
            rec = _head(snap, "baseline", run, seq, t_s, wall)
            rec["baseline"] = _loads(value)
        else:
            rec = _head(snap, "saved", run, seq, t_s, wall)
            rec.update(key=key, value=_loads(value))
        yield seq, rec


def _ppg(snap: Snapshot, lo: int, hi: int) -> Iterator[tuple[int, dict]]:
    for seq, run, t0_s, wall, fs, lost, ir, red, codec, n in snap.db.execute(
        "SELECT rowid, session, t0_s, wall, fs, lost_before, ir, red, codec, n FROM ppg "
        "WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
        (lo, hi),
    ):
        rec = _head(snap, "ppg", run, seq, t0_s, wall)
        try:
            ir_c, red_c = decode_counts(ir, codec, n), decode_counts(red, codec, n)
        except Exception as exc:  # noqa: BLE001  (ValueError, zlib.error): one bad chunk, not the export
            rec.update(fs=fs, t0_s=t0_s, n=n, lost_before=lost, error=f"unreadable chunk ({exc})")
            yield seq, rec
            continue
        rec.update(fs=fs, t0_s=t0_s, n=len(ir_c), lost_before=lost, ir=ir_c.tolist(), red=red_c.tolist())
        yield seq, rec


def records(
    snap: Snapshot, since_seq: int = -1, until_seq: int | None = None, raw: bool = False
) -> Iterator[dict]:
    """The snapshot's records with since_seq < seq <= until_seq, in seq order (the device record,
    seq 0, only in a full export)."""
    hi = snap.last_seq if until_seq is None else min(until_seq, snap.last_seq)
    if since_seq < 0:
        yield {
            "kind": "device",
            "id": snap.device_id,
            "device": snap.device_id,
            "run": 0,
            "seq": 0,
            "t_s": 0.0,
            "wall": snap.created_wall,
            "device_id": snap.device_id,
            "created_wall": snap.created_wall,
            "sim": snap.sim,
        }
    lo = max(since_seq, 0)
    sources = [
        _runs(snap, lo, hi),
        _events(snap, lo, hi),
        _nn(snap, lo, hi),
        _hrv(snap, lo, hi),
        _snapshots(snap, lo, hi),
    ]
    if raw:
        sources.append(_ppg(snap, lo, hi))
    for _, rec in heapq.merge(*sources):  # (seq, record) pairs: seqs are unique, records never compared
        yield rec


def iter_records(
    data_dir: Path, since: str | None = None, until: str | None = None, raw: bool = False
) -> Iterator[dict]:
    """Every record of the log in DATA_DIR (raw PPG chunks with `raw`), oldest first; `since` and
    `until` are cursors (``<device>/<seq>``) as export prints them. Read-only."""
    snap = snapshot(Path(data_dir))
    try:
        lo = parse_cursor(since, snap.device_id) if since else -1
        hi = parse_cursor(until, snap.device_id) if until else None
        yield from records(snap, lo, hi, raw)
    finally:
        snap.close()


def dumps_record(rec: dict) -> str:
    """One record as one line of JSON; the same record always gives the same bytes."""
    return json.dumps(rec, separators=(",", ":"), allow_nan=False)


CSV_COLUMNS = ("kind", "id", "device", "run", "seq", "t_s", "wall", "wall_raw")


def csv_row(rec: dict) -> list[Any]:
    """CSV: the common columns, then every other field as one JSON object."""
    rest = {k: v for k, v in rec.items() if k not in CSV_COLUMNS}
    return [rec.get(c, "") for c in CSV_COLUMNS] + [json.dumps(rest, separators=(",", ":"), allow_nan=False)]


def batch_digest(lines: list[bytes]) -> str:
    """The checksum of a sync batch: SHA-256 over its record lines, each with its newline."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line)
    return h.hexdigest()
