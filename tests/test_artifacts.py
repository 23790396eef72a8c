"""Lipponen-Tarvainen classification and streaming NN correction."""

from __future__ import annotations

from pathlib import Path

import naive_hrv as naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kindpulse.dsp.artifacts import (
    ECTOPIC,
    EXTRA,
    MISSED,
    NORMAL,
    NNBatch,
    NNStream,
    classify_intervals,
    correct_beats,
)
from kindpulse.errors import InputError


def synth_beats(n: int, seed: int, mean_ms: float = 850.0) -> np.ndarray:
    """Seeded RR with respiratory (0.25 Hz) and Mayer-wave (0.08 Hz) modulation, as beat times."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(np.full(n, mean_ms / 1000.0))
    rr = (mean_ms + 35 * np.sin(2 * np.pi * 0.25 * t) + 25 * np.sin(2 * np.pi * 0.08 * t + 1)
          + rng.normal(0, 12, n))
    return np.concatenate([[1.0], 1.0 + np.cumsum(rr) / 1000.0])


def systole_beats() -> np.ndarray:
    """Real RR from systole's bundled recording ('index,rr' CSV, ms), as beat times."""
    import systole

    path = Path(systole.__file__).parent / "datasets" / "rr.txt"
    rr = np.loadtxt(path, delimiter=",", skiprows=1, usecols=1)
    return np.concatenate([[0.0], np.cumsum(rr) / 1000.0])


def inject(beats: np.ndarray, seed: int, n_art: int):
    """Missed, extra and ectopic beats at seeded, well separated positions.

    Returns the corrupted beat times and the true artefact sets (times)."""
    rng = np.random.default_rng(seed)
    slots = np.arange(40, len(beats) - 10, 25)
    pos = np.sort(rng.choice(slots, n_art, replace=False))
    kinds = rng.integers(0, 3, n_art)
    b = beats.copy()
    missed, extra, ectopic = [], [], []
    drop, add = [], []
    for p, k in zip(pos, kinds, strict=True):
        if k == 0:
            drop.append(p)
            missed.append(beats[p])
        elif k == 1:
            frac = rng.uniform(0.25, 0.45)
            add.append(beats[p] + frac * (beats[p + 1] - beats[p]))
            extra.append(add[-1])
        else:
            b[p] = beats[p] - rng.uniform(0.25, 0.35) * (beats[p] - beats[p - 1])
            ectopic.append(b[p])
    out = np.sort(np.concatenate([np.delete(b, drop), add]))
    return out, np.array(missed), np.array(extra), np.array(ectopic)


def stream_in_chunks(beats: np.ndarray, sizes, gap_after=(), **kwargs) -> NNBatch:
    s = NNStream(**kwargs)
    parts = []
    gaps = sorted(set(int(g) for g in gap_after))
    i = 0
    k = 0
    while i < len(beats):
        size = sizes[k % len(sizes)]
        k += 1
        j = min(i + size, len(beats))
        # never let a chunk straddle a gap marker
        nxt = [g for g in gaps if i <= g < j - 1]
        if nxt:
            j = nxt[0] + 1
        parts.append(s.push(beats[i:j]))
        if (j - 1) in gaps:
            parts.append(s.gap())
        i = j
    parts.append(s.flush())
    return NNBatch.concat(parts)


def assert_same(a: NNBatch, b: NNBatch) -> None:
    np.testing.assert_array_equal(a.beats_s, b.beats_s)
    np.testing.assert_array_equal(a.nn_t_s, b.nn_t_s)
    np.testing.assert_array_equal(a.nn_ms, b.nn_ms)


# ----------------------------------------------------------------------------- classifier


@pytest.mark.parametrize("seed", [0, 1])
def test_classifier_matches_naive_reference(seed):
    beats, *_ = inject(synth_beats(700, seed), seed + 10, 20)
    rr = np.diff(beats) * 1000
    np.testing.assert_array_equal(classify_intervals(rr), naive.classify(rr))


def test_classifier_on_real_rr_matches_naive():
    beats, *_ = inject(systole_beats(), 3, 6)
    rr = np.diff(beats) * 1000
    np.testing.assert_array_equal(classify_intervals(rr), naive.classify(rr))


def _nk_labels(beats: np.ndarray) -> np.ndarray:
    from neurokit2.signal.signal_fixpeaks import _find_artifacts

    peaks = np.round(beats * 1000).astype(np.int64)
    art, _ = _find_artifacts(peaks, sampling_rate=1000)
    lab = np.zeros(len(peaks) - 1, dtype=np.int8)
    for name, code in (("ectopic", 1), ("missed", 2), ("extra", 3), ("longshort", 4)):
        for i in art[name]:
            if 1 <= i <= len(lab):  # NeuroKit's interval i ends at peak i
                lab[i - 1] = code
    return lab


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classifier_agrees_with_neurokit(seed):
    beats, *_ = inject(synth_beats(2500, seed), 100 + seed, 60)
    beats = np.round(beats * 1000) / 1000  # the ms grid NeuroKit sees
    ours = classify_intervals(np.diff(beats) * 1000)
    nk = _nk_labels(beats)
    flagged = (ours > 0) | (nk > 0)
    agree_all = np.mean(ours == nk)
    agree_flagged = np.mean(ours[flagged] == nk[flagged])
    # measured 99.7-99.9 % overall, ~95 % on flagged intervals
    assert agree_all > 0.995
    assert agree_flagged > 0.85


# ----------------------------------------------------------------------------- correction


def test_correct_beats_matches_naive_reference():
    beats, *_ = inject(synth_beats(600, 5), 15, 18)
    gaps = [150, 151, 400]
    out = correct_beats(beats, gap_after=np.array(gaps))
    kept, nn_t, nn = naive.correct(beats, gap_after=gaps)
    np.testing.assert_array_equal(out.beats_s, kept)
    np.testing.assert_array_equal(out.nn_t_s, nn_t)
    np.testing.assert_allclose(out.nn_ms, nn, rtol=0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    gaps=st.lists(st.integers(0, 399), max_size=3),
    lookahead=st.sampled_from([0, 2, 5, 8]),
)
def test_any_chunking_equals_batch(seed, sizes, gaps, lookahead):
    beats, *_ = inject(synth_beats(400, seed % 7), seed, 10)
    gaps = [g for g in gaps if g < len(beats)]
    mask = np.zeros(len(beats), dtype=bool)
    mask[gaps] = True
    assert_same(
        stream_in_chunks(beats, sizes, gaps, lookahead_beats=lookahead),
        correct_beats(beats, gap_after=mask, lookahead_beats=lookahead),
    )


def test_long_stream_with_buffer_trimming_equals_batch():
    # 2000 beats: the stream drops old history many times; output must not change
    beats, *_ = inject(synth_beats(2000, 12), 12, 60)
    batch = correct_beats(beats, gap_after=np.array([700, 1500]))
    assert_same(stream_in_chunks(beats, [3, 1, 7, 2], [700, 1500]), batch)
    # and a plain-Python reference agrees on the whole hour-like run
    kept, nn_t, nn = naive.correct(beats, gap_after=[700, 1500])
    np.testing.assert_array_equal(batch.beats_s, kept)
    np.testing.assert_array_equal(batch.nn_t_s, nn_t)


@pytest.mark.parametrize("source", ["synthetic", "systole"])
def test_injected_artifacts_are_caught_and_never_in_nn(source):
    true = synth_beats(3000, 7) if source == "synthetic" else systole_beats()
    n_art = 80 if source == "synthetic" else 6
    beats, missed, extra, ectopic = inject(true, 42, n_art)
    out = correct_beats(beats)
    true_set = {round(b, 9): i for i, b in enumerate(true)}
    ect_set = {round(b, 9) for b in ectopic}
    # every NN interval joins two consecutive true beats, neither of them ectopic
    for t_end, nn in zip(out.nn_t_s, out.nn_ms, strict=True):
        t_start = round(t_end - nn / 1000.0, 9)
        t_end = round(t_end, 9)
        assert t_start in true_set and t_end in true_set, "NN touches an invented or extra beat"
        assert true_set[t_end] - true_set[t_start] == 1, "NN spans a missed beat"
    # every extra beat is dropped from the kept beats
    kept = {round(b, 9) for b in out.beats_s}
    assert not any(round(e, 9) in kept for e in extra)
    # every ectopic beat is kept but no NN interval starts or ends at it
    nn_ends = {round(t, 9) for t in out.nn_t_s}
    nn_starts = {round(t - v / 1000.0, 9) for t, v in zip(out.nn_t_s, out.nn_ms, strict=True)}
    assert all(round(e, 9) in kept for e in ectopic)
    assert not (ect_set & (nn_ends | nn_starts))
    # few clean intervals lost: NN of the uncorrupted run, minus the intervals an injected
    # artefact touches (one either side), must survive the corrupted run
    ref = correct_beats(true)
    art_t = np.concatenate([missed, extra, ectopic])
    ref_start = ref.nn_t_s - ref.nn_ms / 1000
    near = np.array([np.any(np.abs(art_t - s) < 2.5) for s in ref_start], dtype=bool)
    expected = {round(t, 9) for t, n in zip(ref.nn_t_s, near, strict=True) if not n}
    lost = len(expected - nn_ends)
    assert lost <= max(2, 0.01 * len(expected))


def test_premature_beat_and_a_false_one_in_its_pause_never_make_nn():
    # a premature beat at 0.6 of an interval and a false detection 0.5 interval after it: the
    # first short interval looks like an extra beat, and merging it would drop the premature (true) beat
    # and report an interval that spans it (seen on a fresh member of the synthetic family)
    beats = synth_beats(400, 11)
    events = []
    for k in range(40, 380, 37):
        # the premature beat replaces beat k + 1 at 0.6 of the interval; beat k + 2 keeps
        # its time (the compensatory pause)
        a, b = beats[k], beats[k + 1]
        beats[k + 1] = a + 0.6 * (b - a)
        events.append(beats[k + 1])
        beats = np.append(beats, beats[k + 1] + 0.5 * (b - a))
        beats.sort()
    assert np.count_nonzero(classify_intervals(np.diff(beats) * 1000.0) == EXTRA) >= 5
    out = correct_beats(beats)
    idx = {round(b, 9): i for i, b in enumerate(beats)}
    for t_end, nn in zip(out.nn_t_s, out.nn_ms, strict=True):
        i0, i1 = idx[round(t_end - nn / 1000.0, 9)], idx[round(t_end, 9)]
        assert i1 - i0 == 1, "an NN interval spans a beat"
    for e in events:  # and none starts or ends on the premature beat
        assert not np.any(np.isclose(out.nn_t_s, e) | np.isclose(out.nn_t_s - out.nn_ms / 1000.0, e))
    assert out.nn_ms.size > 0.8 * (beats.size - 1 - 4 * len(events))  # the rest is still NN


def test_premature_beat_passed_over_and_timed_on_its_diastolic_wave_never_makes_nn():
    # at 88 bpm with strong sinus arrhythmia (RMSSD 60 ms) the detector passes over a premature
    # beat (0.65 of the interval) and takes its diastolic wave 0.35 s later: a long interval
    # that spans the premature beat, a short one (the rest of the compensatory pause), then
    # normal ones. Where the short one is labelled ECTOPIC, the long one before it is not NN
    # either (seen on a fresh member of the synthetic family: 679, 826, 541, 756 ms). Where
    # neither is flagged, Kubios' thresholds pass both: that is left to the detector.
    rng = np.random.default_rng(12)
    t = np.arange(400) * 0.68
    rr = 680 + 80 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 25, t.size)
    true = np.concatenate([[1.0], 1.0 + np.cumsum(rr) / 1000.0])
    beats = true.copy()
    events = []
    for k in range(40, 380, 37):
        premature = true[k] + 0.65 * (true[k + 1] - true[k])
        beats[k + 1] = premature + 0.35
        events.append((k, premature))
    lab = classify_intervals(np.diff(beats) * 1000.0)
    out = correct_beats(beats)
    starts = out.nn_t_s - out.nn_ms / 1000.0
    flagged = [p for k, p in events if lab[k + 1] == ECTOPIC]  # interval k + 1: the short one
    assert len(flagged) >= 4
    for p in flagged:
        assert not np.any((starts < p) & (out.nn_t_s > p)), "an NN interval spans the premature beat"
    assert out.nn_ms.size > 0.9 * (beats.size - 1 - 3 * len(events))  # the rest is still NN


def test_the_interval_after_a_compensatory_pause_is_nn():
    # a premature beat at 0.6 of the interval with a full compensatory pause: the premature
    # interval and the pause are not NN, the interval after the pause is (both its beats are
    # sinus beats) unless it is labelled itself, whether the ECTOPIC label lands on the
    # premature interval or on the pause
    true = synth_beats(400, 11)
    beats = true.copy()
    events = []
    for k in range(40, 380, 37):
        beats[k + 1] = true[k] + 0.6 * (true[k + 1] - true[k])
        events.append(k)
    lab = classify_intervals(np.diff(beats) * 1000.0)
    out = correct_beats(beats)
    ends = {round(t, 9) for t in out.nn_t_s}
    on_pause = [k for k in events if lab[k + 1] == ECTOPIC and lab[k] != ECTOPIC]
    assert len(on_pause) >= 3  # the case the rule is about occurs
    for k in events:
        assert round(beats[k + 1], 9) not in ends and round(beats[k + 2], 9) not in ends
    normal_after = [k for k in events if lab[k + 2] == NORMAL]
    assert len(normal_after) >= 8
    assert all(round(beats[k + 3], 9) in ends for k in normal_after)


def test_classification_sensitivity_and_specificity():
    true = synth_beats(3000, 11)
    beats, missed, extra, ectopic = inject(true, 99, 90)
    lab = classify_intervals(np.diff(beats) * 1000)
    ends = beats[1:]
    starts = beats[:-1]

    def label_of_interval_ending(t):
        return lab[int(np.flatnonzero(np.isclose(ends, t, atol=1e-9, rtol=0))[0])]

    def label_of_interval_starting(t):
        return lab[int(np.flatnonzero(np.isclose(starts, t, atol=1e-9, rtol=0))[0])]

    # caught = every interval touching the artefact is flagged (or merged, for EXTRA);
    # exact = the class matches the injection
    exact = 0
    for m in missed:  # a missed beat leaves one long interval spanning its time
        j = int(np.searchsorted(ends, m))
        assert lab[j] != NORMAL
        exact += lab[j] == MISSED
    for e in extra:
        before = label_of_interval_ending(e)
        assert before != NORMAL
        assert before == EXTRA or label_of_interval_starting(e) != NORMAL
        exact += before == EXTRA
    for e in ectopic:
        assert label_of_interval_ending(e) != NORMAL
        assert label_of_interval_ending(e) == ECTOPIC or label_of_interval_starting(e) != NORMAL
    injected = len(missed) + len(extra) + len(ectopic)
    n_flagged = int(np.sum(lab != NORMAL))
    # artefacts touch at most 2 intervals each; everything else flagged is a false positive
    false_pos = max(0, n_flagged - 2 * injected)
    assert false_pos / (len(lab) - 2 * injected) < 0.005
    # missed/extra get their exact class (measured 65/66); a 25-35 % premature beat is mostly
    # LONGSHORT rather than ECTOPIC, exactly as NeuroKit labels it (not asserted)
    assert exact / (len(missed) + len(extra)) > 0.95


# ----------------------------------------------------------------------------- gaps, bounds


def test_no_interval_across_a_gap():
    beats = synth_beats(300, 3)
    out = correct_beats(beats, gap_after=np.array([120]))
    starts = out.nn_t_s - out.nn_ms / 1000
    assert not np.any((starts < beats[121] - 1e-9) & (out.nn_t_s > beats[120] + 1e-9))
    # and the beats on both sides stay
    assert beats[120] in out.beats_s and beats[121] in out.beats_s


def test_long_pause_acts_as_gap_and_bounds_hold():
    beats = synth_beats(300, 4)
    beats[150:] += 5.0  # a 5.8 s hole in the detections
    out = correct_beats(beats)
    assert np.all(out.nn_ms <= 2000) and np.all(out.nn_ms >= 300)
    starts = out.nn_t_s - out.nn_ms / 1000
    assert not np.any((starts < beats[150] - 1e-9) & (out.nn_t_s > beats[149] + 1e-9))


def test_start_of_stream_fallback_catches_early_artifacts():
    true = synth_beats(200, 8)
    beats = np.delete(true, 6)  # missed beat in the first 15 intervals
    beats = np.sort(np.append(beats, true[10] + 0.3))  # extra beat early too
    lab = classify_intervals(np.diff(beats) * 1000)
    assert lab[5] == MISSED
    assert lab[9] == EXTRA


def test_stream_rejects_time_going_backwards():
    s = NNStream()
    s.push(np.array([1.0, 1.8]))
    with pytest.raises(InputError):
        s.push(np.array([1.5]))
    with pytest.raises(InputError):
        correct_beats(np.array([1.0, 0.5]))


def test_latency_is_bounded_by_lookahead():
    beats = synth_beats(100, 9)
    for look in (2, 5):
        final = correct_beats(beats, lookahead_beats=look)
        s = NNStream(lookahead_beats=look)
        got = []
        for i in range(len(beats)):
            got.extend(s.push(beats[i : i + 1]).nn_t_s)
            # every NN interval ending at beat k <= i - (look + 1) is already out
            due = final.nn_t_s[final.nn_t_s <= beats[max(i - look - 1, 0)]] if i > look else []
            assert set(due) <= set(got)
            # and nothing is out earlier than that
            assert all(t <= beats[i - look - 1] for t in got)
        got.extend(s.flush().nn_t_s)
        np.testing.assert_array_equal(np.array(got), final.nn_t_s)


@pytest.mark.parametrize("seed", range(6))
def test_ectopic_beats_close_together_early_in_a_segment_are_all_caught(seed):
    # Three premature beats in the first 40 (motion-step-400Hz-s144 of the family: the 22-beat
    # window's upper quartile sat on the first pair's dRR, so the second premature interval
    # passed as NN, RMSSD +70 %). Judged against the window's normal dRR only, all are caught.
    beats = synth_beats(120, seed, mean_ms=800.0)
    ect = [9, 16, 30]
    b = beats.copy()
    for p in ect:
        b[p] = beats[p] - 0.33 * (beats[p] - beats[p - 1])
    labels = classify_intervals(np.diff(b) * 1000)
    for p in ect:
        assert labels[p - 1] != NORMAL  # the premature interval (ends at beat p)
    c = correct_beats(b)
    assert not np.isin(np.round(b[ect], 9), np.round(c.nn_t_s, 9)).any()


def _after_a_gap(before_ms: float, after: list[float], n_before: int = 40, seed: int = 0) -> NNBatch:
    rng = np.random.default_rng(seed)
    pre = np.cumsum(before_ms + rng.normal(0, 8, n_before)) / 1000.0
    post = pre[-1] + 3.0 + np.concatenate([[0.0], np.cumsum(after)]) / 1000.0  # 3 s gap
    s = NNStream()
    parts = [s.push(pre), s.gap(), s.push(post), s.flush()]
    return NNBatch.concat(parts)


def test_first_intervals_after_a_gap_are_judged_with_the_nn_before_it():
    # motion-steady-400Hz-s138 of the family: after a motion burst, the segment's own
    # median (648 ms) let a distorted 749 ms interval through; the heart beat at ~580 ms
    after = [748.6, 600.4, 787.5, 696.7, 559.9, 564.2, 570.7, 574.3, 567.3, 571.0, 569.0]
    out = _after_a_gap(580.0, after)
    nn_after = out.nn_ms[out.nn_t_s > out.beats_s[39] + 1.0]
    assert not np.any(np.abs(nn_after - 748.6) < 0.01)
    # the steady rhythm after the distorted stretch is kept
    assert np.isin(np.round(after[4:], 1), np.round(nn_after, 1)).all()


def test_a_compensatory_pause_early_in_a_segment_is_not_nn():
    # motion-ramp-100Hz-s129: a premature beat (673 ms) and its pause (1173 ms) as the
    # segment's 2nd and 3rd intervals, the heart rate ramping from ~1000 ms across the gap
    after = [917.0, 672.5, 1173.2, 908.6, 882.8, 888.0, 892.3, 871.1, 894.1, 880.0, 885.0]
    out = _after_a_gap(1000.0, after)
    assert not np.any(np.abs(out.nn_ms - 1173.2) < 0.01)
    assert not np.any(np.abs(out.nn_ms - 672.5) < 0.01)


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_no_nn_interval_starts_or_ends_on_a_suspect_beat(chunk):
    # suspect beats (pulses bent by motion) are classified like any other, so the extra beat
    # is still removed; only the NN intervals that touch a suspect beat go
    beats, _, extra, _ = inject(synth_beats(500, 3), 4, 12)
    rng = np.random.default_rng(9)
    suspect = rng.random(beats.size) < 0.05
    plain = correct_beats(beats)
    s = NNStream()
    parts = [s.push(beats[i:i + chunk], suspect[i:i + chunk]) for i in range(0, beats.size, chunk)]
    out = NNBatch.concat(parts + [s.flush()])
    np.testing.assert_array_equal(out.beats_s, plain.beats_s)
    start = plain.nn_t_s - plain.nn_ms / 1000.0
    i_end = np.searchsorted(beats, plain.nn_t_s)
    i_start = np.argmin(np.abs(beats[None, :] - start[:, None]), axis=1)
    touch = suspect[i_end] | suspect[i_start]
    assert touch.any() and (~touch).any()
    np.testing.assert_array_equal(out.nn_t_s, plain.nn_t_s[~touch])
    np.testing.assert_array_equal(out.nn_ms, plain.nn_ms[~touch])
    with pytest.raises(InputError):
        NNStream().push(beats[:5], suspect[:4])
