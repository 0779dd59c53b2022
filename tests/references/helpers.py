"""Helpers shared by the reference tests: the case file and the fixture connections."""

from __future__ import annotations

import json
from typing import Any

from aptui.store import connections as store_conn
from tests.conftest import REFERENCE

CASES: list[dict[str, Any]] = json.loads((REFERENCE / "reference-cases.public.json").read_text("utf-8"))

FIXTURE_IDS = {
    "aws": "awsConn00000000000001",
    "hashicorp": "vaultConn000000000001",
    "cyberark-conjur": "conjurConn00000000001",
    "onepassword": "opConn000000000000001",
}

DUMMY_CONFIG = {
    "aws": {"accessKeyId": "AKIAFAKE000000000000", "secretAccessKey": "fake-secret-key-000", "region": "us-east-1"},
    "hashicorp": {"url": "http://127.0.0.1:9", "roleId": "role-id-000", "secretId": "secret-id-000"},
    "cyberark-conjur": {"organizationAccountName": "myorg", "loginId": "host/app/ci", "url": "http://127.0.0.1:9",
                        "apiKey": "api-key-000"},
    "onepassword": {"serviceAccountToken": "ops_fake_token_000"},
}


def seed_fixture_connections(store, *, configs: dict[str, dict[str, str]] | None = None,
                             scope: str = "PLATFORM", project_ids: list[str] | None = None,
                             only: set[str] | None = None) -> dict[str, str]:
    """Create the four fixture connections (ids from providers.md §7); returns provider → id."""
    made = {}
    for provider_id, cid in FIXTURE_IDS.items():
        if only is not None and provider_id not in only:
            continue
        config = (configs or {}).get(provider_id, DUMMY_CONFIG[provider_id])
        store_conn.create(store, provider_id=provider_id, name=f"fixture-{provider_id}", config=config,
                          scope=scope, project_ids=project_ids, connection_id=cid)
        made[provider_id] = cid
    return made


def context_scope(case: dict[str, Any]) -> tuple[list[str] | None, str, list[str] | None]:
    """(requested project ids, connection scope, connection project ids) from a case's ``context``."""
    ctx = case.get("context") or {}
    conn = ctx.get("connection") or {}
    request = ctx.get("request") or {}
    asked = ctx.get("projectIds") or request.get("projectIds")
    if asked is None and (ctx.get("projectId") or request.get("projectId")):
        asked = [ctx.get("projectId") or request.get("projectId")]
    scope = ctx.get("scope") or ctx.get("connectionScope") or conn.get("scope") or "PLATFORM"
    conn_projects = ctx.get("connectionProjectIds") or conn.get("projectIds")
    return asked, str(scope).upper(), conn_projects


def message_matches(case: dict[str, Any], message: str) -> bool:
    if case.get("message_match") == "prefix":
        return message.startswith(case["message"])
    return message == case["message"]
