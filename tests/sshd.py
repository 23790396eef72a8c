"""A throwaway OpenSSH server on 127.0.0.1 (tests/test_sync.py and bench/store.py).

Host and user keys are made in a temporary directory; sshd runs in the foreground (-D -e) with a
generated config: the keys' AuthorizedKeysFile, StrictModes and PAM off, keys only."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SshServer:
    proc: subprocess.Popen
    port: int
    tmp: Path
    options: list[str]  # ssh -o options that reach it with the user key
    remote: str  # this checkout's kindpulse, as a remote command
    host: str

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def start_sshd(sshd: str, keygen: str, tmp: Path, timeout_s: float = 10.0) -> SshServer:
    for name in ("host_key", "user_key", "other_key"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / name)], check=True)
    (tmp / "authorized_keys").write_text((tmp / "user_key.pub").read_text())
    os.chmod(tmp / "authorized_keys", 0o600)
    port = free_port()
    config = tmp / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {tmp / 'host_key'}",
                f"PidFile {tmp / 'sshd.pid'}",
                f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    while True:  # wait for the listener (sshd -D has no readiness signal)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"sshd did not start: {proc.stderr.read().decode()}") from None
            time.sleep(0.02)
    options = [
        f"Port={port}",
        f"IdentityFile={tmp / 'user_key'}",
        "IdentitiesOnly=yes",
        f"UserKnownHostsFile={tmp / 'known_hosts'}",
        "StrictHostKeyChecking=accept-new",
        "LogLevel=ERROR",
    ]
    remote = (
        f"env PYTHONPATH={shlex.quote(str(REPO / 'firmware_py'))} {shlex.quote(sys.executable)} -m kindpulse"
    )
    user = os.environ.get("USER") or "root"
    return SshServer(proc, port, tmp, options, remote, f"{user}@127.0.0.1")
