"""A wide, seeded family of synthetic finger PPG with known beat times, and its scoring.

Every member is a pure function of its parameters and seed (nothing is stored). The
pulse model varies what a real finger varies:

* shape: systolic upstroke (raised cosine, rise time ``rise_frac`` x RR, 0.08-0.2 s), a
  Gaussian systolic decay (``sys_width_s``) on a slow run-off to the next foot
  (``runoff``), and a diastolic wave (raised-cosine bump) of height ``dia_height``
  (0-0.6 x the systolic height, above the systolic decay) ``dia_delay_s`` (0.15-0.4 s)
  after the systolic peak; ``notch`` from 1 (deep notch: narrow wave, fast systolic decay,
  low run-off) to 0 (none: a broad wave that fills the notch). At high heart rates the
  wave is pulled in so that it ends before the next foot (it merges as in a real pulse).
* the systolic peak lies exactly at the beat time (zero slope, everything after it lower),
  so beat times are the truth;
* heart rate: steady, ramp, step (a change of up to 30 bpm within 30 s or less) or swing
  (a sinusoid), 45-150 bpm, with respiratory sinus arrhythmia and Mayer waves from
  :func:`kindpulse.sim.synth.rr_series`;
* ectopic beats: premature (0.6-0.75 of the interval) with a full compensatory pause and
  a smaller pulse (less filling);
* respiration 6-20 /min (baseline wander and amplitude modulation), white sensor noise,
  motion bursts, baseline steps (finger pressure), at 25, 50, 100 and 400 Hz.

Truth for scoring: beat F1 within 0.15 s after removing the median offset (a constant
delay is not an error), beats within 1 s of a motion burst or baseline step left out of
truth and detections; IBI errors of matched consecutive beats; RMSSD of the true NN
intervals (intervals with no ectopic beat at either end; successive differences only
between neighbouring NN intervals, i.e. sharing a beat); and "doubled intervals": a
reported NN interval that spans a true beat.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kindpulse.sim.synth import beat_times, rr_series
from tests.naive_dsp import ibi_errors_ms, match

FULL = 2**18 - 1
DC = 100_000.0
PULSE = 1500.0  # counts per unit pulse (1.5 % of DC)


@dataclass(frozen=True)
class Member:
    """One family member (times in s, heights in units of the systolic pulse)."""

    name: str
    fs: float
    seed: int
    duration_s: float = 180.0
    hr: str = "steady"  # steady | ramp | step | swing
    hr_lo: float = 60.0
    hr_hi: float = 90.0
    rmssd_ms: float = 30.0
    rise_frac: float = 0.2
    sys_width_s: float = 0.12
    runoff: float = 0.3
    dia_height: float = 0.3
    dia_delay_s: float = 0.25
    notch: float = 0.5
    ectopic_per_min: float = 0.0
    resp_per_min: float = 15.0
    resp_baseline: float = 0.3
    resp_am: float = 0.1
    noise: float = 0.0
    motion: tuple = ()
    steps: tuple = ()
    held_out: bool = False
    source: str = "synth"  # synth | ecg (systole's real ECG beat times)
    tags: tuple = field(default=())

    @property
    def clean(self) -> bool:
        return self.noise == 0.0 and not self.motion and not self.steps


@dataclass
class Recording:
    x: np.ndarray  # raw counts, inverted like the sensor (more blood, less light)
    fs: float
    beats: np.ndarray  # true systolic peak times (s)
    ectopic: np.ndarray  # bool per beat
    spans: list  # (start, end) disturbed spans, 1 s margin included


def _hr_profile(m: Member):
    lo, hi, dur = m.hr_lo, m.hr_hi, m.duration_s
    rng = np.random.default_rng(m.seed + 7)
    if m.hr == "steady":
        return lambda t: lo
    if m.hr == "ramp":  # lo -> hi over the middle third, and back down over the last sixth
        a, b = dur / 3, 2 * dur / 3

        def ramp(t):
            if t < a:
                return lo
            if t < b:
                return lo + (hi - lo) * (t - a) / (b - a)
            return hi + (lo - hi) * min(1.0, (t - b) / (dur / 6))
        return ramp
    if m.hr == "step":  # lo, a change to hi within `rise` s, then back
        rise = float(rng.uniform(5.0, 30.0))
        a, b = dur / 3, 2 * dur / 3

        def step(t):
            up = np.clip((t - a) / rise, 0, 1)
            down = np.clip((t - b) / rise, 0, 1)
            s = 0.5 - 0.5 * np.cos(np.pi * up) - (0.5 - 0.5 * np.cos(np.pi * down))
            return lo + (hi - lo) * float(s)
        return step
    if m.hr == "swing":  # sinusoid between lo and hi, period 40-90 s
        per = float(rng.uniform(40.0, 90.0))
        ph = float(rng.uniform(0, 2 * np.pi))
        return lambda t: lo + (hi - lo) * (0.5 + 0.5 * np.sin(2 * np.pi * t / per + ph))
    raise ValueError(f"unknown heart-rate trajectory {m.hr!r}")


def true_beats(m: Member) -> tuple[np.ndarray, np.ndarray]:
    """Beat times (s) and the ectopic mask of a member."""
    if m.source == "ecg":
        bt, ect = ecg_beat_times()
        keep = bt < m.duration_s + 3.0
        return bt[keep].copy(), ect[keep].copy()
    else:
        hr = _hr_profile(m)
        # HRV falls with heart rate (RMSSD roughly with RR^2): rmssd_ms is the value at 75 bpm
        rr = rr_series(m.duration_s + 3.0, hr_bpm=hr,
                       rmssd_ms=lambda t: m.rmssd_ms * min(1.5, (75.0 / hr(t)) ** 2),
                       resp_rate_hz=m.resp_per_min / 60.0, seed=m.seed)
        bt = beat_times(rr, t0_s=0.3)
    ect = np.zeros(bt.size, dtype=bool)
    if m.ectopic_per_min > 0:
        rng = np.random.default_rng(m.seed + 11)
        n = int(round(m.ectopic_per_min * m.duration_s / 60.0))
        cand = np.arange(3, bt.size - 3)
        picks: list[int] = []
        for i in rng.permutation(cand):
            if len(picks) == n:
                break
            if all(abs(i - p) > 4 for p in picks):
                picks.append(int(i))
        for i in sorted(picks):
            rr_prev = bt[i] - bt[i - 1]
            coupling = rng.uniform(0.6, 0.75) * rr_prev
            if coupling < 0.3:  # no pulse wave faster than 200 bpm reaches the finger
                continue
            bt[i] = bt[i - 1] + coupling  # the next beat stays: full compensatory pause
            ect[i] = True
    return bt, ect


@functools.cache
def ecg_beat_times() -> tuple[np.ndarray, np.ndarray]:
    """Beat times (s) of systole's real 25.6-min ECG (NeuroKit2 R peaks), the first at 0.3 s, and
    the beats that NeuroKit2's Kubios method flags (ectopic, long/short...: not NN)."""
    import neurokit2 as nk
    import systole

    fs = 1000
    ecg = np.load(Path(systole.__file__).parent / "datasets" / "Task1_ECG.npy").ravel()
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=fs), sampling_rate=fs)
    r = np.asarray(info["ECG_R_Peaks"], dtype=float) / fs
    info, _ = nk.signal_fixpeaks(np.round(r * 1000).astype(int), sampling_rate=1000, method="Kubios",
                                 iterative=False, show=False)
    ect = np.zeros(r.size, dtype=bool)
    for kind in ("ectopic", "longshort", "missed", "extra"):
        idx = np.asarray(info.get(kind, []), dtype=int)
        ect[idx[(idx >= 0) & (idx < r.size)]] = True
    return r - r[0] + 0.3, ect


def _bump(t, c, w):
    u = np.clip((t - c) / w, -1.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * u))


def pulse(m: Member, bt: np.ndarray, ect: np.ndarray, t: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """Blood-volume pulse at times t (0 at each foot, amplitude ~1 at the systolic peaks)."""
    rng = np.random.default_rng(m.seed + 13)
    rr = np.diff(bt)
    rr = np.concatenate([rr, rr[-1:]])
    rise = np.clip(m.rise_frac * np.minimum(rr, np.concatenate([rr[:1], rr[:-1]])), 0.06, 0.2)
    foot = bt - rise
    amp = (1.0 + 0.03 * rng.standard_normal(bt.size)) * np.where(ect, rng.uniform(0.4, 0.8, bt.size), 1.0)
    amp = amp * (1.0 + m.resp_am * np.interp(bt, t, resp))
    i = np.searchsorted(foot, t, side="right") - 1
    out = np.zeros_like(t)
    ok = (i >= 0) & (i < bt.size - 1)
    i, tt = i[ok], t[ok]
    peak, r, nxt = bt[i], rise[i], foot[i + 1]
    span = nxt - peak  # peak to next foot
    v = np.empty_like(tt)
    up = tt < peak
    x = (tt[up] - (peak[up] - r[up])) / r[up]
    v[up] = 0.5 * (1.0 - np.cos(np.pi * x))
    dn = ~up
    tau = tt[dn] - peak[dn]
    u = np.clip(tau / span[dn], 0.0, 1.0)
    taper = 1.0 - 3.0 * u**2 + 2.0 * u**3
    # notch 1: fast systolic decay, narrow wave, low run-off; notch 0: broad, filled
    sw = m.sys_width_s * (1.0 - 0.35 * m.notch)
    run = m.runoff * (1.0 - 0.6 * m.notch)
    g = np.exp(-0.5 * (tau / sw) ** 2)
    # the diastolic wave: pulled in at high heart rates so it ends before the next foot
    d = np.minimum(m.dia_delay_s, 0.55 * span[dn])
    w = np.minimum(d * (0.45 + 0.45 * (1.0 - m.notch)), 0.9 * span[dn] - d)
    w = np.maximum(w, 0.3 * d)
    s = ((1.0 - run) * g + run) * taper
    # the systolic peak stays the highest point of the beat: the wave's crest at most 0.9
    u_d = np.clip(d / span[dn], 0.0, 1.0)
    s_d = ((1.0 - run) * np.exp(-0.5 * (d / sw) ** 2) + run) * (1.0 - 3.0 * u_d**2 + 2.0 * u_d**3)
    h = np.clip(np.minimum(m.dia_height, 0.9 - s_d), 0.0, None)
    v[dn] = s + h * _bump(tau, d, w)
    out[ok] = v * amp[i]
    return out


def _motion(m: Member, t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t)
    rng = np.random.default_rng(m.seed + 17)
    for a, b, strength in m.motion:
        inside = (t >= a) & (t < b)
        tt = t[inside]
        f = rng.uniform(0.3, 3.0, 4)
        p = rng.uniform(0, 2 * np.pi, 4)
        g = rng.uniform(0.4, 1.0, 4)
        edge = np.clip(np.minimum(tt - a, b - tt) / 0.3, 0.0, 1.0)
        wave = sum(g[k] * np.sin(2 * np.pi * f[k] * tt + p[k]) for k in range(4))
        out[inside] = strength * 0.5 * (1 - np.cos(np.pi * edge)) * wave / 2.0
    return out


def _steps(m: Member, t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t)
    for at, size in m.steps:  # a 50 ms change of finger pressure that stays
        out += size * np.clip((t - at) / 0.05, 0.0, 1.0)
    return out


def generate(m: Member) -> Recording:
    """The member's raw counts at its sample rate, with the truth."""
    bt, ect = true_beats(m)
    t = np.arange(int(round(m.duration_s * m.fs))) / m.fs
    rng = np.random.default_rng(m.seed + 19)
    # respiration: a slightly irregular sinusoid at the member's rate
    ph = rng.uniform(0, 2 * np.pi)
    f = m.resp_per_min / 60.0
    resp = np.sin(2 * np.pi * f * t + ph + 0.4 * np.sin(2 * np.pi * 0.021 * t))
    blood = pulse(m, bt, ect, t, resp) + m.resp_baseline * resp
    blood += 0.5 * np.sin(2 * np.pi * 0.011 * t + ph) + _motion(m, t) + _steps(m, t)
    x = DC - PULSE * blood + m.noise * PULSE * rng.standard_normal(t.size)
    spans = sorted([(a - 1.0, b + 1.0) for a, b, _ in m.motion] + [(at - 1.0, at + 1.0) for at, _ in m.steps])
    keep = bt < m.duration_s - 0.05
    return Recording(x, m.fs, bt[keep], ect[keep], spans)


# -- the family ---------------------------------------------------------------------------
TRAJ = ("steady", "ramp", "step", "swing")
RATES = (25.0, 50.0, 100.0, 400.0)


def _draw(rng: np.random.Generator, name: str, fs: float, seed: int, hr: str, cond: str, dur: float,
          held_out: bool) -> Member:
    lo = float(rng.uniform(45, 80))
    hi = float(min(150.0, lo + rng.uniform(25, 70)))
    if hr == "steady":
        lo = float(rng.uniform(45, 150))
    if hr == "step":
        hi = min(150.0, lo + 30.0)
    kw = dict(
        rise_frac=float(rng.uniform(0.14, 0.26)), sys_width_s=float(rng.uniform(0.08, 0.16)),
        runoff=float(rng.uniform(0.15, 0.5)),
        dia_height=float(rng.choice([0.0, rng.uniform(0.1, 0.6)], p=[0.15, 0.85])),
        dia_delay_s=float(rng.uniform(0.15, 0.4)), notch=float(rng.uniform(0.0, 1.0)),
        resp_per_min=float(rng.uniform(6, 20)), resp_baseline=float(rng.uniform(0.1, 1.0)),
        resp_am=float(rng.uniform(0.05, 0.3)), rmssd_ms=float(rng.uniform(10, 60)),
        ectopic_per_min=float(rng.choice([0.0, 1.0, 3.0])),
    )
    motion: tuple = ()
    steps: tuple = ()
    noise = 0.0
    if cond in ("noise", "motion"):
        noise = float(rng.uniform(0.01, 0.06))
    if cond == "motion":
        n = 2 if dur <= 120 else 3
        starts = np.sort(rng.uniform(15, dur - 15, n))
        motion = tuple((float(s), float(s + rng.uniform(2, 8)), float(rng.uniform(3, 10))) for s in starts)
        steps = tuple((float(s), float(rng.choice([-1, 1]) * rng.uniform(1, 4)))
                      for s in rng.uniform(15, dur - 15, 2))
    return Member(name, fs, seed, dur, hr, lo, hi, noise=noise, motion=motion, steps=steps,
                  held_out=held_out, tags=(cond,), **kw)


def family(duration_s: float = 180.0, held_out: bool | None = None,
           ecg_s: float | None = None) -> list[Member]:
    """Every (rate x trajectory x condition) combination with seeded random shapes, a
    held-out set drawn from other seeds (score it, never tune on it), and five members on
    the beat times of a real ECG (``ecg_s`` long, default ``duration_s``)."""
    ecg_s = duration_s if ecg_s is None else ecg_s
    out = []
    combos = [(f, h, c) for f in RATES for h in TRAJ for c in ("clean", "noise", "motion")]
    for k, (fs, hr, cond) in enumerate(combos):
        seed = 100 + k
        out.append(_draw(np.random.default_rng(seed), f"{cond}-{hr}-{fs:g}Hz-s{seed}", fs, seed, hr, cond,
                         duration_s, False))
    out += _drawn_out_of_tuning(24, 9000, "held", duration_s)
    # real beat times (systole's ECG): the shape, a diastolic wave half the systolic
    # height 0.25 s after it, and two others
    for k, (fs, dia, delay, notch) in enumerate([(100.0, 0.5, 0.25, 0.5), (50.0, 0.5, 0.25, 0.3),
                                                 (400.0, 0.5, 0.25, 0.7), (100.0, 0.6, 0.35, 0.2),
                                                 (25.0, 0.3, 0.2, 0.6)]):
        out.append(Member(f"ecg-dia{dia:g}@{delay:g}-{fs:g}Hz", fs, 500 + k, ecg_s, "ecg",
                          dia_height=dia, dia_delay_s=delay, notch=notch, resp_per_min=15.0, source="ecg",
                          tags=("clean",)))
    if held_out is None:
        return out
    return [m for m in out if m.held_out == held_out]


def _drawn_out_of_tuning(n: int, first_seed: int, prefix: str, duration_s: float) -> list[Member]:
    """``n`` members cycling through rates, trajectories and conditions, each drawn from its
    own seed (first_seed, first_seed + 1, ...): the held-out set and the fresh ones."""
    out = []
    for k in range(n):
        seed = first_seed + k
        fs, hr, cond = RATES[k % 4], TRAJ[(k // 4) % 4], ("clean", "noise", "motion")[k % 3]
        out.append(_draw(np.random.default_rng(seed), f"{prefix}-{cond}-{hr}-{fs:g}Hz-s{seed}", fs, seed, hr,
                         cond, duration_s, True))
    return out


def fresh(n: int, duration_s: float = 180.0, first_seed: int = 9100) -> list[Member]:
    """``n`` more members drawn like the held-out set from seeds ``first_seed`` on: a blind
    check for a change tuned on the family (seeds 9100-9195 were first scored in issue 8's
    last session; take a new range for the next blind check)."""
    return _drawn_out_of_tuning(n, first_seed, "fresh", duration_s)


# -- scoring --------------------------------------------------------------------------------
def true_nn_rmssd(bt: np.ndarray, ect: np.ndarray, spans, lo: float, hi: float) -> float:
    """RMSSD (ms) of the true NN intervals inside [lo, hi): no ectopic beat at either end,
    no disturbed span, successive differences only between intervals sharing a beat."""
    rr = np.diff(bt) * 1000.0
    ok = ~ect[1:] & ~ect[:-1] & (bt[:-1] >= lo) & (bt[1:] < hi)
    for a, b in spans:
        ok &= ~((bt[1:] >= a) & (bt[:-1] <= b))
    d = np.diff(rr)[ok[1:] & ok[:-1]]
    return float(np.sqrt(np.mean(d**2))) if d.size else float("nan")


def rmssd_nn(nn_t: np.ndarray, nn_ms: np.ndarray) -> float:
    """RMSSD (ms) of reported NN intervals over neighbouring pairs only (sharing a beat)."""
    adj = np.abs((nn_t[1:] - nn_ms[1:] / 1000.0) - nn_t[:-1]) < 0.002
    d = np.diff(nn_ms)[adj]
    return float(np.sqrt(np.mean(d**2))) if d.size else float("nan")


def doubled(nn_t: np.ndarray, nn_ms: np.ndarray, bt: np.ndarray, offset: float) -> int:
    """Reported NN intervals that span a true beat (a missed beat passed on as NN)."""
    start = nn_t - nn_ms / 1000.0 - offset
    end = nn_t - offset
    a = np.searchsorted(bt, start + 0.15, side="left")
    b = np.searchsorted(bt, end - 0.15, side="right")
    return int(np.count_nonzero(b > a))


@dataclass
class Score:
    f1: float
    ibi_mae_ms: float
    rmssd_err: float  # relative, reported NN vs true NN (nan for beat-only tools)
    doubled: int
    n_true: int
    first_beat_s: float = float("nan")
    extra: int = 0
    missed: int = 0
    rmssd_err_outside: float = float("nan")  # reported NN touching a disturbed span left out


def score(rec: Recording, beats: np.ndarray, nn_t=None, nn_ms=None, lo: float = 0.0) -> Score:
    """Score detected beats (s) and, when given, reported NN intervals against the truth.

    Beats from ``lo`` (s) to 1 s before the end count; a beat within 1 s of a disturbance
    counts neither as truth nor as a detection."""
    dur = rec.x.size / rec.fs
    hi = dur - 1.0
    b = np.asarray(beats, dtype=float)
    d0, t0 = match(b, rec.beats, 0.3)
    off = float(np.median(b[d0] - rec.beats[t0])) if d0.size else 0.0
    # match everything, then count inside [lo, hi) only, so no pair is cut by the edges
    d, t = match(b - off, rec.beats, 0.15)
    inside_t = np.zeros(rec.beats.size, dtype=bool)
    inside_t[:] = (rec.beats >= lo) & (rec.beats < hi)
    for a, c in rec.spans:
        inside_t &= ~((rec.beats >= a) & (rec.beats <= c))
    bo = b - off
    inside_d = (bo >= lo) & (bo < hi)
    for a, c in rec.spans:
        inside_d &= ~((bo >= a) & (bo <= c))
    paired_d = np.zeros(b.size, dtype=bool)
    paired_d[d] = True
    paired_t = np.zeros(rec.beats.size, dtype=bool)
    paired_t[t] = True
    tp = int(np.count_nonzero(inside_t[t]))
    fp = int(np.count_nonzero(inside_d & ~paired_d))
    fn = int(np.count_nonzero(inside_t & ~paired_t))
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    truth = rec.beats[inside_t]
    det = b[inside_d]
    err = ibi_errors_ms(det, truth)
    mae = float(np.mean(np.abs(err))) if err.size else float("nan")
    rm_err = rm_err_out = float("nan")
    dbl = 0
    if nn_t is not None and len(nn_t):
        nn_t = np.asarray(nn_t, dtype=float)
        nn_ms = np.asarray(nn_ms, dtype=float)
        sel = (nn_t - off >= lo) & (nn_t - off < hi)
        rm_true = true_nn_rmssd(rec.beats, rec.ectopic, rec.spans, lo, hi)
        rm_err = rmssd_nn(nn_t[sel], nn_ms[sel]) / rm_true - 1.0
        # the same without reported intervals that touch a disturbed span (motion the
        # quality flags did not catch): what the detector and the artefact stage give
        st = nn_t - nn_ms / 1000.0 - off
        out = sel.copy()
        for a, c in rec.spans:
            out &= ~((nn_t - off >= a) & (st <= c))
        rm_err_out = rmssd_nn(nn_t[out], nn_ms[out]) / rm_true - 1.0
        dbl = doubled(nn_t, nn_ms, rec.beats, off)
    first = float(b[0] - off) if b.size else float("nan")
    return Score(f1, mae, rm_err, dbl, int(truth.size), first, fp, fn, rm_err_out)


def shorter(m: Member, duration_s: float) -> Member:
    """The same member over a shorter span (disturbances outside it dropped)."""
    return replace(m, duration_s=duration_s,
                   motion=tuple(x for x in m.motion if x[1] < duration_s - 3),
                   steps=tuple(x for x in m.steps if x[0] < duration_s - 3))
