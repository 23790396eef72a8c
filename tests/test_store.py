"""The device log: what is written can be read back, across restarts, privately."""

import stat

import numpy as np

from kindpulse.clock import VirtualClock
from kindpulse.store.db import Store


def test_events_nn_hrv_and_state_round_trip(tmp_path):
    clock = VirtualClock()
    path = tmp_path / "log.sqlite"
    with Store(path, clock, commit_every_s=10) as store:
        store.event(1.5, "prompt", {"sns": 1.2})
        store.nn(np.array([2.0, 2.8]), np.array([800.0, 790.0]))
        store.hrv(5.0, 60.0, {"rmssd_ms": 41.0, "lf_ms2": None})
        store.ppg(0.0, 100.0, np.array([100_000, 99_000]), np.array([80_000, 79_500]), lost_before=3)
        store.set_state("baseline", {"version": 1, "n": 3})
        assert store.events("prompt") == [{"t": 1.5, "type": "prompt", "sns": 1.2}]
        assert store.count("nn") == 2 and store.count("ppg") == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    # a restart is a new session that still sees the saved state
    with Store(path, clock) as again:
        assert again.session == 2
        assert again.get_state("baseline") == {"version": 1, "n": 3}
        assert again.events() == []


def test_rows_are_committed_in_batches_and_on_close(tmp_path):
    import sqlite3

    clock = VirtualClock()
    path = tmp_path / "log.sqlite"
    store = Store(path, clock, commit_every_s=30)
    store.event(0.0, "calibrating")
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    clock.advance(31)
    store.tick()
    assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    store.event(31.0, "prompt")
    store.close()
    assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2


def test_raw_ppg_is_pruned_after_its_retention(tmp_path):
    clock = VirtualClock()
    store = Store(tmp_path / "log.sqlite", clock, keep_raw_ppg_days=1.0)
    store.ppg(0.0, 100.0, np.arange(10), np.arange(10))
    clock.advance(20 * 3600)
    store.ppg(72000.0, 100.0, np.arange(10), np.arange(10))
    store.tick()
    assert store.count("ppg") == 2  # nothing older than a day yet
    clock.advance(6 * 3600)
    store.tick()
    assert store.count("ppg") == 1
    store.close()
    off = Store(tmp_path / "off.sqlite", clock, keep_raw_ppg_days=0)
    off.ppg(0.0, 100.0, np.arange(10), np.arange(10))
    assert off.count("ppg") == 0
    off.close()


def test_unusable_log_files_are_one_line_errors(tmp_path):
    import sqlite3

    import pytest

    from kindpulse.errors import KindpulseError

    newer = tmp_path / "newer.sqlite"
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version=99")
    con.commit()
    con.close()
    with pytest.raises(KindpulseError, match="newer kindpulse"):
        Store(newer, VirtualClock())
    (tmp_path / "afile").write_text("x")
    with pytest.raises(KindpulseError, match="cannot open the log"):
        Store(tmp_path / "afile" / "log.sqlite", VirtualClock())


def test_saved_state_goes_into_the_history_hourly_and_at_close(tmp_path):
    from kindpulse.store.export import iter_records

    clock = VirtualClock()
    store = Store(tmp_path / "kindpulse.sqlite", clock)
    for i in range(14):  # every 10 min for 2 h 20 min
        store.set_state("baseline", {"n": i})
        clock.advance(600)
    assert store.get_state("baseline") == {"n": 13}
    store.close()
    snaps = [r for r in iter_records(tmp_path) if r["kind"] == "baseline"]
    assert [s["baseline"]["n"] for s in snaps] == [0, 6, 12, 13]
    assert [s["t_s"] for s in snaps] == [0.0, 3600.0, 7200.0, 8400.0]  # the last one: at close
