"""Records of the export schema, read straight from today's device log (store/db.py).

A stop-gap until `kindpulse.store.export.iter_records` lands (issue 9): same flat dicts
(`kind`, `id`, `device`, `run`, `t_s`, `wall` and the kind's fields), so the report does
not change when it switches. Delete this module then.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOG_NAME = "kindpulse.sqlite"
BASELINE_KEY = "baseline"


def _rec(
    kind: str, id_: str, device: str, run: int | None, t_s: float | None, wall: float | None, **fields: Any
) -> dict:
    return {"kind": kind, "id": id_, "device": device, "run": run, "t_s": t_s, "wall": wall, **fields}


def iter_sqlite_records(
    data_dir: Path, since: float | None = None, until: float | None = None, raw: bool = False
) -> Iterator[dict]:
    """Every record of the log in data_dir/kindpulse.sqlite with since <= wall < until
    (Unix seconds; runs, the device and the baseline always). `raw` (PPG) is not supported."""
    path = Path(data_dir) / LOG_NAME
    device = Path(data_dir).resolve().name
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    lo = -1e300 if since is None else since
    hi = 1e300 if until is None else until
    try:
        yield _rec("device", f"device:{device}", device, None, None, None)
        starts: dict[int, float] = {}
        for sid, started, info in db.execute("SELECT id, started_wall, info FROM sessions ORDER BY id"):
            starts[sid] = started
            yield _rec(
                "run",
                f"run:{sid}",
                device,
                sid,
                0.0,
                started,
                boot_id=None,
                started_wall=started,
                version=None,
                info=json.loads(info),
            )
        rows = db.execute(
            "SELECT id, session, t_s, wall, type, data FROM events WHERE wall >= ? AND wall < ? "
            "ORDER BY wall, id",
            (lo, hi),
        )
        for eid, sid, t_s, wall, type_, data in rows:
            d = json.loads(data)
            if type_ == "state":
                yield _rec(
                    "state",
                    f"state:{eid}",
                    device,
                    sid,
                    t_s,
                    wall,
                    state=d.get("state"),
                    **{"from": d.get("from")},
                )
            else:
                yield _rec("event", f"event:{eid}", device, sid, t_s, wall, type=type_, data=d)
        rows = db.execute(
            "SELECT rowid, session, t_s, wall, window_s, metrics FROM hrv WHERE wall >= ? AND wall < ? "
            "ORDER BY wall",
            (lo, hi),
        )
        for rid, sid, t_s, wall, window_s, metrics in rows:
            yield _rec(
                "hrv", f"hrv:{rid}", device, sid, t_s, wall, window_s=window_s, metrics=json.loads(metrics)
            )
        for rid, sid, t_s, ibi in db.execute("SELECT rowid, session, t_s, ibi_ms FROM nn ORDER BY rowid"):
            wall = starts.get(sid, 0.0) + t_s
            if lo <= wall < hi:
                yield _rec("nn", f"nn:{rid}", device, sid, t_s, wall, ibi_ms=ibi)
        row = db.execute("SELECT value, wall FROM state WHERE key=?", (BASELINE_KEY,)).fetchone()
        if row:
            yield _rec("baseline", "baseline:latest", device, None, None, row[1], baseline=json.loads(row[0]))
    finally:
        db.close()
