"""One self-contained HTML page: inline CSS, figures as PNG data URIs, no scripts, no network."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from html import escape

from kindpulse.report.model import Break, Change, DayModel, Verdict, WeekModel

CSS = """
:root { --ink:#3b3a4a; --muted:#8a8799; --card:#ffffff; --bg:#f6f5fa; --accent:#7a5cc7; --calm:#2f7d5b; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 20px 48px; }
header { margin-bottom: 18px; }
h1 { font-size: 1.7rem; margin: 0 0 2px; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 1.15rem; margin: 0 0 12px; font-weight: 620; }
.sub { color: var(--muted); margin: 0; }
.card { background: var(--card); border-radius: 16px; padding: 20px 22px; margin: 16px 0;
        box-shadow: 0 1px 2px rgba(40,30,80,.06), 0 4px 18px rgba(40,30,80,.05); }
.summary p { margin: 0 0 6px; font-size: 1.08rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px;
         margin-top: 14px; }
.tile { background: var(--bg); border-radius: 12px; padding: 10px 14px; }
.tile b { display: block; font-size: 1.45rem; font-weight: 650; }
.tile span { color: var(--muted); font-size: .85rem; }
img { max-width: 100%; height: auto; display: block; margin: 4px auto; }
table { border-collapse: collapse; width: 100%; font-size: .93rem; font-variant-numeric: tabular-nums; }
th { text-align: left; color: var(--muted); font-weight: 500; border-bottom: 1px solid #e7e5ef;
     padding: 6px 8px; }
td { border-bottom: 1px solid #f0eef6; padding: 6px 8px; }
.up { color: var(--calm); } .down { color: #b4574d; }
.verdict { border-left: 5px solid var(--accent); background: #f4f0fd; border-radius: 10px; padding: 12px 16px;
           margin: 14px 0 6px; }
.verdict.helps { border-color: var(--calm); background: #eaf5ef; }
.verdict.no_help, .verdict.unclear { border-color: #d9a24f; background: #fcf4e6; }
.note { color: var(--muted); font-size: .88rem; margin-top: 8px; }
.empty { text-align: center; padding: 56px 22px; }
.empty .big { font-size: 1.35rem; }
footer { color: var(--muted); font-size: .8rem; margin-top: 24px; text-align: center; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{escape(alt)}">'


def _fmt(x: float | None, digits: int = 0) -> str:
    return "&ndash;" if x is None else f"{x:.{digits}f}"


def _delta(x: float | None, unit: str, good_if_up: bool) -> str:
    if x is None:
        return "&ndash;"
    cls = "up" if (x > 0) == good_if_up and x != 0 else ("down" if x != 0 else "")
    return f'<span class="{cls}">{x:+.1f} {unit}</span>'


def _page(title: str, body: str, footer: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}<footer>{escape(footer)}</footer></main></body></html>\n"
    )


def _tiles(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<div class="tiles">'
        + "".join(f'<div class="tile"><b>{v}</b><span>{escape(k)}</span></div>' for k, v in items)
        + "</div>"
    )


def _summary(title: str, sub: str, sentences: Sequence[str], tiles: str) -> str:
    ps = "".join(f"<p>{escape(s)}</p>" for s in sentences)
    return (
        f"<header><h1>{escape(title)}</h1><p class='sub'>{escape(sub)}</p></header>"
        f'<section class="card summary" id="summary">{ps}{tiles}</section>'
    )


def _hours(seconds: float) -> str:
    m = int(round(seconds / 60))
    return f"{m // 60} h {m % 60:02d}" if m >= 60 else f"{m} min"


def breaks_table(breaks: Sequence[Break], local) -> str:
    rows = []
    for b in breaks:
        how = "after a prompt" if b.prompted else "you started it"
        how += " (ended early)" if b.ended_early else ""
        rows.append(
            f"<tr class='break'><td>{local(b.wall):%a %H:%M}</td><td>{how}</td>"
            f"<td>{_fmt(b.hr_before)} &rarr; {_fmt(b.hr_after)}</td><td>{_delta(b.d_hr, 'bpm', False)}</td>"
            f"<td>{_fmt(b.rmssd_before)} &rarr; {_fmt(b.rmssd_after)}</td>"
            f"<td>{_delta(b.d_rmssd, 'ms', True)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>when</th><th>how</th><th>heart rate (bpm)</th><th>change</th>"
        "<th>HRV, RMSSD (ms)</th><th>change</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _change_line(label: str, c: Change | None, unit: str) -> str:
    if c is None:
        return ""
    if c.n < 2:
        return f"<li>{label}: {c.mean:+.1f} {unit} (one break)</li>"
    return (
        f"<li>{label}: {c.mean:+.1f} {unit} on average, spread (SD) {c.sd:.1f} {unit}, "
        f"95 % interval {c.lo:+.1f} to {c.hi:+.1f} {unit}, {c.n} breaks</li>"
    )


def verdict_block(v: Verdict, rmssd: Change | None, hr: Change | None, comparison: str, scope: str) -> str:
    lines = _change_line("HRV (RMSSD)", rmssd, "ms") + _change_line("heart rate", hr, "bpm")
    return (
        f'<div class="verdict {v.level}" id="verdict"><b>{escape(scope)}:</b> {escape(v.text)}</div>'
        + (f"<ul class='note'>{lines}</ul>" if lines else "")
        + (f"<p class='note'>{escape(comparison)}</p>" if comparison else "")
        + "<p class='note'>Before = the minute before the break; after = the last minute of it. "
        "A rise in RMSSD is the calming (vagal) side of your nervous system at work.</p>"
    )


def _footer(source: str, tz_s: float) -> str:
    h, m = divmod(int(abs(tz_s)) // 60, 60)
    return f"kindpulse report · {source} · times in UTC{'+' if tz_s >= 0 else '-'}{h:02d}:{m:02d}"


def day_page(
    day: DayModel,
    week: WeekModel,
    timeline: bytes | None,
    breaks_png: bytes | None,
    baseline_png: bytes | None,
    sentences: Sequence[str],
    source: str,
) -> str:
    title = f"Your day, {day.date:%A %d %B %Y}"
    if not day.has_data:
        body = (
            f"<header><h1>{escape(title)}</h1></header>"
            f'<section class="card empty" id="summary"><p class="big">{escape(sentences[0])}</p>'
            + "".join(f"<p>{escape(s)}</p>" for s in sentences[1:])
            + "</section>"
        )
        return _page(title, body, _footer(source, day.tz_offset_s))
    tiles = _tiles(
        [
            ("worn", _hours(day.worn_s)),
            ("stress", _hours(day.stress_s)),
            ("prompts", str(day.prompts)),
            ("breaks", str(len(day.breaks))),
            ("dismissed", str(day.count("dismissed"))),
            ("snoozed", str(day.count("snoozed"))),
        ]
    )
    body = _summary(title, "a day at a glance", sentences, tiles)
    if timeline is not None:
        body += (
            '<section class="card" id="timeline"><h2>The day</h2>'
            + _img(timeline, "day timeline")
            + "<p class='note'>Shaded red: stress (your body, against your own calm). Green: breaks. "
            "The grey band is your usual range. The bottom rows show when the signal was missing "
            "or unreliable.</p></section>"
        )
    body += '<section class="card" id="breaks"><h2>Your breaks</h2>'
    if day.breaks:
        body += breaks_table(day.breaks, day.local)
        if breaks_png is not None:
            body += _img(breaks_png, "breaks before and after")
    else:
        body += "<p>No breaks today.</p>"
    body += (
        verdict_block(
            week.verdict, week.rmssd, week.hr, week.comparison, f"This week so far (week {week.week})"
        )
        + "</section>"
    )
    if baseline_png is not None:
        body += (
            '<section class="card" id="baseline"><h2>Your calm, day by day</h2>'
            + _img(baseline_png, "baseline evolution")
            + "<p class='note'>Points: the median of each day's calm minutes (bars: their usual spread). "
            "Band: the personal baseline the device compares you with.</p></section>"
        )
    return _page(title, body, _footer(source, day.tz_offset_s))


def week_page(
    week: WeekModel,
    week_png: bytes | None,
    breaks_png: bytes | None,
    baseline_png: bytes | None,
    sentences: Sequence[str],
    source: str,
) -> str:
    sunday = week.monday + dt.timedelta(days=6)
    title = f"Your week {week.week}, {week.monday:%d %b} to {sunday:%d %b %Y}"
    tz = week.days[0].tz_offset_s if week.days else 0.0
    worn = sum(d.worn_s for d in week.days)
    if worn == 0 and not week.breaks:
        body = (
            f"<header><h1>{escape(title)}</h1></header>"
            f'<section class="card empty" id="summary"><p class="big">{escape(sentences[0])}</p>'
            + "".join(f"<p>{escape(s)}</p>" for s in sentences[1:])
            + "</section>"
        )
        return _page(title, body, _footer(source, tz))
    tiles = _tiles(
        [
            ("worn", _hours(worn)),
            ("stress", _hours(sum(d.stress_s for d in week.days))),
            ("prompts", str(sum(d.prompts for d in week.days))),
            ("breaks", str(len(week.breaks))),
            ("dismissed", str(sum(d.count("dismissed") for d in week.days))),
            ("snoozed", str(sum(d.count("snoozed") for d in week.days))),
        ]
    )
    body = _summary(title, "a week at a glance", sentences, tiles)
    if week_png is not None:
        body += (
            '<section class="card" id="timeline"><h2>Day by day</h2>'
            + _img(week_png, "the week")
            + "</section>"
        )
    body += '<section class="card" id="breaks"><h2>Do the breaks help?</h2>'
    body += verdict_block(week.verdict, week.rmssd, week.hr, week.comparison, "This week")
    if week.breaks:
        local = week.days[0].local
        body += breaks_table(week.breaks, local)
        if breaks_png is not None:
            body += _img(breaks_png, "breaks before and after")
    body += "</section>"
    if baseline_png is not None:
        body += (
            '<section class="card" id="baseline"><h2>Your calm, day by day</h2>'
            + _img(baseline_png, "baseline evolution")
            + "</section>"
        )
    return _page(title, body, _footer(source, tz))
