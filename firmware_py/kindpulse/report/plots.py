"""The report's figures, drawn with matplotlib's Agg backend (no display) into PNG bytes."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import numpy as np

from kindpulse.errors import KindpulseError
from kindpulse.report.model import Break, DayModel, Norm, WeekModel

INK = "#3b3a4a"
MUTED = "#8a8799"
GRID = "#ecebf2"
HR = "#d9665b"
HRV = "#3f8f8b"
SNS = "#e39a4f"
PNS = "#5b7fd9"
STRESS = "#f6d7d2"
BREAK = "#cfe8df"
BAND = "#e8e6f3"
COVER = {"no finger": "#c9c6d6", "poor signal": "#f0c987", "motion": "#e5a3a3", "active": "#a9c7e8"}
DPI = 110


def _plt():
    try:
        import matplotlib
    except ImportError:
        raise KindpulseError("the report needs matplotlib: pip install 'kindpulse[report]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.edgecolor": GRID,
            "axes.labelcolor": MUTED,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": GRID,
            "grid.linewidth": 0.8,
            "axes.axisbelow": True,
            "svg.hashsalt": "kindpulse",
            "figure.facecolor": "white",
        }
    )
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return buf.getvalue()


def _hours(day: DayModel, wall) -> np.ndarray:
    """Local time of day in hours (float) for a wall time or an array of them."""
    lo = dt.datetime.combine(day.date, dt.time(0), tzinfo=dt.timezone.utc).timestamp() - day.tz_offset_s
    return (np.asarray(wall, dtype=np.float64) - lo) / 3600.0


def _hhmm(x: float, _pos=None) -> str:
    m = int(round(x * 60))
    return f"{m // 60:02d}:{m % 60:02d}"


def _band(ax, norm: Norm | None, color: str, label: str) -> None:
    if norm is not None:
        ax.axhspan(
            norm.mean - norm.sd, norm.mean + norm.sd, color=color, alpha=0.55, lw=0, label=label, zorder=0
        )
        ax.axhline(norm.mean, color=MUTED, lw=0.8, ls=(0, (4, 3)), zorder=1)


def _smooth(y: np.ndarray, n: int = 3) -> np.ndarray:
    if y.size < n:
        return y
    k = np.ones(n) / n
    out = np.convolve(np.nan_to_num(y, nan=np.nanmean(y) if np.isfinite(y).any() else 0.0), k, mode="same")
    out[: n // 2], out[-(n // 2) :] = y[: n // 2], y[-(n // 2) :]
    out[~np.isfinite(y)] = np.nan
    return out


def _gaps_to_nan(x: np.ndarray, ys: Sequence[np.ndarray], max_gap_h: float) -> tuple:
    """Break the lines where the device recorded nothing for a while (not worn, off)."""
    if x.size < 2:
        return (x, *ys)
    cut = np.flatnonzero(np.diff(x) > max_gap_h) + 1
    return (np.insert(x, cut, np.nan), *(np.insert(y.astype(float), cut, np.nan) for y in ys))


def day_timeline(day: DayModel) -> bytes:
    """HR, RMSSD and SNS/PNS over the day with the baseline band; stress shaded; breaks,
    prompts, dismissals and snoozes marked; signal coverage along the bottom."""
    plt = _plt()
    fig, axes = plt.subplots(
        4, 1, figsize=(10, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 3, 3, 0.9], "hspace": 0.12}
    )
    s = day.series
    x = _hours(day, s.wall)
    if day.data_span is not None:
        a, b = _hours(day, day.data_span)
        pad = max(0.05, 0.03 * (b - a))
        xlim = (max(0.0, a - pad), min(24.0, b + pad))
    else:
        xlim = (0.0, 24.0)
    gap_h = 120.0 / 3600.0
    xs, hr, rm, sns, pns = _gaps_to_nan(
        x, [_smooth(s.hr), _smooth(s.rmssd), _smooth(s.sns), _smooth(s.pns)], gap_h
    )
    base = day.baseline or day.calm or {}
    band_label = "your usual range" if day.baseline else "your calm today"
    ax_hr, ax_rm, ax_ans, ax_cov = axes
    _band(ax_hr, base.get("hr_bpm"), BAND, band_label)
    ax_hr.plot(xs, hr, color=HR, lw=1.6, label="heart rate")
    ax_hr.set_ylabel("heart rate\nbpm")
    _band(ax_rm, base.get("rmssd_ms"), BAND, band_label)
    ax_rm.plot(xs, rm, color=HRV, lw=1.6, label="HRV (RMSSD)")
    ax_rm.set_ylabel("HRV (RMSSD)\nms")
    ax_ans.axhspan(-1, 1, color=BAND, alpha=0.55, lw=0, zorder=0)
    ax_ans.axhline(0, color=MUTED, lw=0.8, ls=(0, (4, 3)))
    ax_ans.plot(xs, sns, color=SNS, lw=1.5, label="SNS (stress side)")
    ax_ans.plot(xs, pns, color=PNS, lw=1.5, label="PNS (rest side)")
    ax_ans.set_ylabel("nervous system\nindex")
    for ax in axes[:3]:
        for a, b in day.stress:
            ax.axvspan(*_hours(day, [a, b]), color=STRESS, lw=0, zorder=0)
        for br in day.breaks:
            ax.axvspan(*_hours(day, [br.wall, br.end_wall]), color=BREAK, lw=0, zorder=0.5)
        ax.margins(y=0.15)
    for ax in axes[:2]:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.12 * (hi - lo))
    top = ax_hr.get_ylim()[1]
    style = {
        "prompt": ("v", "#7a5cc7", "prompt"),
        "dismissed": ("x", MUTED, "dismissed"),
        "snoozed": ("$z$", MUTED, "snoozed"),
    }
    seen: set = set()
    for wall, kind in day.marks:
        marker, color, label = style[kind]
        ax_hr.plot(
            _hours(day, wall),
            top,
            marker=marker,
            color=color,
            ms=8,
            ls="none",
            clip_on=False,
            zorder=5,
            label=None if kind in seen else label,
        )
        seen.add(kind)
    for i, br in enumerate(day.breaks):
        ax_hr.plot(
            _hours(day, br.wall),
            top,
            marker="o",
            color="#2f7d5b",
            ms=7,
            ls="none",
            clip_on=False,
            zorder=5,
            label="break" if i == 0 else None,
        )
    # coverage strip
    rows = [k for k in ("no finger", "poor signal", "motion", "active")]
    for i, key in enumerate(rows):
        spans = [(h0, h1 - h0) for h0, h1 in (_hours(day, sp) for sp in day.coverage.get(key, []))]
        ax_cov.broken_barh(spans, (i - 0.4, 0.8), color=COVER[key], label=key if spans else None)
    if day.data_span is not None:  # where nothing was recorded at all
        edges = np.concatenate([[xlim[0]], xs[np.isfinite(xs)] if xs.size else [], [xlim[1]]])
        gaps = [(a, b - a) for a, b in zip(edges, edges[1:], strict=False) if b - a > gap_h]
        ax_cov.broken_barh(
            gaps, (-0.5, len(rows)), color="#f4f3f8", zorder=0, label="no data" if gaps else None
        )
    ax_cov.set_yticks(range(len(rows)), rows, fontsize=7)
    ax_cov.set_ylim(len(rows) - 0.5, -0.5)
    ax_cov.grid(False)
    ax_cov.set_ylabel("signal", rotation=0, ha="right", va="center")
    ax_cov.set_xlim(*xlim)
    ax_cov.xaxis.set_major_formatter(plt.FuncFormatter(_hhmm))
    ax_cov.set_xlabel(day.date.strftime("%A %d %B %Y"))
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab, strict=True):
            if ll not in labels and not ll.startswith("_"):
                handles.append(hh)
                labels.append(ll)
    import matplotlib.patches as mpatches

    if day.stress:
        handles.append(mpatches.Patch(color=STRESS, label="stress"))
        labels.append("stress")
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=min(7, len(labels)),
        frameon=False,
        bbox_to_anchor=(0.5, 0.955),
        fontsize=8,
    )
    return _png(fig)


def breaks_chart(breaks: Sequence[Break]) -> bytes:
    """Each break's before -> after, HR and RMSSD; prompted and self-started in two colours."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.0))
    for ax, (label, unit, before, after) in zip(
        axes,
        (
            ("heart rate", "bpm", "hr_before", "hr_after"),
            ("HRV (RMSSD)", "ms", "rmssd_before", "rmssd_after"),
        ),
        strict=True,
    ):
        for br in breaks:
            b, a = getattr(br, before), getattr(br, after)
            if b is None or a is None:
                continue
            color = "#7a5cc7" if br.prompted else "#2f7d5b"
            ax.plot([0, 1], [b, a], color=color, alpha=0.75, lw=1.6, marker="o", ms=5)
        ax.set_xticks([0, 1], ["before", "after"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(f"{label} ({unit})", fontsize=9, color=INK, loc="left")
    import matplotlib.lines as mlines

    fig.legend(
        [
            mlines.Line2D([], [], color="#7a5cc7", marker="o"),
            mlines.Line2D([], [], color="#2f7d5b", marker="o"),
        ],
        ["after a prompt", "you started it"],
        loc="lower center",
        ncol=2,
        frameon=False,
        bbox_to_anchor=(0.5, -0.06),
        fontsize=8,
    )
    fig.tight_layout()
    return _png(fig)


def baseline_chart(rows: Sequence[tuple[dt.date, dict | None, dict | None]]) -> bytes:
    """Per day: the calm windows' median and robust SD (points, bars) and the device's baseline
    (band), for HR and RMSSD."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
    xs = np.arange(len(rows))
    for ax, key, color, title in (
        (axes[0], "hr_bpm", HR, "calm heart rate (bpm)"),
        (axes[1], "rmssd_ms", HRV, "calm HRV, RMSSD (ms)"),
    ):
        bm = np.array([r[2][key].mean if r[2] else np.nan for r in rows])
        bs = np.array([r[2][key].sd if r[2] else np.nan for r in rows])
        ax.bar(xs, 2 * bs, bottom=bm - bs, width=0.7, color=BAND, alpha=0.9, lw=0, label="device baseline")
        cm = np.array([r[1][key].mean if r[1] else np.nan for r in rows])
        cs = np.array([r[1][key].sd if r[1] else np.nan for r in rows])
        ax.errorbar(xs, cm, yerr=cs, fmt="o", color=color, ms=5, capsize=3, lw=1.2, label="that day's calm")
        ax.set_xticks(xs, [d.strftime("%a\n%d %b") for d, _, _ in rows], fontsize=7)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_title(title, fontsize=9, color=INK, loc="left")
        ax.margins(y=0.25)
    axes[1].legend(frameon=False, fontsize=7, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def week_chart(week: WeekModel) -> bytes:
    """The week day by day: hours worn, minutes of stress, prompts and breaks."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 2.6))
    xs = np.arange(7)
    worn = [d.worn_s / 3600 for d in week.days]
    stress = [d.stress_s / 3600 for d in week.days]
    ax.bar(xs, worn, color=BAND, width=0.6, label="hours worn")
    ax.bar(xs, stress, color="#eaa59b", width=0.6, label="hours of stress")
    for x, d in zip(xs, week.days, strict=True):
        n_b = len(d.breaks)
        if d.prompts or n_b:
            ax.text(
                x,
                max(worn[x], 0.05) * 1.04,
                f"{d.prompts} prompt{'s' * (d.prompts != 1)}\n{n_b} break{'s' * (n_b != 1)}",
                ha="center",
                va="bottom",
                fontsize=7,
                color=INK,
            )
    ax.set_xticks(xs, [d.date.strftime("%a %d") for d in week.days])
    ax.set_ylabel("hours")
    ax.margins(y=0.35)
    ax.legend(frameon=False, fontsize=7, loc="upper right")
    fig.tight_layout()
    return _png(fig)
