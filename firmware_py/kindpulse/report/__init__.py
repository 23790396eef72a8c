"""`kindpulse report`: a day or a week at a glance, as one self-contained HTML page.

records (store export schema) -> model (day, week: pure) -> plots (matplotlib Agg, PNG)
                               -> summary (kind words)   -> page (HTML, data URIs)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from kindpulse.report import model
from kindpulse.report.load import check_data_dir, iter_records

EVOLUTION_DAYS = 14  # how far back the day report's "your calm, day by day" looks


@dataclass
class Report:
    html: str
    timeline_png: bytes | None  # the day timeline (the first day with data of a week)
    title_day: dt.date | None


def _records(data_dir: Path) -> list[dict]:
    # the report needs no single NN intervals: the HRV windows carry everything it draws
    return model.by_wall([r for r in iter_records(data_dir) if r["kind"] != "nn"])


def _evolution(log: model.Log, days: list[dt.date]) -> list:
    rows = []
    for d in days:
        m = model.build_day(log, d)
        if m.calm or m.baseline:
            rows.append((d, m.calm, m.baseline))
    return rows


def build_report(
    data_dir: Path, *, day: dt.date | None = None, week: tuple[int, int] | None = None
) -> Report:
    """The report of one day (the latest with data by default) or one ISO week (year, week)."""
    from kindpulse.report import page, plots, summary

    d = check_data_dir(data_dir)
    records = _records(d)
    tz = model.tz_offset_s(records)
    have = model.days_with_data(records, tz)
    log = model.Log.of(records, tz)
    source = d.resolve().name
    if week is not None:
        wk = model.build_week(log, *week)
        days = [x.date for x in wk.days]
        rows = _evolution(log, [x for x in days if x in have])
        first = next((x for x in wk.days if x.has_data), None)
        timeline = plots.day_timeline(first) if first is not None else None
        html = page.week_page(
            wk,
            plots.week_chart(wk) if first is not None else None,
            plots.breaks_chart(wk.breaks) if wk.breaks else None,
            plots.baseline_chart(rows) if rows else None,
            summary.week_summary(wk),
            source,
        )
        return Report(html, timeline, first.date if first else None)
    if day is None:
        day = have[-1] if have else dt.datetime.now(dt.timezone.utc).date()
    dm = model.build_day(log, day)
    wk = model.week_so_far(log, day)
    back = [x for x in have if day - dt.timedelta(days=EVOLUTION_DAYS - 1) <= x <= day]
    rows = _evolution(log, back) if dm.has_data else []
    timeline = plots.day_timeline(dm) if dm.has_data else None
    html = page.day_page(
        dm,
        wk,
        timeline,
        plots.breaks_chart(dm.breaks) if dm.breaks else None,
        plots.baseline_chart(rows) if rows else None,
        summary.day_summary(dm),
        source,
    )
    return Report(html, timeline, day if dm.has_data else None)
