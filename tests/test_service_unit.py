"""The systemd unit: it verifies, it rates 2.0 or lower, and the settings the daemon relies on are there."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

from tools import require_tool

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "kindpulse.service"
EXEC = "/opt/kindpulse/venv/bin/kindpulse"


def _settings() -> dict[str, list[str]]:
    """Every Key=value of the unit (keys repeat: DeviceAllow, SystemCallFilter...)."""
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_verify_a_copy_whose_binary_exists(tmp_path):
    """`systemd-analyze verify` checks that ExecStart exists: point a copy at a stand-in under a
    temporary root, change nothing else."""
    analyze = require_tool("systemd-analyze", "verifies the unit")
    fake = tmp_path / EXEC.lstrip("/")
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    text = UNIT.read_text()
    assert text.count(f"ExecStart={EXEC} ") == 1
    copy = tmp_path / "kindpulse.service"
    copy.write_text(text.replace(f"ExecStart={EXEC} ", f"ExecStart={fake} "))
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "kindpulse.service" not in done.stderr, done.stderr  # no warning about our unit either


def test_security_rating_at_most_2(tmp_path):
    analyze = require_tool("systemd-analyze", "rates the unit's exposure")
    # systemd 252 takes the threshold on the 0-100 scale: 20 is the 2.0 it prints.
    done = subprocess.run([analyze, "security", "--offline=true", "--threshold=20", str(UNIT)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    level = re.search(r"Overall exposure level for kindpulse.service: ([0-9.]+)", done.stdout)
    assert level and float(level.group(1)) <= 2.0, done.stdout[-500:]


def test_the_contract_with_the_daemon():
    s = _settings()
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"]
    assert int(s["WatchdogSec"][0]) >= 10
    assert int(s["TimeoutStartSec"][0]) >= 300  # a cold numba cache compiles before READY
    assert s["Restart"] == ["on-failure"] and int(s["RestartSec"][0]) >= 5
    assert s["RestartPreventExitStatus"] == ["2"]  # a bad config is not retried
    # at most StartLimitBurst starts in StartLimitIntervalSec: a crash loop stops, not the SD card
    assert int(s["StartLimitBurst"][0]) * int(s["RestartSec"][0]) < int(s["StartLimitIntervalSec"][0])
    assert s["User"] == ["kindpulse"] and s["SupplementaryGroups"] == ["i2c gpio"]
    assert s["StateDirectory"] == s["CacheDirectory"] == s["ConfigurationDirectory"] == ["kindpulse"]
    assert "NUMBA_CACHE_DIR=/var/cache/kindpulse/numba" in s["Environment"]
    assert s["DevicePolicy"] == ["closed"]
    assert sorted(s["DeviceAllow"]) == ["/dev/gpiomem rw", "/dev/i2c-1 rw", "char-gpiochip rw"]
    assert s["RestrictAddressFamilies"] == ["AF_UNIX"] and s["NoNewPrivileges"] == ["yes"]
    assert s["ProtectSystem"] == ["strict"] and s["CapabilityBoundingSet"] == [""]
    assert s["SystemCallFilter"][0] == "@system-service"
    # numba JITs: W^X would break it; the unit says so rather than setting it
    assert "MemoryDenyWriteExecute" not in s
    assert "ProtectKernelTunables" not in s  # RPi.GPIO's edge detection writes /sys/class/gpio
    assert re.search(r"# OFF on purpose: MemoryDenyWriteExecute=yes\. numba", UNIT.read_text())


def test_the_unit_parses_as_ini_and_installs():
    ini = configparser.ConfigParser(strict=False, interpolation=None)
    ini.optionxform = str
    ini.read_string(UNIT.read_text())
    assert ini["Install"]["WantedBy"] == "multi-user.target"
    assert ini["Service"]["ExecStart"].startswith(EXEC + " run --config /etc/kindpulse/config.toml")
