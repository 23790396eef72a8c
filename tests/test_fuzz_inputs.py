"""Fuzz the CLI's inputs (issue 11): CSV and .npy contents, scenario and config TOML values and
argument values, drawn by hypothesis (deterministic profile, see conftest.py).

Every case runs `kindpulse.cli.main` in one worker process (tests/fuzz_worker.py) under an
address-space and a CPU limit; each must answer within seconds with exit code 0 or 2, no
traceback and at most two lines on stderr.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kindpulse.config import Config
from kindpulse.sim.synth import SyntheticPPG, beat_times, rr_series

ROOT = Path(__file__).resolve().parents[1]
MEMORY_MB = 3072  # address space: numba and LLVM reserve about 1 GB before any work
CPU_S = 600  # the whole worker; one case that runs away fails the test long before this
CASE_S = 20.0  # the most one case may take (a loaded 2-core CI box; typical cases take 10-300 ms)
FUZZ = settings(max_examples=70, suppress_health_check=[HealthCheck.too_slow], deadline=None)


class Worker:
    def __init__(self) -> None:
        self.cases = 0
        self.codes: dict[tuple[str, int], int] = {}
        self._start()

    def _start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "firmware_py")}
        self.p = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fuzz_worker.py"), str(MEMORY_MB),
                                   str(CPU_S)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        assert json.loads(self._answer(900.0)).get("ready")  # a cold numba cache compiles first

    def _answer(self, timeout_s: float) -> str:
        ready, _, _ = select.select([self.p.stdout], [], [], timeout_s)
        if not ready:
            self.p.kill()
            raise AssertionError(f"no answer within {timeout_s:.0f} s")
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError(f"worker died (exit {self.p.wait()}): memory or CPU limit")
        return line

    def run(self, argv: list[str]) -> dict:
        self.p.stdin.write(json.dumps(argv) + "\n")
        self.p.stdin.flush()
        self.cases += 1
        try:
            res = json.loads(self._answer(CASE_S))
        except AssertionError as exc:
            self.p.kill()
            self.p.wait()
            self._start()  # the next case gets a fresh worker
            raise AssertionError(f"{argv}: {exc}") from None
        key = (argv[0], res["code"])
        self.codes[key] = self.codes.get(key, 0) + 1
        if os.environ.get("KINDPULSE_FUZZ_LOG"):  # what the answers were, for the note
            with open(os.environ["KINDPULSE_FUZZ_LOG"], "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"argv": argv, **res}) + "\n")
        return res

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=30)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()
    print(f"\nfuzz: {w.cases} cases; (command, exit code): count {sorted(w.codes.items())}")


def _check(worker: Worker, argv: list[str]) -> dict:
    res = worker.run(argv)
    err = res["err"]
    assert res["code"] in (0, 2), f"{argv}: exit {res['code']}\n{err}"
    assert "Traceback" not in err, f"{argv}:\n{err}"
    assert len(err.strip().splitlines()) <= 2, f"{argv}:\n{err}"
    assert res["secs"] < CASE_S
    return res


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="kp-fuzz-"))


# -- values ------------------------------------------------------------------------------
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 100.0, 50.0, 1e9, -1.0, 2**53 + 1.0]),
)
NUMBER_TEXT = st.one_of(
    FLOATS.map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e155", "1e-300", "0x10", "1_000", " 7 ", "abc", "--",
                     "0", "-5", "99", "25", "3200", "10", "1e9", "max", "90s", "1h", "99999999h", "nan s"]),
)
# mostly plausible values, so that many cases get past the checks and into the work
_PLAUSIBLE = st.sampled_from(["100", "50", "25", "64", "30", "120", "400"])
VALUE_TEXT = st.one_of(_PLAUSIBLE, _PLAUSIBLE, NUMBER_TEXT)
TOML_SCALAR = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1), FLOATS, st.booleans(),
    st.text(max_size=12), st.sampled_from(["1m", "10s", "0s", "-5s", "1e3h", "2160h", "99999999h"]),
)
TOML_VALUE = st.recursive(TOML_SCALAR, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def _toml(value) -> str:
    """A TOML literal (tomllib reads, nothing in the standard library writes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML basic-string escapes
    return "[" + ", ".join(_toml(v) for v in value) + "]"


# -- CSV and .npy ----------------------------------------------------------------------
_BASE = None


def _base_ppg() -> np.ndarray:
    global _BASE
    if _BASE is None:
        bt = beat_times(rr_series(35.0, seed=3))
        _BASE = np.round(SyntheticPPG(bt, seed=3).ir(np.arange(3000) / 100.0))
    return _BASE


CELL = st.one_of(NUMBER_TEXT, st.sampled_from(['"', '"1"', "1,2", "\t", "é", "1;2", "'", "\\"]))


@st.composite
def csv_case(draw) -> tuple[bytes, list[str]]:
    kind = draw(st.sampled_from(["random", "ppg_with_gaps"]))
    delim = draw(st.sampled_from([",", ";", "\t"]))
    if kind == "ppg_with_gaps":
        x = _base_ppg().copy()
        for _ in range(draw(st.integers(0, 4))):
            a = draw(st.integers(0, x.size - 1))
            x[a:a + draw(st.integers(1, 800))] = np.nan
        empty = draw(st.sampled_from(["", "nan", "NaN", "NA"]))
        header = draw(st.sampled_from(["time,ppg", "t_ms,ppg", "ppg", "", "time,ppg,red"]))
        ms = header.startswith("t_ms")
        rows = []
        for i, v in enumerate(x):
            cell = empty if np.isnan(v) else f"{v:.0f}"
            t = f"{i * 10}" if ms else f"{i / 100:.2f}"
            rows.append({"time,ppg": f"{t},{cell}", "t_ms,ppg": f"{t},{cell}", "ppg": cell, "": cell,
                         "time,ppg,red": f"{t},{cell},{cell}"}[header].replace(",", delim))
        text = (header.replace(",", delim) + "\n" if header else "") + "\n".join(rows) + "\n"
    else:
        ncol = draw(st.integers(1, 3))
        header = delim.join(draw(st.lists(st.sampled_from(["time", "ppg", "t", "ms", "x", "", "ibi", '"q"']),
                                          min_size=ncol, max_size=ncol)))
        rows = draw(st.lists(st.lists(CELL, min_size=1, max_size=4).map(delim.join), max_size=40))
        text = header + "\n" + "\n".join(rows)
    data = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(max_size=200)) + data[draw(st.integers(0, len(data))):]
    opts = draw(st.lists(st.sampled_from(["--fs", "--window", "--column", "--invert", "--format", "--ibi"]),
                         max_size=3, unique=True))
    if kind == "ppg_with_gaps" and not header.startswith("t") and "--fs" not in opts and draw(st.booleans()):
        opts.append("--fs")
    argv: list[str] = []
    for o in opts:
        if o == "--invert":
            argv.append(o)
        elif o == "--format":
            argv += [o, draw(st.sampled_from(["json", "text", "xml"]))]
        elif o == "--column":
            argv += [o, draw(st.sampled_from(["ppg", "time", "nope", "0", "1"]))]
        elif o != "--ibi":
            argv += [o, draw(VALUE_TEXT)]
    return data, argv + (["--ibi"] if "--ibi" in opts else [])


@given(csv_case())
@FUZZ
def test_fuzz_csv(worker, case):
    data, opts = case
    d = _tmp()
    f = d / "rec.csv"
    f.write_bytes(data)
    if opts[-1:] == ["--ibi"]:
        argv = ["analyze", *opts[:-1], "--ibi", str(f)]
    else:
        argv = ["analyze", str(f), *opts]
    _check(worker, argv)


NPY_DTYPES = ["float64", "float32", "int16", "uint32", "bool", "complex128", "U3", "object"]


@st.composite
def npy_case(draw) -> tuple[bytes, list[str]]:
    import io

    shape = draw(st.sampled_from([(0,), (5,), (3000,), (3000, 2), (100, 0), (0, 3), (), (4, 5, 6), (3000, 1)]))
    dtype = draw(st.sampled_from(NPY_DTYPES))
    n = int(np.prod(shape)) if shape else 1
    base = np.resize(_base_ppg(), n) if n else np.empty(0)
    if draw(st.booleans()) and n:
        special = draw(st.lists(FLOATS, min_size=1, max_size=5))
        idx = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
        base = base.copy()
        base[idx[: len(special)]] = special[: len(idx)]
    buf = io.BytesIO()
    if dtype == "object":
        np.save(buf, np.array([1, "a", None], dtype=object), allow_pickle=True)
    elif dtype == "U3":
        np.save(buf, np.array(["1", "2", "x"]))
    else:
        with np.errstate(all="ignore"):
            np.save(buf, base.reshape(shape).astype(dtype) if n or shape else np.zeros(shape, dtype))
    data = buf.getvalue()
    if draw(st.integers(0, 7)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=64))
    argv = ["--fs", draw(VALUE_TEXT)] if draw(st.integers(0, 3)) else []
    if draw(st.booleans()):
        argv += ["--column", draw(st.sampled_from(["0", "1", "5", "x"]))]
    return data, argv


@given(npy_case())
@FUZZ
def test_fuzz_npy(worker, case):
    data, opts = case
    f = _tmp() / "rec.npy"
    f.write_bytes(data)
    _check(worker, ["analyze", str(f), *opts])


# -- scenario and config TOML ---------------------------------------------------------
SEGMENT_KEYS = ["duration", "hr_bpm", "rmssd_ms", "resp_rate_hz", "stress", "ramp", "motion_per_hour",
                "motion_s", "motion_strength", "finger", "press_at", "long_press_at", "name", "bogus"]


@st.composite
def scenario_text(draw) -> str:
    lines = []
    for key in draw(st.lists(st.sampled_from(["seed", "description", "defaults", "segments"]), unique=True)):
        if key in ("seed", "description", "segments", "defaults") and draw(st.integers(0, 2)) == 0:
            lines.append(f"{key} = {_toml(draw(TOML_VALUE))}")
    for _ in range(draw(st.integers(0, 3))):
        lines.append("[[segments]]")
        if draw(st.integers(0, 4)):
            lines.append(f"duration = {_toml(draw(st.sampled_from(['2s', '1s', 1, 0.5, '5m'])))}")
        for key in draw(st.lists(st.sampled_from(SEGMENT_KEYS), max_size=4, unique=True)):
            if key != "duration" or not lines[-1].startswith("duration"):
                lines.append(f"{key} = {_toml(draw(TOML_VALUE))}")
    # duplicate keys are a TOML error, and that is fine too: one line, exit 2
    return "\n".join(lines) + "\n"


@given(scenario_text())
@FUZZ
def test_fuzz_scenario(worker, text):
    d = _tmp()
    (d / "s.toml").write_text(text, encoding="utf-8")
    _check(worker, ["sim", "--scenario", str(d / "s.toml"), "--duration", "3s", "--out", str(d / "out")])


CONFIG_KEYS = sorted((f.name.rstrip("_"), g.name) for f in dataclasses.fields(Config)
                     for g in dataclasses.fields(f.default_factory()) if g.init)


@st.composite
def config_text(draw) -> str:
    chosen = draw(st.lists(st.sampled_from(CONFIG_KEYS + [("nope", "x"), ("prompt", "nope")]), min_size=1,
                           max_size=4, unique=True))
    tables: dict[str, list[str]] = {}
    for table, key in chosen:
        tables.setdefault(table, []).append(f"{key} = {_toml(draw(TOML_VALUE))}")
    return "".join(f"[{t}]\n" + "\n".join(kv) + "\n" for t, kv in tables.items())


@given(config_text())
@FUZZ
def test_fuzz_config(worker, text):
    d = _tmp()
    (d / "c.toml").write_text(text, encoding="utf-8")
    _check(worker, ["sim", "--config", str(d / "c.toml"), "--duration", "3s", "--out", str(d / "out")])


# -- argument values ----------------------------------------------------------------------
@st.composite
def sim_args(draw) -> list[str]:
    argv = ["sim"]
    opts = draw(st.lists(st.sampled_from(["--duration", "--speed", "--press-at", "--accept-prompts-after",
                                          "--start", "--scenario", "--fs", "--rr"]), max_size=3, unique=True))
    for o in opts:
        if o == "--duration":  # valid durations stay short: a long one is a long (legitimate) run
            argv += [o, draw(st.sampled_from(["2s", "1s", "0s", "-1s", "nan", "inf", "1e300", "99999999h", "2161h",
                                              "abc", "3", ""]))]
        elif o == "--scenario":
            argv += [o, draw(st.sampled_from(["demo", "nope", "", "/", "/etc/passwd"]))]
        elif o == "--start":
            argv += [o, draw(st.sampled_from(["09:00", "25:00", "x", ""]))]
        elif o == "--rr":
            argv += [o, draw(st.sampled_from(["/nonexistent", "/", "/etc/hostname"]))]
        else:
            argv += [o, draw(VALUE_TEXT)]
    if "--duration" not in opts:
        argv += ["--duration", "2s"]
    return argv


@given(sim_args())
@FUZZ
def test_fuzz_sim_arguments(worker, argv):
    _check(worker, [*argv, "--out", str(_tmp() / "out")])


@given(st.lists(st.sampled_from(["--int-pin", "--button-pin", "--motor-pin", "--bus"]), min_size=1, max_size=3,
                unique=True).flatmap(lambda opts: st.tuples(*[st.tuples(st.just(o), VALUE_TEXT) for o in opts])))
@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_fuzz_doctor_arguments(worker, pairs):
    argv = ["doctor", "--sim"] + [x for pair in pairs for x in pair]
    res = worker.run(argv)
    # doctor's own verdict: 0 all checks passed, 1 a check failed (a pin with nothing on it), 2 bad input
    assert res["code"] in (0, 1, 2), f"{argv}: exit {res['code']}\n{res['err']}"
    assert "Traceback" not in res["err"] and len(res["err"].strip().splitlines()) <= 2, res["err"]
