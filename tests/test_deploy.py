"""The fleet playbooks: syntax, ansible-lint, and per-device configs that the daemon accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tools import require_tool

from kindpulse.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PLAYBOOKS = ["site.yml", "collect.yml"]
BIN = Path(sys.executable).parent  # ansible-core and ansible-lint come with the dev extra


def _env() -> dict[str, str]:
    # ansible-lint runs ansible-playbook from PATH; keep its home and temp files out of ~
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_LOCAL_TEMP": "/tmp/kindpulse-ansible-tmp", "ANSIBLE_HOME": "/tmp/kindpulse-ansible-home"}


def test_syntax_check():
    playbook = require_tool(str(BIN / "ansible-playbook"), "checks the playbooks (pip install .[dev])")
    done = subprocess.run([playbook, "--syntax-check", "-i", "inventory.example.yml", *PLAYBOOKS], cwd=DEPLOY,
                          capture_output=True, text=True, timeout=120, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint():
    lint = require_tool(str(BIN / "ansible-lint"), "lints the playbooks (pip install .[dev])")
    done = subprocess.run([lint, "--offline", "--nocolor", *PLAYBOOKS], cwd=DEPLOY, capture_output=True,
                          text=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _render(host: str) -> str:
    """The config template for one inventory host, rendered as Ansible would (combine, to_json)."""
    jinja2 = pytest.importorskip("jinja2")
    yaml = pytest.importorskip("yaml")
    inventory = yaml.safe_load((DEPLOY / "inventory.example.yml").read_text())
    group = inventory["all"]["children"]["kindpulse"]
    hostvars = {**group["vars"], **(group["hosts"][host] or {}), "inventory_hostname": host,
                "ansible_managed": "Ansible managed"}

    def combine(a: dict, b: dict, recursive: bool = False) -> dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = combine(out[k], v, True) if recursive and isinstance(v, dict) and k in out else v
        return out

    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(combine=combine, to_json=json.dumps)
    return env.from_string((DEPLOY / "templates/config.toml.j2").read_text()).render(**hostvars)


def test_per_device_configs_are_valid_and_differ(tmp_path):
    configs = {}
    for host in ("kp-01", "kp-02", "kp-desk"):
        path = tmp_path / f"{host}.toml"
        path.write_text(_render(host))
        configs[host] = load_config(path, required=True)
    fleet = configs["kp-01"]
    assert fleet.device.timezone_offset_min == 60 and fleet.trigger.quiet_start_hhmm == "21:30"
    assert fleet.sensor == Config().sensor  # what the inventory leaves out keeps its default
    assert configs["kp-02"].device.red_ir_swapped and configs["kp-02"].device.timezone_offset_min == 60
    desk = configs["kp-desk"]
    assert (desk.device.mode, desk.display.kind, desk.prompt.checkin_interval_min) == ("desk", "sh1106", 90.0)
    assert desk.trigger.quiet_end_hhmm == "07:30"  # the fleet's value, kept beside the host's
