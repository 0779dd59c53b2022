"""Where aptui keeps its files, and the settings read from config.toml plus ``APTUI_*`` variables.

Paths: config, store and key file live under platformdirs' user dirs; ``APTUI_HOME=DIR`` puts
all of them in DIR. ``APTUI_CONFIG=FILE`` names another config file.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from aptui.errors import usage

APP = "aptui"
DEFAULT_POLICIES: dict[str, str] = {
    "aws": "90d",
    "hashicorp": "30d",
    "cyberark-conjur": "90d",
    "onepassword": "90d",
    "activepieces-api-key": "90d",
    "mcp-token": "90d",
    "aws-secret": "90d",
}


@dataclass(frozen=True)
class Paths:
    """Every file aptui reads or writes."""

    config_dir: Path
    data_dir: Path

    @property
    def config_file(self) -> Path:
        env = os.environ.get("APTUI_CONFIG")
        return Path(env).expanduser() if env else self.config_dir / "config.toml"

    @property
    def store_file(self) -> Path:
        return self.data_dir / "aptui.db"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "aptui.key"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "aptui.log"

    @classmethod
    def resolve(cls) -> Paths:
        home = os.environ.get("APTUI_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(config_dir=root, data_dir=root)
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP)),
            data_dir=Path(platformdirs.user_data_dir(APP)),
        )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(text: str | int | float, *, default_unit: str | None = None) -> float:
    """``"90d"`` → seconds. Bare numbers are seconds unless ``default_unit`` says otherwise."""
    if isinstance(text, bool):
        raise usage(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        try:
            seconds = float(text) * _UNIT[default_unit]
        except OverflowError:  # an int too large for a float
            seconds = math.inf
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise usage(f"not a duration: {text!r}", hint="use e.g. 30s, 5m, 12h, 14d, 2w")
        seconds = float(m.group(1)) * _UNIT[m.group(2) or default_unit]
    if not math.isfinite(seconds):  # nan, inf, or digits beyond a float's range
        raise usage(f"not a duration: {str(text)[:40]!r}", hint="use e.g. 30s, 5m, 12h, 14d, 2w")
    return seconds


@dataclass
class Settings:
    """Validated settings. Defaults make a fresh machine work with no config file at all."""

    read_only: bool = False
    timeout: float = 10.0
    retries: int = 3
    theme: str = "textual-dark"
    high_contrast: bool = False
    mouse: bool = True
    reveal_seconds: float = 15.0
    value_ttl: float = 300.0
    status_ttl: float = 30.0
    conjur_verify_tls: bool = True
    proxy: str = ""  # every non-loopback HTTP(S) request goes through it (aptui.net); "" = direct
    default_profile: str = ""
    rotation_policies: dict[str, float] = field(
        default_factory=lambda: {k: parse_duration(v) for k, v in DEFAULT_POLICIES.items()}
    )
    rotation_items: dict[str, float] = field(default_factory=dict)
    due_soon: float = 14 * 86400.0
    keymap: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"

    def policy_for(self, kind: str, item_id: str | None = None) -> float:
        if item_id and item_id in self.rotation_items:
            return self.rotation_items[item_id]
        return self.rotation_policies.get(kind, self.rotation_policies.get("aws-secret", 90 * 86400.0))


_SCALARS: dict[str, tuple[str, str, type]] = {
    # toml section.key -> (attribute, env var, type)
    "general.read_only": ("read_only", "APTUI_READ_ONLY", bool),
    "general.timeout": ("timeout", "APTUI_TIMEOUT", float),
    "general.retries": ("retries", "APTUI_RETRIES", int),
    "general.theme": ("theme", "APTUI_THEME", str),
    "general.high_contrast": ("high_contrast", "APTUI_HIGH_CONTRAST", bool),
    "general.mouse": ("mouse", "APTUI_MOUSE", bool),
    "general.reveal_seconds": ("reveal_seconds", "APTUI_REVEAL_SECONDS", float),
    "cache.value_ttl": ("value_ttl", "APTUI_CACHE_VALUE_TTL", float),
    "cache.status_ttl": ("status_ttl", "APTUI_CACHE_STATUS_TTL", float),
    "providers.conjur_verify_tls": ("conjur_verify_tls", "APTUI_CONJUR_VERIFY_TLS", bool),
    "network.proxy": ("proxy", "APTUI_PROXY", str),
    "platform.default_profile": ("default_profile", "APTUI_PROFILE", str),
    "rotation.due_soon": ("due_soon", "APTUI_ROTATION_DUE_SOON", float),
}
_DURATION_KEYS = {"timeout", "reveal_seconds", "value_ttl", "status_ttl", "due_soon"}
_SECTIONS = {"general", "cache", "providers", "platform", "rotation", "keymap", "network"}


def _coerce(name: str, where: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.strip().lower() in {"1", "true", "yes", "on"}
        raise usage(f"{where}: expected true/false, got {value!r}", code="CONFIG_INVALID")
    if name in _DURATION_KEYS:
        try:
            seconds = parse_duration(value)
        except Exception:
            raise usage(f"{where}: expected a duration such as 10s or 5m, got {value!r}",
                        code="CONFIG_INVALID") from None
        if seconds <= 0 and name not in {"value_ttl", "status_ttl"}:
            raise usage(f"{where}: must be greater than zero", code="CONFIG_INVALID")
        if seconds < 0:
            raise usage(f"{where}: must not be negative", code="CONFIG_INVALID")
        return seconds
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise usage(f"{where}: expected an integer, got {value!r}", code="CONFIG_INVALID")
        try:
            n = int(value)
        except ValueError:
            raise usage(f"{where}: expected an integer, got {value!r}", code="CONFIG_INVALID") from None
        if not 0 <= n <= 10:
            raise usage(f"{where}: must be between 0 and 10", code="CONFIG_INVALID")
        return n
    if not isinstance(value, str):
        raise usage(f"{where}: expected a string, got {value!r}", code="CONFIG_INVALID")
    return value


def load_settings(paths: Paths | None = None, *, environ: dict[str, str] | None = None) -> Settings:
    """Read config.toml (if any) and apply ``APTUI_*`` overrides. Bad config is a usage error."""
    paths = paths or Paths.resolve()
    env = os.environ if environ is None else environ
    settings = Settings()
    doc: dict[str, Any] = {}
    cfg = paths.config_file
    if cfg.exists():
        try:
            raw = cfg.read_bytes()
            doc = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise usage(f"{cfg}: not a UTF-8 text file", code="CONFIG_INVALID") from None
        except tomllib.TOMLDecodeError as exc:
            raise usage(f"{cfg}: {exc}", code="CONFIG_INVALID",
                        hint="compare with config.example.toml") from None
        except OSError as exc:
            raise usage(f"{cfg}: cannot read ({exc.strerror})", code="CONFIG_INVALID") from None
        settings.source = str(cfg)
    unknown = set(doc) - _SECTIONS
    if unknown:
        raise usage(f"{cfg}: unknown section [{sorted(unknown)[0]}]", code="CONFIG_INVALID",
                    hint="sections: " + ", ".join(sorted(_SECTIONS)))
    for section in _SECTIONS:
        if section in doc and not isinstance(doc[section], dict):
            raise usage(f"{cfg}: [{section}] must be a table", code="CONFIG_INVALID")
    for section in _SECTIONS - {"keymap"}:
        known = {k.split(".", 1)[1] for k in _SCALARS if k.startswith(section + ".")}
        known |= {"policies", "items"} if section == "rotation" else set()
        for key in doc.get(section, {}):
            if key not in known:
                raise usage(f"{cfg}: unknown key {section}.{key}", code="CONFIG_INVALID",
                            hint="see config.example.toml for every key")
    for dotted, (attr, env_name, kind) in _SCALARS.items():
        section, key = dotted.split(".")
        if key in doc.get(section, {}):
            setattr(settings, attr, _coerce(attr, f"{cfg}: {dotted}", doc[section][key], kind))
        if env.get(env_name, "") != "":
            setattr(settings, attr, _coerce(attr, f"${env_name}", env[env_name], kind))
    rotation = doc.get("rotation", {})
    for name, table in (("policies", settings.rotation_policies), ("items", settings.rotation_items)):
        sub = rotation.get(name, {})
        if not isinstance(sub, dict):
            raise usage(f"{cfg}: [rotation.{name}] must be a table", code="CONFIG_INVALID")
        for key, value in sub.items():
            try:
                seconds = parse_duration(value, default_unit="d")
            except Exception:
                raise usage(f"{cfg}: rotation.{name}.{key}: expected a duration such as 90d, got {value!r}",
                            code="CONFIG_INVALID") from None
            if seconds <= 0:
                raise usage(f"{cfg}: rotation.{name}.{key}: must be greater than zero", code="CONFIG_INVALID")
            table[key] = seconds
    keymap = doc.get("keymap", {})
    for key, value in keymap.items():
        if not isinstance(value, str) or not value:
            raise usage(f"{cfg}: keymap.{key}: expected a key name such as \"ctrl+r\"", code="CONFIG_INVALID")
    settings.keymap = dict(keymap)
    return settings


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings)]
