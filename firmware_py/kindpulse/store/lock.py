"""One writer per log: an exclusive `flock` on DATA_DIR/kindpulse.sqlite.lock.

The holder writes its pid and command line into the file, so a second daemon (or `kindpulse sim`)
can refuse with one line that names the process instead of interleaving writes. The kernel drops
the lock when the holder dies (kill -9 included), so a stale file never blocks a restart.
Readers (export, sync) take no lock: SQLite's WAL gives them a consistent snapshot.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from kindpulse.errors import KindpulseError

LOCK_SUFFIX = ".lock"


def lock_path(db_path: Path) -> Path:
    return Path(db_path).with_name(Path(db_path).name + LOCK_SUFFIX)


class LogLocked(KindpulseError):
    """Another process writes to this data directory."""


def _describe_holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return "another process"
    return f"pid {pid} ({command or 'unknown command'})"


class WriterLock:
    """Hold the writer lock of the log at `db_path` until `release()` (or process exit)."""

    def __init__(self, db_path: Path, command: str | None = None) -> None:
        self.path = lock_path(db_path)
        data_dir = Path(db_path).parent
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except OSError as exc:
            raise KindpulseError(
                f"cannot open the log lock {self.path} ({exc.strerror}): check that the data directory "
                "is writable by this user"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LogLocked(
                f"{data_dir} is in use by {_describe_holder(self.path)}: stop that process first, "
                "or choose another data directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command or ' '.join(sys.argv)}\n".encode(), 0)
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def holder(db_path: Path) -> str | None:
    """Who holds the writer lock of the log at `db_path` (None when nobody does)."""
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe_holder(path)
    finally:
        os.close(fd)
    return None
