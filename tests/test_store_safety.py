"""The log survives: one writer at a time, kill -9 at random moments, a full disk."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kindpulse.clock import VirtualClock
from kindpulse.errors import KindpulseError
from kindpulse.store.db import Store
from kindpulse.store.export import iter_records
from kindpulse.store.lock import LogLocked, holder

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from store_writer import value_of  # noqa: E402


def _writer(path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "firmware_py"), str(HERE)])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "store_writer.py"), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def test_a_second_writer_is_refused_with_the_other_process_named(tmp_path):
    path = tmp_path / "kindpulse.sqlite"
    proc = _writer(path)
    try:
        assert proc.stdout.readline().strip().isdigit()  # the writer holds the log
        with pytest.raises(LogLocked) as info:
            Store(path, VirtualClock())
        message = str(info.value)
        assert f"pid {proc.pid}" in message and "store_writer.py" in message
        assert "\n" not in message and "stop that process" in message
        assert holder(path) is not None
    finally:
        proc.kill()
        proc.wait()
    assert holder(path) is None  # the kernel dropped the lock with the process
    Store(path, VirtualClock()).close()


def test_one_process_cannot_open_the_same_log_twice_either(tmp_path):
    with Store(tmp_path / "kindpulse.sqlite", VirtualClock()), pytest.raises(LogLocked):
        Store(tmp_path / "kindpulse.sqlite", VirtualClock())


def test_kill_9_at_random_moments_keeps_everything_committed(tmp_path):
    rng = np.random.default_rng(9)
    path = tmp_path / "kindpulse.sqlite"
    committed: list[int] = []
    for _ in range(5):
        proc = _writer(path)
        last = None
        for _ in range(int(rng.integers(1, 12))):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            last = int(line)
        os.kill(proc.pid, signal.SIGKILL)  # wherever the writer is: mid-row, mid-commit
        proc.wait()
        committed.append(last)
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        recs = list(iter_records(tmp_path, raw=True))
        seqs = {r["seq"] for r in recs}
        assert set(range(1, last + 1)) <= seqs  # nothing committed is missing
        starts = [r for r in recs if r["kind"] == "event" and r["data"] == {} and r["type"] == "start"]
        assert len(starts) == len(committed)  # each run's start was committed at once
        for r in recs:
            if r["kind"] == "nn":
                assert r["ibi_ms"] == value_of(r["seq"])
            elif r["kind"] == "hrv":
                assert r["metrics"] == {"rmssd_ms": value_of(r["seq"])}
            elif r["kind"] == "ppg":
                ir = np.reshape(r["ir"], (-1, 50)) - np.arange(50)  # batches of arange(50) + i, i = 1, 2...
                red = np.reshape(r["red"], (-1, 50)) - np.arange(50)
                assert np.all(ir == ir[:, :1]) and np.all(np.diff(ir[:, 0]) == 1) and np.all(red == -ir)
    assert len({r["run"] for r in recs if r["kind"] != "device"}) == 5


@contextlib.contextmanager
def _small_filesystem(where: Path, size: str):
    """A tmpfs of `size` mounted at `where` (needs root and CAP_SYS_ADMIN)."""
    where.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({res.stderr.strip()}): the disk-full test needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(store: Store, clock: VirtualClock, seconds: int, rng) -> list[float]:
    """One NN interval and 100 raw samples per second, as the daemon would; returns the NN values."""
    values = []
    for _ in range(seconds):
        clock.advance(1.0)
        ibi = float(rng.integers(600, 1100))
        store.nn(np.array([clock.monotonic()]), np.array([ibi]))
        values.append(ibi)
        noise = rng.integers(0, 2**18, size=100)  # incompressible: fills the disk fast
        store.ppg(clock.monotonic() - 1.0, 100.0, noise, noise[::-1])
        store.tick()
    return values


def test_a_full_disk_drops_raw_ppg_first_and_keeps_derived_data(tmp_path):
    rng = np.random.default_rng(3)
    with _small_filesystem(tmp_path / "small", "2m") as data:
        clock = VirtualClock()
        seen: list[dict] = []
        store = Store(
            data / "kindpulse.sqlite", clock, min_free_bytes=0, reserve_bytes=512 * 1024, on_event=seen.append
        )
        nn = _fill(store, clock, 3600, rng)  # an hour: ~2.2 MB of raw counts into 2 MB
        assert store.storage in ("low", "full") and store.raw_paused
        assert [e["type"] for e in seen][:1] == ["storage_full"]
        nn += _fill(store, clock, 1800, rng)  # monitoring goes on
        store.close()  # no exception: the rows fit once old raw chunks were deleted
        recs = list(iter_records(data, raw=True))
        assert [r["ibi_ms"] for r in recs if r["kind"] == "nn"] == nn  # every derived row is there
        assert any(r["kind"] == "event" and r["type"] == "storage_full" for r in recs)
        assert (
            sqlite3.connect(data / "kindpulse.sqlite").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        )


def test_low_space_pauses_raw_ppg_before_the_disk_is_full_and_resumes_when_space_is_back(tmp_path):
    free = [10 * 2**20]
    clock = VirtualClock()
    seen: list[dict] = []
    store = Store(
        tmp_path / "kindpulse.sqlite",
        clock,
        min_free_bytes=64 * 2**20,
        free_bytes=lambda: free[0],
        on_event=seen.append,
    )
    _fill(store, clock, 120, np.random.default_rng(1))
    assert store.raw_paused and store.storage == "low"
    assert seen[0]["type"] == "storage_low" and seen[0]["free_mb"] == 10
    free[0] = 500 * 2**20
    _fill(store, clock, 120, np.random.default_rng(2))
    assert not store.raw_paused and store.storage == "ok"
    assert [e["type"] for e in seen] == ["storage_low", "storage_ok"]
    assert store.count("ppg") >= 1
    store.close()


def test_an_unwritable_directory_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(KindpulseError, match="cannot open the log"):
        Store(tmp_path / "afile" / "kindpulse.sqlite", VirtualClock())
