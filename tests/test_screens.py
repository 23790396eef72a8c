"""OLED screens: pixel-exact golden images, plus layout properties.

Regenerate the goldens after a deliberate change with
    KINDPULSE_REGEN_GOLDEN=1 pytest tests/test_screens.py
which writes tests/reference/<screen>.png and then FAILS, so a run left in
regenerate mode can never pass (as luma's save_reference_data does). Look at
the new PNGs before committing them: they are what the wearer sees.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import pytest
from luma.core.device import dummy
from luma.core.render import canvas
from PIL import Image, ImageChops, ImageDraw

from kindpulse.ui import screens as S
from kindpulse.ui.break_script import MAX_LINE_CHARS, BreakConfig, step_at

REF = Path(__file__).parent / "reference"
TREND = tuple(38.0 + 6.0 * math.sin(i / 6.0) + 0.05 * i for i in range(60))


SCREENS: dict[str, object] = {
    "idle": S.IdleView(hr_bpm=72, rmssd_ms=38, rmssd_trend_ms=TREND, stress_level=41),
    "idle_no_data": S.IdleView(hr_bpm=None, rmssd_ms=None),
    "idle_disk_full": S.IdleView(hr_bpm=72, rmssd_ms=38, rmssd_trend_ms=TREND, stress_level=41,
                                 storage_note=S.STORAGE_NOTES["full"]),
    "calibrating": S.CalibratingView(progress=0.4, hr_bpm=68),
    "place_finger": S.PlaceFingerView(),
    "poor_signal": S.PoorSignalView(motion=False),
    "poor_signal_motion": S.PoorSignalView(motion=True),
    "too_active": S.TooActiveView(hr_bpm=121),
    "prompt": S.PromptView(),
    "break_arrive_inhale": S.break_view_at(2.0, 78),
    "break_notice_exhale": S.break_view_at(55.0, 74),
    "break_kindness_full": S.break_view_at(134.0, 70),
    "result": S.ResultView(hr_before_bpm=84, hr_after_bpm=71, rmssd_before_ms=24, rmssd_after_ms=39),
    "snoozed": S.SnoozedView(until_hhmm="14:35"),
    "snoozed_no_time": S.SnoozedView(),
    "sensor_error": S.SensorErrorView(),
}


def assert_matches_golden(name: str, img: Image.Image) -> None:
    path = REF / f"{name}.png"
    if os.environ.get("KINDPULSE_REGEN_GOLDEN") == "1":
        REF.mkdir(parents=True, exist_ok=True)
        img.save(path)
        raise AssertionError(f"regenerated {path}; unset KINDPULSE_REGEN_GOLDEN and rerun")
    assert path.exists(), f"missing golden {path}; run with KINDPULSE_REGEN_GOLDEN=1 and review it"
    with Image.open(path) as ref:
        ref1 = ref.convert("1")
    assert ref1.size == img.size
    bbox = ImageChops.difference(ref1.convert("L"), img.convert("L")).getbbox()
    assert bbox is None, f"{name} differs from {path} in {bbox}"


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_matches_golden(name: str) -> None:
    img = S.render(SCREENS[name])
    assert img.mode == "1" and img.size == (128, 64)
    assert_matches_golden(name, img)


def test_luma_canvas_path_gives_the_same_pixels() -> None:
    device = dummy(width=128, height=64, mode="1")
    view = SCREENS["idle"]
    with canvas(device) as draw:
        S.draw_view(draw, view)
    assert ImageChops.difference(device.image.convert("L"), S.render(view).convert("L")).getbbox() is None


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_every_screen_draws_something_inside_the_frame(name: str) -> None:
    img = S.render(SCREENS[name])
    lit = img.convert("L").histogram()[255]
    assert 150 < lit < 128 * 64 // 2  # legible content, never a blown-out screen


def test_breathing_bar_grows_with_the_inhale() -> None:
    def bar_width(size: float) -> int:
        img = S.render(S.BreakView("notice", ("a", "b"), "in", size, 100.0, 70))
        row = [img.getpixel((x, 46)) for x in range(128)]
        return sum(1 for p in row if p)

    widths = [bar_width(s) for s in (0.0, 0.25, 0.5, 1.0)]
    assert widths == sorted(widths) and widths[0] >= 10 and widths[-1] >= 118


def test_break_view_follows_the_script() -> None:
    v = S.break_view_at(55.0, 74)
    assert v.title == "notice" and v.lines == step_at(55.0).lines and v.phase == "out"
    assert v.remaining_s == 125.0 and v.hr_bpm == 74
    short = S.break_view_at(5.0, None, BreakConfig(inhale_s=5, exhale_s=5))
    assert short.phase == "out" and short.size == 1.0


def test_gauge_fill_tracks_level() -> None:
    def fill(level: float | None) -> int:
        img = S.render(S.IdleView(70, 40, (), level))
        return sum(1 for x in range(128) if img.getpixel((x, 56)))

    assert fill(None) == 2 and fill(0) == 2  # just the frame
    assert fill(25) < fill(50) < fill(100)


def test_stress_bands() -> None:
    assert [S.stress_band(x) for x in (None, 10, 25, 26, 60, 90, 120)] == [
        "--", "rest", "rest", "low", "medium", "high", "high"]


def test_sparkline_keeps_noise_flat_and_fills_for_real_change() -> None:
    box = (0, 0, 63, 20)
    flat = S.sparkline_points([40.0, 41.0, 40.0, 41.0], box)
    assert max(y for _, y in flat) - min(y for _, y in flat) <= 2
    real = S.sparkline_points([20.0, 40.0, 60.0], box)
    assert [y for _, y in real] == [20, 10, 0]
    assert S.sparkline_points([], box) == []


def test_unknown_view_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no renderer"):
        S.draw_view(ImageDraw.Draw(Image.new("1", (128, 64))), object())


def test_break_line_limit_matches_the_font() -> None:
    assert S.font("6x12").getbbox("x" * MAX_LINE_CHARS)[2] <= S.WIDTH
    assert S.font("6x12").getbbox("x" * (MAX_LINE_CHARS + 1))[2] > S.WIDTH


def _state(**changes) -> S.ScreenState:
    """A healthy idle screen state, with ``changes`` applied."""
    from kindpulse.stress.baseline import BaselineState
    from kindpulse.stress.trigger import TriggerStatus

    base = S.ScreenState(
        now_s=100.0, sensor_up=True, sensor_fault=None, finger=True, usable=True, motion=False,
        session="idle", since_s=0.0, prompt_reason="", break_config=BreakConfig(), result=None,
        baseline=BaselineState(True, 1.0, 30), trigger=TriggerStatus("calm", 30.0, 0.1, 0.2, 1.0, 0.0, None),
        hr_bpm=70.0, rmssd_ms=40.0, rmssd_trend=(39.0, 40.0), snoozed=False, snoozed_until_hhmm="",
        storage="ok",
    )
    return dataclasses.replace(base, **changes)


def test_choose_view_priorities() -> None:
    from kindpulse.session import BreakResult
    from kindpulse.stress.baseline import BaselineState
    from kindpulse.stress.trigger import TriggerStatus

    ui = _state()
    assert S.choose_view(ui) == S.IdleView(70.0, 40.0, (39.0, 40.0), 30.0)
    assert S.choose_view(_state(sensor_up=False)) == S.SensorErrorView()
    assert S.choose_view(_state(finger=False)) == S.PlaceFingerView()
    assert S.choose_view(_state(baseline=BaselineState(False, 0.25, 2))) == S.CalibratingView(0.25, 70.0)
    active = TriggerStatus("too_active", 80.0, -2, 2, 40, 0, None)
    assert S.choose_view(_state(trigger=active)) == S.TooActiveView(70.0)
    assert S.choose_view(_state(usable=False)) == S.PoorSignalView()
    assert S.choose_view(_state(snoozed=True, snoozed_until_hhmm="15:00")) == S.SnoozedView("15:00")
    assert S.choose_view(_state(session="prompt")) == S.PromptView()
    assert S.choose_view(_state(session="prompt", prompt_reason="checkin")).question == "a check-in?"
    brk = S.choose_view(_state(session="break", since_s=45.0))
    assert brk == S.break_view_at(55.0, 70.0)
    res = BreakResult(0.0, 180.0, True, False, hr_before=80.0, hr_after=72.0, rmssd_before=25.0,
                      rmssd_after=38.0)
    assert S.choose_view(_state(session="result", result=res)) == S.ResultView(80.0, 72.0, 25.0, 38.0)
    # The session outranks a lifted finger: a break continues on screen.
    assert isinstance(S.choose_view(_state(session="break", finger=False, since_s=0.0)), S.BreakView)


def test_choose_view_tells_motion_and_io_errors_apart() -> None:
    from kindpulse.ui.screens import PoorSignalView, SensorErrorView, choose_view

    assert choose_view(_state(usable=False, motion=True)) == PoorSignalView(motion=True)
    assert choose_view(_state(usable=False)) == PoorSignalView(motion=False)
    gone = choose_view(_state(sensor_up=False, sensor_fault="missing"))
    flaky = choose_view(_state(sensor_up=False, sensor_fault="io"))
    assert gone == SensorErrorView()
    assert flaky.problem == "sensor I/O error"


def test_screen_state_has_no_defaults() -> None:
    # A state that forgets a field must fail at construction, never show the healthy screen.
    with pytest.raises(TypeError):
        S.ScreenState(now_s=0.0)  # type: ignore[call-arg]


def test_a_short_disk_shows_on_the_idle_screen() -> None:
    assert S.choose_view(_state()).storage_note is None
    assert S.choose_view(_state(storage="low")).storage_note == ("disk low", "raw paused")
    assert S.choose_view(_state(storage="full")).storage_note == ("disk full", "see doctor")
