"""sd_notify against a real unix datagram socket, timed on the virtual clock."""

from __future__ import annotations

import os
import socket

import pytest

from kindpulse.clock import VirtualClock
from kindpulse.notify import (
    NotifySocket,
    ServiceNotifier,
    ServiceStatus,
    socket_address,
    watchdog_period_s,
)


class Listener:
    """The service manager's end: a bound datagram socket; `take()` returns what arrived."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)

    def take(self) -> list[list[str]]:
        got = []
        while True:
            try:
                got.append(self.sock.recv(4096).decode().split("\n"))
            except BlockingIOError:
                return got


@pytest.fixture
def listener(tmp_path):
    path = str(tmp_path / "notify.sock")
    lst = Listener(path)
    yield path, lst
    lst.sock.close()


def test_addresses():
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@kp/notify") == b"\0kp/notify"
    assert socket_address("vsock:2:1234") is None
    assert socket_address("") is None
    assert socket_address("@") is None


def test_watchdog_period_is_half_the_timeout_and_only_for_our_pid():
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000"}, pid=7) == 15.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, pid=7) == 15.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"}, pid=7) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "junk"}, pid=7) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "0"}, pid=7) is None
    assert watchdog_period_s({}, pid=7) is None


def test_not_under_systemd_everything_is_a_no_op():
    n = ServiceNotifier.from_environ(VirtualClock(), environ={}, pid=1)
    assert not n.active
    n.ready(ServiceStatus("monitoring"))
    n.tick(ServiceStatus("monitoring"))
    n.stopping()
    assert n.is_ready


def test_abstract_namespace_socket_receives_ready():
    name = f"@kindpulse-test-{os.getpid()}"
    lst = Listener(socket_address(name))
    try:
        n = ServiceNotifier.from_environ(VirtualClock(), environ={"NOTIFY_SOCKET": name}, pid=1)
        n.ready(ServiceStatus("starting"))
        assert lst.take() == [["READY=1", "STATUS=starting"]]
    finally:
        lst.sock.close()


def test_ready_once_watchdog_every_half_period_while_healthy(listener):
    path, lst = listener
    clock = VirtualClock()
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    n = ServiceNotifier.from_environ(clock, environ=env, pid=1)
    assert n.watchdog_period_s == 1.0
    n.tick(ServiceStatus("starting"))  # before READY: nothing
    assert lst.take() == []
    n.ready(ServiceStatus("monitoring", "HR 60 bpm"))
    n.ready(ServiceStatus("monitoring", "HR 60 bpm"))
    assert lst.take() == [["READY=1", "STATUS=monitoring: HR 60 bpm"]]
    pings = []
    for _ in range(100):  # 10 s of loop turns every 0.1 s
        clock.advance(0.1)
        n.tick(ServiceStatus("monitoring", "HR 60 bpm"))
        pings += [clock.monotonic() for msg in lst.take() if "WATCHDOG=1" in msg]
    gaps = [b - a for a, b in zip([0.0, *pings], pings, strict=False)]
    assert len(pings) >= 9 and max(gaps) <= 1.0 + 1e-9
    # Unhealthy (or stuck: no tick at all): no pings, so systemd's watchdog fires.
    for _ in range(50):
        clock.advance(0.1)
        n.tick(ServiceStatus("monitoring", "HR 60 bpm"), healthy=False)
    assert [m for m in lst.take() if "WATCHDOG=1" in m] == []
    assert n.seconds_to_ping() == 0.0


def test_status_sent_on_change_only(listener):
    path, lst = listener
    clock = VirtualClock()
    n = ServiceNotifier.from_environ(clock, environ={"NOTIFY_SOCKET": path}, pid=1)
    n.ready(ServiceStatus("calibrating", "HR 70 bpm"))
    lst.take()
    sent = []
    for i in range(600):  # 60 s, the heart rate changing every turn
        clock.advance(0.1)
        state = "break" if 300 <= i < 310 else "monitoring"
        n.tick(ServiceStatus(state, f"HR {60 + i % 7} bpm", last_prompt="14:02" if i >= 300 else ""))
        sent += [m for m in lst.take()]
    lines = [line for msg in sent for line in msg]
    assert all(line.startswith("STATUS=") for line in lines)  # no watchdog configured
    # state changes at once (monitoring, break, monitoring); the heart rate alone every 30 s
    assert lines[0].startswith("STATUS=monitoring: HR")
    assert "STATUS=break: HR 66 bpm; last prompt 14:02" in lines
    assert lines[2].startswith("STATUS=monitoring") and lines[2].endswith("; last prompt 14:02")
    assert 3 <= len(lines) <= 5


def test_stopping_once(listener):
    path, lst = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1"}
    n = ServiceNotifier.from_environ(VirtualClock(), environ=env, pid=1)
    n.ready(ServiceStatus("monitoring"))
    lst.take()
    n.stopping()
    n.stopping()
    n.tick(ServiceStatus("monitoring"))  # after STOPPING: no more pings
    assert lst.take() == [["STOPPING=1", "STATUS=stopping"]]


def test_a_vanished_manager_never_raises(tmp_path, caplog):
    path = str(tmp_path / "gone.sock")
    lst = Listener(path)
    sock = NotifySocket(path)
    assert sock.send("READY=1")
    lst.sock.close()
    os.unlink(path)
    assert not sock.send("WATCHDOG=1")
    assert not sock.send("WATCHDOG=1")
    assert sum("could not notify systemd" in r.message for r in caplog.records) == 1


def test_a_manager_that_does_not_read_never_blocks_the_loop(listener):
    path, lst = listener  # bound, never read: its queue fills up
    sock = NotifySocket(path)
    sent = [sock.send("WATCHDOG=1") for _ in range(5000)]
    assert sent[0] and not sent[-1]  # the queue filled, later messages were dropped, nothing hung
    assert len(lst.take()) == sent.count(True)
