"""`kindpulse export`: the log as records (jsonl or csv) on standard output or into a file.

The cursor after the last record goes to stderr (``cursor: <device>/<seq>``); give it to
``--since`` next time for what came after. ``--format sync`` is the framed stream that
`kindpulse sync` reads over SSH: a header line, records in batches each followed by its count,
checksum and cursor, and an end line (docs/store.md).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

from kindpulse.commands import help_for
from kindpulse.errors import InputError
from kindpulse.store.export import (
    CSV_COLUMNS,
    Snapshot,
    batch_digest,
    csv_row,
    dumps_record,
    parse_cursor,
    records,
    snapshot,
)

SYNC_PROTOCOL = 1
DEFAULT_BATCH = 5000


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch-size takes a whole number, not {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("--batch-size must be between 1 and 1000000")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help=help_for("export"))
    p.add_argument(
        "--data-dir", type=Path, help="the log's directory (default: device.data_dir of the config)"
    )
    p.add_argument("--config", type=Path, help="TOML config (default /etc/kindpulse/config.toml)")
    p.add_argument(
        "--since",
        action="append",
        metavar="CURSOR",
        help="only records after this cursor (as the last export printed it)",
    )
    p.add_argument("--until", metavar="CURSOR", help="only records up to this cursor")
    p.add_argument("--format", choices=("jsonl", "csv", "sync"), default="jsonl")
    p.add_argument("--raw", action="store_true", help="include the raw PPG chunks (sample counts)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")
    p.add_argument("--batch-size", type=_batch_size, default=DEFAULT_BATCH, help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def data_dir_of(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return args.data_dir
    from kindpulse.config import load_config

    return Path(load_config(args.config, required=args.config is not None).device.data_dir)


def _since(snap: Snapshot, cursors: list[str] | None, many: bool) -> int:
    if not cursors:
        return -1
    if not many:
        if len(cursors) > 1:
            raise InputError("give --since once (several are for --format sync, one per device)")
        return parse_cursor(cursors[0], snap.device_id)
    mine = [c for c in cursors if c.split("/")[0] == snap.device_id or "/" not in c]
    return parse_cursor(mine[-1], snap.device_id) if mine else -1


def run(args: argparse.Namespace) -> int:
    snap = snapshot(data_dir_of(args))
    try:
        lo = _since(snap, args.since, many=args.format == "sync")
        hi = parse_cursor(args.until, snap.device_id) if args.until else snap.last_seq
        hi = min(hi, snap.last_seq)
        out, tmp = _open_out(args.out)
        try:
            n = _write(snap, out, args.format, lo, hi, args.raw, args.batch_size)
            out.flush()
        except BrokenPipeError:  # `export | head`: the reader has what it wanted
            _quiet_stdout()
            return 0
        if tmp is not None:
            out.close()
            os.replace(tmp, args.out)
    finally:
        snap.close()
    if args.format != "sync":
        print(f"cursor: {snap.cursor(max(hi, lo, 0))} ({n} records)", file=sys.stderr)
    return 0


def _open_out(path: Path | None):
    if path is None:
        return sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout, None
    tmp = path.with_name(f".{path.name}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    except OSError as exc:
        raise InputError(f"cannot write {path} ({exc.strerror}): choose another --out") from None
    return os.fdopen(fd, "wb"), tmp


def _write(snap: Snapshot, out, fmt: str, lo: int, hi: int, raw: bool, batch: int) -> int:
    binary = not isinstance(out, io.TextIOBase)

    def put(text: str) -> None:
        out.write(text.encode() if binary else text)

    n = 0
    if fmt == "jsonl":
        for rec in records(snap, lo, hi, raw):
            put(dumps_record(rec) + "\n")
            n += 1
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([*CSV_COLUMNS, "fields"])
        for rec in records(snap, lo, hi, raw):
            writer.writerow(csv_row(rec))
            n += 1
            if buf.tell() > 1 << 16:
                put(buf.getvalue())
                buf.seek(0)
                buf.truncate()
        put(buf.getvalue())
    else:
        n = _write_sync(snap, put, lo, hi, raw, batch)
    return n


def _write_sync(snap: Snapshot, put, lo: int, hi: int, raw: bool, batch: int) -> int:
    from kindpulse import __version__

    put(
        json.dumps(
            {
                "sync": SYNC_PROTOCOL,
                "device": snap.device_id,
                "since": lo,
                "until": hi,
                "raw": raw,
                "version": __version__,
            }
        )
        + "\n"
    )
    lines: list[bytes] = []
    n = k = 0

    def close_batch(cursor: int) -> None:
        nonlocal k
        k += 1
        put(b"".join(lines).decode())
        put(
            json.dumps(
                {
                    "batch": k,
                    "count": len(lines),
                    "sha256": batch_digest(lines),
                    "cursor": snap.cursor(cursor),
                }
            )
            + "\n"
        )
        lines.clear()

    for rec in records(snap, lo, hi, raw):
        lines.append((dumps_record(rec) + "\n").encode())
        n += 1
        if len(lines) >= batch:
            close_batch(rec["seq"])
    if lines:
        close_batch(hi)
    put(json.dumps({"end": True, "records": n, "batches": k, "cursor": snap.cursor(max(hi, lo, 0))}) + "\n")
    return n


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
