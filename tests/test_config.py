"""Settings: defaults, config.toml, APTUI_* overrides, and one-line errors for bad config."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptui.config import Paths, load_settings, parse_duration
from aptui.errors import AptuiError

ROOT = Path(__file__).resolve().parent.parent


def paths_with(tmp_path, text: str | None) -> Paths:
    if text is not None:
        (tmp_path / "config.toml").write_text(text)
    return Paths(config_dir=tmp_path, data_dir=tmp_path)


def test_defaults_without_file(tmp_path):
    s = load_settings(paths_with(tmp_path, None), environ={})
    assert s.timeout == 10 and s.value_ttl == 300 and s.status_ttl == 30 and s.read_only is False
    assert s.policy_for("aws") == 90 * 86400 and s.policy_for("hashicorp") == 30 * 86400


def test_example_config_loads_and_matches_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("APTUI_CONFIG", str(ROOT / "config.example.toml"))
    s = load_settings(Paths(config_dir=tmp_path, data_dir=tmp_path), environ={})
    d = load_settings(paths_with(tmp_path, None), environ={})
    s.source = d.source = ""
    assert s == d


def test_file_and_env_overrides(tmp_path):
    p = paths_with(tmp_path, '[general]\ntimeout = "3s"\nread_only = true\n[rotation.items]\n"sm:x" = 7\n')
    s = load_settings(p, environ={"APTUI_RETRIES": "1"})
    assert s.timeout == 3 and s.read_only is True and s.retries == 1
    assert s.policy_for("aws", "sm:x") == 7 * 86400


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[general]\ntimeout = 'soon'\n", "general.timeout"),
        ("[general]\nretries = 99\n", "between 0 and 10"),
        ("[general]\nread_only = 'maybe'\n", "true/false"),
        ("[general]\nunknown = 1\n", "unknown key general.unknown"),
        ("[nonsense]\n", "unknown section"),
        ("[cache]\nvalue_ttl = -5\n", "negative"),
        ("[rotation.policies]\naws = 'often'\n", "rotation.policies.aws"),
        ("[keymap]\n'app.quit' = 3\n", "keymap.app.quit"),
        ("not toml at all = = =", "CONFIG_INVALID"),
    ],
)
def test_bad_config_is_one_line_usage_error(tmp_path, text, needle):
    with pytest.raises(AptuiError) as info:
        load_settings(paths_with(tmp_path, text), environ={})
    assert info.value.exit_code == 2
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_env_override(tmp_path):
    with pytest.raises(AptuiError, match=r"\$APTUI_TIMEOUT"):
        load_settings(paths_with(tmp_path, None), environ={"APTUI_TIMEOUT": "x"})


def test_non_utf8_config(tmp_path):
    (tmp_path / "config.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AptuiError, match="UTF-8"):
        load_settings(Paths(config_dir=tmp_path, data_dir=tmp_path), environ={})


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("12h", 43200), ("14d", 1209600),
                                               ("2w", 1209600), ("1.5", 1.5), (10, 10)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_aptui_home_puts_everything_in_one_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("APTUI_HOME", str(tmp_path / "x"))
    monkeypatch.delenv("APTUI_CONFIG", raising=False)
    p = Paths.resolve()
    assert {p.store_file.parent, p.key_file.parent, p.config_file.parent} == {tmp_path / "x"}


def test_platformdirs_by_default(monkeypatch):
    monkeypatch.delenv("APTUI_HOME", raising=False)
    monkeypatch.delenv("APTUI_CONFIG", raising=False)
    p = Paths.resolve()
    assert p.store_file.parent.name == "aptui" and p.config_file.parent.name == "aptui"
