"""RollingHRV: ring buffer, windows, coverage, cadence."""

from __future__ import annotations

import numpy as np
import pytest

from kindpulse.errors import ConfigError
from kindpulse.stress.rolling import RollingConfig, RollingHRV, window_coverage


def mean_metrics(t: np.ndarray, nn: np.ndarray) -> dict[str, float | None]:
    return {"mean_nn_ms": float(nn.mean()), "n": float(nn.size), "t0": float(t[0]), "t1": float(t[-1])}


def beats(n: int, nn_ms: float = 1000.0, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    nn = np.full(n, nn_ms)
    return t0 + np.cumsum(nn) / 1000.0, nn


def test_windows_select_the_right_beats() -> None:
    r = RollingHRV(RollingConfig(), metrics_fn=mean_metrics)
    t, nn = beats(400)  # one beat per second, t = 1..400
    r.push(t, nn)
    snap = r.update(400.0)
    assert snap is not None
    # (340, 400] holds 60 beats; (100, 400] holds 300.
    assert snap.short.n_nn == 60 and snap.short.metrics["t0"] == 341.0
    assert snap.long.n_nn == 300 and snap.long.metrics["t0"] == 101.0
    assert snap.short.coverage == pytest.approx(1.0)


def test_ring_buffer_wraps_and_keeps_order() -> None:
    r = RollingHRV(RollingConfig(), metrics_fn=mean_metrics)
    rng = np.random.default_rng(1)
    nn = rng.uniform(700, 900, 5000)
    t = np.cumsum(nn) / 1000.0
    for chunk in np.array_split(np.arange(nn.size), 97):  # uneven pushes force wrap-around
        r.push(t[chunk], nn[chunk])
    now = float(t[-1])
    snap = r.compute(now)
    sel = (t > now - 60) & (t <= now)
    assert snap.short.n_nn == sel.sum()
    assert snap.short.metrics["mean_nn_ms"] == pytest.approx(nn[sel].mean())
    sel5 = (t > now - 300) & (t <= now)
    assert snap.long.metrics["mean_nn_ms"] == pytest.approx(nn[sel5].mean())


def test_repeated_and_stale_beats_are_dropped() -> None:
    r = RollingHRV(RollingConfig(), metrics_fn=mean_metrics)
    t, nn = beats(80)
    r.push(t[:50], nn[:50])
    r.push(t[40:], nn[40:])  # overlaps 10 beats already pushed
    r.push([np.nan, 10.0], [800.0, -5.0])  # garbage
    assert r.compute(80.0).short.n_nn == 60


def test_low_coverage_gives_none_metrics() -> None:
    r = RollingHRV(RollingConfig(min_coverage_short=0.8), metrics_fn=mean_metrics)
    t, nn = beats(100)
    keep = (t <= 55) | (t > 75)  # a 20-s hole (finger lifted) in the last minute
    r.push(t[keep], nn[keep])
    snap = r.compute(100.0)
    assert snap.short.coverage == pytest.approx(40 / 60)
    assert snap.short.metrics is None and snap.short.get("mean_nn_ms") is None


def test_coverage_clips_intervals_at_window_edges() -> None:
    # One 2-s interval ending 1 s into the window covers only 1 s of it.
    assert window_coverage(np.array([11.0]), np.array([2000.0]), 10.0, 20.0) == pytest.approx(0.1)
    assert window_coverage(np.array([]), np.array([]), 0.0, 60.0) == 0.0


def test_update_cadence_is_a_fixed_grid() -> None:
    r = RollingHRV(RollingConfig(update_every_s=5.0), metrics_fn=mean_metrics)
    t, nn = beats(200)
    r.push(t, nn)
    got = [now for now in np.arange(100.0, 130.0, 0.5) if r.update(float(now)) is not None]
    assert got == [100.0, 105.0, 110.0, 115.0, 120.0, 125.0]
    assert r.update(141.0) is not None  # late call
    assert r.update(144.9) is None and r.update(145.0) is not None  # grid kept, no drift


def test_long_window_recomputed_on_its_own_cadence() -> None:
    calls: list[int] = []

    def counting(t: np.ndarray, nn: np.ndarray) -> dict[str, float | None]:
        calls.append(nn.size)
        return {"n": float(nn.size)}

    r = RollingHRV(RollingConfig(update_every_s=5, long_update_every_s=30), metrics_fn=counting)
    t, nn = beats(700)
    r.push(t, nn)
    for now in range(400, 460, 5):
        r.update(float(now))
    long_calls = [c for c in calls if c > 60]
    assert len(calls) - len(long_calls) == 12 and len(long_calls) == 2


def test_reset_forgets_beats() -> None:
    r = RollingHRV(RollingConfig(), metrics_fn=mean_metrics)
    t, nn = beats(100)
    r.push(t, nn)
    r.reset()
    assert r.compute(100.0).short.n_nn == 0


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ConfigError, match="short_window_s"):
        RollingConfig(short_window_s=0)
    with pytest.raises(ConfigError, match="long_window_s"):
        RollingConfig(short_window_s=120, long_window_s=60)
    with pytest.raises(ConfigError, match="min_coverage_long"):
        RollingConfig(min_coverage_long=1.5)


def test_update_work_is_bounded_by_the_window() -> None:
    """Each update hands the metrics only the window's intervals, however long the history:
    the cost per update does not grow over a day of wear (timings live in bench/)."""
    sizes: list[int] = []

    def spy(t, nn):
        sizes.append(len(nn))
        return {}

    r = RollingHRV(RollingConfig(long_update_every_s=5.0), metrics_fn=spy)
    t, nn = beats(20000, 850.0)
    r.push(t, nn)
    for i in range(50):
        r.compute(float(t[-1]) - i * 0.01)
    short, long_ = 60_000 / 850.0, 300_000 / 850.0
    assert max(sizes) <= long_ + 2
    assert min(sizes) >= short - 2
