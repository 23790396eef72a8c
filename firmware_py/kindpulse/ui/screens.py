"""OLED screens (128x64, 1-bit) as pure renderers.

Each screen is `render_<name>(draw, view)`: it draws one small frozen view
dataclass onto a PIL `ImageDraw` and touches nothing else. The daemon draws
`render(view) -> PIL.Image` and hands it to the luma device (`device.display`);
`draw_view` also serves luma's `canvas`. Text uses the bundled Spleen bitmap
fonts (ui/fonts/, BSD-2), which render pixel-identically everywhere, so golden
images are stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from kindpulse.errors import IO
from kindpulse.session import BREAK, CHECKIN, PROMPT, RESULT
from kindpulse.stress.trigger import POOR_SIGNAL, TOO_ACTIVE
from kindpulse.ui.break_script import DEFAULT as DEFAULT_BREAK
from kindpulse.ui.break_script import BreakConfig, breath_size, pacer, step_at
from kindpulse.ui.state import ScreenState

WIDTH, HEIGHT = 128, 64
FONT_DIR = Path(__file__).with_name("fonts")
ON, OFF = 1, 0


@cache
def font(size: str) -> ImageFont.ImageFont:
    """A bundled bitmap font: '5x8', '6x12', '8x16' or '12x24'."""
    return ImageFont.load(str(FONT_DIR / f"spleen-{size}.pil"))


def small() -> ImageFont.ImageFont:
    return font("5x8")


def body() -> ImageFont.ImageFont:
    return font("6x12")


def large() -> ImageFont.ImageFont:
    return font("8x16")


def huge() -> ImageFont.ImageFont:
    return font("12x24")


# -- views ---------------------------------------------------------------------


@dataclass(frozen=True)
class IdleView:
    hr_bpm: float | None
    rmssd_ms: float | None
    rmssd_trend_ms: tuple[float, ...] = ()  # oldest first, e.g. one per minute
    stress_level: float | None = None  # 0..100 (trigger.stress_level)
    storage_note: tuple[str, str] | None = None  # two short lines in place of the trend (disk low/full)


@dataclass(frozen=True)
class CalibratingView:
    progress: float  # 0..1
    hr_bpm: float | None = None


@dataclass(frozen=True)
class PlaceFingerView:
    pass


@dataclass(frozen=True)
class PoorSignalView:
    motion: bool = False


@dataclass(frozen=True)
class TooActiveView:
    hr_bpm: float | None = None


@dataclass(frozen=True)
class PromptView:
    question: str = "a kind pause?"
    action: str = "press to begin"
    hint: str = "hold to snooze"


@dataclass(frozen=True)
class BreakView:
    title: str
    lines: tuple[str, str]
    phase: str  # 'in' | 'out' (break_script.pacer)
    size: float  # 0..1 (break_script.breath_size)
    remaining_s: float
    hr_bpm: float | None = None


def break_view_at(t_s: float, hr_bpm: float | None = None, config: BreakConfig = DEFAULT_BREAK) -> BreakView:
    """The break screen t_s seconds into the break (words, pacer, time left)."""
    pos = step_at(t_s, config)
    return BreakView(pos.step.title, pos.lines, pacer(t_s, config)[0], breath_size(t_s, config), pos.remaining_s, hr_bpm)


@dataclass(frozen=True)
class ResultView:
    hr_before_bpm: float | None
    hr_after_bpm: float | None
    rmssd_before_ms: float | None
    rmssd_after_ms: float | None


@dataclass(frozen=True)
class SnoozedView:
    until_hhmm: str = ""  # local time the prompts resume; "" if unknown


@dataclass(frozen=True)
class SensorErrorView:
    problem: str = "sensor not found"
    action: tuple[str, ...] = ("Check the sensor", "cable, then press", "the button.")


# -- drawing helpers -----------------------------------------------------------


def _text_w(text: str, f: ImageFont.ImageFont) -> int:
    left, _, right, _ = f.getbbox(text)
    return int(right - left)


def _center(draw: ImageDraw.ImageDraw, y: int, text: str, f: ImageFont.ImageFont, x0: int = 0, x1: int = WIDTH) -> None:
    draw.text((x0 + (x1 - x0 - _text_w(text, f)) // 2, y), text, font=f, fill=ON)


def _right(draw: ImageDraw.ImageDraw, x_right: int, y: int, text: str, f: ImageFont.ImageFont) -> None:
    draw.text((x_right - _text_w(text, f), y), text, font=f, fill=ON)


def _num(x: float | None) -> str:
    return "--" if x is None or not math.isfinite(x) else f"{x:.0f}"


# 7x6 heart, drawn from rows so it stays crisp at 1 bit.
_HEART = (".##.##.", "#######", "#######", ".#####.", "..###..", "...#...")


def _heart(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    for dy, row in enumerate(_HEART):
        for dx, c in enumerate(row):
            if c == "#":
                draw.point((x + dx, y + dy), fill=ON)


def _arrow(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    """A 7x5 right arrow with its tip at x+6, centred on row y+2."""
    draw.line((x, y + 2, x + 6, y + 2), fill=ON)
    draw.line((x + 4, y, x + 6, y + 2), fill=ON)
    draw.line((x + 4, y + 4, x + 6, y + 2), fill=ON)


def _progress(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], fraction: float) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=ON, fill=OFF)
    f = min(1.0, max(0.0, fraction))
    inner = int(round((x1 - x0 - 3) * f))
    if inner > 0:
        draw.rectangle((x0 + 2, y0 + 2, x0 + 1 + inner, y1 - 2), fill=ON)


def sparkline_points(
    values: Sequence[float], box: tuple[int, int, int, int], min_span: float = 10.0
) -> list[tuple[int, int]]:
    """Pixel points of a trend line scaled to the box: min..max of the values, but
    never less than `min_span` (ms) so that minute-to-minute noise stays flat."""
    x0, y0, x1, y1 = box
    vals = [v for v in values if math.isfinite(v)][-(x1 - x0 + 1) :]
    if not vals:
        return []
    lo, hi = min(vals), max(vals)
    if hi - lo < min_span:
        mid = (hi + lo) / 2.0
        lo, hi = mid - min_span / 2.0, mid + min_span / 2.0
    n = len(vals)
    step = (x1 - x0) / max(1, n - 1)
    return [
        (x0 + int(round(i * step)) if n > 1 else x1, y1 - int(round((v - lo) / (hi - lo) * (y1 - y0))))
        for i, v in enumerate(vals)
    ]


STRESS_BANDS = ((25.0, "rest"), (50.0, "low"), (75.0, "medium"), (100.0, "high"))


def stress_band(level: float | None) -> str:
    if level is None:
        return "--"
    for upper, name in STRESS_BANDS:
        if level <= upper:
            return name
    return STRESS_BANDS[-1][1]


def _gauge(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], level: float | None) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=ON, fill=OFF)
    for q in (0.25, 0.5, 0.75):  # band ticks, Garmin-style quarters
        x = x0 + int(round((x1 - x0) * q))
        draw.line((x, y0 - 2, x, y0), fill=ON)
        draw.line((x, y1, x, y1 + 2), fill=ON)
    if level is None:
        return
    f = min(100.0, max(0.0, level)) / 100.0
    inner = int(round((x1 - x0 - 3) * f))
    if inner > 0:
        draw.rectangle((x0 + 2, y0 + 2, x0 + 1 + inner, y1 - 2), fill=ON)


# -- screens -------------------------------------------------------------------


def render_idle(draw: ImageDraw.ImageDraw, view: IdleView) -> None:
    """HR big on the left, RMSSD trend on the right, stress gauge along the bottom."""
    draw.text((0, 1), _num(view.hr_bpm), font=huge(), fill=ON)
    _heart(draw, 39, 4)
    draw.text((38, 16), "bpm", font=small(), fill=ON)
    # HRV: current RMSSD and its recent trend.
    draw.text((62, 0), "HRV", font=small(), fill=ON)
    _right(draw, 127, 0, f"{_num(view.rmssd_ms)} ms", small())
    box = (62, 11, 127, 28)
    if view.storage_note is not None:  # monitoring goes on, but someone should free the disk
        draw.rectangle(box, fill=ON)
        for i, line in enumerate(view.storage_note):
            w = _text_w(line, small())
            draw.text((box[0] + (box[2] - box[0] + 1 - w) // 2, box[1] + 1 + 8 * i), line, font=small(), fill=OFF)
    else:
        pts = sparkline_points(view.rmssd_trend_ms, box)
        if len(pts) > 1:
            draw.line(pts, fill=ON)
        elif pts:
            draw.point(pts[0], fill=ON)
    draw.line((62, 29, 127, 29), fill=ON)  # baseline rule under the trend
    draw.text((0, 36), "stress", font=body(), fill=ON)
    _right(draw, 127, 36, stress_band(view.stress_level), body())
    _gauge(draw, (0, 52, 127, 61), view.stress_level)


def render_calibrating(draw: ImageDraw.ImageDraw, view: CalibratingView) -> None:
    _center(draw, 0, "Calibrating...", large())
    _center(draw, 19, "learning your calm", body())
    pct = int(round(min(1.0, max(0.0, view.progress)) * 100))
    _progress(draw, (0, 36, 98, 47), view.progress)
    _right(draw, 127, 36, f"{pct}%", body())
    msg = "sit easy, breathe" if view.hr_bpm is None else f"HR {_num(view.hr_bpm)} bpm"
    _center(draw, 54, msg, small())


def render_place_finger(draw: ImageDraw.ImageDraw, view: PlaceFingerView) -> None:
    _center(draw, 2, "Place a finger", large())
    _center(draw, 20, "on the sensor", body())
    # The sensor window, with a fingertip arc above it.
    draw.rectangle((52, 50, 75, 57), outline=ON)
    draw.rectangle((60, 52, 67, 55), fill=ON)
    draw.arc((50, 34, 77, 61), start=200, end=340, fill=ON)


def render_poor_signal(draw: ImageDraw.ImageDraw, view: PoorSignalView) -> None:
    _center(draw, 2, "Hold still", large())
    if view.motion:
        lines = ("moving hands blur", "the pulse signal", "rest your hand a moment")
    else:
        lines = ("the pulse is faint:", "rest your fingertip", "lightly on the sensor")
    _center(draw, 24, lines[0], body())
    _center(draw, 36, lines[1], body())
    _center(draw, 54, lines[2], small())


def render_too_active(draw: ImageDraw.ImageDraw, view: TooActiveView) -> None:
    _center(draw, 2, "You're active", large())
    _heart(draw, 44, 25)
    draw.text((54, 22), f"{_num(view.hr_bpm)} bpm", font=body(), fill=ON)
    _center(draw, 40, "stress check rests", body())
    _center(draw, 52, "until you're still", body())


def render_prompt(draw: ImageDraw.ImageDraw, view: PromptView) -> None:
    _center(draw, 8, view.question, large())
    # A soft frame around the action so it reads as "the button".
    w = _text_w(view.action, body()) + 10
    x0 = (WIDTH - w) // 2
    draw.rounded_rectangle((x0, 30, x0 + w - 1, 45), radius=4, outline=ON)
    _center(draw, 32, view.action, body())
    _center(draw, 55, view.hint, small())


def _mmss(seconds: float) -> str:
    s = max(0, int(math.ceil(seconds - 1e-9)))
    return f"{s // 60}:{s % 60:02d}"


def render_break(draw: ImageDraw.ImageDraw, view: BreakView) -> None:
    """Header (step, HR, time left), two lines of words, and the breathing bar."""
    draw.text((0, 0), view.title, font=small(), fill=ON)
    _right(draw, 127, 0, _mmss(view.remaining_s), small())
    hr = _num(view.hr_bpm)
    hr_w = _text_w(hr, small())
    _heart(draw, 78 - hr_w, 1)
    draw.text((86 - hr_w, 0), hr, font=small(), fill=ON)
    _center(draw, 11, view.lines[0], body())
    _center(draw, 23, view.lines[1], body())
    # Breathing bar: a pill that widens on the inhale and narrows on the exhale.
    size = min(1.0, max(0.0, view.size))
    half = 6 + int(round(size * 54))
    cx, y0, y1 = WIDTH // 2, 40, 51
    draw.rounded_rectangle((cx - half, y0, cx + half - 1, y1), radius=5, fill=ON)
    _center(draw, 56, "breathe in" if view.phase == "in" else "breathe out", small())


def render_result(draw: ImageDraw.ImageDraw, view: ResultView) -> None:
    _center(draw, 0, "After your pause", body())
    rows = (
        ("HR", view.hr_before_bpm, view.hr_after_bpm, "bpm"),
        ("HRV", view.rmssd_before_ms, view.rmssd_after_ms, "ms"),
    )
    for i, (label, before, after, unit) in enumerate(rows):
        y = 17 + 15 * i
        draw.text((0, y), label, font=body(), fill=ON)
        _right(draw, 58, y, _num(before), body())
        _arrow(draw, 63, y + 3)
        draw.text((74, y), _num(after), font=body(), fill=ON)
        draw.text((74 + _text_w(_num(after), body()) + 4, y + 3), unit, font=small(), fill=ON)
    _center(draw, 55, "thank you for pausing", small())


def render_snoozed(draw: ImageDraw.ImageDraw, view: SnoozedView) -> None:
    _center(draw, 6, "Snoozed", large())
    if view.until_hhmm:
        _center(draw, 28, "no prompts until", body())
        _center(draw, 42, view.until_hhmm, large())
    else:
        _center(draw, 28, "no prompts for", body())
        _center(draw, 40, "a while", body())


def render_sensor_error(draw: ImageDraw.ImageDraw, view: SensorErrorView) -> None:
    draw.rectangle((0, 0, 127, 12), fill=ON)
    draw.text((3, 0), "!", font=body(), fill=OFF)
    draw.text((12, 0), view.problem, font=body(), fill=OFF)
    for i, line in enumerate(view.action[:4]):
        _center(draw, 16 + 12 * i, line, body())


RENDERERS: dict[type, Callable[[ImageDraw.ImageDraw, Any], None]] = {
    IdleView: render_idle,
    CalibratingView: render_calibrating,
    PlaceFingerView: render_place_finger,
    PoorSignalView: render_poor_signal,
    TooActiveView: render_too_active,
    PromptView: render_prompt,
    BreakView: render_break,
    ResultView: render_result,
    SnoozedView: render_snoozed,
    SensorErrorView: render_sensor_error,
}


def draw_view(draw: ImageDraw.ImageDraw, view: object) -> None:
    """Dispatch to the renderer for this view type (also usable inside luma's `canvas`)."""
    try:
        renderer = RENDERERS[type(view)]
    except KeyError:
        raise TypeError(f"no renderer for {type(view).__name__}") from None
    renderer(draw, view)


def render(view: object) -> Image.Image:
    """A fresh 128x64 1-bit image of the view."""
    img = Image.new("1", (WIDTH, HEIGHT), OFF)
    draw_view(ImageDraw.Draw(img), view)
    return img


# What the idle screen says when the log's disk runs short (store.db.Store.storage).
STORAGE_NOTES: dict[str, tuple[str, str]] = {
    "low": ("disk low", "raw paused"),
    "full": ("disk full", "see doctor"),
}


def choose_view(state: ScreenState) -> object:
    """Which screen to show (pure). Priority: sensor fault > the session (prompt, break,
    result) > no finger > snoozed > calibrating > too active > poor signal > idle."""
    hr = state.hr_bpm
    if not state.sensor_up:
        if state.sensor_fault == IO:
            return SensorErrorView(problem="sensor I/O error")
        return SensorErrorView()
    if state.session == BREAK:
        return break_view_at(state.now_s - state.since_s, hr, state.break_config)
    if state.session == PROMPT:
        if state.prompt_reason == CHECKIN:
            return PromptView(question="a check-in?")
        return PromptView()
    if state.session == RESULT:
        r = state.result
        if r is None:
            return ResultView(None, None, None, None)
        return ResultView(r.hr_before, r.hr_after, r.rmssd_before, r.rmssd_after)
    if not state.finger:
        return PlaceFingerView()
    if state.snoozed:
        return SnoozedView(state.snoozed_until_hhmm)
    if not state.baseline.ready:
        return CalibratingView(float(state.baseline.progress), hr)
    trigger = state.trigger.state
    if trigger == TOO_ACTIVE:
        return TooActiveView(hr)
    if not state.usable or trigger == POOR_SIGNAL:
        return PoorSignalView(motion=state.motion)
    return IdleView(hr, state.rmssd_ms, state.rmssd_trend, state.trigger.level,
                    storage_note=STORAGE_NOTES.get(state.storage))
