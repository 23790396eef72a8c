"""systemd/install.sh and uninstall.sh, dry run against a throwaway root.

`--root DIR` writes every file under DIR and runs systemd-sysusers / systemd-tmpfiles for real
against it (so owners come from DIR/etc/passwd); apt-get, pip, raspi-config, systemctl, the warm-up
and doctor are recorded in DIR/install-commands.log instead of run (the venv is made without pip:
the pip call is the stubbed step).
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from tools import require_tool

from kindpulse.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "systemd" / "install.sh"
UNINSTALL = ROOT / "systemd" / "uninstall.sh"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the dry run sets owners: run as root (CI does)")


def _run(script: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _names(root: Path, db: str) -> dict[int, str]:
    rows = (line.split(":") for line in (root / "etc" / db).read_text().splitlines() if line)
    return {int(r[2]): r[0] for r in rows}


def _owner(root: Path, rel: str) -> tuple[str, str, int]:
    st = (root / rel).lstat()
    return _names(root, "passwd").get(st.st_uid, str(st.st_uid)), _names(root, "group").get(
        st.st_gid, str(st.st_gid)), stat.S_IMODE(st.st_mode)


@pytest.fixture
def target(tmp_path):
    require_tool("systemd-sysusers", "creates the service user under the throwaway root")
    require_tool("systemd-tmpfiles", "creates the service's directories under the throwaway root")
    root = tmp_path / "root"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "etc").mkdir()  # a fresh system's accounts: root only (sysusers adds the rest)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    boot = root / "boot" / "firmware" / "config.txt"
    boot.write_text("dtparam=audio=on\ndtparam=i2c_arm_baudrate=100000\n")
    return root


def test_install_upgrade_uninstall(target):
    root = target
    out = _run(INSTALL, "--root", str(root)).stdout
    assert "config -> /etc/kindpulse/config.toml" in out

    # the service user, in the hardware groups
    passwd = (root / "etc/passwd").read_text()
    assert "kindpulse:x:" in passwd and ":/var/lib/kindpulse:/usr/sbin/nologin" in passwd
    groups = {g.split(":")[0]: g.split(":")[3].split(",") for g in (root / "etc/group").read_text().split()}
    assert "kindpulse" in groups["i2c"] and "kindpulse" in groups["gpio"]

    # files, modes, owners by name
    assert _owner(root, "etc/kindpulse") == ("root", "kindpulse", 0o750)
    assert _owner(root, "etc/kindpulse/config.toml") == ("root", "kindpulse", 0o640)
    assert _owner(root, "var/lib/kindpulse") == ("kindpulse", "kindpulse", 0o750)
    assert _owner(root, "var/cache/kindpulse/numba") == ("kindpulse", "kindpulse", 0o750)
    assert _owner(root, "etc/systemd/system/kindpulse.service")[2] == 0o644
    assert (root / "etc/systemd/system/kindpulse.service").read_text() == (
        ROOT / "systemd/kindpulse.service").read_text()
    assert os.readlink(root / "usr/local/bin/kindpulse") == "/opt/kindpulse/venv/bin/kindpulse"
    assert (root / "opt/kindpulse/venv/pyvenv.cfg").exists()  # a venv: never pip into the system
    assert (root / "opt/kindpulse/src/firmware_py/kindpulse/notify.py").exists()
    assert (root / "usr/lib/sysusers.d/kindpulse.conf").exists()

    # every key commented: the installed config gives the defaults, and names every key
    config = root / "etc/kindpulse/config.toml"
    assert load_config(config, required=True) == Config()
    example = (ROOT / "systemd/config.example.toml").read_text()
    keys = [line.split(" = ")[0] for line in example.splitlines()
            if " = " in line and not line.startswith("#")]
    assert len(keys) > 50 and all(f"\n# {k} = " in config.read_text() for k in keys)

    # I2C on at 400 kHz, the old rate replaced
    boot = (root / "boot/firmware/config.txt").read_text().splitlines()
    assert "dtparam=i2c_arm=on" in boot and "dtparam=i2c_arm_baudrate=400000" in boot
    assert "dtparam=i2c_arm_baudrate=100000" not in boot and "dtparam=audio=on" in boot

    log = (root / "install-commands.log").read_text().splitlines()
    order = ["apt-get install",
             "/opt/kindpulse/venv/bin/pip install --quiet --upgrade /opt/kindpulse/src[pi]",
             "raspi-config nonint do_i2c 0", "systemctl daemon-reload",
             "runuser -u kindpulse -- env NUMBA_CACHE_DIR=/var/cache/kindpulse/numba",
             "systemctl enable kindpulse.service", "/opt/kindpulse/venv/bin/kindpulse doctor",
             "systemctl restart kindpulse.service"]
    at = [next(i for i, line in enumerate(log) if line.startswith(o)) for o in order]
    assert at == sorted(at), log

    # upgrade in place: an edited config survives, the code is replaced, I2C lines not doubled
    config.write_text(config.read_text().replace('# mode = "worn"', 'mode = "desk"'))
    (root / "opt/kindpulse/src/stale.py").write_text("")
    out = _run(INSTALL, "--root", str(root), "--extra", "pi5").stdout
    assert "keeping /etc/kindpulse/config.toml" in out
    assert load_config(config, required=True).device.mode == "desk"
    assert _owner(root, "etc/kindpulse/config.toml") == ("root", "kindpulse", 0o640)
    assert not (root / "opt/kindpulse/src/stale.py").exists()
    assert (root / "boot/firmware/config.txt").read_text().count("i2c_arm_baudrate") == 1
    assert passwd == (root / "etc/passwd").read_text()  # the same user, not a second one
    log = (root / "install-commands.log").read_text().splitlines()
    assert any(line.endswith("/opt/kindpulse/src[pi5]") for line in log)

    # uninstall keeps the data and the config; --purge removes them
    (root / "var/lib/kindpulse/kindpulse.sqlite").write_bytes(b"the wearer's data")
    _run(UNINSTALL, "--root", str(root))
    for gone in ["opt/kindpulse", "usr/local/bin/kindpulse", "etc/systemd/system/kindpulse.service",
                 "var/cache/kindpulse", "usr/lib/tmpfiles.d/kindpulse.conf"]:
        assert not (root / gone).exists() and not (root / gone).is_symlink(), gone
    assert (root / "var/lib/kindpulse/kindpulse.sqlite").read_bytes() == b"the wearer's data"
    assert load_config(config, required=True).device.mode == "desk"
    assert "systemctl disable --now kindpulse.service" in (root / "install-commands.log").read_text()
    _run(UNINSTALL, "--root", str(root), "--purge")
    assert not (root / "var/lib/kindpulse").exists() and not (root / "etc/kindpulse").exists()
    assert "userdel kindpulse" in (root / "install-commands.log").read_text()


def test_bad_options_one_line_exit_2(tmp_path):
    for args in (["--extra", "pi9"], ["--bogus"]):
        done = subprocess.run(["bash", str(INSTALL), "--root", str(tmp_path), *args],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and done.stderr.startswith("install.sh: "), done.stderr
