"""`kindpulse sim --out DIR` and the log in DIR: continued as a restarted daemon's, started over
with --fresh, never deleted while another process writes it, never mixed into a real device's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kindpulse.cli import main
from kindpulse.clock import VirtualClock
from kindpulse.store.db import Store
from kindpulse.store.export import iter_records

HERE = Path(__file__).parent
SIM = ["sim", "--rr", "{rr}", "--duration", "20s", "--out", "{out}"]


@pytest.fixture
def rr_file(tmp_path):
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(str(800 + (i % 7) * 10) for i in range(40)) + "\n")
    return path


def _sim(rr, out, *extra):
    return main([a.format(rr=rr, out=out) for a in SIM] + list(extra))


def _runs(out):
    return [r for r in iter_records(out) if r["kind"] == "run"]


def test_a_second_run_continues_the_log_and_fresh_starts_over(tmp_path, rr_file, capsys):
    out = tmp_path / "sim"
    assert _sim(rr_file, out) == 0
    first = list(iter_records(out))
    device = first[0]["device"]
    assert _sim(rr_file, out) == 0
    again = list(iter_records(out))
    assert again[: len(first)] == first  # nothing of the first run changed
    assert [r["run"] for r in _runs(out)] == [1, 2] and {r["device"] for r in again} == {device}
    assert _runs(out)[1]["wall"] > max(r["wall"] for r in first)  # the restart's clock moved on, a day later
    assert (_runs(out)[1]["wall"] - _runs(out)[0]["wall"]) % 86400 == 0  # at the same --start time
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert events[0]["type"] == "start" and events[0]["t"] == 0.0  # the new run's events only
    assert _sim(rr_file, out, "--fresh") == 0
    assert [r["run"] for r in _runs(out)] == [1] and next(iter_records(out))["device"] != device
    capsys.readouterr()


def test_sim_refuses_a_log_another_process_writes(tmp_path, rr_file, capsys):
    out = tmp_path / "sim"
    assert _sim(rr_file, out) == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "firmware_py"), str(HERE)])}
    writer = subprocess.Popen(
        [sys.executable, str(HERE / "store_writer.py"), str(out / "kindpulse.sqlite")],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        writer.stdout.readline()
        capsys.readouterr()
        for extra in ([], ["--fresh"]):
            assert _sim(rr_file, out, *extra) == 2
            err = capsys.readouterr().err
            assert f"in use by pid {writer.pid}" in err and err.count("\n") == 1
    finally:
        writer.kill()
        writer.wait()
    assert (out / "kindpulse.sqlite").exists() and len(_runs(out)) == 2  # nothing deleted


def test_sim_never_writes_into_a_real_devices_log(tmp_path, rr_file, capsys):
    out = tmp_path / "device"
    with Store(out / "kindpulse.sqlite", VirtualClock(), info={"mode": "desk"}) as store:
        store.event(0.0, "start")
    before = list(iter_records(out))
    for extra in ([], ["--fresh"]):
        assert _sim(rr_file, out, *extra) == 2
        assert "holds a real device's log" in capsys.readouterr().err
    assert list(iter_records(out)) == before


def _rig(out):
    from kindpulse.config import Config
    from kindpulse.rigs.simulated import build_sim_rig, sim_config
    from kindpulse.sim.sources import SyntheticSource

    return build_sim_rig(SyntheticSource.resting(300.0, seed=4), sim_config(Config(), {}, out), out)


def test_the_device_hears_a_low_disk_and_starts_despite_a_broken_saved_baseline(tmp_path, caplog):
    import sqlite3

    out = tmp_path / "sim"
    rig = _rig(out)
    rig.store._free_bytes = lambda: 10 * 2**20  # the card is nearly full
    rig.run_until(70)
    assert rig.store.storage == "low" and rig.store.raw_paused
    low = [e for e in rig.events if e["type"] == "storage_low"]
    assert len(low) == 1 and low[0]["free_mb"] == 10 and low[0]["raw"] == "paused"
    assert rig.device.screen_state(rig.device.now()).storage == "low"  # the idle screen says so
    rig.device.shutdown()
    db = sqlite3.connect(out / "kindpulse.sqlite")
    db.execute("UPDATE state SET value='{\"version\": 1, \"t_s\": [' WHERE key='baseline'")  # a torn row
    db.commit()
    db.close()
    again = _rig(out)  # the next start recalibrates instead of crashing
    assert not again.device.baseline.ready and "not valid JSON" in caplog.text
    again.run_until(5)
    again.device.shutdown()
