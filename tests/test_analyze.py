"""`kindpulse analyze` through cli.main: outputs and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from kindpulse.cli import main
from kindpulse.dsp.hrv import HRV_KEYS
from kindpulse.sim.synth import SyntheticPPG, beat_times, rr_series
from tests.naive_dsp import f1_score

FS = 100.0


@pytest.fixture(scope="module")
def ppg():
    bt = beat_times(rr_series(90.0, seed=11))
    x = SyntheticPPG(bt, seed=11).ir(np.arange(int(90 * FS)) / FS)
    return np.round(x), bt


def _run(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects a value: still one line and exit 2
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys, argv):
    code, out, err = _run(capsys, argv)
    assert code == 0, err
    return json.loads(out)


def test_npy_json(tmp_path, capsys, ppg):
    x, bt = ppg
    f = tmp_path / "rec.npy"
    np.save(f, x)
    res = _json(capsys, ["analyze", str(f), "--fs", "100", "--format", "json"])
    for key in ("fs", "duration_s", "beats_s", "nn", "quality", "hrv"):
        assert key in res
    assert res["fs"] == 100.0 and res["duration_s"] == pytest.approx(90.0)
    assert set(HRV_KEYS) <= set(res["hrv"])
    assert 0.0 <= res["quality"]["usable_fraction"] <= 1.0
    assert all(len(p) == 2 for p in res["nn"])
    beats = np.array(res["beats_s"])
    assert f1_score(beats, bt[(bt > beats[0] - 0.2) & (bt < beats[-1] + 0.2)]) >= 0.99
    assert beats[0] < 3.0 and beats[-1] > 85.0
    assert res["inverted"] is True


@pytest.mark.parametrize("unit", ["s", "ms", "iso"])
def test_csv_time_column_gives_sample_rate(tmp_path, capsys, ppg, unit):
    x, _ = ppg
    t = np.arange(x.size) / FS
    start = datetime(2026, 1, 2, 3, 4, 5)
    col = {"s": [f"{v:.4f}" for v in t], "ms": [f"{v * 1000:.1f}" for v in t],
           "iso": [(start + timedelta(seconds=float(v))).isoformat() for v in t]}[unit]
    name = {"s": "time", "ms": "time_ms", "iso": "timestamp"}[unit]
    f = tmp_path / "rec.csv"
    f.write_text(f"{name},ir,red\n" + "\n".join(f"{c},{v:.0f},{v * 0.8:.0f}" for c, v in zip(col, x, strict=True)))
    res = _json(capsys, ["analyze", str(f)])
    assert res["fs"] == pytest.approx(FS, rel=1e-3)
    assert res["column"] == "ir"
    res_red = _json(capsys, ["analyze", str(f), "--column", "red", "--invert"])
    assert res_red["column"] == "red" and res_red["inverted"] is True


def test_sample_rate_from_a_coarse_repeating_pc_timer(tmp_path, capsys, ppg):
    """PC timers tick in ~15.6 ms steps and repeat stamps (HeartPy's data3.csv): the rate is
    samples over the span, not one over the median step."""
    x, _ = ppg
    t = np.floor(np.arange(x.size) / FS / 0.015625) * 0.015625
    f = tmp_path / "rec.csv"
    f.write_text("time,ir\n" + "\n".join(f"{c:.6f},{v:.0f}" for c, v in zip(t, x, strict=True)))
    res = _json(capsys, ["analyze", str(f)])
    assert res["fs"] == pytest.approx(FS, rel=0.01)


def test_window_and_text(tmp_path, capsys, ppg):
    x, _ = ppg
    f = tmp_path / "rec.npy"
    np.save(f, x)
    res = _json(capsys, ["analyze", str(f), "--fs", "100", "--window", "30"])
    assert [w["start_s"] for w in res["windows"]] == [0.0, 30.0, 60.0]
    assert all({"start_s", "end_s", *HRV_KEYS} <= set(w) for w in res["windows"])
    code, out, _ = _run(capsys, ["analyze", str(f), "--fs", "100", "--format", "text", "--window", "30"])
    assert code == 0 and "RMSSD" in out and "issues" in out
    assert len(out.splitlines()) < 40


def test_ibi_file(tmp_path, capsys):
    rr = rr_series(300.0, seed=12)
    f = tmp_path / "ibi.csv"
    f.write_text("ibi_ms\n" + "\n".join(f"{v:.1f}" for v in rr))
    res = _json(capsys, ["analyze", "--ibi", str(f)])
    assert res["fs"] is None
    assert len(res["nn"]) >= rr.size - 3
    rm = np.sqrt(np.mean(np.diff(rr) ** 2))
    assert res["hrv"]["rmssd_ms"] == pytest.approx(rm, rel=0.05)
    code, out, _ = _run(capsys, ["analyze", "--ibi", str(f), "--format", "text"])
    assert code == 0 and "RMSSD" in out


def _bad(capsys, argv, *words):
    code, out, err = _run(capsys, argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err.lower()


def test_missing_file(capsys, tmp_path):
    _bad(capsys, ["analyze", str(tmp_path / "nope.csv"), "--fs", "100"], "not found")


def test_no_numeric_column(capsys, tmp_path):
    f = tmp_path / "words.csv"
    f.write_text("name,comment\nalice,hello\nbob,world\n")
    _bad(capsys, ["analyze", str(f), "--fs", "100"], "numeric")


def test_unknown_sample_rate(capsys, tmp_path, ppg):
    f = tmp_path / "rec.csv"
    f.write_text("ir\n" + "\n".join(str(int(v)) for v in ppg[0][:500]))
    _bad(capsys, ["analyze", str(f)], "--fs")
    g = tmp_path / "rec.npy"
    np.save(g, ppg[0][:500])
    _bad(capsys, ["analyze", str(g)], "--fs")


@pytest.mark.parametrize("fs", ["0", "-100", "abc"])
def test_non_positive_sample_rate(capsys, tmp_path, fs):
    f = tmp_path / "rec.npy"
    np.save(f, np.zeros(100))
    _bad(capsys, ["analyze", str(f), "--fs", fs], "--fs")


def test_time_column_that_does_not_advance(capsys, tmp_path):
    f = tmp_path / "rec.csv"
    f.write_text("time,ir\n" + "\n".join(f"1.0,{i}" for i in range(50)))
    _bad(capsys, ["analyze", str(f)], "positive")


def test_empty_data(capsys, tmp_path):
    f = tmp_path / "empty.csv"
    f.write_text("time,ir\n")
    _bad(capsys, ["analyze", str(f), "--fs", "100"], "no data")
    g = tmp_path / "empty.npy"
    np.save(g, np.zeros(0))
    _bad(capsys, ["analyze", str(g), "--fs", "100"], "no samples")


def test_file_and_ibi_are_exclusive(capsys, tmp_path):
    _bad(capsys, ["analyze"], "either")


def test_as_a_whole_process_output_and_exit_codes(tmp_path, ppg):
    # the process entry ends without the interpreter's teardown (cli._exit_now): the JSON must
    # still be complete, the exit code kept, an error still one line on stderr
    x, _ = ppg
    f = tmp_path / "rec.csv"
    np.savetxt(f, np.column_stack([np.arange(x.size) / FS, x]), delimiter=",", header="time,ppg",
               comments="", fmt="%.6f")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "firmware_py")}
    ok = subprocess.run([sys.executable, "-m", "kindpulse", "analyze", str(f), "--format", "json"],
                        capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr
    res = json.loads(ok.stdout)  # complete: parses to the end
    assert res["fs"] == pytest.approx(FS) and len(res["beats_s"]) > 80
    bad = subprocess.run([sys.executable, "-m", "kindpulse", "analyze", str(tmp_path / "none.csv")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "not found" in bad.stderr
