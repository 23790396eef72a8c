"""Talking to systemd (sd_notify(3)): READY, WATCHDOG, STATUS and STOPPING datagrams.

The protocol is a few lines, so no library: each message is one datagram of newline-separated
``KEY=VALUE`` lines sent to the unix socket named by ``$NOTIFY_SOCKET`` (an address starting with
``@`` is in the abstract namespace: a leading NUL byte). Without ``$NOTIFY_SOCKET`` (not under
systemd) every call is a no-op. A send that fails is logged once and never stops the daemon.

`ServiceNotifier` is the policy the device's loop calls into: READY once, WATCHDOG=1 every half
``$WATCHDOG_USEC`` while the loop is healthy (only the loop calls `tick`, so a stuck loop sends
nothing and systemd restarts it), STATUS only when the line a person reads changes, STOPPING once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from kindpulse.clock import Clock

log = logging.getLogger("kindpulse.notify")

# A line whose state part is unchanged (only the heart rate moved) is re-sent at most this often:
# `systemctl status` stays current without a datagram per beat.
STATUS_DETAIL_EVERY_S = 30.0
TIME_EPS_S = 1e-6  # a ping due "now" on a clock summed from float steps is not skipped


def socket_address(value: str) -> str | bytes | None:
    """The address for socket.connect(): a path, or NUL + name for ``@name`` (abstract namespace).

    None for forms this daemon does not speak (``vsock:``) or an empty value.
    """
    if value.startswith("@") and len(value) > 1:
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


class NotifySocket:
    """One unix datagram socket to the service manager; `send` never raises and never blocks."""

    def __init__(self, address: str | bytes) -> None:
        self.address = address
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> NotifySocket | None:
        value = environ.get("NOTIFY_SOCKET", "")
        address = socket_address(value)
        if address is None:
            if value:
                log.warning("NOTIFY_SOCKET=%s: unsupported address, not notifying systemd", value)
            return None
        return cls(address)

    def send(self, *lines: str) -> bool:
        """Send ``KEY=VALUE`` lines as one datagram; False (logged once) when it could not."""
        try:
            if self._sock is None:
                # Non-blocking: a manager that is not reading (queue full) must not stall the loop;
                # the message is dropped instead, and the next turn sends a fresh one.
                kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
                sock = socket.socket(socket.AF_UNIX, kind)
                sock.connect(self.address)
                self._sock = sock
            self._sock.send("\n".join(lines).encode())
        except BlockingIOError:
            if not self._warned:
                log.warning("systemd is not reading its notify socket; dropping a message")
                self._warned = True
            return False
        except OSError as exc:
            if not self._warned:
                log.warning("could not notify systemd (%s); the watchdog may restart the service", exc)
                self._warned = True
            self.close()  # reconnect on the next send
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_period_s(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of ``$WATCHDOG_USEC`` (sd_watchdog_enabled(3)).

    None when there is no watchdog, or when ``$WATCHDOG_PID`` names another process.
    """
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


@dataclass(frozen=True)
class ServiceStatus:
    """What `systemctl status` shows: a state, its detail (heart rate or what is wrong), the last prompt.

    A change of `state` or `last_prompt` is sent at once; a change of `detail` alone at most every
    `STATUS_DETAIL_EVERY_S`.
    """

    state: str
    detail: str = ""
    last_prompt: str = ""

    def line(self) -> str:
        text = f"{self.state}: {self.detail}" if self.detail else self.state
        return f"{text}; last prompt {self.last_prompt}" if self.last_prompt else text


class ServiceNotifier:
    """The daemon's side of Type=notify, timed on the injected clock (seconds)."""

    def __init__(self, sock: NotifySocket | None, clock: Clock, watchdog_period_s: float | None,
                 detail_every_s: float = STATUS_DETAIL_EVERY_S) -> None:
        self.sock = sock
        self.clock = clock
        self.watchdog_period_s = watchdog_period_s
        self.detail_every_s = detail_every_s
        self.is_ready = False
        self._last_ping: float | None = None
        self._last_tick: float | None = None
        self._status: ServiceStatus | None = None
        self._status_sent_s = 0.0
        self._stopping = False

    @classmethod
    def from_environ(cls, clock: Clock, environ: Mapping[str, str] | None = None,
                     pid: int | None = None) -> ServiceNotifier:
        """From ``$NOTIFY_SOCKET``, ``$WATCHDOG_USEC`` and ``$WATCHDOG_PID`` (os.environ by default)."""
        environ = os.environ if environ is None else environ
        pid = os.getpid() if pid is None else pid
        return cls(NotifySocket.from_environ(environ), clock, watchdog_period_s(environ, pid))

    @property
    def active(self) -> bool:
        return self.sock is not None

    def ready(self, status: ServiceStatus) -> None:
        """READY=1 with the first STATUS (once); starts the watchdog cadence."""
        if self.is_ready or self.sock is None:
            self.is_ready = True
            return
        self.is_ready = True
        self._status, self._status_sent_s = status, self.clock.monotonic()
        self._last_ping = self._status_sent_s
        self.sock.send("READY=1", f"STATUS={status.line()}")

    def seconds_to_ping(self) -> float:
        """Seconds until the next WATCHDOG=1 is due (0 when overdue, inf without a watchdog): the
        loop sleeps no longer than this, so a ping is never late by a loop turn."""
        if self.sock is None or self.watchdog_period_s is None or self._last_ping is None:
            return float("inf")
        return max(0.0, self._last_ping + self.watchdog_period_s - self.clock.monotonic())

    def tick(self, status: ServiceStatus, healthy: bool = True) -> None:
        """Called by the main loop after each turn: WATCHDOG=1 when due and healthy, STATUS on change."""
        if self.sock is None or not self.is_ready or self._stopping:
            return
        now = self.clock.monotonic()
        turn_s = 0.0 if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        lines = []
        # Due when the next turn (as long as this one was) would be late: gaps stay <= the period.
        if healthy and self.watchdog_period_s is not None and (
                self._last_ping is None
                or now - self._last_ping + turn_s >= self.watchdog_period_s - TIME_EPS_S):
            lines.append("WATCHDOG=1")
            self._last_ping = now
        if self._status_due(status, now):
            lines.append(f"STATUS={status.line()}")
            self._status, self._status_sent_s = status, now
        if lines:
            self.sock.send(*lines)

    def _status_due(self, status: ServiceStatus, now: float) -> bool:
        old = self._status
        if old is None or (old.state, old.last_prompt) != (status.state, status.last_prompt):
            return True
        return old.detail != status.detail and now - self._status_sent_s >= self.detail_every_s

    def stopping(self, status: str = "stopping") -> None:
        """STOPPING=1 (once), e.g. from the SIGTERM path before the shutdown flush."""
        if self._stopping or self.sock is None:
            self._stopping = True
            return
        self._stopping = True
        self.sock.send("STOPPING=1", f"STATUS={status}")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
