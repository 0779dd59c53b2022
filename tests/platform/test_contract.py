"""Every request body aptui sent to the double, checked with Activepieces' own zod schemas.

``tests/reference/contract/validate.js`` runs the real ``@activepieces/shared`` 0.96.2 schemas
(strict: keys the schema does not know fail too). The npm packages are installed once into
``APTUI_CONTRACT_DIR`` (default ``~/.cache/aptui-contract``; ``.ci/run`` does it on a fresh
machine). Skipped, with the reason, only where node or npm is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aptui.masking import Secret
from aptui.services import platform, sessions
from tests.doubles.activepieces import ADMIN_EMAIL, ADMIN_PASSWORD, DEFAULT_PROJECT, REFERENCE, make_profile

VALIDATE = REFERENCE / "contract" / "validate.js"
PACKAGES = ("@activepieces/shared@0.96.2", "zod@4.3.6")
BODY_SCHEMAS = (  # (method, path regex) -> the zod export that parses that body on the server
    ("POST", r"/v1/app-connections", "UpsertAppConnectionRequestBody"),
    ("POST", r"/v1/app-connections/[^/]+", "UpdateConnectionValueRequestBody"),
    ("POST", r"/v1/flow-runs/[^/]+/retry", "RetryFlowRequestBody"),
    ("POST", r"/v1/flow-runs/retry", "BulkActionOnRunsRequestBody"),
    ("POST", r"/v1/projects/[^/]+/mcp-server", "UpdateMcpServerRequest"),
    ("POST", r"/v1/mcp-server", "UpdateMcpServerRequest"),
    ("POST", r"/v1/secret-managers(/[^/]+)?", "ConnectSecretManagerRequestSchema"),
    ("POST", r"/v1/api-keys", "CreateApiKeyRequest"),
    ("POST", r"/v1/authentication/sign-in", "SignInRequest"),
)
NO_BODY = (r"/v1/projects/[^/]+/mcp-server/(rotate|token)", r"/v1/mcp-server/rotate")


def contract_dir() -> Path:
    """The npm prefix holding the schemas, installed on first use (npm's ordinary client)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node/npm not installed: Activepieces' zod schemas cannot run here")
    where = Path(os.environ.get("APTUI_CONTRACT_DIR") or Path.home() / ".cache" / "aptui-contract")
    if not (where / "node_modules" / "@activepieces" / "shared" / "package.json").is_file():
        where.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(where),
                               *PACKAGES], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"npm install failed: {proc.stderr[-2000:]}"
    return where


def schema_for(method: str, path: str) -> str | None:
    return next((name for m, pattern, name in BODY_SCHEMAS if m == method and re.fullmatch(pattern, path)), None)


async def _exercise(ctx, double) -> None:
    """One of each body aptui sends: connections, runs (bulk and single), MCP, secret managers, keys, sign-in."""
    make_profile(ctx, double, "ap-test", session=False)
    await sessions.login(ctx, "ap-test", email=ADMIN_EMAIL, password=Secret(ADMIN_PASSWORD))
    try:
        conn = await platform.upsert_app_connection(ctx, external_id="ops-slack", display_name="Ops Slack",
                                                    piece_name="@activepieces/piece-slack",
                                                    value=Secret("xoxb-contract-test"), metadata={"tenantId": "1"})
        p = await platform.session(ctx)
        from aptui.activepieces import connections as ap_connections

        await ap_connections.update(p.client, conn["id"], display_name="Ops Slack 2", metadata={"a": 1})
        runs = [double.add_run(status="FAILED")["id"] for _ in range(3)]
        await platform.retry_runs(ctx, run_ids=runs[:2], rate_per_second=0)
        await platform.retry_runs(ctx, run_ids=runs[2:], rate_per_second=0, bulk=False)
        await platform.mcp_update(ctx, disabled_tools=["ap_delete_step"])
        await platform.rotate_mcp_token(ctx)
        created = await platform.create_remote_secret_manager(
            ctx, provider_id="aws", name="contract-aws", scope="PROJECT", project_ids=[DEFAULT_PROJECT],
            config={"accessKeyId": "AKIAFAKEFAKEFAKE0000", "secretAccessKey": Secret("x" * 40),
                    "region": "us-east-1"})
        await platform.update_remote_secret_manager(
            ctx, connection_id=created["id"], provider_id="hashicorp", name="contract-vault",
            config={"url": "https://vault.example.com", "roleId": "r", "secretId": Secret("s")})
        from aptui.activepieces import api_keys, mcp

        await api_keys.create_api_key(p.client, "aptui contract")
        await mcp.update_platform_server(p.client, ["ap_delete_flow"])
    finally:
        await platform.aclose(ctx)


async def test_request_bodies_pass_activepieces_zod_schemas(ctx, activepieces, tmp_path):
    where = contract_dir()
    await _exercise(ctx, activepieces)
    by_schema: dict[str, list] = {}
    for req in activepieces.requests:
        if req.method != "POST":
            continue
        name = schema_for(req.method, req.path)
        if name is None:
            assert any(re.fullmatch(p, req.path) for p in NO_BODY), f"no schema known for POST {req.path}"
            assert req.body in (None, {}), f"POST {req.path} sent a body the server has no schema for"
            continue
        by_schema.setdefault(name, []).append(req.body)
    assert set(by_schema) == {name for _, _, name in BODY_SCHEMAS}, "a kind of body was not exercised"
    env = {**os.environ, "NODE_PATH": str(where / "node_modules")}
    for name, bodies in by_schema.items():
        captured = tmp_path / f"{name}.json"
        captured.write_text(json.dumps(bodies))
        proc = subprocess.run(["node", str(VALIDATE), str(captured), f"Array<{name}>", "--strict"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0 and proc.stdout.startswith("PASS"), proc.stdout + proc.stderr


def test_the_validator_can_fail(activepieces, tmp_path):
    """A body with a key the schema does not know, and one missing a required key, are refused."""
    where = contract_dir()
    env = {**os.environ, "NODE_PATH": str(where / "node_modules")}
    for body in ({"displayName": "x", "stray": 1}, {}):
        captured = tmp_path / "bad.json"
        captured.write_text(json.dumps(body))
        proc = subprocess.run(["node", str(VALIDATE), str(captured), "CreateApiKeyRequest", "--strict"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 1 and proc.stdout.startswith("FAIL"), proc.stdout
