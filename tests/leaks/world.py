"""The leak-scan world: canaries seeded into every secret input, the doubles, and a CLI recorder.

``build_world`` seeds moto, Vault, Conjur and the Activepieces double with canary credentials and
canary secret values, and returns a ``World`` whose ``cli(...)`` runs ``python -m aptui`` as a real
subprocess and records stdout and stderr as artefacts of the scanner (with what each may hold).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.leaks.canary import CanarySet, Scanner

PROJECT = "prj8Kq2LmN4pQ7rS9tUv1"  # DEFAULT_PROJECT of the Activepieces double
SECOND_PROJECT = "prj2Ab3Cd4Ef5Gh6Ij7Kl"


@dataclass
class Step:
    args: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float


@dataclass
class World:
    home: Path
    tmp: Path
    canaries: CanarySet
    scanner: Scanner
    moto: Any
    vault: Any
    conjur: Any
    ap: Any
    env: dict[str, str] = field(default_factory=dict)  # CAN_* variables holding canaries
    steps: list[Step] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    full: bool = False  # the whole matrix (slow) or the CI subset
    monkeypatch: Any = None  # pytest's: every change to a shared double is undone after the test

    def cli(self, *args: str, code: int | tuple[int, ...] = 0, stdin: str = "", env: dict[str, str] | None = None,
            allow: set[str] | frozenset[str] = frozenset(), expect: set[str] | frozenset[str] = frozenset(),
            timeout: float = 120) -> Step:
        """Run ``aptui ARGS``; stdout may hold ``allow`` (and must hold ``expect``), stderr nothing."""
        full_env = {**os.environ, **self.env, "APTUI_HOME": str(self.home), "COLUMNS": "200", **(env or {})}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "aptui", *args], input=stdin, capture_output=True, text=True,
                              env=full_env, timeout=timeout, cwd=self.tmp)
        step = Step(tuple(args), proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)
        self.steps.append(step)
        n = len(self.steps)
        label = f"cli#{n:02d} aptui {' '.join(args)}"
        self.scanner.add(f"{label} [stdout]", proc.stdout, allowed=allow, expected=expect)
        self.scanner.add(f"{label} [stderr]", proc.stderr)
        codes = (code,) if isinstance(code, int) else code
        assert proc.returncode in codes, (
            f"{label}: exit {proc.returncode}, expected {codes}\n"
            f"stdout: {proc.stdout[-1500:]}\nstderr: {proc.stderr[-1500:]}")
        return step

    def json(self, *args: str, **kwargs: Any) -> Any:
        step = self.cli(*args, "--json", **kwargs)
        return json.loads(step.out)


def build_world(tmp: Path, home: Path, moto_aws: Any, vault_double: Any, conjur_double: Any,
                activepieces: Any, monkeypatch: Any) -> World:
    c = CanarySet()
    w = World(home, tmp, c, Scanner(c), moto_aws, vault_double, conjur_double, activepieces,
              monkeypatch=monkeypatch)

    # -- AWS (moto): the connection's credentials and the secret values behind references
    w.env["CAN_AWS_KEY_ID"] = c.make("aws_key_id", "aws-key-id")
    w.env["CAN_AWS_SECRET"] = c.make("aws_secret", "aws-secret")
    w.env["CAN_AWS_SECRET_2"] = c.make("aws_secret_2", "aws-secret")
    moto_aws.create_secret("prod/api-keys", {"slack_token": c.make("slack_token", "xoxb"),
                                             "stripe_key": c.make("stripe_key", "sk")})
    moto_aws.create_secret("prod/db", {"password": c.make("db_password")})
    moto_aws.create_secret("prod/not-json", c.make("not_json_value"))  # a parse error must not quote it
    moto_aws.create_secret("prod/broken-json", '{"k": "' + c.make("broken_json_value"))
    moto_aws.create_secret("prod/list", json.dumps([c.make("json_list_value")]))

    # -- Vault: AppRole credentials, a KV v2 value, a wrong secret id
    role_id, secret_id = vault_double.add_approle("app", role_id=c.make("vault_role_id", "uuid"),
                                                  secret_id=c.make("vault_secret_id", "uuid"))
    w.env["CAN_VAULT_ROLE_ID"], w.env["CAN_VAULT_SECRET_ID"] = role_id, secret_id
    w.env["CAN_VAULT_WRONG_SECRET_ID"] = c.make("vault_wrong_secret_id", "uuid")
    vault_double.put("secret", "payments/api", {"key": c.make("vault_value")})

    # -- Conjur: a host's API key, a variable, a wrong key, the key a rotation will switch to
    w.env["CAN_CONJUR_KEY"] = conjur_double.add_host("host/app/ci", c.make("conjur_api_key"))
    w.env["CAN_CONJUR_WRONG_KEY"] = c.make("conjur_wrong_key")
    w.env["CAN_CONJUR_NEW_KEY"] = c.make("conjur_new_key")
    conjur_double.set_variable("prod/db/password", c.make("conjur_value"))

    # -- 1Password: a service-account token (the real SDK rejects it: a wrong-credential path)
    w.env["CAN_OP_TOKEN"] = c.make("op_token", "ops")

    # -- Activepieces: API keys, MCP tokens (seeded and the ones rotations return), app-connection values
    w.env["CAN_AP_KEY"] = c.make("ap_api_key", "sk")
    w.env["CAN_AP_WRONG_KEY"] = c.make("ap_wrong_key", "sk")
    w.env["CAN_AP_NEW_KEY"] = c.make("ap_new_key", "sk")
    activepieces.api_keys.add(w.env["CAN_AP_KEY"])
    # a platform user: the password is a canary; the session tokens the double issues are harvested
    w.env["CAN_AP_PASSWORD"] = c.make("ap_password")
    w.env["CAN_AP_WRONG_PASSWORD"] = c.make("ap_wrong_password")
    activepieces.add_user(LEAK_USER, w.env["CAN_AP_PASSWORD"])
    activepieces.add_mcp(PROJECT, token=c.make("mcp_token_seed", "ap-id"))
    activepieces.add_mcp(SECOND_PROJECT, token=c.make("mcp_token_seed_2", "ap-id"))
    w.env["CAN_APP_VALUE"] = c.make("app_connection_value")
    w.env["CAN_APP_VALUE_2"] = c.make("app_connection_value_2")
    for name in ("mcp_token_new_cli", "mcp_token_new_json", "mcp_token_new_rotation", "mcp_token_new_tui"):
        c.make(name, "ap-id")
    return w


LEAK_USER = "leak-scan@example.com"


def install_mcp_rotation_tokens(w: World, tokens: list[str]) -> list[str]:
    """Make the double's MCP rotate route answer with ``tokens`` (in order) for this test only (the
    double is shared by the whole session: ``monkeypatch`` restores it); returns what was issued."""
    ap = w.ap
    issued: list[str] = []
    original = type(ap)._rotate_mcp.__get__(ap)

    def rotate(query, body, project_id):
        status, server, headers = original(query, body, project_id)
        token = tokens[len(issued)]
        issued.append(token)
        ap.mcp_servers[project_id]["token"] = token
        server["token"] = token
        return status, server, headers

    w.monkeypatch.setattr(ap, "_rotate_mcp", rotate, raising=False)
    return issued


def env_file(c: CanarySet, prefix: str = "") -> str:
    """An Activepieces .env whose every secret is a canary (the hardening audit must describe, not show)."""
    p = prefix
    return "\n".join([
        f"AP_ENCRYPTION_KEY={c.make(p + 'env_encryption_key', 'hex32')}",
        f"AP_JWT_SECRET={c.make(p + 'env_jwt_secret')}",
        f"AP_POSTGRES_PASSWORD={c.make(p + 'env_postgres_password')}",
        f"AP_REDIS_PASSWORD={c.make(p + 'env_redis_password')}",
        f"AP_API_KEY={c.make(p + 'env_api_key', 'sk')}",
        f"AP_QUEUE_UI_PASSWORD={c.make(p + 'env_queue_password')}",
        'AP_POSTGRES_URL="postgres://ap:' + c.make(p + "env_postgres_url_password") + '@db:5432/ap"',
        "AP_EXECUTION_MODE=UNSANDBOXED",
        "AP_FRONTEND_URL=http://ap.example.com",
        "AP_QUEUE_UI_ENABLED=true",
        "",
    ])


def compose_file(c: CanarySet) -> str:
    return (
        "services:\n"
        "  activepieces:\n"
        "    image: activepieces/activepieces:0.71.2\n"
        "    environment:\n"
        f"      AP_JWT_SECRET: {c.make('compose_jwt_secret')}\n"
        "  postgres:\n"
        "    image: postgres:14\n"
        "    ports: ['5432:5432']\n"
        "    environment:\n"
        f"      POSTGRES_PASSWORD: {c.make('compose_postgres_password')}\n"
    )
