"""The device log: one SQLite file in the data directory, one writer, crash-safe.

What it keeps (docs/store.md has every table and record kind): the device's identity, each run
of the daemon (boot id, start, version), every event, trigger state changes, NN intervals with a
quality flag, HRV windows, baseline snapshots, and raw PPG in compressed chunks (pruned after
``keep_raw_ppg_days``).

Times: ``t_s`` is seconds on the injected monotonic clock since this run started; ``wall`` is
Unix time beside it, as the clock said (a Pi has no RTC and may boot with a wrong date). When
the injected ``clock_synced()`` first says the clock is synced (NTP), a ``clock_synced`` event
records the offset; export then corrects the run's wall times (store/export.py).

Writes go to memory and reach the disk in one transaction every ``commit_every_s`` (10 s: a
kill -9 or a power cut loses at most that, ``synchronous=FULL`` in WAL mode), at once for the
events in COMMIT_AT_ONCE (the run's ``start`` among them), and on close. Rows stay in memory
until their commit succeeds, so a full disk loses nothing derived: raw PPG goes first (paused
and the oldest chunks deleted to free pages), derived rows wait for space, the loop keeps
running and ``storage`` says so (``ok``, ``low``: raw paused, ``full``: rows waiting).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kindpulse import __version__
from kindpulse.clock import Clock
from kindpulse.errors import KindpulseError
from kindpulse.store.codec import CODEC, dumps, encode_counts
from kindpulse.store.lock import WriterLock
from kindpulse.store.schema import (
    SCHEMA_VERSION,
    migrate,
    new_device_id,
    next_seq_floor,
    open_log,
    run_rows,
    schema_version,
)

log = logging.getLogger("kindpulse.store")

PRUNE_EVERY_S = 3600.0
CLOCK_CHECK_EVERY_S = 10.0
STORAGE_CHECK_EVERY_S = 60.0
RAW_CHUNK_MAX_S = 10.0
# A batch that does not start where the chunk ends (give or take the drain's timing jitter)
# starts a new chunk: a chunk's sample times are t0_s + i / fs.
RAW_GAP_S = 0.5
# Raw PPG pauses below this much free space, and resumes above twice as much (plus the reserve).
MIN_FREE_BYTES = 64 * 2**20
# Space held back in DATA_DIR/kindpulse.sqlite.reserve and given up when the disk is full: room
# for the WAL to be checkpointed and old raw chunks deleted, so that derived rows fit into the
# freed pages. The WAL is checkpointed at a quarter of it, so that it can always be.
RESERVE_BYTES = 4 * 2**20
# On a full disk, this many of the oldest raw chunks are deleted per attempt (10 s each: 1 h).
FREE_RAW_CHUNKS = 360
# Derived rows kept in memory while the disk is full (about two days of NN intervals); beyond
# that the oldest are dropped, counted, and said so (memory must stay bounded).
MAX_PENDING_ROWS = 200_000
HRV_DECIMALS = 3
# A saved state (the baseline: ~80 KB of JSON, saved every 10 calm minutes) goes into the log's
# history at most this often, and once more at close if it changed; `state` always has the newest.
SNAPSHOT_EVERY_S = 3600.0
COMMIT_AT_ONCE = frozenset(
    {
        "start",
        "stop",
        "baseline_ready",
        "break_end",
        "dismissed",
        "snoozed",
        "sensor_error",
        "clock_synced",
        "storage_low",
        "storage_full",
        "storage_ok",
    }
)

_INSERT = {
    "events": "INSERT INTO events(id, session, t_s, wall, type, data) VALUES (?, ?, ?, ?, ?, ?)",
    "nn": "INSERT INTO nn(rowid, session, t_s, ibi_ms, quality) VALUES (?, ?, ?, ?, ?)",
    "hrv": "INSERT INTO hrv(rowid, session, t_s, wall, window_s, metrics) VALUES (?, ?, ?, ?, ?, ?)",
    "ppg": "INSERT INTO ppg(rowid, session, t0_s, wall, fs, lost_before, ir, red, codec, n) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "snapshots": "INSERT INTO snapshots(rowid, session, t_s, wall, key, value) VALUES (?, ?, ?, ?, ?, ?)",
}


def system_boot_id() -> str:
    """Linux's id of this boot ('' elsewhere): tells a restart from a reboot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def system_clock_synced(marker: Path = Path("/run/systemd/timesync/synchronized")) -> bool:
    """Whether NTP has synced the wall clock: systemd-timesyncd touches `marker` once it has (the
    real rig passes this to Store; chrony users can point `marker` at their own hook's file)."""
    return marker.exists()


def free_bytes_of(directory: Path) -> Callable[[], int]:
    def free() -> int:
        st = os.statvfs(directory)
        return st.f_bavail * st.f_frsize

    return free


def is_storage_error(exc: BaseException) -> bool:
    """SQLite's 'database or disk is full' and the I/O errors a full or failing card gives."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("full" in text or "disk i/o" in text)


class _RawChunk:
    """Contiguous raw batches gathered into one chunk (one row per ~10 s, not per drain)."""

    def __init__(self, t0_s: float, wall: float, fs: float, lost_before: int) -> None:
        self.t0_s, self.wall, self.fs, self.lost_before = t0_s, wall, fs, lost_before
        self.ir: list[np.ndarray] = []
        self.red: list[np.ndarray] = []
        self.n = 0

    def add(self, ir: np.ndarray, red: np.ndarray) -> None:
        self.ir.append(np.asarray(ir))
        self.red.append(np.asarray(red) if len(red) == len(ir) else np.zeros(len(ir), dtype=np.int64))
        self.n += len(ir)


class Store:
    """Append-only device log with one writer. Not thread-safe: the daemon's loop owns it."""

    def __init__(
        self,
        path: Path | str,
        clock: Clock,
        *,
        commit_every_s: float = 10.0,
        keep_raw_ppg_days: float = 7.0,
        info: dict[str, Any] | None = None,
        device_id: str | None = None,
        sim: bool = False,
        boot_id: str | None = None,
        clock_synced: Callable[[], bool] | None = None,
        free_bytes: Callable[[], int] | None = None,
        min_free_bytes: int = MIN_FREE_BYTES,
        reserve_bytes: int = RESERVE_BYTES,
        on_event: Callable[[dict], None] | None = None,
        command: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock: WriterLock | None = None
        try:
            if not self.path.parent.exists():
                self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as exc:
            raise KindpulseError(
                f"cannot open the log {self.path} ({exc.strerror or exc}): check that the data "
                "directory exists and is writable by this user"
            ) from None
        sim = sim or bool((info or {}).get("sim"))  # the simulated rig says so in the run's info
        self._lock = WriterLock(self.path, command)  # before anything touches the file
        try:
            self._db = self._open(clock, device_id, sim)
        except BaseException:
            self._lock.release()
            raise
        self._clock = clock
        self._t0 = clock.monotonic()
        self._commit_every_s = commit_every_s
        self._last_commit = self._t0
        self._last_prune = -PRUNE_EVERY_S
        self.keep_raw_ppg_days = keep_raw_ppg_days
        self._clock_synced = clock_synced
        self._clock_known = clock_synced is None
        self._last_clock_check = -CLOCK_CHECK_EVERY_S
        self._free_bytes = free_bytes or free_bytes_of(self.path.parent)
        self._min_free = min_free_bytes
        self._last_storage_check = -STORAGE_CHECK_EVERY_S
        self._reserve = self.path.with_name(self.path.name + ".reserve")
        self._reserve_bytes = reserve_bytes
        wal_pages = max(16, reserve_bytes // 4 // 4096)
        self._db.execute(f"PRAGMA wal_autocheckpoint={wal_pages}")
        self._db.execute(f"PRAGMA journal_size_limit={wal_pages * 4096}")
        self._make_reserve()
        self.on_event = on_event  # told the store's own events (clock, storage); the device sets it
        self._pending: dict[str, list[tuple]] = {t: [] for t in _INSERT}
        self._n_pending = 0
        self._chunk: _RawChunk | None = None
        self._state_updates: dict[str, tuple[str, float]] = {}
        self._snapshots: dict[str, tuple[float, str]] = {}  # key -> (t_s, text) of its last snapshot
        self.raw_paused = False
        self.raw_dropped_samples = 0
        self.rows_dropped = 0
        self.storage = "ok"
        row = self._db.execute("SELECT device_id, sim FROM device").fetchone()
        self.device_id, self.sim_log = str(row[0]), bool(row[1])
        self._seq = int(self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0])
        self._seq = max(self._seq, next_seq_floor(self._db))
        seq = self._next()
        self._db.execute("BEGIN IMMEDIATE")
        cur = self._db.execute(
            "INSERT INTO sessions(started_wall, info, seq, boot_id, version) VALUES (?, ?, ?, ?, ?)",
            (
                clock.wall(),
                dumps(info or {}),
                seq,
                system_boot_id() if boot_id is None else boot_id,
                __version__,
            ),
        )
        self.run = int(cur.lastrowid)
        self._write_meta()
        self._db.execute("COMMIT")

    def _open(self, clock: Clock, device_id: str | None, sim: bool) -> sqlite3.Connection:
        new = not self.path.exists()
        try:
            db = open_log(self.path, create=True, durable=not sim)
            if new:  # health data: owner and group only (the WAL and SHM files take the same mode)
                os.chmod(self.path, 0o640)
            version = schema_version(db)
            if version > SCHEMA_VERSION:
                db.close()
                raise KindpulseError(
                    f"{self.path} was written by a newer kindpulse (schema {version}): "
                    "upgrade kindpulse, or point the data directory elsewhere"
                )
            migrate(db, wall=clock.wall(), device_id=lambda: device_id or new_device_id(), sim=sim)
        except (OSError, sqlite3.Error) as exc:
            raise KindpulseError(
                f"cannot open the log {self.path} ({exc}): check that the data directory "
                "exists and is writable by this user, and that the disk is not full"
            ) from None
        return db

    @property
    def session(self) -> int:
        """The run number (v1 called runs sessions)."""
        return self.run

    def now(self) -> float:
        return self._clock.monotonic() - self._t0

    def _next(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def _add(self, table: str, row: tuple) -> None:
        self._pending[table].append(row)
        self._n_pending += 1
        if self._n_pending > MAX_PENDING_ROWS:
            self._drop_oldest_pending()

    # -- writing ------------------------------------------------------------
    def event(self, t_s: float, type_: str, data: dict[str, Any] | None = None) -> None:
        self._add(
            "events", (self._next(), self.run, float(t_s), self._clock.wall(), type_, dumps(data or {}))
        )
        if type_ in COMMIT_AT_ONCE:
            self.commit()
        else:
            self._maybe_commit()

    def nn(self, t_s: np.ndarray, ibi_ms: np.ndarray, quality: np.ndarray | None = None) -> None:
        """NN intervals: time (s) of the beat that ends each, length (ms), quality flag (0 = clean)."""
        flags = np.zeros(len(t_s), dtype=np.int64) if quality is None else np.asarray(quality)
        for t, i, q in zip(np.asarray(t_s, dtype=float), np.asarray(ibi_ms, dtype=float), flags, strict=True):
            self._add("nn", (self._next(), self.run, float(t), float(i), int(q)))

    def hrv(self, t_s: float, window_s: float, metrics: dict[str, Any]) -> None:
        """One HRV window; metrics are kept to HRV_DECIMALS (ms to the microsecond), which halves
        the largest derived table."""
        kept = {
            k: round(v, HRV_DECIMALS) if isinstance(v, float) and math.isfinite(v) else v
            for k, v in metrics.items()
        }
        self._add(
            "hrv", (self._next(), self.run, float(t_s), self._clock.wall(), float(window_s), dumps(kept))
        )

    def ppg(self, t0_s: float, fs: float, ir: np.ndarray, red: np.ndarray, lost_before: int = 0) -> None:
        """Raw counts of one drained batch; contiguous batches share a chunk of up to 10 s."""
        if self.keep_raw_ppg_days <= 0 or not len(ir):
            return
        if self.raw_paused:
            self.raw_dropped_samples += len(ir)
            return
        chunk = self._chunk
        if (
            chunk is None
            or lost_before
            or fs != chunk.fs
            or chunk.n / chunk.fs >= RAW_CHUNK_MAX_S
            or abs(t0_s - (chunk.t0_s + chunk.n / chunk.fs)) > RAW_GAP_S
        ):
            self._flush_chunk()
            wall0 = self._clock.wall() - max(
                0.0, self.now() - float(t0_s)
            )  # the wall time of its first sample
            chunk = self._chunk = _RawChunk(float(t0_s), wall0, float(fs), int(lost_before))
        chunk.add(ir, red)

    def _flush_chunk(self) -> None:
        chunk, self._chunk = self._chunk, None
        if chunk is None or chunk.n == 0:
            return
        ir, red = np.concatenate(chunk.ir), np.concatenate(chunk.red)
        self._add(
            "ppg",
            (
                self._next(),
                self.run,
                chunk.t0_s,
                chunk.wall,
                chunk.fs,
                chunk.lost_before,
                encode_counts(ir),
                encode_counts(red),
                CODEC,
                chunk.n,
            ),
        )

    def set_state(self, key: str, value: Any) -> None:
        """Keep `value` across restarts (and, hourly, a snapshot of it in the log); commits at once."""
        text = dumps(value)
        last = self._snapshots.get(key)
        if last is None or self.now() - last[0] >= SNAPSHOT_EVERY_S:
            self._snapshot(key, text)
        self._state_updates[key] = (text, self._clock.wall())
        self.commit()

    def _snapshot(self, key: str, text: str) -> None:
        self._add("snapshots", (self._next(), self.run, self.now(), self._clock.wall(), key, text))
        self._snapshots[key] = (self.now(), text)

    # -- reading ------------------------------------------------------------
    def get_state(self, key: str, default: Any = None) -> Any:
        if key in self._state_updates:
            return json.loads(self._state_updates[key][0])
        row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        if row is None:
            return default
        try:
            return json.loads(row[0])
        except ValueError:
            log.warning("the saved %s in %s is not valid JSON: starting without it", key, self.path)
            return default

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """This run's events, committed and pending, oldest first."""
        rows = self._db.execute(
            "SELECT id, t_s, type, data FROM events WHERE session=? ORDER BY id", (self.run,)
        ).fetchall()
        rows += [(r[0], r[2], r[4], r[5]) for r in self._pending["events"]]
        return [{"t": t, "type": ty, **json.loads(d)} for _, t, ty, d in rows if type_ is None or ty == type_]

    def count(self, table: str) -> int:
        if table not in ("events", "nn", "hrv", "ppg", "snapshots"):
            raise ValueError(table)
        lo, hi = run_rows(self._db, self.run)
        n = int(
            self._db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE rowid > ? AND rowid <= ?", (lo, hi)
            ).fetchone()[0]
        )
        return n + len(self._pending[table]) + (1 if table == "ppg" and self._chunk and self._chunk.n else 0)

    # -- lifecycle ------------------------------------------------------------
    def _maybe_commit(self) -> None:
        if self._clock.monotonic() - self._last_commit >= self._commit_every_s:
            self.commit()

    def tick(self) -> None:
        """Called by the loop: commits every interval; prunes old raw PPG hourly; watches the free
        space every minute; records when the wall clock becomes known synced."""
        now = self._clock.monotonic()
        if not self._clock_known and now - self._last_clock_check >= CLOCK_CHECK_EVERY_S:
            self._last_clock_check = now
            if self._clock_synced is not None and self._clock_synced():
                self._clock_known = True
                t = round(self.now(), 3)
                wall = self._clock.wall()
                self._own_event(t, "clock_synced", wall=wall, offset_s=round(wall - t, 3))
                self.commit()
        if now - self._last_storage_check >= STORAGE_CHECK_EVERY_S:
            self._last_storage_check = now
            if self._watch_space():
                self.commit()
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            try:
                self.prune_raw_ppg()
            except sqlite3.OperationalError as exc:
                log.warning("could not prune raw PPG (%s)", exc)
        self._maybe_commit()

    def _own_event(self, t: float, type_: str, **data: Any) -> None:
        """The store's own events (clock, storage): logged, and told to the device; the caller commits."""
        if self.on_event is not None:
            self.on_event({"t": t, "type": type_, **data})
        self._add("events", (self._next(), self.run, float(t), self._clock.wall(), type_, dumps(data)))

    def _make_reserve(self) -> None:
        if self._reserve_bytes <= 0 or self._reserve.exists():
            return
        try:
            fd = os.open(self._reserve, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return
        try:
            os.posix_fallocate(fd, 0, self._reserve_bytes)
        except OSError:  # no room for it (or no fallocate): go without
            os.close(fd)
            self._reserve.unlink(missing_ok=True)
            return
        os.close(fd)

    def _free(self) -> int | None:
        try:
            return int(self._free_bytes())
        except OSError:
            return None

    def _watch_space(self) -> bool:
        """Pause raw PPG when space runs low, resume it when space is back; True when it changed."""
        free = self._free()
        if free is None:
            return False
        if not self.raw_paused and free < self._min_free:
            self._pause_raw("storage_low", free)
            return True
        if self.raw_paused and self.storage != "full" and free >= 2 * (self._min_free + self._reserve_bytes):
            self.raw_paused = False
            self.storage = "ok"
            self._make_reserve()
            log.warning("free space is back (%d MB): raw PPG is logged again", free // 2**20)
            self._own_event(
                round(self.now(), 3),
                "storage_ok",
                free_mb=free // 2**20,
                raw_dropped_samples=self.raw_dropped_samples,
            )
            return True
        return False

    def _pause_raw(self, type_: str, free: int | None) -> None:
        self.raw_paused = True
        self.storage = "full" if type_ == "storage_full" else "low"
        self._chunk = None
        dropped = self._pending["ppg"]
        self.raw_dropped_samples += sum(int(r[9]) for r in dropped)
        self._n_pending -= len(dropped)
        self._pending["ppg"] = []
        free_mb = None if free is None else free // 2**20
        log.warning(
            "%s: %s MB free in %s: raw PPG paused, derived data kept", type_, free_mb, self.path.parent
        )
        self._own_event(round(self.now(), 3), type_, free_mb=free_mb, raw="paused")

    def prune_raw_ppg(self) -> int:
        """Delete raw PPG older than `keep_raw_ppg_days` (by wall time); returns the rows deleted."""
        cutoff = self._clock.wall() - self.keep_raw_ppg_days * 86400.0
        n = self._db.execute("DELETE FROM ppg WHERE wall < ?", (cutoff,)).rowcount
        return n

    def _free_raw_pages(self) -> int:
        """Delete the oldest raw chunks so that derived rows find free pages in the file.

        On a full disk the WAL cannot grow: checkpoint it into the database and truncate it first
        (that gives its space back), delete, and checkpoint again."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            n = self._db.execute(
                "DELETE FROM ppg WHERE rowid IN (SELECT rowid FROM ppg ORDER BY rowid LIMIT ?)",
                (FREE_RAW_CHUNKS,),
            ).rowcount
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return n
        except sqlite3.OperationalError:
            return 0

    def _write_meta(self) -> None:
        self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (str(self._seq),))

    def commit(self) -> bool:
        """Write what is pending in one transaction; False when the disk refused it (kept for later)."""
        self._flush_chunk()
        self._last_commit = self._clock.monotonic()
        try:
            self._write_pending()
        except sqlite3.OperationalError as exc:
            if not is_storage_error(exc):
                raise
            return self._on_full(exc)
        if self.storage == "full":
            self.storage = "low"
            log.warning(
                "the log is written again (%d rows dropped while the disk was full)", self.rows_dropped
            )
        return True

    def _write_pending(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, rows in self._pending.items():
                if rows:
                    db.executemany(_INSERT[table], rows)
            for key, (text, wall) in self._state_updates.items():
                db.execute(
                    "INSERT INTO state(key, value, wall) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
                    "SET value=excluded.value, wall=excluded.wall",
                    (key, text, wall),
                )
            self._write_meta()
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._pending = {t: [] for t in _INSERT}
        self._n_pending = 0
        self._state_updates = {}

    def _on_full(self, exc: BaseException) -> bool:
        if self.storage != "full":
            self._pause_raw("storage_full", self._free())  # adds its own event to the pending rows
            log.error(
                "disk full (%s) in %s: raw PPG paused, %d rows wait in memory",
                exc,
                self.path.parent,
                self._n_pending,
            )
        self._reserve.unlink(missing_ok=True)  # room to checkpoint and delete (made again when space is back)
        freed = 0
        while True:  # delete the oldest raw chunks until the derived rows fit, or no raw is left
            n = self._free_raw_pages()
            freed += n
            try:
                self._write_pending()
            except sqlite3.OperationalError as again:
                if not is_storage_error(again) or n == 0:
                    return False
                continue
            if freed:
                log.warning("disk full: %d old raw PPG chunks deleted, derived data written", freed)
            return True

    def _drop_oldest_pending(self) -> None:
        for table in ("ppg", "nn", "hrv", "events"):
            if self._pending[table]:
                self._pending[table].pop(0)
                self._n_pending -= 1
                self.rows_dropped += 1
                return

    def close(self) -> None:
        if self._db is None:
            return
        for key, (_, text) in list(self._snapshots.items()):
            newest = self._state_updates.get(key)
            if newest is None:
                row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
                newest = (row[0], 0.0) if row else None
            if newest is not None and newest[0] != text:
                self._snapshot(key, newest[0])
        try:
            if not self.commit():
                log.error("disk full at shutdown: %d rows could not be written", self._n_pending)
        except sqlite3.Error as exc:
            log.error("could not write the last rows (%s)", exc)
        finally:
            self._db.close()
            self._db = None
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def log_made_by_sim(path: Path) -> bool | None:
    """Whether the log at `path` holds only simulated runs (None: no log there). Read-only."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            infos = [json.loads(i) for (i,) in db.execute("SELECT info FROM sessions")]
            device = db.execute("SELECT sim FROM device").fetchone() if schema_version(db) >= 2 else None
        finally:
            db.close()
    except (sqlite3.Error, ValueError):
        return False  # not a log sim made: never touch it
    if device is not None and device[0]:
        return True
    return all(isinstance(i, dict) and i.get("sim") is True for i in infos)


def delete_log(path: Path, command: str | None = None) -> None:
    """Delete the log at `path` and its companions, under its writer lock (refused, naming the
    holder, when another process writes to it)."""
    lock = WriterLock(Path(path), command)
    try:
        for suffix in ("", "-wal", "-shm", ".reserve"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    finally:
        lock.release()


def last_wall(path: Path) -> float | None:
    """The newest wall time in the log at `path` (None: no log, or nothing in it). Read-only:
    a simulated restart starts its clock after it, as a real restart's clock would."""
    if not Path(path).exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            walls = [
                db.execute(f"SELECT MAX({col}) FROM {table}").fetchone()[0]
                for table, col in (("events", "wall"), ("hrv", "wall"), ("sessions", "started_wall"))
            ]
        finally:
            db.close()
    except sqlite3.Error:
        return None
    known = [w for w in walls if w is not None]
    return max(known) if known else None
