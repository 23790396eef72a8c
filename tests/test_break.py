"""The break script, the pacer and the haptic patterns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kindpulse.errors import ConfigError
from kindpulse.hardware import motor
from kindpulse.ui.break_script import (
    MAX_LINE_CHARS,
    STEPS,
    BreakConfig,
    breath_size,
    cue_times,
    pacer,
    step_at,
)


def test_default_break_is_three_minutes_of_whole_breaths() -> None:
    cfg = BreakConfig()
    assert cfg.total_s == 180.0
    assert 60.0 / cfg.breath_s == 6.0
    assert len(cue_times(cfg)) == 18 and cue_times(cfg)[:3] == (0.0, 10.0, 20.0)


def test_pacer_phases() -> None:
    assert pacer(0.0) == ("in", 0.0)
    assert pacer(2.0) == ("in", 0.5)
    assert pacer(4.0) == ("out", 0.0)
    assert pacer(7.0) == ("out", 0.5)
    assert pacer(10.0) == ("in", 0.0)
    assert pacer(3.0, BreakConfig(inhale_s=5, exhale_s=5)) == ("in", 0.6)


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False))
def test_pacer_and_size_stay_in_range(t: float) -> None:
    phase, frac = pacer(t)
    assert phase in ("in", "out") and 0.0 <= frac < 1.0
    assert 0.0 <= breath_size(t) <= 1.0


def test_breath_size_is_continuous_and_peaks_at_end_of_inhale() -> None:
    ts = [i * 0.01 for i in range(2001)]
    sizes = [breath_size(t) for t in ts]
    assert max(abs(a - b) for a, b in zip(sizes, sizes[1:], strict=False)) < 0.01
    assert breath_size(3.999) > 0.999 and breath_size(0.0) == 0.0 and breath_size(9.999) < 0.001


def test_steps_in_order_with_pages() -> None:
    keys = [step_at(t).step.key for t in (0, 29.9, 30, 70, 110, 160, 179.9)]
    assert keys == ["arrive", "arrive", "notice", "common", "kindness", "close", "close"]
    assert step_at(0).lines == STEPS[0].pages[0]
    assert step_at(16).lines == STEPS[0].pages[1]
    assert step_at(90).remaining_s == pytest.approx(90)
    end = step_at(180)
    assert end.done and end.remaining_s == 0.0


def test_step_lengths_follow_config() -> None:
    cfg = BreakConfig(arrive_s=10, notice_s=10, common_s=10, kindness_s=10, close_s=10)
    assert cfg.total_s == 50 and step_at(25, cfg).step.key == "common"


def test_every_line_fits_the_screen() -> None:
    for step in STEPS:
        for page in step.pages:
            for line in page:
                assert 0 < len(line) <= MAX_LINE_CHARS, line
                assert line.isascii()


def test_words_are_our_own() -> None:
    # The published break's exact phrases are copyrighted; the script paraphrases.
    text = " ".join(" ".join(p) for s in STEPS for page in [s.pages] for p in page).lower()
    for phrase in ("moment of suffering", "suffering is a part of life", "may i be kind", "i'm not alone",
                   "other people feel this way", "we all struggle"):
        assert phrase not in text


def test_break_config_validation_names_the_field() -> None:
    with pytest.raises(ConfigError, match="inhale_s"):
        BreakConfig(inhale_s=0)
    with pytest.raises(ConfigError, match="breaths/min"):
        BreakConfig(inhale_s=1, exhale_s=1)


@pytest.mark.parametrize("name", sorted(motor.PATTERNS))
def test_haptic_patterns_are_valid_and_short(name: str) -> None:
    p = motor.validate(motor.PATTERNS[name])
    assert 0 < motor.duration_s(p) <= 1.0
    assert p[0][1] > 0  # starts with a pulse, not a pause


def test_inhale_cue_fits_inside_the_shortest_inhale() -> None:
    assert motor.duration_s(motor.INHALE_CUE) < 1.0
    assert max(s for _, s in motor.INHALE_CUE) < max(s for _, s in motor.ERROR)
    assert max(s for _, s in motor.PROMPT) < 0.6  # gentle


def test_haptic_validation_and_scaling() -> None:
    with pytest.raises(ValueError, match="strength"):
        motor.validate(((0.1, 1.5),))
    with pytest.raises(ValueError, match="duration"):
        motor.validate(((0.0, 0.5),))
    assert motor.scaled(motor.PROMPT, 3.0)[0] == (0.18, 1.0)
    assert motor.scaled(motor.PROMPT, 0.5)[2] == (0.18, 0.225)


def test_break_script_binds_its_config() -> None:
    from kindpulse.ui.break_script import BreakScript

    cfg = BreakConfig(
        inhale_s=5, exhale_s=5, arrive_s=20, notice_s=20, common_s=20, kindness_s=20, close_s=20
    )
    s = BreakScript(cfg)
    assert s.duration_s == 100 and s.cue_times_s == tuple(range(0, 100, 10))
    assert s.pacer(6.0) == pacer(6.0, cfg) == ("out", 0.2)
    assert s.step_at(45).step.key == "common" and s.breath_size(5.0) == 1.0
