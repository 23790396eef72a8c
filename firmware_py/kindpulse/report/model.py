"""The day and week models: records of the export schema -> what the report shows.

Pure functions over lists of records (flat dicts: `kind`, `wall` in Unix s, ...). Days are
local calendar days: wall + the device's UTC offset (the run's `info.timezone_offset_min`,
0 when the log does not say).

The break statistics are paired before/after differences (after - before) of the device's
own measurements: RMSSD (ms) and HR (bpm) over the 60 s before the break and the 60 s at
its end. Over a week the report gives their mean, SD and a 95 % confidence interval of the
mean (Student's t); the verdict follows the interval, and says so when there are too few
breaks (fewer than MIN_BREAKS) or the interval spans both a gain and a loss.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kindpulse.stress.baseline import Baseline

MIN_BREAKS = 5  # fewer paired before/after measurements cannot say much either way
MIN_GROUP = 3  # per group when comparing prompted with self-started breaks
SHORT_WINDOW_S = 60.0
COVERAGE = ("no finger", "poor signal", "motion", "active")
_SIGNAL_REASON = {"no_finger": "no finger", "poor_signal": "poor signal", "motion": "motion"}
# two-sided 95 % Student t quantiles, df 1..30 (beyond: normal)
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)

Span = tuple[float, float]


@dataclass(frozen=True)
class Norm:
    mean: float
    sd: float


@dataclass(frozen=True)
class Break:
    wall: float  # start, Unix s
    end_wall: float
    prompted: bool
    hr_before: float | None
    hr_after: float | None
    rmssd_before: float | None
    rmssd_after: float | None
    ended_early: bool = False

    @property
    def d_hr(self) -> float | None:
        return None if self.hr_before is None or self.hr_after is None else self.hr_after - self.hr_before

    @property
    def d_rmssd(self) -> float | None:
        if self.rmssd_before is None or self.rmssd_after is None:
            return None
        return self.rmssd_after - self.rmssd_before


@dataclass(frozen=True)
class Series:
    """The 60-s HRV windows: wall (Unix s), hr (bpm), rmssd (ms), sns and pns (z-like indices)."""

    wall: np.ndarray
    hr: np.ndarray
    rmssd: np.ndarray
    sns: np.ndarray
    pns: np.ndarray

    def __len__(self) -> int:
        return int(self.wall.size)


@dataclass
class DayModel:
    date: dt.date
    tz_offset_s: float
    series: Series
    stress: list[Span]
    coverage: dict[str, list[Span]]
    marks: list[tuple[float, str]]  # (wall, prompt | dismissed | snoozed)
    breaks: list[Break]
    baseline: dict[str, Norm] | None  # the device's baseline at the end of the day (hr_bpm, rmssd_ms)
    calm: dict[str, Norm] | None  # the day's own calm windows
    data_span: Span | None  # first and last record of the day

    @property
    def has_data(self) -> bool:
        return len(self.series) > 0 or bool(self.breaks) or bool(self.marks)

    @property
    def prompts(self) -> int:
        return sum(1 for _, k in self.marks if k == "prompt")

    def count(self, kind: str) -> int:
        return sum(1 for _, k in self.marks if k == kind)

    @property
    def stress_s(self) -> float:
        return float(sum(b - a for a, b in self.stress))

    @property
    def worn_s(self) -> float:
        """Seconds with a usable 60-s HRV window (windows come every 5 s)."""
        if not len(self.series):
            return 0.0
        gaps = np.diff(self.series.wall)
        return float(np.sum(np.minimum(gaps, 30.0))) + 5.0

    def local(self, wall: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(wall + self.tz_offset_s, tz=dt.timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Change:
    """Paired after - before changes: n, mean, SD and the 95 % CI of the mean."""

    n: int
    mean: float
    sd: float
    lo: float
    hi: float


@dataclass
class Verdict:
    level: str  # none | too_few | unclear | helps | no_help
    text: str


@dataclass
class WeekModel:
    year: int
    week: int
    days: list[DayModel]
    breaks: list[Break] = field(default_factory=list)
    rmssd: Change | None = None
    hr: Change | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("none", ""))
    comparison: str = ""

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)


# -- helpers -----------------------------------------------------------------------------
def tz_offset_s(records: Iterable[dict]) -> float:
    """The device's UTC offset (s) from its newest run's info; 0 (UTC) when not recorded."""
    runs = [r for r in records if r["kind"] == "run"]
    for r in sorted(runs, key=lambda r: r.get("wall") or 0.0, reverse=True):
        off = (r.get("info") or {}).get("timezone_offset_min")
        if isinstance(off, (int, float)):
            return float(off) * 60.0
    return 0.0


def day_bounds(day: dt.date, tz_s: float) -> Span:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone.utc).timestamp() - tz_s
    return start, start + 86400.0


def local_date(wall: float, tz_s: float) -> dt.date:
    return dt.datetime.fromtimestamp(wall + tz_s, tz=dt.timezone.utc).date()


def days_with_data(records: Iterable[dict], tz_s: float) -> list[dt.date]:
    return sorted(
        {
            local_date(r["wall"], tz_s)
            for r in records
            if r["kind"] in ("hrv", "event") and r.get("wall") is not None
        }
    )


def by_wall(records: Sequence[dict]) -> list[dict]:
    """Records with a wall time, oldest first (returned as is when they already are)."""
    walls = [r.get("wall") for r in records]
    if None not in walls and all(a <= b for a, b in zip(walls, walls[1:], strict=False)):
        return list(records) if not isinstance(records, list) else records
    return sorted((r for r in records if r.get("wall") is not None), key=lambda r: r["wall"])


def _num(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _run_ends(records: Sequence[dict]) -> dict:
    ends: dict = {}
    for r in records:
        if r.get("wall") is not None and r.get("run") is not None:
            ends[r["run"]] = max(ends.get(r["run"], -math.inf), r["wall"])
    return ends


def _spans(records: Sequence[dict], ends: dict, start_of, end_of) -> list[tuple[str, Span]]:
    """(label, span) from records that open a span (start_of -> label or None) until the next
    record of the same run that closes it (end_of -> True) or the run's last record."""
    out: list[tuple[str, Span]] = []
    open_: dict = {}
    for r in records:
        run = r.get("run")
        if run in open_ and end_of(r):
            label, a = open_.pop(run)
            out.append((label, (a, r["wall"])))
        label = start_of(r)
        if label is not None and run not in open_:
            open_[run] = (label, r["wall"])
    for run, (label, a) in open_.items():
        out.append((label, (a, ends.get(run, a))))
    return out


def _clip(spans: Iterable[Span], lo: float, hi: float) -> list[Span]:
    return [(max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi and min(b, hi) > max(a, lo)]


def _robust(values: np.ndarray) -> Norm | None:
    v = values[np.isfinite(values)]
    if v.size < 5:
        return None
    med = float(np.median(v))
    return Norm(med, float(1.4826 * np.median(np.abs(v - med))))


def baseline_norms(snapshot: dict | None) -> dict[str, Norm] | None:
    """HR and RMSSD norms (median, robust SD) of a stored baseline snapshot; None if unusable."""
    if not snapshot:
        return None
    try:
        b = Baseline.from_dict(snapshot)
    except (KeyError, ValueError, TypeError):
        return None
    if not b.ready:
        return None
    n = b.norms()
    return {k: Norm(n[k].mean, n[k].sd) for k in ("hr_bpm", "rmssd_ms")}


def breaks_from(records: Iterable[dict]) -> list[Break]:
    out = []
    for r in records:
        if r["kind"] == "event" and r.get("type") == "break_end":
            d = r.get("data") or {}
            dur = _num(d.get("duration_s")) or 0.0
            out.append(
                Break(
                    r["wall"] - dur,
                    r["wall"],
                    bool(d.get("prompted")),
                    _num(d.get("hr_before")),
                    _num(d.get("hr_after")),
                    _num(d.get("rmssd_before")),
                    _num(d.get("rmssd_after")),
                    bool(d.get("ended_early")),
                )
            )
    return sorted(out, key=lambda b: b.wall)


# -- the day -------------------------------------------------------------------------------
@dataclass
class Log:
    """Records prepared once for many days: sorted by wall, with the spans that cross days."""

    records: list[dict]
    walls: np.ndarray
    state_spans: list[tuple[str, Span]]
    signal_spans: list[tuple[str, Span]]
    baselines: list[dict]
    tz_s: float

    @classmethod
    def of(cls, records: Sequence[dict] | Log, tz_s: float | None = None) -> Log:
        if isinstance(records, Log):
            return records
        recs = by_wall(records)
        ends = _run_ends(recs)
        states = [r for r in recs if r["kind"] == "state"]
        signal = [
            r for r in recs if r["kind"] == "event" and r.get("type") in ("signal_lost", "signal_ok", "stop")
        ]
        signal_spans = _spans(
            signal,
            ends,
            lambda r: (
                _SIGNAL_REASON.get((r.get("data") or {}).get("reason"))
                if r.get("type") == "signal_lost"
                else None
            ),
            lambda r: r.get("type") in ("signal_ok", "stop"),
        )
        return cls(
            recs,
            np.array([r["wall"] for r in recs], dtype=np.float64),
            _spans(states, ends, lambda r: r.get("state"), lambda r: True),
            signal_spans,
            [r for r in recs if r["kind"] == "baseline"],
            tz_offset_s(records) if tz_s is None else tz_s,
        )

    def between(self, lo: float, hi: float) -> list[dict]:
        a, b = np.searchsorted(self.walls, [lo, hi], side="left")
        return self.records[int(a) : int(b)]


def build_day(records: Sequence[dict] | Log, day: dt.date, tz_s: float | None = None) -> DayModel:
    """The day's model from all records (those of other days are ignored, except that the
    spans open at midnight and the baseline snapshot carry over)."""
    log = Log.of(records, tz_s)
    tz = log.tz_s if tz_s is None else tz_s
    lo, hi = day_bounds(day, tz)
    stress = _clip([s for label, s in log.state_spans if label == "elevated"], lo, hi)
    coverage: dict[str, list[Span]] = {k: [] for k in COVERAGE}
    for label, span in log.signal_spans:
        coverage[label].append(span)
    coverage["active"] = [s for label, s in log.state_spans if label == "too_active"]
    coverage = {k: _clip(v, lo, hi) for k, v in coverage.items()}
    today = log.between(lo, hi)
    hrv = [r for r in today if r["kind"] == "hrv" and r.get("window_s") == SHORT_WINDOW_S]

    def col(key: str) -> np.ndarray:
        v = [(r.get("metrics") or {}).get(key) for r in hrv]
        return np.array([np.nan if x is None else x for x in v], dtype=np.float64)

    series = Series(
        np.array([r["wall"] for r in hrv], dtype=np.float64),
        col("hr_bpm"),
        col("rmssd_ms"),
        col("sns_index"),
        col("pns_index"),
    )
    marks = [
        (r["wall"], r["type"])
        for r in today
        if r["kind"] == "event" and r.get("type") in ("prompt", "dismissed", "snoozed")
    ]
    # a snooze is also logged as a dismissal of the prompt: show it once, as a snooze
    snoozes = [w for w, k in marks if k == "snoozed"]
    marks = [(w, k) for w, k in marks if not (k == "dismissed" and any(abs(w - s) < 1.0 for s in snoozes))]
    snaps = [r for r in log.baselines if r["wall"] < hi]
    baseline = baseline_norms(snaps[-1]["baseline"]) if snaps else None
    calm_mask = np.zeros(len(series), dtype=bool)
    for label, (a, b) in log.state_spans:
        if label == "calm" and b >= lo and a < hi:
            calm_mask |= (series.wall >= a) & (series.wall <= b)
    calm = None
    if calm_mask.any():
        hr_n, rm_n = _robust(series.hr[calm_mask]), _robust(series.rmssd[calm_mask])
        calm = {"hr_bpm": hr_n, "rmssd_ms": rm_n} if hr_n and rm_n else None
    span = (today[0]["wall"], today[-1]["wall"]) if today else None
    return DayModel(day, tz, series, stress, coverage, marks, breaks_from(today), baseline, calm, span)


# -- the breaks over a week --------------------------------------------------------------
def change(values: Sequence[float | None]) -> Change | None:
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if v.size == 0:
        return None
    mean = float(v.mean())
    if v.size < 2:
        return Change(1, mean, math.nan, math.nan, math.nan)
    sd = float(v.std(ddof=1))
    t = _T975[v.size - 2] if v.size - 1 <= len(_T975) else 1.96
    half = t * sd / math.sqrt(v.size)
    return Change(int(v.size), mean, sd, mean - half, mean + half)


def verdict(breaks: Sequence[Break]) -> Verdict:
    """What the week's breaks show, honestly: the RMSSD change (the vagal, calming side of HRV)
    decides; HR is reported beside it."""
    n = len([b for b in breaks if b.d_rmssd is not None])
    if n == 0:
        return Verdict(
            "none",
            "No breaks with before and after measurements yet, so there is nothing to "
            "weigh. That is fine: the numbers will come with the pauses.",
        )
    if n < MIN_BREAKS:
        return Verdict(
            "too_few",
            f"{n} break{'s' if n > 1 else ''} so far: too few to conclude anything "
            f"yet. After about {MIN_BREAKS} the picture starts to mean something.",
        )
    c = change([b.d_rmssd for b in breaks])
    assert c is not None
    if c.lo > 0:
        return Verdict(
            "helps",
            f"Your breaks seem to help: over {n} breaks your HRV (RMSSD) rose by "
            f"{c.mean:+.1f} ms on average (95 % interval {c.lo:+.1f} to {c.hi:+.1f} ms).",
        )
    if c.hi < 0:
        return Verdict(
            "no_help",
            f"Over {n} breaks your HRV (RMSSD) did not rise: {c.mean:+.1f} ms on average "
            f"(95 % interval {c.lo:+.1f} to {c.hi:+.1f} ms). The pause may still feel "
            "good; the numbers just do not show it.",
        )
    return Verdict(
        "unclear",
        f"Over {n} breaks the change in HRV (RMSSD) is {c.mean:+.1f} ms on average, but "
        f"the spread is too wide to conclude (95 % interval {c.lo:+.1f} to {c.hi:+.1f} ms).",
    )


def compare(breaks: Sequence[Break]) -> str:
    """Prompted breaks against the ones the wearer started, in one sentence."""
    groups = {
        p: [b.d_rmssd for b in breaks if b.prompted is p and b.d_rmssd is not None] for p in (True, False)
    }
    n_p, n_s = len(groups[True]), len(groups[False])
    if n_p < MIN_GROUP or n_s < MIN_GROUP:
        return (
            f"{n_p} prompted and {n_s} self-started break{'s' if n_s != 1 else ''}: too few of "
            f"{'each' if n_p < MIN_GROUP and n_s < MIN_GROUP else 'one kind'} to compare them "
            f"(at least {MIN_GROUP} of each)."
        )
    cp, cs = change(groups[True]), change(groups[False])
    assert cp is not None and cs is not None
    overlap = cp.lo <= cs.hi and cs.lo <= cp.hi
    return (
        f"Prompted breaks: {cp.mean:+.1f} ms RMSSD on average ({n_p}); breaks you started: "
        f"{cs.mean:+.1f} ms ({n_s}). "
        + (
            "Their intervals overlap, so neither kind clearly helps more."
            if overlap
            else "Their intervals do not overlap."
        )
    )


def build_week(records: Sequence[dict] | Log, year: int, week: int, tz_s: float | None = None) -> WeekModel:
    log = Log.of(records, tz_s)
    monday = dt.date.fromisocalendar(year, week, 1)
    days = [build_day(log, monday + dt.timedelta(days=i)) for i in range(7)]
    breaks = [b for d in days for b in d.breaks]
    return WeekModel(
        year,
        week,
        days,
        breaks,
        change([b.d_rmssd for b in breaks]),
        change([b.d_hr for b in breaks]),
        verdict(breaks),
        compare(breaks),
    )


def week_so_far(records: Sequence[dict] | Log, day: dt.date, tz_s: float | None = None) -> WeekModel:
    """The ISO week of `day`, up to and including it."""
    y, w, _ = day.isocalendar()
    wk = build_week(records, y, w, tz_s)
    wk.days = [d for d in wk.days if d.date <= day]
    wk.breaks = [b for d in wk.days for b in d.breaks]
    wk.rmssd, wk.hr = change([b.d_rmssd for b in wk.breaks]), change([b.d_hr for b in wk.breaks])
    wk.verdict, wk.comparison = verdict(wk.breaks), compare(wk.breaks)
    return wk
