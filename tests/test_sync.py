"""`kindpulse sync` against a real OpenSSH server on 127.0.0.1 (throwaway keys in a tmp dir):
first sync, new data, a second sync, a sync killed in the middle, two devices into one DEST, and
the same export on both sides; plus the one-line errors and a stream cut at random bytes."""

import contextlib
import io
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sshd import free_port, start_sshd
from tools import require_tool

from kindpulse.cli import main
from kindpulse.clock import VirtualClock
from kindpulse.commands.export import _write_sync
from kindpulse.store.db import Store
from kindpulse.store.export import dumps_record, iter_records, snapshot
from kindpulse.store.sync import StreamError, ingest_stream

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = start_sshd(
        require_tool("/usr/sbin/sshd", "the sync tests run a real OpenSSH server"),
        require_tool("ssh-keygen", "throwaway host and user keys"),
        tmp_path_factory.mktemp("sshd"),
    )
    require_tool("ssh", "sync uses the system ssh client")
    yield {
        "port": server.port,
        "options": server.options,
        "remote": server.remote,
        "tmp": server.tmp,
        "host": server.host,
    }
    server.stop()


def _device_log(data_dir: Path, device_id: str, seconds: int, *, raw: bool = True, seed: int = 0) -> None:
    """One run of a device: NN each second, HRV every 30 s, raw PPG, a baseline, a break."""
    rng = np.random.default_rng(seed)
    clock = VirtualClock()
    with Store(
        data_dir / "kindpulse.sqlite", clock, device_id=device_id, info={"mode": "desk"}, commit_every_s=3600
    ) as store:
        store.event(0.0, "start", {"mode": "desk"})
        for s in range(seconds):
            clock.advance(1.0)
            store.nn(np.array([store.now() - 0.3]), np.array([float(rng.integers(600, 1000))]))
            if raw:
                store.ppg(store.now() - 1, 100.0, rng.integers(0, 2**18, 100), rng.integers(0, 2**18, 100))
            if s % 30 == 29:
                store.hrv(store.now(), 60.0, {"hr_bpm": 70.0, "rmssd_ms": float(rng.normal(40, 5))})
            if s % 600 == 300:
                store.set_state("baseline", {"version": 1, "n": s})
                store.event(store.now(), "break_end", {"hr_before": 80.0, "hr_after": 72.5})
            store.tick()


def _records(data_dir: Path, raw: bool) -> list[str]:
    return [dumps_record(r) for r in iter_records(data_dir, raw=raw)]


def _sync(sshd, device_dir: Path, dest: Path, *extra: str) -> int:
    args = [
        "sync",
        sshd["host"],
        "--dest",
        str(dest),
        "--remote-command",
        sshd["remote"],
        "--remote-data-dir",
        str(device_dir),
        *extra,
    ]
    for opt in sshd["options"]:
        args += ["--ssh-option", opt]
    return main(args)


def test_first_sync_new_data_second_sync_and_the_same_export_both_sides(sshd, tmp_path, capsys):
    device, dest = tmp_path / "device", tmp_path / "laptop"
    _device_log(device, "kp-alpha", 300)
    assert _sync(sshd, device, dest, "--raw") == 0
    assert "device kp-alpha" in capsys.readouterr().out
    copy = dest / "kp-alpha"
    assert _records(copy, raw=True) == _records(device, raw=True)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700 and stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert stat.S_IMODE((copy / "kindpulse.sqlite").stat().st_mode) == 0o600
    # the device keeps logging (a new run); the next sync brings only what is new
    before = len(_records(device, raw=True))
    _device_log(device, "kp-alpha", 60, seed=1)
    assert _sync(sshd, device, dest, "--raw") == 0
    new = len(_records(device, raw=True)) - before
    assert f" {new} new records" in capsys.readouterr().out
    assert _records(copy, raw=True) == _records(device, raw=True)
    # nothing new: nothing transferred, nothing changed
    assert _sync(sshd, device, dest, "--raw") == 0
    assert " 0 new records" in capsys.readouterr().out
    assert _records(copy, raw=True) == _records(device, raw=True)


def test_two_devices_sync_into_one_dest(sshd, tmp_path):
    dest = tmp_path / "laptop"
    for name in ("kp-one", "kp-two"):
        _device_log(tmp_path / name, name, 120, raw=False, seed=len(name))
        assert _sync(sshd, tmp_path / name, dest) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["kp-one", "kp-two"]
    for name in ("kp-one", "kp-two"):
        assert _records(dest / name, raw=False) == _records(tmp_path / name, raw=False)


def test_a_sync_killed_in_the_middle_resumes_without_loss_or_duplicates(sshd, tmp_path):
    device, dest = tmp_path / "device", tmp_path / "laptop"
    _device_log(device, "kp-big", 2 * 3600, raw=False)  # two hours: ~7 500 records
    args = [
        sys.executable,
        "-m",
        "kindpulse",
        "sync",
        sshd["host"],
        "--dest",
        str(dest),
        "--remote-command",
        sshd["remote"],
        "--remote-data-dir",
        str(device),
        "--batch-size",
        "100",
    ]
    for opt in sshd["options"]:
        args += ["--ssh-option", opt]
    env = {**os.environ, "PYTHONPATH": str(REPO / "firmware_py")}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    copy = dest / "kp-big" / "kindpulse.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            batches = db.execute("SELECT COUNT(*) FROM sync_log").fetchone()[0]
            db.close()
        except sqlite3.Error:
            batches = 0
        if batches >= 3:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the sync finished before it could be killed"
    full = _records(device, raw=False)
    partial = _records(dest / "kp-big", raw=False)
    assert 0 < len(partial) < len(full) and full[: len(partial)] == partial  # a prefix: whole batches
    assert _sync(sshd, device, dest, "--batch-size", "5000") == 0
    assert _records(dest / "kp-big", raw=False) == full


def test_a_stream_cut_at_any_byte_loses_and_duplicates_nothing(tmp_path):
    device = tmp_path / "device"
    _device_log(device, "kp-cut", 600, seed=3)
    snap = snapshot(device)
    buf = io.StringIO()
    _write_sync(snap, buf.write, -1, snap.last_seq, True, 50)
    snap.close()
    stream = buf.getvalue().encode()
    rng = np.random.default_rng(11)
    dest = tmp_path / "laptop"
    dest.mkdir()
    full = _records(device, raw=True)
    for cut in sorted(rng.integers(1, len(stream), 6)):
        # each attempt: the stream from the copy's cursor on, as a reconnect gets it, cut short
        with contextlib.suppress(StreamError):
            ingest_stream(io.BytesIO(_resume(device, dest, cut)), dest, "test", time.time)
        if (dest / "kp-cut").exists():
            got = _records(dest / "kp-cut", raw=True)
            assert got == full[: len(got)]  # whole batches only, in order, none twice
    ingest_stream(io.BytesIO(_resume(device, dest, None)), dest, "test", time.time)
    assert _records(dest / "kp-cut", raw=True) == _records(device, raw=True)


def _resume(device: Path, dest: Path, cut: int | None) -> bytes:
    """The stream the device would send now (from the copy's cursor), cut after `cut` bytes."""
    from kindpulse.store.sync import local_cursors

    since = local_cursors(dest).get("kp-cut")
    snap = snapshot(device)
    lo = int(since.split("/")[1]) if since else -1
    buf = io.StringIO()
    _write_sync(snap, buf.write, lo, snap.last_seq, True, 50)
    snap.close()
    data = buf.getvalue().encode()
    return data if cut is None else data[:cut]


@pytest.mark.parametrize("case", ["unreachable", "refused_key", "no_kindpulse", "no_log", "unwritable_dest"])
def test_failures_are_one_line_and_exit_2(sshd, tmp_path, capsys, case):
    device = tmp_path / "device"
    _device_log(device, "kp-err", 30, raw=False)
    dest = tmp_path / "laptop"
    options = list(sshd["options"])
    remote = sshd["remote"]
    expected = {
        "unreachable": "cannot reach",
        "refused_key": "refused the key",
        "no_kindpulse": "has no kindpulse",
        "no_log": "no kindpulse log in",
        "unwritable_dest": "cannot create",
    }[case]
    if case == "unreachable":
        options[0] = f"Port={free_port()}"
    elif case == "refused_key":
        options[1] = f"IdentityFile={sshd['tmp'] / 'other_key'}"
    elif case == "no_kindpulse":
        remote = "/nonexistent/bin/kindpulse"
    elif case == "no_log":
        device = tmp_path / "empty"
    else:
        (tmp_path / "afile").write_text("x")
        dest = tmp_path / "afile" / "laptop"
    args = [
        "sync",
        sshd["host"],
        "--dest",
        str(dest),
        "--remote-command",
        remote,
        "--remote-data-dir",
        str(device),
    ]
    for opt in options:
        args += ["--ssh-option", opt]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and expected in err and err.count("\n") == 1, err
