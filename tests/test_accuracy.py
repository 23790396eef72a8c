"""Accuracy on PPG synthesised from the beat times of a real ECG (systole's Task1 recording,
first 4 minutes, with its real respiration). The full 25-minute runs and the peer
comparison live in bench/peers.py; these are the same checks on a slice."""

from __future__ import annotations

import numpy as np
import pytest

from kindpulse.dsp.pipeline import analyze_ppg
from tests.naive_dsp import exclude, f1_score, ibi_errors_ms, match

FULL = 2**18 - 1
MOTION = [(60.0, 66.0, 6.0), (130.0, 133.0, 10.0), (190.0, 198.0, 4.0)]


def test_ecg_truth_is_plausible(ecg_beats):
    bt, _ = ecg_beats
    rr = np.diff(bt) * 1000
    assert bt.size > 200
    assert np.all((rr > 300) & (rr < 2000))
    # no missed or extra R peaks: successive differences stay physiological (a missed or
    # extra peak changes an interval by 300 ms or more at this heart rate)
    assert np.all(np.abs(np.diff(rr)) < 250)


def _rmssd_pairs(t_end: np.ndarray, ms: np.ndarray, *others: np.ndarray) -> list[float]:
    """RMSSD of ``ms`` and of each of ``others`` over the same successive pairs: those where
    interval i + 1 starts where interval i ends (judged on ``t_end`` and ``ms``)."""
    adj = np.abs((t_end[1:] - ms[1:] / 1000.0) - t_end[:-1]) < 0.002
    return [float(np.sqrt(np.mean(np.diff(v)[adj] ** 2))) for v in (ms, *others)]


def _run(ecg_beats, synth_ppg, fs, **kw):
    bt, resp = ecg_beats
    duration = 238.0
    x, fs, ppg = synth_ppg(bt, fs, duration, seed=21, respiration=resp, **kw)
    res = analyze_ppg(x, fs, full_scale=FULL)
    beats = np.array(res["beats_s"])
    lo, hi = 9.0, duration - 3.0
    truth = ppg.true_beats(lo, hi, margin_s=1.0)
    det = exclude(beats[(beats >= lo - 0.1) & (beats < hi + 0.1)], ppg.disturbed(1.0))
    return det, truth, res


def _true_nn(res: dict, bt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Our NN intervals and the true intervals between the same (matched) beats."""
    nn = np.array(res["nn"])
    beats = np.array(res["beats_s"])
    d, t = match(beats, bt, 0.3)
    off = np.median(beats[d] - bt[t])
    d, t = match(beats - off, bt, 0.1)
    end = np.searchsorted(beats[d], nn[:, 0])
    ok = (end > 0) & (end < d.size)
    ok[ok] &= beats[d][end[ok]] == nn[ok, 0]
    ok[ok] &= t[end[ok]] - t[end[ok] - 1] == 1  # one true interval, no beat between
    true_ms = np.diff(bt)[t[end[ok]] - 1] * 1000.0
    return nn[ok, 0], nn[ok, 1], true_ms


@pytest.mark.parametrize(
    "fs,kw,min_f1,max_mae",
    [
        (100.0, {"noise_fraction": 0.0}, 0.999, 1.5),
        (50.0, {"noise_fraction": 0.0}, 0.999, 3.0),
        (100.0, {}, 0.999, 3.0),
        (100.0, {"motion": MOTION}, 0.998, 3.0),
    ],
    ids=["clean-100Hz", "clean-50Hz", "noise-100Hz", "motion-100Hz"],
)
def test_accuracy_on_real_beat_times(ecg_beats, synth_ppg, fs, kw, min_f1, max_mae):
    bt = ecg_beats[0]
    det, truth, res = _run(ecg_beats, synth_ppg, fs, **kw)
    assert f1_score(det, truth) >= min_f1
    assert np.mean(np.abs(ibi_errors_ms(det, truth))) <= max_mae
    # RMSSD of the detected intervals against the true intervals (no artefact correction)
    det_int = np.diff(det) * 1000
    true_int = np.diff(truth) * 1000
    keep_d = det_int < 1.5 * np.median(det_int)  # not across an excluded burst
    keep_t = true_int < 1.5 * np.median(true_int)
    rm_det = np.sqrt(np.mean(np.diff(det_int)[keep_d[1:] & keep_d[:-1]] ** 2))
    rm_true = np.sqrt(np.mean(np.diff(true_int)[keep_t[1:] & keep_t[:-1]] ** 2))
    assert rm_det == pytest.approx(rm_true, rel=0.05)
    # the pipeline's RMSSD against the true lengths of the same NN intervals
    t_end, ours, true_ms = _true_nn(res, bt)
    assert t_end.size >= 0.9 * len(res["nn"])
    rm_ours, rm_true_same = _rmssd_pairs(t_end, ours, true_ms)
    assert rm_ours == pytest.approx(rm_true_same, rel=0.05)
