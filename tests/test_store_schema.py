"""Schema 2 and its migration: a log written by the first store (schema 1) opens, keeps every
row, gets a device id and one sequence, and exports like a new log."""

import importlib.util
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from kindpulse.clock import VirtualClock
from kindpulse.store.db import Store
from kindpulse.store.export import iter_records
from kindpulse.store.schema import SCHEMA_VERSION

V1_SOURCE = Path(__file__).parent / "data" / "store_v1_db.py"


def _old_store_module():
    spec = importlib.util.spec_from_file_location("store_v1_db", V1_SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_v1_log(path: Path) -> VirtualClock:
    """Two runs of the old daemon's store, written by the old code itself."""
    old = _old_store_module()
    clock = VirtualClock()
    for run in range(2):
        store = old.Store(path, clock, info={"mode": "desk", "run": run})
        store.event(0.0, "start", {"mode": "desk"})
        store.nn(np.array([1.0, 1.8, 2.6]), np.array([800.0 + run, 790.0, 810.0]))
        store.hrv(5.0, 60.0, {"rmssd_ms": 40.0 + run})
        store.ppg(0.0, 100.0, np.arange(5) + 1000, np.arange(5) + 2000, lost_before=run)
        store.event(3.0, "state", {"state": "alert", "from": "calm"})
        store.set_state("baseline", {"version": 1, "n": run})
        clock.advance(60)
        store.close()
    return clock


def test_a_schema_1_log_opens_migrated_and_keeps_every_row(tmp_path):
    path = tmp_path / "kindpulse.sqlite"
    clock = _write_v1_log(path)
    before = sqlite3.connect(path)
    v1_counts = {
        t: before.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("events", "nn", "hrv", "ppg")
    }
    before.close()
    with Store(path, clock) as store:  # the new daemon starts: run 3 of the same log
        assert store.run == 3
        assert store.get_state("baseline") == {"version": 1, "n": 1}
        store.event(0.0, "start")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    recs = list(iter_records(tmp_path, raw=True))
    kinds = [r["kind"] for r in recs]
    assert kinds.count("event") == v1_counts["events"] - 2 + 1  # two were trigger states
    assert kinds.count("state") == 2
    assert kinds.count("nn") == v1_counts["nn"] and kinds.count("hrv") == v1_counts["hrv"]
    assert kinds.count("ppg") == v1_counts["ppg"] and kinds.count("run") == 3
    assert kinds.count("baseline") == 1 and kinds[0] == "device"
    seqs = [r["seq"] for r in recs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({r["id"] for r in recs}) == len(recs)
    nn = [r for r in recs if r["kind"] == "nn"]
    assert [r["ibi_ms"] for r in nn] == [800.0, 790.0, 810.0, 801.0, 790.0, 810.0]
    assert [r["run"] for r in nn] == [1, 1, 1, 2, 2, 2]
    ppg = [r for r in recs if r["kind"] == "ppg"]
    assert ppg[1]["ir"] == [1000, 1001, 1002, 1003, 1004] and ppg[1]["red"][0] == 2000
    assert ppg[1]["lost_before"] == 1 and ppg[1]["n"] == 5
    runs = [r for r in recs if r["kind"] == "run"]
    assert runs[0]["info"] == {"mode": "desk", "run": 0} and runs[0]["wall"] == 1_767_250_800.0
    device = recs[0]
    assert device["created_wall"] == runs[0]["started_wall"]
    # the new run's records come after every migrated one
    assert recs[-1]["run"] == 3 and recs[-1]["kind"] == "event"


def test_migration_is_one_transaction_and_runs_once(tmp_path):
    path = tmp_path / "kindpulse.sqlite"
    clock = _write_v1_log(path)
    Store(path, clock, device_id="kp-fixed").close()
    first = [json.dumps(r) for r in iter_records(tmp_path)]
    Store(path, clock).close()  # opening again neither renumbers nor renames anything
    again = [json.dumps(r) for r in iter_records(tmp_path)]
    assert again[: len(first)] == first and len(again) == len(first) + 1  # + run 4
    assert all(json.loads(r)["device"] == "kp-fixed" for r in again)


def test_new_logs_are_created_at_the_current_schema(tmp_path):
    with Store(tmp_path / "kindpulse.sqlite", VirtualClock(), device_id="kp-new", sim=True) as store:
        assert store.device_id == "kp-new" and store.sim_log
    names = {
        r[0]
        for r in sqlite3.connect(tmp_path / "kindpulse.sqlite").execute(
            "SELECT name FROM sqlite_master WHERE type='index'"
        )
    }
    assert {"events_run", "hrv_run"} <= names  # per-run queries use indexes (nn, ppg: the rowid range)
    db = sqlite3.connect(tmp_path / "kindpulse.sqlite")
    plan = " ".join(
        str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM nn WHERE rowid > 5 AND rowid <= 9")
    )
    assert "USING INTEGER PRIMARY KEY" in plan
    plan = " ".join(str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM events WHERE session=2"))
    assert "events_run" in plan


@pytest.mark.parametrize("bad", ["{not json", ""])
def test_a_baseline_row_that_is_not_json_recalibrates_with_a_warning(tmp_path, caplog, bad):
    path = tmp_path / "kindpulse.sqlite"
    Store(path, VirtualClock()).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO state(key, value, wall) VALUES ('baseline', ?, 0)", (bad,))
    db.commit()
    db.close()
    with Store(path, VirtualClock()) as store:
        assert store.get_state("baseline") is None
    assert "not valid JSON" in caplog.text
