"""kindpulse against NeuroKit2 0.2.13 and HeartPy 1.2.7 on the same data, in one process.

Accuracy: finger PPG synthesised (kindpulse.sim.synth) from the beat times of a real
25.6-minute ECG (systole's Task1_ECG.npy, 1000 Hz; R peaks by NeuroKit2 ecg_clean +
ecg_peaks, plus a constant 0.25 s pulse transit time) with the real respiration of the
same recording (Task1_Respiration.npy; clipped to its 1st-99th percentiles and smoothed
below 0.5 Hz, see tests/conftest.py) as baseline and amplitude modulation. Variants:
clean (no sensor noise) at 100 and 50 Hz, sensor noise (2 % of the pulse) at 100 Hz, and
noise plus motion bursts; beats inside a burst (+-1 s) count neither as truth nor as
detections. Speed: one hour of 100 Hz PPG through each full pipeline (NeuroKit2
ppg_process + hrv, HeartPy process, kindpulse analyze_ppg). Real PPG: beat agreement
with HeartPy and NeuroKit2 on systole's ppg.npy (75 Hz) and HeartPy's data.csv (100 Hz) and
data3.csv (100.4 Hz, 11.4 min, a strong dicrotic wave).

Data is read from the installed peer packages; nothing is downloaded or written.

    NUMBA_CACHE_DIR=.numba_cache .venv/bin/python bench/peers.py [--minutes M]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kindpulse.dsp.artifacts import correct_beats  # noqa: E402
from kindpulse.dsp.hrv import hrv_metrics  # noqa: E402
from kindpulse.dsp.pipeline import analyze_ppg  # noqa: E402
from kindpulse.sim.synth import SyntheticPPG, beat_times, rr_series  # noqa: E402
from tests.conftest import respiration_for_synth  # noqa: E402
from tests.naive_dsp import exclude, f1_score, ibi_errors_ms, match  # noqa: E402

warnings.filterwarnings("ignore")
FULL = 2**18 - 1
MOTION = [(120.0, 126.0, 6.0), (400.0, 403.0, 10.0), (700.0, 708.0, 4.0), (1000.0, 1005.0, 8.0),
          (1300.0, 1302.0, 12.0)]


def _pkg(name: str) -> Path:
    mod = __import__(name)
    return Path(os.path.dirname(mod.__file__))


def truth(minutes: float):
    import neurokit2 as nk

    d = _pkg("systole") / "datasets"
    fs = 1000
    ecg = np.load(d / "Task1_ECG.npy").ravel()
    resp = np.load(d / "Task1_Respiration.npy").ravel()
    n = min(ecg.size, int(minutes * 60 * fs))
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg[:n], sampling_rate=fs), sampling_rate=fs)
    r = np.asarray(info["ECG_R_Peaks"], dtype=float) / fs
    return r + 0.25, respiration_for_synth(resp[:n], fs), n / fs


# -- the three pipelines: beat times (s) and RMSSD (ms) as each reports them ----------------
def run_kindpulse(x, fs, full_scale=FULL):
    res = analyze_ppg(x, fs, full_scale=full_scale)
    return np.array(res["beats_s"]), res["hrv"]["rmssd_ms"], res


def run_neurokit(x, fs, hrv_all=False):
    import neurokit2 as nk

    signals, info = nk.ppg_process(-x, sampling_rate=int(fs))  # NeuroKit expects blood volume up
    peaks = np.asarray(info["PPG_Peaks"])
    if hrv_all:
        nk.hrv(peaks, sampling_rate=int(fs))
    rm = float(nk.hrv_time(peaks, sampling_rate=int(fs))["HRV_RMSSD"].iloc[0])
    return peaks / fs, rm, None


def run_heartpy(x, fs):
    import heartpy as hp

    # HeartPy's documented preprocessing for PPG: its own 0.5-8 Hz band-pass (filtfilt)
    y = hp.filter_signal(-x, [0.5, 8.0], fs, order=2, filtertype="bandpass")
    wd, m = hp.process(y, fs)
    pk = np.asarray(wd["peaklist"])[np.asarray(wd["binary_peaklist"]) == 1]
    return pk / fs, float(m["rmssd"]), None


def run_msptdfast(x, fs):
    import neurokit2 as nk

    y = nk.ppg_clean(-x, sampling_rate=int(round(fs)))
    pk = nk.ppg_findpeaks(y, sampling_rate=int(round(fs)), method="charlton")["PPG_Peaks"]
    pk = np.asarray(pk)
    d = np.diff(pk / fs) * 1000.0
    return pk / fs, float(np.sqrt(np.mean(np.diff(d) ** 2))), None


TOOLS = {"kindpulse": run_kindpulse, "NeuroKit2": run_neurokit, "MSPTDfast": run_msptdfast,
         "HeartPy": run_heartpy}


def rmssd_truth(bt, spans):
    rr = np.diff(bt) * 1000
    keep = np.ones(rr.size, dtype=bool)
    for a, b in spans:
        keep &= ~((bt[1:] >= a) & (bt[:-1] <= b))
    d = np.diff(rr)[keep[1:] & keep[:-1]]
    return float(np.sqrt(np.mean(d**2)))


def nn_mask_reference(bt) -> np.ndarray:
    """Which true RR intervals are NN by the reference method: NeuroKit2's Lipponen-Tarvainen
    (``signal_fixpeaks(method="Kubios")``, centred 91-beat windows, batch). An interval ending
    on a flagged beat is not NN, nor the one after an ectopic beat (Task Force 1996: HRV is
    computed over normal-to-normal intervals)."""
    import neurokit2 as nk

    info, _ = nk.signal_fixpeaks(np.round(bt * 1000).astype(int), sampling_rate=1000, method="Kubios",
                                 iterative=False, show=False)
    keep = np.ones(bt.size - 1, dtype=bool)  # interval i ends on beat i + 1
    for kind in ("ectopic", "longshort", "missed", "extra"):
        for beat in np.asarray(info.get(kind, []), dtype=int):
            if 1 <= beat <= keep.size:
                keep[beat - 1] = False
            if kind == "ectopic" and beat < keep.size:
                keep[beat] = False
    return keep


def rmssd_truth_nn(bt, spans):
    """RMSSD (ms) of the true NN intervals (reference artefact method), adjacent pairs only."""
    rr = np.diff(bt) * 1000
    keep = nn_mask_reference(bt)
    for a, b in spans:
        keep &= ~((bt[1:] >= a) & (bt[:-1] <= b))
    d = np.diff(rr)[keep[1:] & keep[:-1]]
    return float(np.sqrt(np.mean(d**2)))


def rmssd_matched(det, true_b) -> float:
    """Relative RMSSD error over successive matched intervals (same pairs for both)."""
    d0, t0 = match(det, true_b, 0.3)
    off = float(np.median(det[d0] - true_b[t0]))
    d, t = match(det - off, true_b, 0.15)
    ok = (np.diff(d) == 1) & (np.diff(t) == 1)
    di, ti = np.diff(det[d]) * 1000, np.diff(true_b[t]) * 1000
    pair = ok[1:] & ok[:-1]
    return float(np.sqrt(np.mean(np.diff(di)[pair] ** 2)) / np.sqrt(np.mean(np.diff(ti)[pair] ** 2)) - 1)


def accuracy(minutes: float) -> None:
    bt, resp, dur = truth(minutes)
    bt = bt[bt < dur - 1]
    rm_raw = rmssd_truth(bt, [])
    c = correct_beats(bt)
    rm_corr = hrv_metrics(c.nn_t_s, c.nn_ms)["rmssd_ms"]
    rm_nn = rmssd_truth_nn(bt, [])
    print(f"truth: {bt.size} beats over {dur / 60:.1f} min, RMSSD {rm_raw:.1f} ms over all RR intervals, "
          f"{rm_nn:.1f} ms over the NN intervals ({int((~nn_mask_reference(bt)).sum())} intervals around "
          f"ectopic or long/short beats left out by NeuroKit2's Kubios method); "
          f"{rm_corr:.1f} ms after kindpulse's streaming correction of the true beats")
    variants = [("clean 100 Hz", 100.0, {"noise_fraction": 0.0}),
                ("clean 50 Hz", 50.0, {"noise_fraction": 0.0}), ("noise 100 Hz", 100.0, {}),
                ("noise+motion 100 Hz", 100.0, {"motion": [m for m in MOTION if m[1] < dur]})]
    print("\nF1: beats within 0.15 s (after removing the median offset). IBI MAE: intervals between")
    print("matched consecutive beats. RMSSD(det): over the detected intervals whose beats matched")
    print("consecutive true beats, against the true intervals of the same pairs (timing precision);")
    print("RMSSD(out): as each tool reports it (kindpulse: after its artefact correction and quality),")
    print("against the RMSSD of all true RR intervals; RMSSD(out/NN): the same against the true NN "
          "intervals.")
    print(f"\n{'variant':<21}{'tool':<11}{'F1':>8}{'IBI MAE ms':>11}{'RMSSD(det)':>12}{'RMSSD(out)':>12}"
          f"{'(out/NN)':>10}{'time s':>8}")
    for name, fs, kw in variants:
        ppg = SyntheticPPG(bt, seed=21, respiration=resp, **kw)
        x = ppg.ir(np.arange(int((dur - 1) * fs)) / fs)
        spans = ppg.disturbed(1.0)
        lo, hi = 10.0, dur - 5.0
        true_b = ppg.true_beats(lo, hi, margin_s=1.0)
        rm_true = rmssd_truth(bt[(bt >= lo) & (bt < hi)], spans)
        rm_true_nn = rmssd_truth_nn(bt[(bt >= lo) & (bt < hi)], spans)
        for tool, fn in TOOLS.items():
            t0 = time.perf_counter()
            beats, rm, _ = fn(x, fs)
            el = time.perf_counter() - t0
            det = exclude(beats[(beats >= lo - 0.15) & (beats < hi + 0.15)], spans)
            f1 = f1_score(det, true_b)
            mae = float(np.mean(np.abs(ibi_errors_ms(det, true_b))))
            rm_det = rmssd_matched(det, true_b)
            print(f"{name:<21}{tool:<11}{f1:>8.4f}{mae:>11.2f}{100 * rm_det:>+11.1f}%"
                  f"{100 * (rm / rm_true - 1):>+11.1f}%{100 * (rm / rm_true_nn - 1):>+9.1f}%{el:>8.2f}")
        c = correct_beats(exclude(bt[(bt >= lo) & (bt < hi)], spans))
        rel = 100 * (hrv_metrics(c.nn_t_s, c.nn_ms)["rmssd_ms"] / rm_true - 1)
        print(f"{'':<21}{'(truth)':<11}{'':>8}{'':>11}{'':>12}{rel:>+11.1f}%"
              "   <- the true beats through kindpulse's artefact correction")


def speed() -> None:
    fs = 100.0
    bt = beat_times(rr_series(3600.0, seed=5))
    x = SyntheticPPG(bt, seed=5).ir(np.arange(int(3600 * fs)) / fs)
    analyze_ppg(x[:6000], fs)  # compile (cached kernels load) outside the timing
    times = {}
    for tool, fn in (("kindpulse", run_kindpulse), ("HeartPy", run_heartpy),
                     ("NeuroKit2", lambda a, f: run_neurokit(a, f, hrv_all=True))):
        t0 = time.perf_counter()
        fn(x, fs)
        times[tool] = time.perf_counter() - t0
    print("\n1 h of 100 Hz PPG, full pipeline (same process, same data):")
    for tool, t in times.items():
        print(f"  {tool:<10}{t:>8.3f} s   {t / times['kindpulse']:>7.0f}x kindpulse")


def heartpy_data3() -> tuple[np.ndarray, float]:
    """HeartPy's data3.csv (datetime,hr): the samples and the rate from its timestamps,
    (n - 1) / span (the PC timer ticks coarsely, so some stamps repeat)."""
    import csv
    from datetime import datetime

    with open(_pkg("heartpy") / "data" / "data3.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    t = np.array([datetime.fromisoformat(r[0]).timestamp() for r in rows])
    x = np.array([float(r[1]) for r in rows])
    return x, (x.size - 1) / float(t[-1] - t[0])


def real_ppg() -> None:
    x3, fs3 = heartpy_data3()
    ppg = np.load(_pkg("systole") / "datasets" / "ppg.npy").ravel().astype(float)
    sets = [("systole ppg.npy 75 Hz", ppg, 75.0),
            ("HeartPy data.csv 100 Hz", np.loadtxt(_pkg("heartpy") / "data" / "data.csv"), 100.0),
            (f"HeartPy data3.csv {fs3:.1f} Hz", x3, fs3)]
    print("\nreal PPG, beat agreement (F1, 0.1 s after removing the median offset):")
    for name, x, fs in sets:
        ours, _, _ = run_kindpulse(x, fs, full_scale=None)  # not MAX30102 counts
        hp_b, _, _ = run_heartpy(-x, fs)
        nk_b, _, _ = run_neurokit(-x, fs)
        ms_b, _, _ = run_msptdfast(-x, fs)
        print(f"  {name:<25} beats: kindpulse {ours.size}, HeartPy {hp_b.size}, NeuroKit2 {nk_b.size},"
              f" MSPTDfast {ms_b.size}; F1 vs HeartPy {f1_score(ours, hp_b, 0.1):.3f},"
              f" vs NeuroKit2 {f1_score(ours, nk_b, 0.1):.3f}, vs MSPTDfast {f1_score(ours, ms_b, 0.1):.3f};"
              f" HeartPy vs NeuroKit2 {f1_score(hp_b, nk_b, 0.1):.3f}, MSPTDfast vs NeuroKit2"
              f" {f1_score(ms_b, nk_b, 0.1):.3f}")


def kubios_real() -> None:
    """Artefact correction on real RR series against NeuroKit2's Kubios method: intervals
    flagged (ours: any non-normal label; Kubios: beats flagged by the first pass) and RMSSD
    (ours over neighbouring NN intervals; Kubios' over its corrected series)."""
    import neurokit2 as nk

    from kindpulse.dsp.artifacts import classify_intervals

    d = _pkg("systole") / "datasets"
    rr = np.loadtxt(d / "rr.txt", delimiter=",", skiprows=1, usecols=1)
    bt, _, dur = truth(26.0)
    series = [("systole rr.txt", np.concatenate([[0.0], np.cumsum(rr) / 1000.0])),
              ("systole ECG (25.6 min)", bt)]
    series += [(f"  ECG {a}-{a + 300} s", bt[(bt >= a) & (bt < a + 300)])
               for a in range(0, int(dur) - 299, 300)]
    print("\nreal RR, artefact correction vs NeuroKit2 signal_fixpeaks(method='kubios'):")
    for name, b in series:
        peaks = np.round(b * 1000).astype(int)
        info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios", iterative=False, show=False)
        _, clean = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios", iterative=True, show=False)
        n = b.size - 1
        n_kub = sum(len(info[k]) for k in ("ectopic", "missed", "extra", "longshort"))
        rm_kub = float(np.sqrt(np.mean(np.diff(np.diff(clean)) ** 2)))
        ours = int(np.count_nonzero(classify_intervals(np.diff(b) * 1000.0)))
        c = correct_beats(b)
        adj = np.abs((c.nn_t_s[1:] - c.nn_ms[1:] / 1000.0) - c.nn_t_s[:-1]) < 0.002
        rm = float(np.sqrt(np.mean(np.diff(c.nn_ms)[adj] ** 2)))
        print(f"  {name:<24} {n:>5} RR: flagged kindpulse {100 * ours / n:.2f} %, "
              f"Kubios {100 * n_kub / n:.2f} % "
              f"({100 * (ours - n_kub) / n:+.2f} pp); RMSSD {rm:.1f} ms vs Kubios-corrected {rm_kub:.1f} ms "
              f"({100 * (rm / rm_kub - 1):+.1f} %)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=26.0, help="length of the ECG used (default: all)")
    ap.add_argument("--skip-speed", action="store_true")
    a = ap.parse_args()
    accuracy(a.minutes)
    real_ppg()
    kubios_real()
    if not a.skip_speed:
        speed()


if __name__ == "__main__":
    main()
