"""Sources with hard-coded secrets (random per test), and a target connection in the store."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from pathlib import Path

_ALNUM = string.ascii_letters + string.digits


def rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


@dataclass
class Sources:
    json_file: Path
    yaml_file: Path
    values: dict[str, str]  # label -> value


def make_sources(root: Path) -> Sources:
    v = {"slack": "xoxb-" + rand(12) + "-" + rand(24), "github": "ghp_" + rand(36), "db": rand(28),
         "openai": "sk-proj-" + rand(40), "signing": rand(40), "akia": "AKIA" + "".join(
             secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))}
    root.mkdir(parents=True, exist_ok=True)
    j = root / "connection-values.json"
    j.write_text(
        "{\n"
        '    "slack":   { "token": "' + v["slack"] + '", "channel": "#alerts" },\n'
        '    "github": {\n        "auth": "' + v["github"] + '",\n        "org": "acme"\n    },\n'
        '    "db": {"host": "db.internal", "port": 5432, "password": "' + v["db"] + '", "ssl": true},\n'
        '    "already": "{{conn0aB1cD2eF3gH4iJ5kL|ap_sep_v1|prod/other:key}}",\n'
        '    "servers": ["' + "ghp_" + rand(36) + '"]\n'
        "}\n")
    y = root / "step-inputs.yaml"
    y.write_text(
        "# step inputs for the nightly flow\n"
        "openai:\n"
        "  apiKey: " + v["openai"] + "   # from the dashboard\n"
        "  model: gpt-4o\n"
        "webhook:\n"
        "  url: https://hooks.example.com/nightly\n"
        "  signingSecret: '" + v["signing"] + "'\n"
        "aws:\n"
        "  accessKeyId: \"" + v["akia"] + "\"\n"
        "  region: us-east-1\n")
    return Sources(j, y, v)


def add_connection(ctx, provider_id: str, config: dict[str, str], *, name: str = "target",
                   scope: str = "PLATFORM", project_ids: list[str] | None = None):
    from aptui.store import connections as store_conn

    return store_conn.create(ctx.store, provider_id=provider_id, name=name, config=config, scope=scope,
                             project_ids=project_ids or [])
