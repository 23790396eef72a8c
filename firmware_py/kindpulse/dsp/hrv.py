"""HRV metrics of one window of NN intervals, with gap-aware successive differences.

Input convention: ``nn_t_s[i]`` is the time (s) of the beat that ENDS interval i
and ``nn_ms[i]`` its length (ms). Interval i is adjacent to interval i-1 only if
its start ``nn_t_s[i] - nn_ms[i]/1000`` equals ``nn_t_s[i-1]`` within 1 ms;
successive-difference metrics (RMSSD, pNN50, SD1, SD2) use adjacent pairs only,
so a gap (lost or rejected beats) never creates a difference across it.

A metric the window cannot support is ``None``, never a number from too little
data. Minimums (see docs/hrv.md for the reasons):

=====================================  =====================================
metric                                 needs
=====================================  =====================================
mean_nn_ms, hr_bpm, sdnn_ms            >= 20 NN intervals
rmssd_ms, ln_rmssd, pnn50, sd1, sd2    >= 15 adjacent pairs
stress_index                           >= 25 NN intervals and >= 30 s of NN,
                                       max > min
hf_ms2                                 >= 60 s span and >= 60 s of NN
lf_ms2                                 >= 120 s span and >= 120 s of NN
lf_hf                                  lf and hf
pns_index / sns_index                  all three of their inputs
=====================================  =====================================

References: Task Force ESC/NASPE (1996) Circulation 93:1043; Baevsky RM,
Chernikova AG (2017) Cardiometry 10:66; Nunan D et al. (2010) PACE 33:1407;
Kubios HRV user guide (PNS/SNS inputs); NeuroKit2 0.2.13 ``hrv_time`` and
``_hrv_nonlinear_poincare`` (formulas reproduced to 1e-9 on contiguous series).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kindpulse.dsp._numba import kernel
from kindpulse.dsp.spectrum import HF_BAND_HZ, LF_BAND_HZ, as_series, band_powers
from kindpulse.errors import InputError

HRV_KEYS = (
    "mean_nn_ms",
    "hr_bpm",
    "sdnn_ms",
    "rmssd_ms",
    "ln_rmssd",
    "pnn50",
    "sd1_ms",
    "sd2_ms",
    "stress_index",
    "lf_ms2",
    "hf_ms2",
    "lf_hf",
    "pns_index",
    "sns_index",
)

ADJACENT_TOL_S = 0.001
MIN_NN_TIME_DOMAIN = 20
MIN_PAIRS_SUCCESSIVE = 15
MIN_NN_STRESS_INDEX = 25
MIN_NN_S_STRESS_INDEX = 30.0
SI_BIN_MS = 50.0
MIN_SPAN_S_HF = 60.0
MIN_SPAN_S_LF = 120.0

# Indices into the kernel's output vector.
_N, _MEAN, _SDNN, _NPAIRS, _RMSSD, _PNN50, _SD1, _SD2 = 0, 1, 2, 3, 4, 5, 6, 7
_AMO, _MO, _MXDMN, _SUM, _NRUNS = 8, 9, 10, 11, 12
_N_OUT = 13


@dataclass(frozen=True)
class Norm:
    """Mean and standard deviation of one metric in a reference population (or baseline)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.sd) and self.sd > 0):
            raise InputError(f"a norm needs a finite mean and a positive sd, got {self.mean}, {self.sd}")


@dataclass(frozen=True)
class Reference:
    """The z-score reference: population norms now, the wearer's own baseline later."""

    mean_nn_ms: Norm
    rmssd_ms: Norm
    sd1_ms: Norm
    hr_bpm: Norm
    stress_index: Norm
    sd2_ms: Norm


def _derived_population_reference() -> Reference:
    # Nunan et al. 2010 (PACE 33:1407), short-term (5 min, supine) healthy-adult norms as
    # quoted by third-party Kubios re-implementations: mean RR 926 +- 90 ms, SDNN 50 +- 16 ms,
    # RMSSD 42 +- 15 ms. The rest are DERIVED here, not published:
    #  - HR = 60000/RR; SD by the delta method: 60000/RR^2 * sd_RR.
    #  - SD1^2 = SDSD^2/2 ~= RMSSD^2/2 (NeuroKit #281 identity), SD scaled the same way.
    #  - SD2^2 = 2 SDNN^2 - RMSSD^2/2; SD by the delta method, inputs taken as independent.
    #  - sqrt(SI): Baevsky's "normal 50-150" taken as mean +- 1 SD, mapped through sqrt:
    #    mean sqrt(100) = 10, SD (sqrt(150) - sqrt(50)) / 2 = 2.6. Low confidence.
    rr, rr_sd = 926.0, 90.0
    sdnn, sdnn_sd = 50.0, 16.0
    rmssd, rmssd_sd = 42.0, 15.0
    sd2 = math.sqrt(2 * sdnn**2 - 0.5 * rmssd**2)
    sd2_sd = math.hypot(2 * sdnn / sd2 * sdnn_sd, 0.5 * rmssd / sd2 * rmssd_sd)
    return Reference(
        mean_nn_ms=Norm(rr, rr_sd),
        rmssd_ms=Norm(rmssd, rmssd_sd),
        sd1_ms=Norm(rmssd / math.sqrt(2), rmssd_sd / math.sqrt(2)),
        hr_bpm=Norm(60000.0 / rr, 60000.0 / rr**2 * rr_sd),
        stress_index=Norm(10.0, (math.sqrt(150.0) - math.sqrt(50.0)) / 2),
        sd2_ms=Norm(sd2, sd2_sd),
    )


POPULATION_REFERENCE: Reference = _derived_population_reference()
"""Nunan 2010 short-term norms (mean NN, RMSSD) plus values derived from them (HR, SD1, SD2)
and from Baevsky's normal SI range (sqrt SI). See docs/hrv.md, 'Norms'."""


@kernel
def _hrv_core(nn_t_s, nn_ms, adj_tol_s, bin_ms, out):  # pragma: no cover - compiled
    """Time-domain, Poincare and Baevsky quantities of one window into ``out``.

    Successive differences use only pairs (i-1, i) where interval i starts at
    the beat that ended i-1 (within ``adj_tol_s``).
    """
    n = nn_ms.shape[0]
    for k in range(out.shape[0]):
        out[k] = np.nan
    out[_N] = n
    if n == 0:
        out[_NPAIRS] = 0.0
        out[_SUM] = 0.0
        out[_NRUNS] = 0.0
        return
    total = 0.0
    lo = nn_ms[0]
    hi = nn_ms[0]
    for i in range(n):
        total += nn_ms[i]
        lo = min(lo, nn_ms[i])
        hi = max(hi, nn_ms[i])
    mean = total / n
    out[_SUM] = total
    out[_MEAN] = mean
    ss = 0.0
    for i in range(n):
        d = nn_ms[i] - mean
        ss += d * d
    if n > 1:
        out[_SDNN] = math.sqrt(ss / (n - 1))
    # successive pairs: first pass for sums, second for Poincare spreads
    npairs = 0
    nruns = 0
    sq = 0.0
    nn50 = 0
    sum_d = 0.0
    sum_s = 0.0
    in_run = False
    for i in range(1, n):
        start = nn_t_s[i] - nn_ms[i] * 0.001
        if abs(start - nn_t_s[i - 1]) <= adj_tol_s:
            d = nn_ms[i] - nn_ms[i - 1]
            npairs += 1
            sq += d * d
            if abs(d) > 50.0:
                nn50 += 1
            sum_d += (nn_ms[i - 1] - nn_ms[i]) / math.sqrt(2.0)
            sum_s += (nn_ms[i - 1] + nn_ms[i]) / math.sqrt(2.0)
            if not in_run:
                nruns += 1
                in_run = True
        else:
            in_run = False
    out[_NPAIRS] = npairs
    out[_NRUNS] = nruns
    if npairs > 0:
        out[_RMSSD] = math.sqrt(sq / npairs)
        out[_PNN50] = 100.0 * nn50 / (npairs + nruns)
    if npairs > 1:
        md = sum_d / npairs
        ms = sum_s / npairs
        vd = 0.0
        vs = 0.0
        for i in range(1, n):
            start = nn_t_s[i] - nn_ms[i] * 0.001
            if abs(start - nn_t_s[i - 1]) <= adj_tol_s:
                a = (nn_ms[i - 1] - nn_ms[i]) / math.sqrt(2.0) - md
                b = (nn_ms[i - 1] + nn_ms[i]) / math.sqrt(2.0) - ms
                vd += a * a
                vs += b * b
        out[_SD1] = math.sqrt(vd / (npairs - 1))
        out[_SD2] = math.sqrt(vs / (npairs - 1))
    # Baevsky: bins [k*bin, (k+1)*bin) ms aligned to multiples of bin_ms
    k0 = int(math.floor(lo / bin_ms))
    k1 = int(math.floor(hi / bin_ms))
    counts = np.zeros(k1 - k0 + 1, dtype=np.int64)
    for i in range(n):
        counts[int(math.floor(nn_ms[i] / bin_ms)) - k0] += 1
    best = 0
    for j in range(1, counts.shape[0]):
        if counts[j] > counts[best]:
            best = j
    out[_AMO] = 100.0 * counts[best] / n
    out[_MO] = (k0 + best + 0.5) * bin_ms * 0.001
    out[_MXDMN] = (hi - lo) * 0.001


def _check_window(nn_t_s: np.ndarray, nn_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t, v = as_series(nn_t_s, nn_ms)
    if v.size and np.any(v <= 0):
        raise InputError("NN intervals must be > 0 ms")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise InputError("NN times must be strictly increasing")
    return t, v


def _opt(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def _z(x: float | None, norm: Norm) -> float | None:
    if x is None:
        return None
    return (x - norm.mean) / norm.sd


def pns_sns(metrics: dict, reference: Reference) -> tuple[float | None, float | None]:
    """Kubios-style PNS and SNS indexes as equal-weight means of z-scores.

    Parameters
    ----------
    metrics : dict
        At least ``mean_nn_ms``, ``rmssd_ms``, ``sd1_ms`` (PNS) and ``hr_bpm``,
        ``stress_index``, ``sd2_ms`` (SNS); a ``None`` input makes the index ``None``.
    reference : Reference
        Norms for the z-scores: ``z = (x - mean) / sd``.

    Returns
    -------
    (pns, sns) : (float or None, float or None)
        PNS = mean(z(mean_nn), z(rmssd), z(sd1)).
        SNS = mean(z(hr), z(sqrt SI), -z(sd2)). Dimensionless; 0 = the reference
        average, +1 = one reference SD towards that branch.

    Notes
    -----
    Kubios publishes the inputs (PNS: mean RR, RMSSD, SD1; SNS: mean HR, Baevsky's
    SI, SD2) but its weights are proprietary; equal weights are our choice. SD2
    enters the SNS with a minus sign: SD2 falls with sympathetic activation and
    vagal withdrawal, so a higher SNS must come with a lower SD2 (Kubios does not
    publish the sign; this is our reading).
    """
    zp = [
        _z(metrics.get("mean_nn_ms"), reference.mean_nn_ms),
        _z(metrics.get("rmssd_ms"), reference.rmssd_ms),
        _z(metrics.get("sd1_ms"), reference.sd1_ms),
    ]
    zs = [
        _z(metrics.get("hr_bpm"), reference.hr_bpm),
        _z(metrics.get("stress_index"), reference.stress_index),
        _z(metrics.get("sd2_ms"), reference.sd2_ms),
    ]
    pns = None if any(z is None for z in zp) else float(sum(zp) / 3.0)
    sns = None if any(z is None for z in zs) else float((zs[0] + zs[1] - zs[2]) / 3.0)
    return pns, sns


def hrv_metrics(
    nn_t_s: np.ndarray,
    nn_ms: np.ndarray,
    reference: Reference = POPULATION_REFERENCE,
) -> dict[str, float | None]:
    """HRV metrics of one window of NN intervals.

    Parameters
    ----------
    nn_t_s : ndarray, shape (n,)
        Time in s of the beat that ends each NN interval, strictly increasing.
    nn_ms : ndarray, shape (n,)
        NN intervals in ms. Intervals need not be contiguous: interval i is
        adjacent to i-1 only if ``nn_t_s[i] - nn_ms[i]/1000 == nn_t_s[i-1]``
        within 1 ms.
    reference : Reference
        Norms for the PNS/SNS z-scores.

    Returns
    -------
    dict
        One entry per key of :data:`HRV_KEYS`; ``None`` where the window is too
        short for the metric (module table). Units: ms, bpm, % (pnn50), ms^2
        (lf, hf), sqrt of Baevsky's SI (stress_index), dimensionless (ln_rmssd of
        RMSSD in ms, lf_hf, pns_index, sns_index).

    Notes
    -----
    mean_nn = mean(NN); hr = 60000 / mean_nn; sdnn = std(NN, ddof=1);
    rmssd = sqrt(mean(d^2)) over adjacent differences d; pnn50 = 100 * #(|d| > 50 ms)
    / (pairs + runs), i.e. over the intervals that take part in a pair (equals
    NeuroKit's NN50 / N on a contiguous series); SD1 = std((x_i - x_{i+1})/sqrt 2, ddof=1)
    and SD2 = std((x_i + x_{i+1})/sqrt 2, ddof=1) over adjacent pairs (NeuroKit);
    stress_index = sqrt(AMo / (2 Mo MxDMn)) with 50 ms bins aligned to multiples of
    50 ms, AMo in % of intervals in the modal bin (lowest bin on ties), Mo the modal
    bin centre in s, MxDMn = max - min in s; the square root is the scale Kubios
    reports. LF/HF powers: :func:`kindpulse.dsp.spectrum.band_powers` (Lomb-Scargle, ms^2).
    """
    t, v = _check_window(nn_t_s, nn_ms)
    core = np.empty(_N_OUT)
    _hrv_core(t, v, ADJACENT_TOL_S, SI_BIN_MS, core)
    n = int(core[_N])
    npairs = int(core[_NPAIRS])
    out: dict[str, float | None] = dict.fromkeys(HRV_KEYS)
    if n >= MIN_NN_TIME_DOMAIN:
        out["mean_nn_ms"] = _opt(core[_MEAN])
        out["hr_bpm"] = float(60000.0 / core[_MEAN])
        out["sdnn_ms"] = _opt(core[_SDNN])
    if npairs >= MIN_PAIRS_SUCCESSIVE:
        out["rmssd_ms"] = _opt(core[_RMSSD])
        out["ln_rmssd"] = math.log(core[_RMSSD]) if core[_RMSSD] > 0 else None
        out["pnn50"] = _opt(core[_PNN50])
        out["sd1_ms"] = _opt(core[_SD1])
        out["sd2_ms"] = _opt(core[_SD2])
    if n >= MIN_NN_STRESS_INDEX and core[_SUM] >= MIN_NN_S_STRESS_INDEX * 1000.0 and core[_MXDMN] > 0:
        out["stress_index"] = math.sqrt(core[_AMO] / (2.0 * core[_MO] * core[_MXDMN]))
    if n >= 3:
        span = float(t[-1] - (t[0] - v[0] * 0.001))
        covered_s = core[_SUM] * 0.001
        want_hf = span >= MIN_SPAN_S_HF and covered_s >= MIN_SPAN_S_HF
        want_lf = span >= MIN_SPAN_S_LF and covered_s >= MIN_SPAN_S_LF
        if want_hf or want_lf:
            lf, hf = band_powers(t, v, LF_BAND_HZ, HF_BAND_HZ)
            if want_lf:
                out["lf_ms2"] = lf
            if want_hf:
                out["hf_ms2"] = hf
            if want_lf and want_hf and hf > 0:
                out["lf_hf"] = lf / hf
    out["pns_index"], out["sns_index"] = pns_sns(out, reference)
    return out
