"""Slow, obviously-correct references for the HRV, spectrum and artefact kernels.

Plain loops and numpy, written from the definitions in the module docstrings,
not from the kernels.
"""

from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------- spectrum


def lomb_power(t, x, freqs):
    """Scargle (1982) power with tau, vectorised numpy; x is mean-removed here."""
    t = np.asarray(t, float) - t[0]
    x = np.asarray(x, float) - np.mean(x)
    out = []
    for f in freqs:
        w = 2 * np.pi * f
        tau = np.arctan2(np.sum(np.sin(2 * w * t)), np.sum(np.cos(2 * w * t))) / (2 * w)
        c = np.cos(w * (t - tau))
        s = np.sin(w * (t - tau))
        out.append(0.5 * ((x @ c) ** 2 / (c @ c) + (x @ s) ** 2 / (s @ s)))
    return np.array(out)


# ---------------------------------------------------------------------------- hrv


def adjacent_pairs(nn_t_s, nn_ms, tol_s=0.001):
    """List of (i-1, i) where interval i starts at the beat that ended i-1."""
    pairs = []
    for i in range(1, len(nn_ms)):
        if abs(nn_t_s[i] - nn_ms[i] / 1000.0 - nn_t_s[i - 1]) <= tol_s:
            pairs.append((i - 1, i))
    return pairs


def time_domain(nn_t_s, nn_ms):
    nn = [float(v) for v in nn_ms]
    n = len(nn)
    mean = sum(nn) / n
    sdnn = math.sqrt(sum((v - mean) ** 2 for v in nn) / (n - 1))
    pairs = adjacent_pairs(nn_t_s, nn_ms)
    diffs = [nn[j] - nn[i] for i, j in pairs]
    rmssd = math.sqrt(sum(d * d for d in diffs) / len(diffs))
    # intervals taking part in at least one pair
    members = {i for p in pairs for i in p}
    pnn50 = 100.0 * sum(1 for d in diffs if abs(d) > 50) / len(members)
    x = np.array([nn[i] for i, _ in pairs])
    y = np.array([nn[j] for _, j in pairs])
    sd1 = float(np.std((x - y) / np.sqrt(2), ddof=1))
    sd2 = float(np.std((x + y) / np.sqrt(2), ddof=1))
    return {
        "mean_nn_ms": mean,
        "hr_bpm": 60000.0 / mean,
        "sdnn_ms": sdnn,
        "rmssd_ms": rmssd,
        "pnn50": pnn50,
        "sd1_ms": sd1,
        "sd2_ms": sd2,
        "n_pairs": len(pairs),
    }


def stress_index(nn_ms, bin_ms=50.0):
    """sqrt(AMo / (2 Mo MxDMn)), bins [k*50, (k+1)*50) ms, lowest modal bin on ties."""
    counts: dict[int, int] = {}
    for v in nn_ms:
        k = int(math.floor(v / bin_ms))
        counts[k] = counts.get(k, 0) + 1
    best = max(counts.values())
    k_mode = min(k for k, c in counts.items() if c == best)
    amo = 100.0 * best / len(nn_ms)
    mo = (k_mode + 0.5) * bin_ms / 1000.0
    mxdmn = (max(nn_ms) - min(nn_ms)) / 1000.0
    return math.sqrt(amo / (2 * mo * mxdmn))


# ---------------------------------------------------------------------------- artefacts


def _qd(values):
    q1, q3 = np.quantile(np.abs(values), [0.25, 0.75])
    return (q3 - q1) / 2


def classify(rr, lookahead=5, window=91, alpha=5.2, c1=0.13, c2=0.17, min_history=20,
             rel_tol=0.2, floor=20.0, half=5, prior=()):
    """Per-interval labels of one segment, straight from the artifacts module notes."""
    rr = np.asarray(rr, float)
    m = len(rr)
    labels = np.zeros(m, dtype=np.int8)

    def med(k, hi):
        return float(np.median(rr[max(0, k - half): min(hi, k + half) + 1]))

    for n in range(m):
        hi = min(n + lookahead, m - 1)
        a = max(1, hi - window + 1)
        if hi - a + 1 < min_history:
            win = list(rr[max(0, hi - 4 * half): hi + 1])
            take = min(2 * half + 1 - len(win), len(prior), len(win))
            mm = float(np.median((list(prior[len(prior) - take:]) if take > 0 else []) + win))
            tol = rel_tol * mm
            r = rr[n]
            lab = 0
            pause = n >= 1 and abs(rr[n - 1] + r - 2 * mm) < tol and (
                rr[n - 1] < mm - tol or (rr[n - 1] < mm and labels[n - 1] == 1))
            if r > mm + tol or (r > mm and pause and labels[n - 1] == 1):
                if pause:
                    lab = 1
                elif abs(r / 2 - mm) < tol:
                    lab = 2
                else:
                    lab = 4
            elif r < mm - tol:
                if n + 1 <= hi and abs(r + rr[n + 1] - mm) < tol:
                    lab = 3
                elif n + 1 <= hi and rr[n + 1] > mm and abs(r + rr[n + 1] - 2 * mm) < tol:
                    lab = 1
                else:
                    lab = 4
            elif r < mm and n + 1 <= hi and rr[n + 1] > mm + tol and abs(r + rr[n + 1] - 2 * mm) < tol:
                lab = 1
            labels[n] = lab
            continue
        art = np.isin(labels, (1, 2, 3))  # labels[:n] are final; artefact dRR stay out
        mn_ = med(n, hi)  # every dRR and mRR relative to the heart rate of interval n
        ks = np.arange(a, hi + 1)
        d_all = np.diff(rr[a - 1: hi + 1]) * np.array([mn_ / med(k, hi) for k in ks])
        keep = ~((ks < n) & (art[ks] | art[ks - 1]))
        th1 = max(alpha * _qd(d_all[keep] if keep.sum() >= min_history // 2 else d_all), floor)

        def dn(k, hi=hi, th1=th1):
            return (rr[k] - rr[k - 1]) / th1 if 1 <= k <= hi else 0.0

        a2 = max(0, hi - window + 1)
        mrr = []
        for k in range(a2, hi + 1):
            d = rr[k] - med(k, hi)
            mrr.append((2 * d if d < 0 else d) * mn_ / med(k, hi))
        mrr = np.array(mrr)
        ks = np.arange(a2, hi + 1)
        keep = ~((ks < n) & art[ks])
        th2 = max(alpha * _qd(mrr[keep] if keep.sum() >= min_history // 2 else mrr), floor)

        def ectopic(k):
            d = dn(k)
            s12 = max(dn(k - 1), dn(k + 1)) if d > 0 else min(dn(k - 1), dn(k + 1))
            return (d > 1 and s12 < -c1 * d - c2) or (d < -1 and s12 > -c1 * d + c2)

        d0 = dn(n)
        judge = False
        lab = 0
        if abs(d0) > 1:
            if ectopic(n):
                lab = 1
            else:
                judge = True
        elif n - 1 >= 1 and abs(dn(n - 1)) > 1 and not ectopic(n - 1) and abs(d0) < abs(dn(n + 1)):
            judge = True
        if judge:
            s22 = min(dn(n + 1), dn(n + 2)) if d0 >= 0 else max(dn(n + 1), dn(n + 2))
            mn = med(n, hi)
            dev = rr[n] - mn
            dev = 2 * dev if dev < 0 else dev
            eq3 = d0 > 1 and s22 < -1
            eq4 = abs(dev / th2) > 3
            eq5 = d0 < -1 and s22 > 1
            if eq3 or eq4 or eq5:
                eq6 = abs(rr[n] / 2 - mn) < th2
                eq7 = n + 1 <= hi and abs(rr[n] + rr[n + 1] - mn) < th2
                lab = 3 if (eq5 and eq7) else (2 if (eq3 and eq6) else 4)
        labels[n] = lab
    return labels


def correct(beats, gap_after=(), min_ibi=300.0, max_ibi=2000.0):
    """Segments, labels and NN decisions in plain Python (artifacts module notes)."""
    beats = [float(b) for b in beats]
    gaps = set(int(g) for g in gap_after)
    segments, cur = [], [beats[0]] if beats else []
    for i in range(1, len(beats)):
        if (i - 1) in gaps or (beats[i] - beats[i - 1]) * 1000 > max_ibi:
            segments.append(cur)
            cur = []
        cur.append(beats[i])
    if cur:
        segments.append(cur)
    kept, nn_t, nn = [], [], []
    for seg in segments:
        kept.append(seg[0])
        rr = [(seg[j + 1] - seg[j]) * 1000 for j in range(len(seg) - 1)]
        # NN intervals from at most 10 s before a segment help judge its first ones
        prior = nn[-11:] if nn and seg[0] - nn_t[-1] <= 10.0 else []
        lab = classify(rr, prior=prior) if rr else []
        skip = taint = False
        run = 0
        for j in range(len(rr)):
            drop = False
            if skip:
                skip = False
                taint = lab[j] in (1, 3)
                run = 1 if lab[j] == 1 else 0
            elif lab[j] == 3:
                drop = True  # the extra beat; no NN from the merged interval
                if j + 1 < len(rr):
                    skip = True
                taint = False
                run = 0
            else:
                premature = j + 1 < len(rr) and lab[j + 1] == 1 and rr[j + 1] > rr[j]
                late = j + 2 < len(rr) and lab[j + 1] == 1 and rr[j + 1] < rr[j + 2] < rr[j]
                if lab[j] == 0 and not taint and not premature and not late and min_ibi <= rr[j] <= max_ibi:
                    nn_t.append(seg[j + 1])
                    nn.append(rr[j])
                if lab[j] == 1 and j >= 1 and rr[j] > rr[j - 1]:
                    run = 0  # the pause after the premature beat: the next interval is clean
                    taint = False
                elif lab[j] == 1:
                    run += 1
                    taint = run % 2 == 1
                else:
                    run = 0
                    taint = False
            if not drop:
                kept.append(seg[j + 1])
    return np.array(kept), np.array(nn_t), np.array(nn)
