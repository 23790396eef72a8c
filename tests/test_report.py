"""`kindpulse report` on simulated days: what the page holds, that it opens cleanly in a real
browser (headless Chromium, screenshot kept), and that it is honest about too little data."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tools import require_tool

from kindpulse.cli import main
from kindpulse.report import model
from kindpulse.store import export


def _events(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """`kindpulse sim --scenario demo` alone (to just after its break): the scenario's [wearer]
    accepts the prompt and breathes along."""
    out = tmp_path_factory.mktemp("demo")
    assert main(["sim", "--scenario", "demo", "--duration", "18m", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory, demo) -> Path:
    """The demo's day report, HTML and PNG."""
    out = tmp_path_factory.mktemp("demo-report") / "day.html"
    assert main(["report", "--data-dir", str(demo), "--out", str(out), "--format", "png"]) == 0
    return out


def _continued(tmp: Path, demo: Path, follows: bool) -> Path:
    """The demo device's log continued by a second run: --start 08:00 is before the demo's
    09:00, so the run is the next day (Tuesday). Four calm minutes with a break the wearer
    starts at 70 s (no prompt), breathing with the pacer or ignoring it."""
    d = tmp / f"dest-{follows}" / "kp-test-device"  # a synced copy: DEST/<device id>/
    d.mkdir(parents=True)
    for f in demo.glob("kindpulse.sqlite*"):
        shutil.copy(f, d / f.name)
    scenario = tmp / f"pause-{follows}.toml"
    scenario.write_text(
        f"seed = 4\n[wearer]\nfollows_pacer = {'true' if follows else 'false'}\n"
        '[[segments]]\nduration = "255s"\nhr_bpm = 66\nrmssd_ms = 40\npress_at = ["70s"]\n'
    )
    assert main(["sim", "--scenario", str(scenario), "--start", "08:00", "--out", str(d)]) == 0
    return d


@pytest.fixture(scope="module")
def week(tmp_path_factory, demo) -> Path:
    """Monday: the demo (a prompted break); Tuesday: a break the wearer started, breathing along."""
    return _continued(tmp_path_factory.mktemp("week"), demo, follows=True)


@pytest.fixture(scope="module")
def ignoring(tmp_path_factory, demo) -> Path:
    """The same Tuesday, but the wearer ignores the pacer."""
    return _continued(tmp_path_factory.mktemp("ignoring"), demo, follows=False)


def _report(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "r.html"
    assert main(["report", *args, "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def _self_contained(html: str) -> None:
    assert "<script" not in html and not re.search(r"""(src|href)=["']?(https?:|//)""", html)


def test_demo_day_holds_its_prompts_breaks_and_plots(demo, demo_report):
    events = _events(demo)
    prompts = sum(e["type"] == "prompt" for e in events)
    ends = [e for e in events if e["type"] == "break_end"]
    assert prompts == 1 and len(ends) == 1  # the [wearer] section pressed: the whole loop
    html = demo_report.read_text(encoding="utf-8")
    _self_contained(html)
    assert "Your day, Monday 05 January 2026" in html
    assert re.search(r"<b>1</b><span>prompts</span>", html) and re.search(
        r"<b>1</b><span>breaks</span>", html
    )
    assert html.count("<tr class='break'>") == len(ends)
    b = ends[0]
    assert f"{b['rmssd_before']:.0f} &rarr; {b['rmssd_after']:.0f}" in html
    assert b["rmssd_after"] > b["rmssd_before"]  # the wearer breathed with the pacer
    for section in ("summary", "timeline", "breaks", "verdict", "baseline"):
        assert f'id="{section}"' in html
    assert html.count('src="data:image/png;base64,') == 3  # timeline, breaks, calm day by day
    assert "too few to conclude" in html
    png = Image.open(demo_report.with_suffix(".png"))
    assert png.format == "PNG" and png.size[0] > 800


def test_the_page_opens_in_headless_chromium_without_console_errors(demo_report, tmp_path):
    chromium = require_tool("chromium", "renders the report like a browser would")
    html = demo_report
    artefacts = Path(os.environ.get("KINDPULSE_ARTIFACTS", tmp_path))
    artefacts.mkdir(parents=True, exist_ok=True)

    def render(page: Path, shot: Path) -> str:
        proc = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--enable-logging=stderr",
                "--v=0",
                "--hide-scrollbars",
                "--window-size=1100,2200",
                f"--screenshot={shot}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shot.exists(), proc.stderr[-2000:]
        return proc.stderr

    # the check can fail: a page with a console error and a missing image is caught
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><script>console.error('broken page')</script><img src='missing.png'></body></html>"
    )
    assert re.search(r"CONSOLE|ERR_FILE_NOT_FOUND", render(bad, tmp_path / "bad.png"))
    log = render(html, artefacts / "report-day.png")
    assert not re.search(r"CONSOLE|ERR_FILE_NOT_FOUND|Uncaught", log), log[-2000:]
    shot = np.asarray(Image.open(artefacts / "report-day.png").convert("L"), dtype=float)
    assert shot.shape[1] >= 1000 and shot.std() > 10  # drawn, not blank


def test_a_day_without_data_says_so(demo, tmp_path):
    html = _report(tmp_path, "--data-dir", str(demo), "--day", "2026-01-10")
    assert "Nothing was recorded on Saturday 10 January" in html
    assert "data:image/png" not in html


def test_a_week_with_two_breaks_is_too_few_to_conclude(week, tmp_path):
    html = _report(
        tmp_path, "--data-dir", str(week.parent), "--week", "2026-W02"
    )  # DEST finds its one device
    _self_contained(html)
    assert "Your week 2, 05 Jan to 11 Jan 2026" in html
    assert html.count("<tr class='break'>") == 2
    assert "2 breaks so far: too few to conclude anything yet" in html
    assert "1 prompted and 1 self-started break: too few of each to compare them" in html
    assert "after a prompt" in html and "you started it" in html
    assert re.search(r"<b>1</b><span>prompts</span>", html)
    assert html.count('src="data:image/png;base64,') == 3  # the week, the breaks, calm day by day


def test_the_latest_day_is_the_default(week, tmp_path):
    assert "Your day, Tuesday 06 January 2026" in _report(tmp_path, "--data-dir", str(week))


def test_the_device_measures_the_wearer_who_breathes_along(week, ignoring):
    """Same wearer, same seed, same device state, one follows the pacer and one ignores it:
    the device's own measurements at the end of the break tell them apart (the before values
    are identical). Slow breathing's signature is the big slow oscillation: SDNN about doubles;
    RMSSD rises less (its literature effect, +5.6 ms on average, is small against one
    minute's noise)."""
    ends, sdnn = {}, {}
    for follows, d in ((True, week), (False, ignoring)):
        ends[follows] = [e for e in _events(d) if e["type"] == "break_end"][0]
        records = list(export.iter_records(d))
        run = max(r["run"] for r in records if r["kind"] == "run")
        hrv = [r for r in records if r["kind"] == "hrv" and r["run"] == run and r["window_s"] == 60]
        sdnn[follows] = [r["metrics"]["sdnn_ms"] for r in hrv if r["t_s"] <= ends[follows]["t"]][-1]
    assert not ends[True]["prompted"] and ends[True]["rmssd_before"] == ends[False]["rmssd_before"]
    assert sdnn[True] > 1.5 * sdnn[False]
    assert ends[True]["rmssd_after"] > ends[False]["rmssd_after"]
    assert ends[True]["hr_after"] < ends[False]["hr_after"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data-dir", "/nonexistent/kp"], "is not a directory"),
        (["--week", "2026-W60"], "--week takes an ISO week YYYY-Www"),
        (["--day", "5.1.2026"], "--day takes YYYY-MM-DD"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args, message, tmp_path, capsys):
    try:
        code = main(["report", *args, "--out", str(tmp_path / "r.html")])
    except SystemExit as exc:  # argparse's one-line error
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unusable_data_dirs_say_what_to_pass(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    assert main(["report", "--data-dir", str(tmp_path / "a"), "--out", str(tmp_path / "r.html")]) == 2
    assert "no kindpulse log" in capsys.readouterr().err
    for name in ("dev1", "dev2"):
        (tmp_path / "dest" / name).mkdir(parents=True)
        (tmp_path / "dest" / name / "kindpulse.sqlite").write_bytes(b"not a database" * 100)
    assert main(["report", "--data-dir", str(tmp_path / "dest"), "--out", str(tmp_path / "r.html")]) == 2
    assert "holds 2 devices (dev1, dev2)" in capsys.readouterr().err
    assert (
        main(["report", "--data-dir", str(tmp_path / "dest" / "dev1"), "--out", str(tmp_path / "r.html")])
        == 2
    )
    err = capsys.readouterr().err
    assert "cannot read the log" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_without_matplotlib_one_line_names_the_extra(demo, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["report", "--data-dir", str(demo), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'kindpulse[report]'" in err and len(err.strip().splitlines()) == 1


# -- the verdict, on its own ---------------------------------------------------------------
def _breaks(d_rmssd, prompted=True):
    return [
        model.Break(1e9 + 3600 * i, 1e9 + 3600 * i + 180, prompted, 70.0, 69.0, 30.0, 30.0 + d, False)
        for i, d in enumerate(d_rmssd)
    ]


def test_change_is_the_t_interval_scipy_gives():
    stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(1).normal(4.0, 6.0, 9)
    c = model.change(list(x))
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (c.n, c.lo, c.hi) == (9, pytest.approx(lo, abs=1e-3), pytest.approx(hi, abs=1e-3))
    assert c.sd == pytest.approx(np.std(x, ddof=1))


@pytest.mark.parametrize(
    "gains, level, words",
    [
        ([], "none", "nothing to weigh"),
        ([5.0, 6.0], "too_few", "too few to conclude"),
        ([5.0, 6.0, 4.0, 7.0, 5.5, 6.5], "helps", "seem to help"),
        ([9.0, -8.0, 12.0, -10.0, 3.0, -2.0], "unclear", "spread is too wide"),
        ([-5.0, -6.0, -4.0, -7.0, -5.5, -6.5], "no_help", "did not rise"),
    ],
)
def test_the_verdict_follows_the_interval(gains, level, words):
    v = model.verdict(_breaks(gains))
    assert v.level == level and words in v.text


def test_prompted_and_self_started_breaks_are_compared_when_there_are_enough():
    breaks = _breaks([5.0, 6.0, 4.0, 7.0]) + _breaks([1.0, 0.5, 1.5, 0.0], prompted=False)
    text = model.compare(breaks)
    assert "Prompted breaks: +5.5 ms" in text and "breaks you started: +0.8 ms (4)" in text
    assert "do not overlap" in text
    assert "too few of one kind" in model.compare(_breaks([5.0, 6.0, 4.0]) + _breaks([1.0], prompted=False))
