"""`kindpulse doctor`'s log checks: free space, privacy, the writer, integrity, disk-full reports."""

import os

from kindpulse.cli import main
from kindpulse.clock import VirtualClock
from kindpulse.store.db import Store
from kindpulse.store.health import log_checks


def _failing(checks):
    return [c.what for c in checks if not c.ok]


def test_a_healthy_log_passes_and_names_its_writer(tmp_path):
    store = Store(tmp_path / "kindpulse.sqlite", VirtualClock(), command="kindpulse run")
    checks = log_checks(tmp_path, free_bytes=lambda: 2**30)
    assert _failing(checks) == []
    assert any(f"written by pid {os.getpid()} (kindpulse run)" in c.what for c in checks)
    assert any("passes SQLite's check" in c.what for c in checks)
    store.close()
    assert any("no process writes" in c.what for c in log_checks(tmp_path, free_bytes=lambda: 2**30))


def test_low_space_a_reported_full_disk_and_a_public_log_fail_with_what_to_do(tmp_path):
    free = [10 * 2**20]
    store = Store(tmp_path / "kindpulse.sqlite", VirtualClock(), free_bytes=lambda: free[0])
    store.tick()  # sees 10 MB free: raw PPG paused, storage_low logged
    store.close()
    os.chmod(tmp_path / "kindpulse.sqlite", 0o644)
    checks = log_checks(tmp_path, free_bytes=lambda: free[0])
    failing = _failing(checks)
    assert any("only 10 MB free" in w for w in failing)
    assert any("reported storage low" in w for w in failing)
    assert any("readable by everyone" in w for w in failing)
    assert all(c.fix for c in checks if not c.ok)


def test_doctor_prints_the_log_checks(tmp_path, capsys):
    Store(tmp_path / "kindpulse.sqlite", VirtualClock()).close()
    main(["doctor", "--sim", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "OK   the log is private (mode 640)" in out and "MB free in" in out
    assert log_checks(tmp_path / "missing")[0].what.endswith("does not exist")
