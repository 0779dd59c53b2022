"""One harness for the fault matrix: a target behind a ``FaultProxy``, a CLI command run as a real
subprocess with small timeouts, and what was observed (exit code, output, wall time, attempts at
the proxy, store digest before/after).

Targets: ``aws`` (moto), ``hashicorp`` (Vault double), ``cyberark-conjur`` (Conjur double),
``activepieces`` (the Activepieces double) and ``onepassword`` (no wire: the CLI runs through
``tests.faults.op_cli``, which installs the fake backend with the fault).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.proxy import Fault, FaultProxy

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 2  # APTUI_TIMEOUT for every case (small, but above a loaded machine's jitter)
RETRIES = 1  # APTUI_RETRIES for every case
PROVIDERS = ("aws", "hashicorp", "cyberark-conjur", "onepassword")
# Tables whose content must not change when an operation did not complete (audit_log records the
# attempt and cache_stats counts misses by design, so they are left out).
DATA_TABLES = ("keyring", "sm_connections", "profiles", "cache_entries", "rotation_records", "rotation_runs",
               "incidents", "incident_events")
# The keyring keeps the audit log's head (and the MAC over it): it moves with each audit entry.
AUDIT_HEAD = {("keyring", "audit_seq"), ("keyring", "audit_mac"), ("keyring", "state_mac")}
CONN_IDS = {"aws": "faultAws0000000000001", "hashicorp": "faultVault00000000001",
            "cyberark-conjur": "faultConjur0000000001", "onepassword": "faultOp00000000000001"}
SECRET_VALUE = "fault-matrix-value-0001"
FIELD_VALUE_ENV = "FAULT_FIELD_"


@dataclass
class Upstreams:
    """The real peers behind the proxies, shared by every case of a run."""

    moto: str
    vault: Any  # tests.doubles.vault.VaultDouble
    vault_role: tuple[str, str]
    conjur: Any  # tests.doubles.conjur.ConjurDouble
    conjur_key: str
    ap: Any  # tests.doubles.activepieces.ActivepiecesDouble


@dataclass
class Case:
    mode: str
    target: str
    command: str  # "sm add", "ref test", "connections list", "connections upsert", "runs retry"
    times: int | None = None  # fault applies to the first N matching requests (None: all)

    @property
    def id(self) -> str:
        suffix = "" if self.times is None else f"x{self.times}"
        return f"{self.mode}{suffix}-{self.target}-{self.command.replace(' ', '_')}"


@dataclass
class Outcome:
    case: Case
    code: int
    out: str
    err: str
    wall: float
    requests: dict[str, int] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)  # when each request reached the proxy (monotonic)
    connections: int = 0
    faulted: int = 0
    before: str = ""
    after: str = ""
    rows_after: dict[str, int] = field(default_factory=dict)
    op_calls: dict[str, int] = field(default_factory=dict)

    @property
    def store_unchanged(self) -> bool:
        return self.before == self.after

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def describe(self) -> str:
        return (f"{self.case.id}: exit {self.code} in {self.wall:.1f}s; requests {self.requests} "
                f"connections {self.connections}; stderr {self.err.strip()[:300]!r}; "
                f"stdout {self.out.strip()[:400]!r}; op {self.op_calls}")


def digest(store_file: Path) -> tuple[str, dict[str, int]]:
    """A digest of the data tables (read-only connection; nothing is decrypted) and their row counts."""
    conn = sqlite3.connect(f"file:{store_file}?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        counts: dict[str, int] = {}
        existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in DATA_TABLES:
            if table not in existing:
                continue
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if (table, r[1]) not in AUDIT_HEAD]
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY 1").fetchall()
            counts[table] = len(rows)
            h.update(table.encode())
            for row in rows:
                h.update(repr(row).encode())
        return h.hexdigest(), counts
    finally:
        conn.close()


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "APTUI_", "AP_")) and k not in
           ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "NO_COLOR")}
    env.update({
        "APTUI_HOME": str(home), "APTUI_TIMEOUT": str(TIMEOUT), "APTUI_RETRIES": str(RETRIES),
        "COLUMNS": "200", "PYTHONPATH": str(ROOT),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-creds"),
        "AWS_ACCESS_KEY_ID": "AKIANOTFROMENV000000", "AWS_SECRET_ACCESS_KEY": "not-from-env",
    })
    return env


def provider_config(target: str, url: str, up: Upstreams) -> dict[str, str]:
    if target == "aws":
        from tests.doubles.aws_moto import ADMIN_KEY, ADMIN_SECRET, REGION

        return {"accessKeyId": ADMIN_KEY, "secretAccessKey": ADMIN_SECRET, "region": REGION, "endpoint": url}
    if target == "hashicorp":
        return {"url": url, "roleId": up.vault_role[0], "secretId": up.vault_role[1]}
    if target == "cyberark-conjur":
        return {"organizationAccountName": up.conjur.account, "loginId": "host/fault/ci", "url": url,
                "apiKey": up.conjur_key}
    from tests.doubles.onepassword_fake import VALID_TOKEN

    return {"serviceAccountToken": VALID_TOKEN}


def reference_path(target: str) -> str:
    return {"aws": "fault/matrix:value", "hashicorp": "secret/data/fault/matrix/value",
            "cyberark-conjur": "fault/matrix/value", "onepassword": "op://fault/matrix/value"}[target]


def upstream_url(target: str, up: Upstreams) -> str | None:
    return {"aws": up.moto, "hashicorp": up.vault.url, "cyberark-conjur": up.conjur.url,
            "activepieces": up.ap.url}.get(target)


def fault_for(case: Case) -> Fault:
    """The fault a case injects; for the platform's runs retry only the retry POST is faulted."""
    if case.target == "activepieces" and case.command == "runs retry":
        return Fault(case.mode, times=case.times, method="POST", path=r"/retry$")
    if case.target == "activepieces" and case.command == "connections upsert":
        return Fault(case.mode, times=case.times, method="POST", path=r"/v1/app-connections$")
    return Fault(case.mode, times=case.times)


def prepare(case: Case, home: Path, up: Upstreams, proxy: FaultProxy | None) -> tuple[list[str], dict[str, str]]:
    """Create the case's store (connection or profile) and return (argv, extra env)."""
    from aptui.config import Paths, Settings
    from aptui.masking import Secret
    from aptui.services.context import Context
    from aptui.store import connections as store_conn
    from aptui.store import profiles

    ctx = Context(paths=Paths(home, home), settings=Settings())
    env: dict[str, str] = {}
    try:
        url = proxy.url if proxy is not None else ""
        if case.target in PROVIDERS:
            config = provider_config(case.target, url, up)
            if case.command == "ref test":
                store_conn.create(ctx.store, provider_id=case.target, name=f"fault-{case.target}", config=config,
                                  connection_id=CONN_IDS[case.target], tested_ok=True)
                ref = "{{" + CONN_IDS[case.target] + "|ap_sep_v1|" + reference_path(case.target) + "}}"
                argv = ["ref", "test", ref, "--json"]
            else:
                from aptui.providers.fields import PROVIDERS as SPECS

                ctx.store  # noqa: B018 - create the store so the digest has a "before"
                argv = ["sm", "add", "--provider", case.target, "--name", "fault-added"]
                for f in SPECS[case.target].fields:
                    if f.name not in config:
                        continue
                    if f.secret:
                        env[FIELD_VALUE_ENV + f.name] = config[f.name]
                        argv += ["--set-env", f"{f.name}={FIELD_VALUE_ENV}{f.name}"]
                    else:
                        argv += ["--set", f"{f.name}={config[f.name]}"]
        else:
            from tests.doubles.activepieces import DEFAULT_PROJECT

            profiles.create(ctx.store, "fault", url, api_key=Secret(up.ap.api_key),
                            default_project=DEFAULT_PROJECT, make_default=True)
            if case.command == "connections list":
                argv = ["platform", "connections", "list", "--page-size", "5"]
            elif case.command == "connections upsert":
                env["FAULT_CONNECTION_VALUE"] = SECRET_VALUE
                argv = ["platform", "connections", "upsert", "--display-name", f"Fault {case.id}",
                        "--piece-name", "@activepieces/piece-slack", "--external-id", f"fault-{case.id}",
                        "--value-env", "FAULT_CONNECTION_VALUE"]
            else:
                run = up.ap.add_run(status="FAILED")
                argv = ["platform", "runs", "retry", run["id"], "--yes", "--json"]
    finally:
        ctx.close()
    return argv, env


def run_case(case: Case, workdir: Path, up: Upstreams) -> Outcome:
    home = workdir / case.id
    home.mkdir(parents=True)
    proxy = None
    if case.target != "onepassword":
        proxy = FaultProxy(upstream_url(case.target, up), fault_for(case), target=case.target).start()
    try:
        argv, extra = prepare(case, home, up, proxy)
        env = {**base_env(home), **extra}
        op_log = home / "op-calls.json"
        if case.target == "onepassword":
            env["FAULT_OP"] = json.dumps({"mode": case.mode, "times": case.times})
            env["FAULT_OP_LOG"] = str(op_log)
            cmd = [sys.executable, "-m", "tests.faults.op_cli", *argv]
        else:
            cmd = [sys.executable, "-m", "aptui", *argv]
        before, _ = digest(home / "aptui.db")
        started = time.perf_counter()
        proc = subprocess.run(cmd, input="", capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
        wall = time.perf_counter() - started
        after, rows = digest(home / "aptui.db")
        outcome = Outcome(case, proc.returncode, proc.stdout, proc.stderr, wall, before=before, after=after,
                          rows_after=rows)
        if proxy is not None:
            outcome.requests = proxy.per_key()
            outcome.times = [r.at for r in proxy.requests]
            outcome.connections = proxy.connections
            outcome.faulted = proxy.faulted
        if op_log.exists():
            outcome.op_calls = json.loads(op_log.read_text())
        return outcome
    finally:
        if proxy is not None:
            proxy.stop()
