"""`aptui profile|platform|sync` run as real subprocesses against the Activepieces double."""

from __future__ import annotations

import json
import time

import pytest

from aptui.errors import AptuiError
from tests.doubles.activepieces import DEFAULT_PROJECT, validate_body

FAST = {"APTUI_RETRIES": "0", "APTUI_TIMEOUT": "5"}


@pytest.fixture
def cli(run_cli, ap_profile):
    """``cli(*args)`` with the default profile ``ap-test`` on the double."""

    def run(*args, input=None, env=None):
        return run_cli(*args, input=input, env={**FAST, **(env or {})})

    return run


def _no_secret(result, *secrets):
    for s in secrets:
        assert s not in result.out and s not in result.err


# -- profiles --------------------------------------------------------------------------------------


def test_profile_add_reads_the_key_from_stdin(run_cli, activepieces, aptui_home):
    r = run_cli("profile", "add", "prod", "--url", activepieces.url, "--project", DEFAULT_PROJECT, "--json",
                input=activepieces.api_key + "\n")
    assert r.code == 0, r.err
    assert r.json["profile"]["has_key"] is True
    listing = run_cli("profile", "list", "--json")
    assert listing.json["profiles"][0]["key_source"] == "stored"
    _no_secret(r, activepieces.api_key)
    _no_secret(listing, activepieces.api_key)
    assert activepieces.api_key.encode() not in (aptui_home / "aptui.db").read_bytes()
    assert run_cli("platform", "projects", "list", "--json").json["count"] == 2


def test_profile_without_key_uses_ap_api_key_or_fails_before_any_request(run_cli, activepieces):
    r = run_cli("profile", "add", "envkey", "--url", activepieces.url, "--project", DEFAULT_PROJECT)
    assert r.code == 0 and "or else AP_API_KEY will be used" in r.out
    r = run_cli("platform", "connections", "list")
    assert r.code == 2
    assert "Activepieces API key not configured" in r.err
    assert activepieces.requests == []
    r = run_cli("platform", "connections", "list", "--json", env=activepieces.env())
    assert r.code == 0 and r.json["count"] == 3


def test_profile_add_refuses_plain_http_off_loopback(run_cli):
    r = run_cli("profile", "add", "lan", "--url", "http://10.1.2.3", "--no-key")
    assert r.code == 2 and "INSECURE_URL" in r.err
    assert run_cli("profile", "list", "--json").json["profiles"] == []


def test_profile_test_ok_and_bad_key(cli, run_cli, activepieces):
    r = cli("profile", "test", "--json")
    assert r.code == 0 and r.json["authenticated"] and r.json["server_version"] == "0.71.2"
    run_cli("profile", "add", "bad", "--url", activepieces.url, input="sk-wrong-key-00000\n")
    r = cli("profile", "test", "bad")
    assert r.code == 1 and "AUTHENTICATION" in r.out and "sk-wrong" not in r.out


def test_profile_test_unreachable_is_exit_4(run_cli):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_cli("profile", "add", "down", "--url", f"http://127.0.0.1:{port}", input="sk-abc-123456\n")
    r = run_cli("profile", "test", "down", "--json", env=FAST)
    assert r.code == 4 and r.json["reachable"] is False


def test_profile_use_set_key_remove(cli, run_cli, activepieces):
    run_cli("profile", "add", "second", "--url", activepieces.url, "--no-key")
    assert cli("profile", "use", "second").code == 0
    assert cli("platform", "projects", "list").code == 2  # second has no key
    r = cli("platform", "projects", "list", "--profile", "ap-test", "--json")
    assert r.code == 0 and r.json["count"] == 2
    assert cli("profile", "set-key", "second", input=activepieces.api_key + "\n").code == 0
    assert cli("platform", "projects", "list").code == 0
    assert cli("profile", "remove", "second").code == 2  # no terminal, no --yes
    assert cli("profile", "remove", "second", "--yes").code == 0
    r = cli("platform", "projects", "list", "--profile", "second")
    assert r.code == 2 and "no profile named" in r.err


# -- app connections --------------------------------------------------------------------------------


def test_connections_list_streams_every_page(cli, activepieces):
    activepieces.seed_connections(250)
    r = cli("platform", "connections", "list", "--json", "--page-size", "100")
    assert r.code == 0
    assert r.json["count"] == 250 and r.json["ok"] is True
    assert len(activepieces.calls("GET", "/v1/app-connections")) == 3
    text = cli("platform", "connections", "list", "--status", "ERROR", "--limit", "5")
    assert text.code == 0 and len(text.out.strip().splitlines()) == 6 and "ERROR" in text.out


def test_connections_list_error_mid_stream_keeps_json_valid(cli, activepieces):
    activepieces.seed_connections(150)
    activepieces.fault("/v1/app-connections", status=500, skip=1, times=None)
    r = cli("platform", "connections", "list", "--json")
    assert r.code == 4
    doc = json.loads(r.out)
    assert doc["ok"] is False and doc["count"] == 100 and doc["error"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "INTERNAL_SERVER_ERROR" in r.err


def test_connections_upsert_from_env(cli, activepieces):
    value = "gauzy-access-token-9876543210"
    r = cli("platform", "connections", "upsert", "--display-name", "Gauzy 1/2", "--piece-name", "ever-gauzy",
            "--external-id", "gauzy-tenant-1-org-2", "--metadata", '{"tenantId": "1", "organizationId": "2"}',
            "--value-env", "GAUZY_TOKEN", "--json", env={"GAUZY_TOKEN": value})
    assert r.code == 0, r.err
    assert r.json["connection"]["externalId"] == "gauzy-tenant-1-org-2" and r.json["referenceCheck"] is None
    body = activepieces.calls("POST", "/v1/app-connections")[0].body
    validate_body("UpsertAppConnectionRequestBody", body)
    assert body["value"]["secret_text"] == value and body["metadata"]["tenantId"] == "1"
    _no_secret(r, value)


def test_connections_upsert_from_stdin_and_bad_input(cli, activepieces):
    r = cli("platform", "connections", "upsert", "--display-name", "S", "--piece-name", "p", "--external-id", "e",
            input="stdin-secret-value-1234\n")
    assert r.code == 0 and "stdin-secret-value-1234" not in r.out
    assert activepieces.connection_values
    r = cli("platform", "connections", "upsert", "--display-name", "S", "--piece-name", "p", "--external-id", "e",
            "--metadata", "{nope", input="x-value-123\n")
    assert r.code == 2 and "--metadata is not valid JSON" in r.err
    r = cli("platform", "connections", "upsert", "--display-name", "S", "--piece-name", "p", "--external-id", "e",
            "--value-env", "UNSET_VAR_FOR_TEST")
    assert r.code == 2 and "UNSET_VAR_FOR_TEST" in r.err
    assert len(activepieces.calls("POST", "/v1/app-connections")) == 1


def test_upsert_checks_a_reference_value_first(cli, activepieces):
    ref = "{{smcUnknown0000000000|ap_sep_v1|prod/gauzy:token}}"
    r = cli("platform", "connections", "upsert", "--display-name", "R", "--piece-name", "p", "--external-id", "r1",
            input=ref + "\n")
    assert r.code == 1
    assert "would not resolve" in r.err and "Connection is not accessible" in r.err
    assert activepieces.calls("POST", "/v1/app-connections") == []
    r = cli("platform", "connections", "upsert", "--display-name", "R", "--piece-name", "p", "--external-id", "r1",
            "--no-check-ref", "--json", input=ref + "\n")
    assert r.code == 0 and r.json["connection"]["usingSecretManager"] is True


def test_connections_delete_needs_confirmation(cli, activepieces):
    cid = activepieces.connections[0]["id"]
    r = cli("platform", "connections", "delete", cid)
    assert r.code == 2 and "--yes" in r.err
    assert activepieces.calls("DELETE") == []
    r = cli("platform", "connections", "delete", cid, "--yes", "--json")
    assert r.code == 0 and r.json["deleted"] == cid
    r = cli("platform", "connections", "delete", cid, "--yes")
    assert r.code == 1 and "ENTITY_NOT_FOUND" in r.err


# -- MCP --------------------------------------------------------------------------------------------


def test_mcp_rotate_shows_the_token_once(cli, activepieces, aptui_home):
    old = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    listing = cli("platform", "mcp", "list", "--json")
    assert listing.code == 0 and old not in listing.out and '"token"' not in listing.out
    r = cli("platform", "mcp", "rotate")
    assert r.code == 2 and activepieces.mcp_servers[DEFAULT_PROJECT]["token"] == old  # no --yes: nothing rotated
    r = cli("platform", "mcp", "rotate", "--yes")
    new = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    assert r.code == 0 and new != old and r.out.count(new) == 1
    shown = cli("platform", "mcp", "show", "--json")
    assert new not in shown.out and '"token"' not in shown.out
    j = cli("platform", "mcp", "rotate", "--yes", "--json")
    newer = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    assert j.json["new_token"] == newer and "token" not in j.json["server"]
    audit = cli("audit", "log", "--json").out
    assert "platform.mcp.rotate" in audit and new not in audit and newer not in audit
    store = (aptui_home / "aptui.db").read_bytes() + (aptui_home / "aptui.db-wal").read_bytes()
    assert new.encode() not in store and newer.encode() not in store


def test_mcp_update(cli, activepieces):
    r = cli("platform", "mcp", "update", "--disable", "ap_add_step", "--enable", "ap_delete_step", "--json")
    assert r.code == 0 and r.json["server"]["disabledTools"] == ["ap_add_step"]
    r = cli("platform", "mcp", "update", "--disabled-tools", "", "--json")
    assert r.json["server"]["disabledTools"] == []
    assert cli("platform", "mcp", "update").code == 2


def test_mcp_rotate_copy_needs_a_terminal(cli, activepieces):
    old = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    r = cli("platform", "mcp", "rotate", "--yes", "--copy")
    if r.code == 2:  # no controlling terminal here: refused before rotating
        assert "--copy needs a terminal" in r.err
        assert activepieces.mcp_servers[DEFAULT_PROJECT]["token"] == old
    else:
        new = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
        assert r.code == 0 and new not in r.out and "copied" in r.out


# -- secret managers ----------------------------------------------------------------------------------


def test_secret_managers_create_list_clear(cli, activepieces):
    r = cli("platform", "secret-managers", "create", "--provider", "aws", "--name", "ci-aws", "--set",
            "region=eu-west-1", "--set-env", "accessKeyId=AK", "--set-env", "secretAccessKey=SK", "--json",
            env={"AK": "AKIAEXAMPLE00001", "SK": "aws-secret-access-key-xyz"})
    assert r.code == 0, r.err
    validate_body("ConnectSecretManagerRequestSchema", activepieces.calls("POST", "/v1/secret-managers")[0].body)
    _no_secret(r, "aws-secret-access-key-xyz")
    listing = cli("platform", "secret-managers", "list", "--json")
    assert {c["name"] for c in listing.json["connections"]} == {"prod-aws", "vault-finance", "ci-aws"}
    created_id = r.json["connection"]["id"]
    r = cli("platform", "secret-managers", "clear-cache", "--connection", created_id, "--yes")
    assert r.code == 0 and activepieces.cache_clears == [created_id]
    assert cli("platform", "secret-managers", "clear-cache", "--yes", "--json").json["scope"] == "platform"


def test_secret_manager_secret_field_never_from_argv(cli, activepieces):
    r = cli("platform", "secret-managers", "create", "--provider", "aws", "--name", "x", "--set",
            "secretAccessKey=oops-in-argv")
    assert r.code == 2 and "must not be given on the command line" in r.err
    assert activepieces.calls("POST") == []


def test_secret_manager_connection_failure(cli, activepieces):
    activepieces.fail_connect("onepassword", "Invalid service account token")
    r = cli("platform", "secret-managers", "create", "--provider", "onepassword", "--name", "op",
            input="ops_token_value_12345\n")
    assert r.code == 1 and "SECRET_MANAGER_CONNECTION_FAILED: Invalid service account token" in r.err
    _no_secret(r, "ops_token_value_12345")


def test_feature_disabled_plain_wording(cli, activepieces):
    activepieces.features["secretManagers"] = False
    r = cli("platform", "secret-managers", "list")
    assert r.code == 1 and "secret managers need an Enterprise plan on this platform" in r.err


# -- runs, pieces ------------------------------------------------------------------------------------


def test_runs_list_and_dry_run(cli, activepieces):
    r = cli("platform", "runs", "list", "--status", "FAILED", "--status", "TIMEOUT", "--json")
    assert r.code == 0 and r.json["count"] == 2
    r = cli("platform", "runs", "retry", "--dry-run", "--json")
    assert r.code == 0 and r.json["dryRun"] and r.json["summary"] == {"would-retry": 1}
    assert activepieces.retries == []
    r = cli("platform", "runs", "list", "--since", "bogus")
    assert r.code == 2


def test_runs_retry_needs_confirmation_and_reports_each_run(cli, activepieces):
    ids = [activepieces.add_run(status="FAILED")["id"] for _ in range(3)]
    r = cli("platform", "runs", "retry", *ids)
    assert r.code == 2 and activepieces.retries == []
    activepieces.bulk_retry_route = False  # an older server: one by one after the 404
    activepieces.fault(f"/v1/flow-runs/{ids[1]}/retry", reset=True)
    r = cli("platform", "runs", "retry", *ids, "--yes", "--rate", "50", "--json")
    assert r.code == 1
    outcomes = {run["run_id"]: run["outcome"] for run in r.json["runs"]}
    assert outcomes == {ids[0]: "retried", ids[1]: "unknown", ids[2]: "retried"}
    assert len(activepieces.calls("POST", f"/v1/flow-runs/{ids[1]}")) == 1


def test_pieces_list_private(cli):
    r = cli("platform", "pieces", "list", "--private", "--json")
    assert r.code == 0 and {p["name"] for p in r.json["pieces"]} == {"ever-gauzy", "@acme/piece-ledger"}


# -- sync ----------------------------------------------------------------------------------------


def test_sync_compare_and_push(cli, activepieces, ctx):
    from aptui.store import connections as store_connections

    store_connections.create(ctx.store, provider_id="aws", name="local-aws", scope="PLATFORM",
                             config={"accessKeyId": "AKIALOCAL0001", "secretAccessKey": "local-secret-999",
                                     "region": "us-east-1"})
    r = cli("sync", "--json")
    assert r.code == 1 and r.json["summary"] == {"create": 1, "update": 0, "extra": 2, "same": 0}
    r = cli("sync", "--push")
    assert r.code == 2 and not activepieces.calls("POST")  # confirmation needed
    r = cli("sync", "--push", "--yes")
    assert r.code == 0 and "create local-aws" in r.err and "created" in r.out
    _no_secret(r, "local-secret-999")
    assert any(s["name"] == "local-aws" for s in activepieces.secret_managers)


# -- failures ------------------------------------------------------------------------------------


def test_401_is_one_line_with_a_hint(cli, activepieces):
    activepieces.api_keys.clear()
    r = cli("platform", "projects", "list")
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aptui: AUTHENTICATION: invalid api key")
    assert "profile set-key" in lines[0] and activepieces.api_key not in r.err
    j = cli("platform", "projects", "list", "--json")
    assert j.code == 1 and j.json["error"]["code"] == "AUTHENTICATION"


def test_429_then_success_waits(cli, activepieces):
    activepieces.fault("/v1/projects", status=429, retry_after=1)
    started = time.monotonic()
    r = cli("platform", "projects", "list", env={"APTUI_RETRIES": "2"})
    assert r.code == 0 and time.monotonic() - started >= 1.0


def test_500_then_success(cli, activepieces):
    activepieces.fault("/v1/projects", status=500)
    assert cli("platform", "projects", "list", env={"APTUI_RETRIES": "2"}).code == 0
    assert [c.status for c in activepieces.calls("GET", "/v1/projects")] == [500, 200]


def test_timeout_is_exit_4(cli, activepieces):
    activepieces.fault("/v1/projects", delay=3, times=None)
    r = cli("platform", "projects", "list", env={"APTUI_TIMEOUT": "0.4"})
    assert r.code == 4 and "PLATFORM_TIMEOUT" in r.err


def test_malformed_json_is_reported(cli, activepieces):
    activepieces.fault("/v1/projects", malformed=True)
    r = cli("platform", "projects", "list")
    assert r.code == 1 and "PLATFORM_BAD_RESPONSE" in r.err


def test_read_only_refuses_before_any_request(cli, activepieces):
    r = cli("--read-only", "platform", "connections", "delete", "conAa1Bb2Cc3Dd4Ee5Ff6", "--yes")
    assert r.code == 2 and "READ_ONLY" in r.err
    r = cli("--read-only", "platform", "mcp", "rotate", "--yes")
    assert r.code == 2
    assert activepieces.requests == []


@pytest.mark.parametrize("args", [
    ("profile", "add", "x", "--url", "https://ap.example.com", "--no-key", "--key-env", "K"),
    ("platform", "mcp", "update", "--disabled-tools", "a", "--disable", "b"),
    ("platform", "secret-managers", "create", "--provider", "aws", "--from-local", "x"),
    ("platform", "secret-managers", "create", "--name", "x"),
    ("platform", "secret-managers", "create", "--provider", "aws", "--name", "x", "--set", "color=blue"),
    ("platform", "secret-managers", "create", "--provider", "aws", "--name", "x", "--set", "region"),
    ("platform", "runs", "retry", "--since", "1h", "--after", "2026-01-01T00:00:00Z", "--dry-run"),
    ("platform", "runs", "list", "--before", "yesterday"),
])
def test_usage_errors_before_any_request(ap_profile, activepieces, args, capsys):
    from aptui.cli import main

    with pytest.raises(SystemExit) as exc:  # in-process: the same entry point, without a subprocess
        main(list(args))
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert err.startswith("aptui: ") and len(err.strip().splitlines()) == 1
    assert activepieces.requests == []


def test_check_ref_without_the_tester(ap_profile, activepieces, monkeypatch):
    from click.testing import CliRunner

    from aptui.cli import cli as root
    from aptui.services import platform

    monkeypatch.setattr(platform, "reference_tester_available", lambda: False)
    ref = "{{smcAws0000000000001ab|ap_sep_v1|prod/x:y}}"
    args = ["platform", "connections", "upsert", "--display-name", "R", "--piece-name", "p", "--external-id", "r"]
    result = CliRunner().invoke(root, [*args, "--check-ref"], input=ref + "\n", standalone_mode=False)
    assert isinstance(result.exception, AptuiError) and "not available" in result.exception.message
    assert activepieces.requests == []
    result = CliRunner().invoke(root, args, input=ref + "\n", standalone_mode=False)  # default: skip the check
    assert result.exception is None and result.return_value == 0
    assert len(activepieces.calls("POST", "/v1/app-connections")) == 1
