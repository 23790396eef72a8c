"""The daemon's Type=notify contract on a real unix datagram socket passed as NOTIFY_SOCKET.

In process: the simulated device on the virtual clock (READY, WATCHDOG at least once per half
period while the loop turns, none while it is stuck in a hung read, STATUS on change, STOPPING).
One subprocess: `kindpulse run --sim` at real speed (READY, STATUS, SIGTERM -> exit 0).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kindpulse.config import Config
from kindpulse.rigs.simulated import build_sim_rig, sim_config
from kindpulse.sim.sources import SyntheticSource

ROOT = Path(__file__).resolve().parents[1]


def _listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    return sock


def _drain(sock: socket.socket) -> list[list[str]]:
    got = []
    while True:
        try:
            got.append(sock.recv(4096).decode().split("\n"))
        except BlockingIOError:
            return got


def test_device_loop_on_the_virtual_clock(tmp_path):
    sock = _listener(tmp_path / "notify.sock")
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "4000000"}  # ping every 2 s
    out = tmp_path / "sim"
    rig = build_sim_rig(SyntheticSource.resting(200.0, seed=3), sim_config(Config(), {}, out), out,
                        systemd=env)
    stall = {"at_s": 60.0, "for_s": 15.0, "done": False}
    read = rig.chip.i2c_read

    def hung_read(n: int) -> bytes:  # one FIFO read that hangs for 15 s, as a wedged I2C bus would
        if not stall["done"] and rig.device.now() >= stall["at_s"]:
            stall["done"] = True
            rig.clock.advance(stall["for_s"])
        return read(n)

    rig.chip.i2c_read = hung_read
    log: list[tuple[float, list[str]]] = []
    rig.run_until(120.0, each_step=lambda now: log.extend((now, m) for m in _drain(sock)))
    rig.device.shutdown()
    log.extend((rig.device.now(), m) for m in _drain(sock))
    sock.close()

    ready = [t for t, m in log if "READY=1" in m]
    assert len(ready) == 1 and ready[0] < 1.0  # the first turn: the emulated sensor is up
    pings = [t for t, m in log if "WATCHDOG=1" in m]
    before = [t for t in pings if t <= stall["at_s"]]
    after = [t for t in pings if t > stall["at_s"] + stall["for_s"]]
    # healthy: no gap longer than the half period (2 s), before and after the stall
    for start, series in ((ready[0], before), (after[0], after)):
        gaps = [b - a for a, b in zip([start, *series], series, strict=False)]
        assert len(series) >= 20 and max(gaps) <= 2.0 + 1e-6, gaps
    # stuck: nothing while the read hung; the first turn after it pings again
    hung = [t for t in pings if stall["at_s"] < t < stall["at_s"] + stall["for_s"]]
    assert hung == [] and after[0] - (stall["at_s"] + stall["for_s"]) < 1.0
    statuses = [line[7:] for _, m in log for line in m if line.startswith("STATUS=")]
    assert any(s.startswith("calibrating") and "HR " in s for s in statuses), statuses
    assert len(statuses) < 20  # on change only: two minutes with a heart rate that moves every beat
    assert log[-1][1] == ["STOPPING=1", "STATUS=stopping"]


def test_sensor_missing_is_ready_with_the_error_in_status(tmp_path):
    sock = _listener(tmp_path / "notify.sock")
    out = tmp_path / "sim"
    rig = build_sim_rig(SyntheticSource.resting(30.0), sim_config(Config(), {}, out), out, chip_present=False,
                        systemd={"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "4000000"})
    rig.run_until(10.0)
    rig.device.shutdown()
    msgs = _drain(sock)
    sock.close()
    assert msgs[0][0] == "READY=1" and msgs[0][1].startswith("STATUS=sensor error, retrying: ")
    assert sum("WATCHDOG=1" in m for m in msgs) >= 4  # retrying is healthy: the loop still turns


def test_kindpulse_run_sim_speaks_the_protocol(tmp_path):
    """A real process: READY with a STATUS, pings, then SIGTERM -> STOPPING=1 and exit 0."""
    path = tmp_path / "notify.sock"
    sock = _listener(path)
    env = {**os.environ, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000000",
           "PYTHONPATH": str(ROOT / "firmware_py")}
    cmd = [sys.executable, "-m", "kindpulse", "run", "--sim", "--data-dir", str(tmp_path / "d")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    msgs: list[list[str]] = []
    try:
        deadline = time.monotonic() + 120  # a cold numba cache compiles first
        while time.monotonic() < deadline and proc.poll() is None:
            msgs += _drain(sock)
            lines = [line for m in msgs for line in m]
            if "READY=1" in lines and lines.count("WATCHDOG=1") >= 2:
                break
            time.sleep(0.05)  # waiting for the process, not timing the logic
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    msgs += _drain(sock)
    sock.close()
    lines = [line for m in msgs for line in m]
    assert code == 0, proc.stderr.read()
    assert lines.count("READY=1") == 1 and "STOPPING=1" in lines
    assert lines.index("READY=1") < lines.index("STOPPING=1")
    assert [x for x in lines if x.startswith("STATUS=")][0] in ("STATUS=waiting for a finger",
                                                              "STATUS=calibrating 0%"), lines
    assert lines.count("WATCHDOG=1") >= 2


@pytest.mark.parametrize("value", ["", "vsock:2:9"])
def test_no_usable_socket_runs_as_before(tmp_path, value):
    out = tmp_path / "sim"
    rig = build_sim_rig(SyntheticSource.resting(30.0), sim_config(Config(), {}, out), out,
                        systemd={"NOTIFY_SOCKET": value} if value else {})
    rig.run_until(5.0)
    rig.device.shutdown()
    assert [e["type"] for e in rig.events][0] == "start"
