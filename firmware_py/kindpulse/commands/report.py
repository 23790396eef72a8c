"""`kindpulse report`: a day or a week at a glance, one self-contained HTML file (and the day
timeline as a PNG with --format png)."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

from kindpulse.commands import help_for
from kindpulse.errors import InputError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def iso_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--day takes YYYY-MM-DD (e.g. 2026-01-05), not {text!r}") from None


def iso_week(text: str) -> tuple[int, int]:
    m = _WEEK.match(text)
    if m:
        try:
            dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return int(m[1]), int(m[2])
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"--week takes an ISO week YYYY-Www (e.g. 2026-W02), not {text!r}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=help_for("report"))
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path("/var/lib/kindpulse"),
        metavar="DIR",
        help="the device's data directory, or a synced copy DEST/<device id> (default /var/lib/kindpulse)",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--day", type=iso_day, metavar="YYYY-MM-DD", help="which day (default: the latest with data)"
    )
    when.add_argument("--week", type=iso_week, metavar="YYYY-Www", help="an ISO week, e.g. 2026-W02")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.html", help="where the report goes")
    p.add_argument(
        "--format",
        choices=("html", "png"),
        default="html",
        help="png: also write the day timeline as FILE.png",
    )
    p.set_defaults(run=run)


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"cannot write {path} ({exc.strerror}): choose another --out") from None


def run(args: argparse.Namespace) -> int:
    from kindpulse.report import build_report

    out: Path = args.out
    if out.is_dir():
        raise InputError(f"--out {out} is a directory: give a file name, e.g. {out}/report.html")
    html_path = out.with_suffix(".html") if out.suffix.lower() == ".png" else out
    report = build_report(args.data_dir, day=args.day, week=args.week)
    _write(html_path, report.html.encode("utf-8"))
    print(f"wrote {html_path}")
    if args.format == "png":
        if report.timeline_png is None:
            print("no data for a timeline: no PNG written")
        else:
            png_path = html_path.with_suffix(".png")
            _write(png_path, report.timeline_png)
            print(f"wrote {png_path}")
    return 0
