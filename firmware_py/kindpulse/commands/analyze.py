"""``kindpulse analyze``: batch analysis of a PPG or inter-beat-interval recording.

Contract (stable; see docs/dsp.md)::

    kindpulse analyze FILE [--fs HZ] [--column NAME] [--invert] [--window SECONDS] [--format json|text]
    kindpulse analyze --ibi FILE [--column NAME] [--format json|text]

Runs the same kernels as the daemon (:class:`kindpulse.dsp.pipeline.PPGStream`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from kindpulse.commands import help_for
from kindpulse.commands.args import WINDOW_MIN_S, positive_number, sample_rate, window_seconds
from kindpulse.dsp.artifacts import correct_beats
from kindpulse.dsp.pipeline import _hrv, analyze_ppg, hrv_windows
from kindpulse.errors import InputError
from kindpulse.recording import load_ibi, load_ppg

__all__ = ["add_parser", "analyze_ibi", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``analyze`` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "analyze",
        help=help_for("analyze"),
        description="Analyse a PPG recording (CSV with a header, or .npy) or, with --ibi, "
        "a list of inter-beat intervals in ms. Prints JSON or a short table.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="PPG recording: CSV with a header, or .npy")
    p.add_argument("--ibi", metavar="FILE", help="inter-beat intervals in ms (CSV column or .npy) instead of PPG")
    p.add_argument("--fs", type=sample_rate("--fs"), metavar="HZ",
                   help="sample rate in Hz, 10-3200 (default: from the time column)")
    p.add_argument("--column", metavar="NAME", help="PPG (or IBI) column; default: the first numeric one")
    pol = p.add_mutually_exclusive_group()
    pol.add_argument("--invert", dest="invert", action="store_const", const=True, default=None,
                     help="the signal is raw sensor light (more blood, less light); default: detect")
    pol.add_argument("--no-invert", dest="invert", action="store_const", const=False,
                     help="the signal is already blood-volume up")
    p.add_argument("--full-scale", type=positive_number("--full-scale"), metavar="COUNTS",
                   help="ADC full scale for saturation checks (MAX30102: 262143)")
    p.add_argument("--window", type=window_seconds("--window"), metavar="SECONDS",
                   help=f"also give HRV per consecutive window of this length (at least {WINDOW_MIN_S:g} s)")
    p.add_argument("--format", choices=("json", "text"), default="json", help="output format (default json)")
    p.set_defaults(run=run)
    return p


def analyze_ibi(ibi_ms: np.ndarray, *, window_s: float | None = None) -> dict:
    """Artefact correction and HRV of a series of inter-beat intervals (ms).

    Beat times are the cumulative sum of the intervals, starting at 0 s.
    """
    ibi = np.asarray(ibi_ms, dtype=np.float64)
    beats = np.concatenate([[0.0], np.cumsum(ibi) / 1000.0])
    res = correct_beats(beats)
    duration = float(beats[-1])
    out = {
        "fs": None,
        "duration_s": duration,
        "inverted": None,
        "beats_s": res.beats_s.tolist(),
        "nn": np.column_stack([res.nn_t_s, res.nn_ms]).tolist(),
        "quality": {"usable_fraction": res.nn_ms.size / ibi.size, "issues": [],
                    "hrv_refused": None if res.nn_ms.size else "no valid NN intervals"},
        "hrv": _hrv(res.nn_t_s, res.nn_ms, True),
    }
    if window_s is not None:
        out["windows"] = hrv_windows(res.nn_t_s, res.nn_ms, duration, window_s)
    return out


def _clean(o):
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_clean(v) for v in o]
    return o


def _fmt(v, nd=1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


_ROWS = (("hr_bpm", "heart rate (bpm)", 1), ("mean_nn_ms", "mean NN (ms)", 1), ("sdnn_ms", "SDNN (ms)", 1),
         ("rmssd_ms", "RMSSD (ms)", 1), ("ln_rmssd", "ln RMSSD", 2), ("pnn50", "pNN50", 3),
         ("sd1_ms", "SD1 (ms)", 1), ("sd2_ms", "SD2 (ms)", 1), ("stress_index", "stress index", 1),
         ("lf_ms2", "LF (ms2)", 0), ("hf_ms2", "HF (ms2)", 0), ("lf_hf", "LF/HF", 2),
         ("pns_index", "PNS index", 2), ("sns_index", "SNS index", 2))


def _text(res: dict, name: str) -> str:
    q = res["quality"]
    fs = f"{res['fs']:g} Hz" if res["fs"] else "- (intervals)"
    pol = {True: "inverted (raw light)", False: "blood volume up", None: "-"}[res.get("inverted")]
    lines = [
        f"{name}: {res['duration_s']:.1f} s at {fs}, polarity {pol}",
        f"beats {len(res['beats_s'])}, NN intervals {len(res['nn'])}, usable {100 * q['usable_fraction']:.0f} %, "
        f"issues: {', '.join(q['issues']) or 'none'}",
    ]
    if q.get("missing_s"):
        lines.append(f"missing samples: {q['missing_s']:.1f} s (gaps: no interval spans them)")
    if q.get("off_shape_beats"):
        lines.append(f"beats unlike the recent ones (motion): {q['off_shape_beats']} (no NN interval on them)")
    if q.get("hrv_refused"):
        lines.append(f"HRV refused: {q['hrv_refused']}")
    lines.append("")
    for key, label, nd in _ROWS:
        lines.append(f"  {label:<18}{_fmt(res['hrv'].get(key), nd):>10}")
    if "windows" in res:
        lines.append("")
        lines.append(f"  {'start s':>8}{'end s':>8}{'HR':>8}{'RMSSD':>8}{'SDNN':>8}{'SI':>8}")
        for w in res["windows"]:
            lines.append(f"  {w['start_s']:>8.0f}{w['end_s']:>8.0f}{_fmt(w['hr_bpm']):>8}{_fmt(w['rmssd_ms']):>8}"
                         f"{_fmt(w['sdnn_ms']):>8}{_fmt(w['stress_index']):>8}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``kindpulse analyze``; InputError becomes a one-line message (exit 2)."""
    if (args.file is None) == (args.ibi is None):
        raise InputError("give either a PPG FILE or --ibi FILE (see 'kindpulse analyze --help')")
    if args.ibi is not None:
        if args.fs is not None or args.invert is not None:
            raise InputError("--fs and --invert apply to PPG files, not to --ibi intervals; drop them")
        res = analyze_ibi(load_ibi(args.ibi, column=args.column), window_s=args.window)
        name = args.ibi
    else:
        rec = load_ppg(args.file, fs=args.fs, column=args.column)
        try:
            res = analyze_ppg(rec.x, rec.fs, invert=args.invert, window_s=args.window, full_scale=args.full_scale)
        except InputError:
            raise
        except ValueError as exc:  # ConfigError is a KindpulseError too; anything else is a bug
            raise InputError(str(exc)) from None
        res["column"] = rec.column
        res["fs_source"] = rec.fs_source
        name = args.file
    res = _clean(res)
    if args.format == "json":
        # dumps, not dump: only the one-shot encoder is json's C one (an hour's beats: 50 -> 5 ms)
        sys.stdout.write(json.dumps(res, allow_nan=False) + "\n")
    else:
        print(_text(res, name))
    return 0
