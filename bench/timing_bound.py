"""How close kindpulse's RMSSD can get on the family's noisy members: the Cramér-Rao bound.

White sensor noise of standard deviation sigma (in units of the pulse) on a pulse s(t)
bounds the timing error of any unbiased estimator of a beat's time by
var(t) >= sigma^2 / sum_k s'(t_k)^2, the sum over that beat's samples (foot to next foot),
even one that knows the pulse shape exactly (amplitude, baseline and shape unknown only
raise the bound). Independent timing errors of standard deviation sd_t add 6 sd_t^2 to
RMSSD^2 (the successive difference of intervals e[k+2] - 2 e[k+1] + e[k]), so a member
whose true RMSSD is small at a low sample rate cannot be within 5 % with any such
estimator. The table gives, per noisy synthetic member, the bound, the least RMSSD excess
it allows, and kindpulse's measured RMSSD error.

    PYTHONPATH=firmware_py:. NUMBA_CACHE_DIR=.numba_cache .venv/bin/python bench/timing_bound.py [--duration S]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kindpulse.dsp.pipeline import analyze_ppg  # noqa: E402
from tests.family import FULL, Member, family, generate, pulse, score, true_beats, true_nn_rmssd  # noqa: E402

warnings.filterwarnings("ignore")


def timing_bound_s(m: Member) -> float:
    """Per-beat timing standard deviation at the Cramér-Rao bound (s), median over beats."""
    bt, ect = true_beats(m)
    t = np.arange(int(round(m.duration_s * m.fs))) / m.fs
    flat = np.zeros_like(t)  # respiration only modulates; the bound is of the pulse itself
    h = 1e-4  # the pulse's derivative at the sample times (central difference of the model)
    ds = (pulse(m, bt, ect, t + h, flat) - pulse(m, bt, ect, t - h, flat)) / (2 * h)
    lead = int(0.3 * m.fs)  # a beat's samples: from before its upstroke to before the next one's
    at = np.searchsorted(t, bt)
    info = [np.sum(ds[at[k] - lead: at[k + 1] - lead] ** 2) for k in range(2, bt.size - 3)]
    return float(m.noise / np.sqrt(np.median(info)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=180.0, help="seconds per member (default 180)")
    a = ap.parse_args()
    print(f"{'member':34s} {'noise':>5s} {'true RMSSD':>10s} {'bound sd_t':>10s} {'least excess':>12s} "
          f"{'kindpulse':>9s}")
    below = []
    for m in family(a.duration, None):
        if m.noise == 0.0 or m.source != "synth":
            continue
        sd_ms = 1e3 * timing_bound_s(m)
        rec = generate(m)
        true = true_nn_rmssd(rec.beats, rec.ectopic, rec.spans, 0.0, m.duration_s)
        least = np.sqrt(true**2 + 6.0 * sd_ms**2) / true - 1.0
        res = analyze_ppg(rec.x, rec.fs, full_scale=FULL)
        nn = np.array(res["nn"]).reshape(-1, 2)
        sc = score(rec, np.asarray(res["beats_s"]), nn[:, 0], nn[:, 1])
        if least > 0.05:
            below.append(m.name)
        print(f"{m.name:34s} {m.noise:5.3f} {true:7.1f} ms {sd_ms:7.2f} ms {100 * least:+11.1f}% "
              f"{100 * sc.rmssd_err:+8.1f}%")
    print(f"members where even the bound leaves RMSSD more than 5 % high: {len(below)}")
    for n in below:
        print("  " + n)


if __name__ == "__main__":
    main()
