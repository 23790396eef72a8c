"""Config: defaults without a file, one-line errors naming the key, the example file stays valid."""

from pathlib import Path

import pytest

from kindpulse.config import Config, config_from_dict, load_config
from kindpulse.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_absent_default_file_gives_defaults(tmp_path):
    assert load_config(tmp_path / "none.toml") == Config()


def test_a_named_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.toml", required=True)


def test_values_override_defaults_and_keep_the_rest(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[device]\nmode = "desk"\n[trigger]\nsustain_s = 90\n[break]\n', encoding="utf-8")
    cfg = load_config(p, required=True)
    assert cfg.device.mode == "desk"
    assert cfg.trigger.sustain_s == 90.0
    assert cfg.trigger.refractory_s == Config().trigger.refractory_s


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[trigger]\nsustain = 3\n", r"unknown key trigger.sustain .*sustain_s"),
        ("[trigger]\nsustain_s = 'long'\n", r"trigger.sustain_s must be a number"),
        ("[device]\nmode = 'pocket'\n", r"\[device\] mode must be one of worn, desk"),
        ("[sensor]\nsample_rate_sps = 123\n", r"\[sensor\].*sample_rate_sps=123 is not allowed"),
        ("[nonsense]\n", r"unknown table \[nonsense\]"),
        ("[pins]\nbutton_pin = true\n", r"pins.button_pin must be a whole number"),
        ("this is not toml", r"is not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, message):
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(p, required=True)


def test_sensor_combinations_the_datasheet_forbids_are_rejected():
    with pytest.raises(ConfigError, match="not allowed"):
        config_from_dict({"sensor": {"sample_rate_sps": 1600, "led_pw_us": 411}})


def test_the_example_config_is_valid_and_documents_the_defaults():
    example = ROOT / "systemd" / "config.example.toml"
    assert load_config(example, required=True) == Config()
