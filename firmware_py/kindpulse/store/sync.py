"""Pull a device's log to this machine over SSH, into DEST/<device id>/kindpulse.sqlite.

The laptop runs the system `ssh` (so ~/.ssh/config, keys and agents work) with the command
``CMD export --format sync --since <cursor>...`` on the device, and reads the framed stream
(commands/export.py): records in batches, each followed by its count, SHA-256 and cursor. A
batch goes into the local store in one transaction together with the new cursor, only after its
count and checksum match, so a sync killed at any moment loses nothing and duplicates nothing:
the next run starts after the last batch that was committed, and rows are keyed by their seq
(``INSERT OR IGNORE``) besides. The local store has the device's schema and seqs, so
``kindpulse export --data-dir DEST/<device id>`` gives record for record what the device gives.
The copies are private: directories 0700, files 0600.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kindpulse.errors import KindpulseError
from kindpulse.store.codec import encode_counts
from kindpulse.store.export import batch_digest
from kindpulse.store.schema import LOG_NAME, migrate, open_log

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CURSOR_KEY = "sync_cursor"
SSH_DEFAULTS = ("BatchMode=yes", "ConnectTimeout=10", "ServerAliveInterval=15")


class SyncError(KindpulseError):
    """A sync that cannot go on; the message says what to do."""


@dataclass
class SyncResult:
    device_id: str
    records: int
    batches: int
    cursor: str
    store: Path


# -- the local store ---------------------------------------------------------------------------
def prepare_dest(dest: Path) -> Path:
    """DEST, created private (0700) if new; a one-line error when it cannot be written."""
    dest = Path(dest)
    try:
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SyncError(
            f"cannot create {dest} ({exc.strerror or exc}): choose a --dest you can write"
        ) from None
    if not dest.is_dir():
        raise SyncError(f"{dest} is not a directory: give --dest a directory")
    probe = dest / f".kindpulse-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SyncError(
            f"cannot write to {dest} ({exc.strerror or exc}): choose a --dest you can write"
        ) from None
    return dest


def local_cursors(dest: Path) -> dict[str, str]:
    """device id -> the cursor after the last batch committed in DEST/<device id>/."""
    found = {}
    for path in sorted(Path(dest).glob(f"*/{LOG_NAME}")):
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            row = db.execute("SELECT value FROM meta WHERE key=?", (CURSOR_KEY,)).fetchone()
            db.close()
        except sqlite3.Error:
            continue
        if row and DEVICE_ID.match(path.parent.name):
            found[path.parent.name] = row[0]
    return found


class LocalStore:
    """DEST/<device id>/kindpulse.sqlite: the device's schema, written by sync only."""

    def __init__(self, dest: Path, device_id: str, wall: float) -> None:
        if not DEVICE_ID.match(device_id):
            raise SyncError(f"the device sent an unusable device id {device_id!r}: is it a kindpulse device?")
        self.dir = Path(dest) / device_id
        self.path = self.dir / LOG_NAME
        old = os.umask(0o077)  # the store, its WAL and SHM: owner only
        try:
            self.dir.mkdir(mode=0o700, exist_ok=True)
            self.db = open_log(self.path, create=True)
            # A batch and its cursor commit together: a power cut may roll back the last batches,
            # never split them, so NORMAL is enough here (the device's log uses FULL).
            self.db.execute("PRAGMA synchronous=NORMAL")
            os.chmod(self.path, 0o600)
            migrate(self.db, wall=wall, device_id=lambda: device_id)
        except (OSError, sqlite3.Error) as exc:
            raise SyncError(f"cannot write the copy {self.path} ({exc}): check --dest") from None
        finally:
            os.umask(old)
        row = self.db.execute("SELECT device_id FROM device").fetchone()
        if row[0] != device_id:
            raise SyncError(f"{self.path} holds device {row[0]}, not {device_id}: move it aside")

    def cursor(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (CURSOR_KEY,)).fetchone()
        return row[0] if row else None

    def commit_batch(self, recs: list[dict], cursor: str, digest: str, source: str, wall: float) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            _ingest(db, recs)
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (CURSOR_KEY, cursor),
            )
            db.execute(
                "INSERT INTO sync_log(source, cursor, count, sha256, wall) VALUES (?, ?, ?, ?, ?)",
                (source, int(cursor.rsplit("/", 1)[-1]), len(recs), digest, wall),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()


_SQL = {
    "device": "UPDATE device SET created_wall=?, sim=?",
    "run": "INSERT OR IGNORE INTO sessions(id, started_wall, info, seq, boot_id, version) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "events": "INSERT OR IGNORE INTO events(id, session, t_s, wall, type, data) VALUES (?, ?, ?, ?, ?, ?)",
    "nn": "INSERT OR IGNORE INTO nn(rowid, session, t_s, ibi_ms, quality) VALUES (?, ?, ?, ?, ?)",
    "hrv": "INSERT OR IGNORE INTO hrv(rowid, session, t_s, wall, window_s, metrics) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "snapshots": "INSERT OR IGNORE INTO snapshots(rowid, session, t_s, wall, key, value) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "ppg": "INSERT OR IGNORE INTO ppg(rowid, session, t0_s, wall, fs, lost_before, ir, red, codec, n) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'd4z', ?)",
}


def dumps(value: object) -> str:
    """Exported values are strict JSON already: no cleaning on the way back in."""
    return json.dumps(value, separators=(",", ":"))


def _row(rec: dict) -> tuple[str, tuple] | None:
    """An exported record back into the table and row it came from (keyed by its seq)."""
    kind, seq, run, t_s = rec["kind"], rec["seq"], rec["run"], rec["t_s"]
    wall = rec.get("wall_raw", rec["wall"])
    if kind == "nn":
        return "nn", (seq, run, t_s, rec["ibi_ms"], rec["quality"])
    if kind == "hrv":
        return "hrv", (seq, run, t_s, wall, rec["window_s"], dumps(rec["metrics"]))
    if kind == "event":
        return "events", (seq, run, t_s, wall, rec["type"], dumps(rec["data"]))
    if kind == "state":
        return "events", (seq, run, t_s, wall, "state", dumps({"state": rec["state"], "from": rec["from"]}))
    if kind in ("baseline", "saved"):
        key, value = ("baseline", rec["baseline"]) if kind == "baseline" else (rec["key"], rec["value"])
        return "snapshots", (seq, run, t_s, wall, key, dumps(value))
    if kind == "run":
        return "run", (run, rec["started_wall"], dumps(rec["info"]), seq, rec["boot_id"], rec["version"])
    if kind == "device":
        return "device", (rec["created_wall"], int(bool(rec.get("sim"))))
    if kind == "ppg" and "ir" in rec:
        import numpy as np

        ir, red = np.asarray(rec["ir"], dtype=np.int64), np.asarray(rec["red"], dtype=np.int64)
        return "ppg", (
            seq,
            run,
            rec["t0_s"],
            wall,
            rec["fs"],
            rec["lost_before"],
            encode_counts(ir),
            encode_counts(red),
            len(ir),
        )
    return None  # a kind this version does not know, or an unreadable raw chunk: skipped


def _ingest(db: sqlite3.Connection, recs: list[dict]) -> None:
    rows: dict[str, list[tuple]] = {}
    for rec in recs:
        got = _row(rec)
        if got is not None:
            rows.setdefault(got[0], []).append(got[1])
    for table, batch in rows.items():
        db.executemany(_SQL[table], batch)


# -- the stream ----------------------------------------------------------------------------------
class StreamError(SyncError):
    """The stream from the device is not what export sends (cut short, or corrupted)."""


def ingest_stream(lines: Iterable[bytes], dest: Path, source: str, wall: Callable[[], float]) -> SyncResult:
    """Read one framed export stream into DEST; commits batch by batch. Raises StreamError when
    the stream ends early or a batch does not verify (what was committed stays)."""
    it = iter(lines)
    try:
        header = json.loads(next(it))
        device_id = str(header["device"])
        since = int(header["since"])
    except (StopIteration, ValueError, KeyError, TypeError):
        raise StreamError("no sync header") from None
    store = LocalStore(dest, device_id, wall())
    try:
        have = store.cursor()
        expected = int(have.rsplit("/", 1)[-1]) if have else -1
        if since != expected and not (since == -1 and have is None):
            raise StreamError(f"the device answered from {since}, the copy is at {expected}")
        batch: list[bytes] = []
        records = batches = 0
        for line in it:
            if line.startswith(b'{"kind"'):
                batch.append(line if line.endswith(b"\n") else line + b"\n")
                continue
            try:
                frame = json.loads(line)
            except ValueError:
                raise StreamError("a corrupted line") from None
            if "batch" in frame:
                if frame.get("count") != len(batch) or frame.get("sha256") != batch_digest(batch):
                    raise StreamError(f"batch {frame.get('batch')} does not match its count and checksum")
                store.commit_batch(
                    [json.loads(b) for b in batch], str(frame["cursor"]), frame["sha256"], source, wall()
                )
                records += len(batch)
                batches += 1
                batch = []
            elif frame.get("end"):
                if batch:
                    raise StreamError("records after the last batch")
                cursor = str(frame["cursor"])
                if cursor != store.cursor():
                    store.commit_batch([], cursor, batch_digest([]), source, wall())
                return SyncResult(device_id, records, batches, cursor, store.path)
            else:
                raise StreamError("an unknown frame")
        raise StreamError(f"the stream ended after {records} records")
    finally:
        store.close()


# -- ssh --------------------------------------------------------------------------------------------
def remote_argv(
    remote_command: str, remote_data_dir: str | None, cursors: dict[str, str], raw: bool, batch_size: int
) -> str:
    """The command line the device's shell runs (CMD is a shell fragment: `env X=1 kindpulse` works)."""
    args = ["export", "--format", "sync", "--batch-size", str(batch_size)]
    if remote_data_dir:
        args += ["--data-dir", remote_data_dir]
    if raw:
        args.append("--raw")
    for cursor in cursors.values():
        args += ["--since", cursor]
    return remote_command + " " + " ".join(shlex.quote(a) for a in args)


def _ssh_error(host: str, rc: int, stderr: str, remote_command: str) -> SyncError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit code {rc}"
    text = stderr.lower()
    if rc == 255:
        if "permission denied" in text:
            return SyncError(
                f"{host} refused the key ({last}): add your public key to the device "
                f"(ssh-copy-id {host}), or name the key with --ssh-option IdentityFile=..."
            )
        if "host key verification failed" in text or "host key" in text and "changed" in text:
            return SyncError(f"{host}'s host key is unknown or changed ({last}): check ~/.ssh/known_hosts")
        return SyncError(
            f"cannot reach {host} ({last}): check the name, the network and that sshd runs there"
        )
    if rc == 127 or "command not found" in text or "no such file or directory" in text and rc != 2:
        return SyncError(
            f"{host} has no kindpulse ({remote_command!r} not found): install it there, "
            "or give --remote-command"
        )
    kp = [line for line in lines if line.startswith("kindpulse")]
    if kp:
        return SyncError(f"on {host}: {kp[-1]}")
    return SyncError(f"on {host}: export failed ({last})")


def sync(
    host: str,
    dest: Path,
    *,
    remote_command: str = "kindpulse",
    remote_data_dir: str | None = None,
    ssh_options: Sequence[str] = (),
    raw: bool = False,
    batch_size: int = 5000,
    ssh: str = "ssh",
    wall: Callable[[], float],
) -> SyncResult:
    """Pull HOST's log into DEST/<device id>/ (see the module docstring)."""
    dest = prepare_dest(dest)
    cursors = local_cursors(dest)
    argv = [ssh]
    for opt in [*ssh_options, *SSH_DEFAULTS]:  # ssh keeps the first value given: the user's win
        argv += ["-o", opt]
    argv += [host, remote_argv(remote_command, remote_data_dir, cursors, raw, batch_size)]
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise SyncError(f"cannot run {ssh} ({exc.strerror}): install the OpenSSH client") from None
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    try:
        result = ingest_stream(proc.stdout, dest, host, wall)
    except StreamError as exc:
        proc.kill()
        rc = proc.wait()
        reader.join(5)
        stderr = b"".join(err).decode(errors="replace")
        if str(exc) == "no sync header":
            raise _ssh_error(host, rc, stderr, remote_command) from None
        raise SyncError(
            f"sync from {host} stopped: {exc} ({stderr.strip().splitlines()[-1:] or 'no message'}); "
            "what arrived is kept, run sync again to resume"
        ) from None
    finally:
        if proc.poll() is None:
            proc.stdout.close()
    rc = proc.wait()
    reader.join(5)
    if rc != 0:
        raise _ssh_error(host, rc, b"".join(err).decode(errors="replace"), remote_command)
    return result
