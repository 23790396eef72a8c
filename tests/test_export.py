"""`kindpulse export`: every record once, in write order, with a stable identity; the same data
gives the same bytes; cursors cut the log into pieces that add up to the whole."""

import csv
import io
import json

import numpy as np
import pytest

from kindpulse.cli import main
from kindpulse.clock import VirtualClock
from kindpulse.store.db import Store
from kindpulse.store.export import iter_records


class JumpyClock(VirtualClock):
    """A Pi without RTC: the wall clock is an hour behind until NTP syncs it at t = 100 s."""

    def wall(self) -> float:
        return super().wall() - (3600.0 if self.monotonic() < 100 else 0.0)


def _write_log(data_dir, runs=2, seconds=200):
    clock = JumpyClock()
    for _ in range(runs):
        store = Store(
            data_dir / "kindpulse.sqlite",
            clock,
            device_id="kp-test01",
            clock_synced=lambda c=clock: c.monotonic() >= 100,
            info={"mode": "desk"},
        )
        store.event(0.0, "start", {"mode": "desk"})
        for s in range(seconds):
            clock.advance(1.0)
            now = store.now()
            store.nn(np.array([now - 0.2]), np.array([800.0 + s % 50]))
            store.ppg(now - 1, 100.0, np.arange(100) * 3 + s, np.arange(100) + 2 * s)
            if s % 30 == 29:
                store.hrv(now, 60.0, {"hr_bpm": 72.0, "rmssd_ms": 40.0 + s, "lf_ms2": float("nan")})
                store.event(now, "state", {"state": "rising", "from": "calm"})
            if s == 150:
                store.set_state("baseline", {"version": 1, "n": s})
                store.event(now, "break_end", {"hr_before": 80.0, "hr_after": 70.0})
            store.tick()
        store.close()
        clock = JumpyClock(start=clock.monotonic() + 5)  # the next boot


def _export(capsys, *args):
    assert main(["export", *args]) == 0
    out = capsys.readouterr()
    return out.out, out.err


def test_every_kind_once_in_write_order_with_stable_ids(tmp_path):
    _write_log(tmp_path)
    recs = list(iter_records(tmp_path, raw=True))
    kinds = {k: sum(r["kind"] == k for r in recs) for k in {r["kind"] for r in recs}}
    assert kinds["device"] == 1 and kinds["run"] == 2 and kinds["nn"] == 400 and kinds["hrv"] == 12
    assert kinds["state"] == 12 and kinds["baseline"] == 2 and kinds["ppg"] >= 40
    assert [r["seq"] for r in recs] == sorted({r["seq"] for r in recs})
    for r in recs[1:]:
        assert r["id"] == f"kp-test01/{r['run']}/{r['seq']}" and r["device"] == "kp-test01"
        assert {"kind", "id", "device", "run", "t_s", "wall"} <= r.keys()
    hrv = next(r for r in recs if r["kind"] == "hrv")
    assert hrv["metrics"]["lf_ms2"] is None  # NaN is not JSON
    brk = next(r for r in recs if r["kind"] == "event" and r["type"] == "break_end")
    assert brk["data"] == {"hr_before": 80.0, "hr_after": 70.0}
    state = next(r for r in recs if r["kind"] == "state")
    assert state["state"] == "rising" and state["from"] == "calm"
    ppg = [r for r in recs if r["kind"] == "ppg"]
    ir = np.concatenate([r["ir"] for r in ppg if r["run"] == 1])
    assert len(ir) == 200 * 100 and np.array_equal(ir[:100], np.arange(100) * 3)
    assert all(r["t0_s"] == r["t_s"] and r["fs"] == 100.0 for r in ppg)
    assert not any(r["kind"] == "ppg" for r in iter_records(tmp_path))  # raw only when asked


def test_wall_times_are_corrected_once_the_clock_is_synced(tmp_path):
    _write_log(tmp_path, runs=1)
    recs = list(iter_records(tmp_path))
    synced = next(r for r in recs if r["kind"] == "event" and r["type"] == "clock_synced")
    assert 100.0 <= synced["t_s"] <= 100.0 + 10.0  # checked every 10 s
    start = 1_767_250_800.0
    for r in recs[1:]:
        assert r["wall"] == pytest.approx(start + r["t_s"], abs=1e-3)  # the true time, before and after
        if r["t_s"] < 100 and r["kind"] != "nn":
            assert r["wall_raw"] == pytest.approx(r["wall"] - 3600, abs=1e-3)
        elif r["kind"] != "nn":
            assert "wall_raw" not in r


def test_the_same_data_gives_the_same_bytes_and_cursors_add_up(tmp_path, capsys):
    _write_log(tmp_path)
    full, err = _export(capsys, "--data-dir", str(tmp_path), "--raw")
    again, _ = _export(capsys, "--data-dir", str(tmp_path), "--raw")
    assert full == again and err.startswith("cursor: kp-test01/")
    lines = full.splitlines()
    cut = json.loads(lines[len(lines) // 3])["id"]  # a record id works as a cursor too
    first, err1 = _export(capsys, "--data-dir", str(tmp_path), "--raw", "--until", cut)
    cursor = err1.split()[1]
    second, _ = _export(capsys, "--data-dir", str(tmp_path), "--raw", "--since", cursor)
    assert first + second == full
    out = tmp_path / "export.jsonl"
    _export(capsys, "--data-dir", str(tmp_path), "--raw", "--out", str(out))
    assert out.read_text() == full and (out.stat().st_mode & 0o777) == 0o640


def test_csv_has_the_common_columns_and_the_rest_as_json(tmp_path, capsys):
    _write_log(tmp_path, runs=1, seconds=40)
    text, _ = _export(capsys, "--data-dir", str(tmp_path), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    recs = list(iter_records(tmp_path))
    assert len(rows) == len(recs)
    for row, rec in zip(rows, recs, strict=True):
        assert row["id"] == rec["id"] and row["kind"] == rec["kind"] and float(row["t_s"]) == rec["t_s"]
        fields = json.loads(row["fields"])
        assert {
            **fields,
            **{k: rec[k] for k in ("kind", "id", "device", "run", "seq", "t_s", "wall")},
            **({"wall_raw": rec["wall_raw"]} if "wall_raw" in rec else {}),
        } == rec


def test_export_reads_while_the_writer_writes_and_sees_only_what_is_committed(tmp_path):
    clock = VirtualClock()
    store = Store(tmp_path / "kindpulse.sqlite", clock, commit_every_s=10)
    store.event(0.0, "start")  # committed at once
    store.nn(np.array([1.0]), np.array([800.0]))
    kinds = [r["kind"] for r in iter_records(tmp_path)]
    assert kinds == ["device", "run", "event"]
    clock.advance(10)
    store.tick()
    assert [r["kind"] for r in iter_records(tmp_path)][-1] == "nn"
    store.close()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data-dir", "{tmp}/nowhere"], "no kindpulse log in"),
        (["--data-dir", "{tmp}", "--since", "kp-other/5"], "is for device kp-other"),
        (["--data-dir", "{tmp}", "--since", "yesterday"], "is not a cursor"),
        (["--data-dir", "{tmp}", "--out", "{tmp}/no/such/dir/x.jsonl"], "cannot write"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(tmp_path, capsys, args, message):
    Store(tmp_path / "kindpulse.sqlite", VirtualClock(), device_id="kp-test01").close()
    code = main(["export", *[a.format(tmp=tmp_path) for a in args]])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
