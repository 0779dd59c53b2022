"""The CLI flows of the leak scan: every noun, the ``--json`` variants, the error paths.

Each phase is a function of the ``World``; ``run_all`` runs them in order (they build on each
other: connections, then references and caches, the platform, rotation, incidents, audits).
Steps under ``if w.full`` belong to the full matrix (``-m slow``); the others are the
representative subset that runs in CI: every noun, text and ``--json``, every explicit reveal, and
one of each error kind (wrong credentials, unreachable, 5xx, 400 quoting the value, a parse error).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.leaks.world import (
    LEAK_USER,
    PROJECT,
    SECOND_PROJECT,
    World,
    compose_file,
    env_file,
    install_mcp_rotation_tokens,
)


def ref(conn_id: str, path: str) -> str:
    return "{{" + conn_id + "|ap_sep_v1|" + path + "}}"


def clear_faults(*doubles) -> None:
    for double in doubles:
        with double._lock:
            double._faults.clear()


def connections(w: World) -> None:
    """``sm add/list/show/test/update/remove`` and their error paths."""
    made = w.json("sm", "add", "--provider", "aws", "--name", "prod-aws", "--set", "region=us-east-1",
                  "--set", f"endpoint={w.moto.endpoint}",
                  "--set-env", "accessKeyId=CAN_AWS_KEY_ID", "--set-env", "secretAccessKey=CAN_AWS_SECRET")
    w.ids["aws"] = made["connection"]["id"]
    vault_secrets = json.dumps({"roleId": w.env["CAN_VAULT_ROLE_ID"], "secretId": w.env["CAN_VAULT_SECRET_ID"]})
    w.ids["vault"] = w.json("sm", "add", "--provider", "hashicorp", "--name", "vault-pay", "--set",
                            f"url={w.vault.url}", stdin=vault_secrets)["connection"]["id"]
    conjur = w.cli("sm", "add", "--provider", "cyberark-conjur", "--name", "conjur-ci", "--set",
                   "organizationAccountName=myorg", "--set", "loginId=host/app/ci", "--set", f"url={w.conjur.url}",
                   stdin=w.env["CAN_CONJUR_KEY"] + "\n")
    assert "conjur-ci" in conjur.out
    w.ids["op"] = w.json("sm", "add", "--provider", "onepassword", "--name", "op", "--set-env",
                         "serviceAccountToken=CAN_OP_TOKEN", "--no-test")["connection"]["id"]
    # wrong credentials: nothing saved, one line, no value
    w.cli("sm", "add", "--provider", "hashicorp", "--name", "vault-bad", "--set", f"url={w.vault.url}",
          "--set-env", "roleId=CAN_VAULT_ROLE_ID", "--set-env", "secretId=CAN_VAULT_WRONG_SECRET_ID", code=1)
    # a secret on argv is refused without being repeated
    w.cli("sm", "add", "--provider", "aws", "--name", "argv", "--set", "secretAccessKey=" + w.env["CAN_AWS_SECRET"],
          code=2)
    listed = w.json("sm", "list")
    items = listed["data"]
    w.ids["conjur"] = next(c["id"] for c in items if c["name"] == "conjur-ci")
    w.cli("sm", "show", "prod-aws")
    # a 5xx whose body quotes the credentials (a misbehaving proxy): scrubbed from message and hint
    w.vault.fail_next(8, 500, body={"errors": [f"internal error for role {w.env['CAN_VAULT_ROLE_ID']} "
                                               f"secret {w.env['CAN_VAULT_SECRET_ID']}"]})
    w.json("sm", "test", "vault-pay", code=(1, 4), env={"APTUI_RETRIES": "0"})
    clear_faults(w.vault)
    w.json("sm", "update", "prod-aws", "--secret", "secretAccessKey", stdin=w.env["CAN_AWS_SECRET_2"] + "\n")
    if not w.full:
        return
    w.json("sm", "show", "conjur-ci")
    w.json("sm", "add", "--provider", "cyberark-conjur", "--name", "conjur-bad", "--set",
           "organizationAccountName=myorg", "--set", "loginId=host/app/ci", "--set", f"url={w.conjur.url}",
           "--set-env", "apiKey=CAN_CONJUR_WRONG_KEY", code=1)
    w.cli("sm", "add", "--provider", "onepassword", "--name", "op-bad", "--set-env",
          "serviceAccountToken=CAN_OP_TOKEN", code=(1, 4))
    w.cli("sm", "add", "--provider", "hashicorp", "--name", "vault-down", "--set", "url=http://127.0.0.1:9",
          "--set-env", "roleId=CAN_VAULT_ROLE_ID", "--set-env", "secretId=CAN_VAULT_SECRET_ID", code=4)
    w.json("sm", "add", "--provider", "hashicorp", "--name", "vault-down", "--set", "url=http://127.0.0.1:9",
           "--set-env", "roleId=CAN_VAULT_ROLE_ID", "--set-env", "secretId=CAN_VAULT_SECRET_ID", "--no-test")
    w.cli("sm", "list")
    w.json("sm", "list", "--check", code=(0, 1, 4))
    w.json("sm", "show", "vault-pay")
    w.cli("sm", "test", "prod-aws")
    w.json("sm", "test", "vault-pay")
    w.json("sm", "test", "conjur-ci")
    w.json("sm", "test", "op", code=(1, 4))
    w.cli("sm", "test", "vault-down", code=4)
    w.conjur.fail_next(8, 502)
    w.cli("sm", "test", "conjur-ci", code=(1, 4), env={"APTUI_RETRIES": "0"})
    clear_faults(w.conjur)
    w.cli("sm", "update", "vault-pay", "--value-ttl", "10m")
    w.cli("sm", "remove", "vault-down", "--yes")


def references(w: World) -> None:
    """``ref parse/test/resolve/scan``: masked unless ``--reveal``; error paths quote no value."""
    aws, vault, conjur = w.ids["aws"], w.ids["vault"], w.ids["conjur"]
    slack = ref(aws, "prod/api-keys:slack_token")
    w.cli("ref", "test", slack)
    w.cli("ref", "test", slack, "--reveal", allow={"slack_token"}, expect={"slack_token"})
    w.json("ref", "test", ref(aws, "prod/not-json:k"), code=1)
    w.cli("ref", "test", ref(aws, "prod/broken-json:k"), code=1)
    doc = {"auth": {"token": slack, "db": ref(aws, "prod/db:password")},
           "vault": ref(vault, "secret/data/payments/api/key"), "conjur": ref(conjur, "prod/db/password"),
           "list": [slack], "broken": "{{" + aws + "|ap_sep_v1|}", "plain": w.canaries.make("plain_value_in_config")}
    config = w.tmp / "connection-value.json"
    config.write_text(json.dumps(doc, indent=2))
    w.json("ref", "resolve", str(config), code=(0, 1))
    revealed = {"slack_token", "db_password", "vault_value", "conjur_value", "plain_value_in_config"}
    w.cli("ref", "resolve", str(config), "--reveal", code=(0, 1), allow=revealed,
          expect={"slack_token", "db_password", "vault_value", "conjur_value"})
    flows = w.tmp / "flows"
    flows.mkdir()
    (flows / "slack.json").write_text(json.dumps({"value": slack, "db": ref(aws, "prod/db:password")}))
    (flows / "pay.yaml").write_text(f"vault: '{ref(vault, 'secret/data/payments/api/key')}'\n")
    (flows / ".env").write_text(f"SLACK={slack}\nPASTED_BY_MISTAKE={w.canaries.make('plain_value_in_env')}\n")
    w.json("ref", "scan", str(flows))
    if not w.full:
        return
    w.cli("ref", "parse", slack)
    w.json("ref", "parse", ref(aws, "prod/api-keys"), code=1)
    w.json("ref", "test", ref(aws, "prod/db:password"))
    w.json("ref", "test", ref(aws, "prod/api-keys:stripe_key"), "--reveal", allow={"stripe_key"},
           expect={"stripe_key"})
    w.json("ref", "test", ref(vault, "secret/data/payments/api/key"))
    w.cli("ref", "test", ref(conjur, "prod/db/password"))
    for path in ("prod/not-json:k", "prod/broken-json:k", "prod/list:0", "prod/missing:k", "prod/api-keys:nope"):
        w.json("ref", "test", ref(aws, path), code=1)
        w.cli("ref", "test", ref(aws, path), "--no-cache", code=1)
    w.json("ref", "test", ref(w.ids["op"], "op://prod/db/password"), code=(1, 4))
    w.cli("ref", "resolve", str(config), code=(0, 1))
    w.cli("ref", "scan", str(flows))
    w.json("ref", "scan", str(flows), "--no-test")


def caches(w: World) -> None:
    w.json("cache", "status")
    w.cli("cache", "clear", "--connection", "prod-aws", "--yes")
    if not w.full:
        return
    w.cli("cache", "status")
    w.json("ref", "test", ref(w.ids["aws"], "prod/api-keys:slack_token"))  # cached again
    w.json("cache", "status")


def profiles(w: World) -> None:
    w.json("profile", "add", "prod", "--url", w.ap.url, "--key-env", "CAN_AP_KEY", "--project", PROJECT, "--default")
    w.cli("profile", "add", "bad", "--url", w.ap.url, "--project", PROJECT, stdin=w.env["CAN_AP_WRONG_KEY"] + "\n")
    w.json("profile", "test", "bad", code=1)
    sessions(w)
    if not w.full:
        return
    w.json("profile", "add", "down", "--url", "http://127.0.0.1:9", "--key-env", "CAN_AP_KEY")
    w.cli("profile", "list")
    w.json("profile", "list")
    w.cli("profile", "test")
    w.json("profile", "test", "prod")
    w.cli("profile", "test", "bad", code=1)
    w.json("profile", "test", "down", code=4)
    w.cli("profile", "set-key", "bad", stdin=w.env["CAN_AP_WRONG_KEY"] + "\n")
    w.cli("platform", "info")
    w.json("platform", "projects", "list")


def sessions(w: World) -> None:
    """Signing in (a wrong password, stdin, --password-env), using the session, its expiry, a pasted token."""
    w.cli("platform", "mcp", "show", code=2)  # USER_SESSION_REQUIRED before any request
    w.cli("profile", "login", "prod", "--email", LEAK_USER, stdin=w.env["CAN_AP_WRONG_PASSWORD"] + "\n", code=2)
    w.json("profile", "login", "prod", "--email", LEAK_USER, "--password-env", "CAN_AP_WRONG_PASSWORD", code=2)
    w.json("profile", "login", "prod", "--email", LEAK_USER, stdin=w.env["CAN_AP_PASSWORD"] + "\n")
    w.json("platform", "mcp", "show")
    w.ap.revoke_sessions(LEAK_USER)  # a password change elsewhere: SESSION_EXPIRED, the session is dropped
    w.cli("platform", "mcp", "show", code=2)
    w.json("profile", "show", "prod")
    w.cli("profile", "login", "prod", "--password-env", "CAN_AP_PASSWORD")
    w.cli("profile", "list")
    w.json("profile", "list")
    w.cli("profile", "login", "bad", "--token-stdin", stdin=w.ap.session_token(LEAK_USER, ttl=-60) + "\n", code=2)
    w.json("profile", "login", "bad", "--token-stdin", stdin=w.ap.session_token(LEAK_USER) + "\n")
    w.cli("profile", "show", "bad")
    w.json("profile", "logout", "bad")


def platform(w: World) -> None:
    w.json("platform", "connections", "upsert", "--display-name", "Ops Slack", "--piece-name",
           "@activepieces/piece-slack", "--external-id", "ops-slack-1", "--value-env", "CAN_APP_VALUE")
    # a 400 whose body quotes the value sent: masked out of the message
    w.ap.fault("/v1/app-connections", method="POST", status=400, body={
        "statusCode": 400, "code": "FST_ERR_VALIDATION", "error": "Bad Request",
        "message": f"body/value must match pattern, got {w.env['CAN_APP_VALUE']}"})
    w.json("platform", "connections", "upsert", "--display-name", "Ops Slack", "--piece-name",
           "@activepieces/piece-slack", "--external-id", "ops-slack-1", "--value-env", "CAN_APP_VALUE", code=(1, 2))
    w.ap.faults.clear()
    # MCP: tokens never listed; a rotation shows its new token once, in that command's stdout only
    w.json("platform", "mcp", "list", "--project", PROJECT, "--project", SECOND_PROJECT)
    install_mcp_rotation_tokens(w, [w.canaries["mcp_token_new_cli"], w.canaries["mcp_token_new_json"],
                                       w.canaries["mcp_token_new_rotation"], w.canaries["mcp_token_new_tui"]])
    w.cli("platform", "mcp", "rotate", "--yes", allow={"mcp_token_new_cli"}, expect={"mcp_token_new_cli"})
    w.json("platform", "secret-managers", "create", "--provider", "aws", "--name", "plat-aws", "--set",
           "region=us-east-1", "--set-env", "accessKeyId=CAN_AWS_KEY_ID", "--set-env", "secretAccessKey=CAN_AWS_SECRET")
    w.json("sync", "--push", "--yes", code=(0, 1))
    w.json("platform", "runs", "retry", "--status", "failed", "--dry-run")
    if not w.full:
        return
    w.json("platform", "connections", "list")
    w.cli("platform", "connections", "list")
    w.cli("platform", "connections", "upsert", "--display-name", "Ops Slack 2", "--piece-name",
          "@activepieces/piece-slack", "--external-id", "ops-slack-2", stdin=w.env["CAN_APP_VALUE_2"] + "\n")
    w.json("platform", "connections", "upsert", "--display-name", "Ops Ref", "--piece-name",
           "@activepieces/piece-slack", "--external-id", "ops-ref", "--check-ref",
           stdin=ref(w.ids["aws"], "prod/api-keys:slack_token") + "\n")
    w.ap.fault("/v1/app-connections", method="POST", status=500, times=10)
    w.cli("platform", "connections", "upsert", "--display-name", "Ops Slack", "--piece-name",
          "@activepieces/piece-slack", "--external-id", "ops-slack-1", "--value-env", "CAN_APP_VALUE", code=4,
          env={"APTUI_RETRIES": "1"})
    w.ap.faults.clear()
    w.json("platform", "connections", "list", "--profile", "bad", code=1)
    w.cli("platform", "connections", "list", "--profile", "down", "--project", PROJECT, code=4)
    w.cli("platform", "mcp", "show")
    w.json("platform", "mcp", "show", "--project", SECOND_PROJECT)
    w.json("platform", "mcp", "rotate", "--project", SECOND_PROJECT, "--yes", allow={"mcp_token_new_json"},
           expect={"mcp_token_new_json"})
    w.json("platform", "mcp", "show")
    w.json("platform", "secret-managers", "list")
    w.ap.fail_connect("plat-vault", "permission denied")
    w.cli("platform", "secret-managers", "create", "--provider", "hashicorp", "--name", "plat-vault", "--set",
          f"url={w.vault.url}", "--set-env", "roleId=CAN_VAULT_ROLE_ID", "--set-env", "secretId=CAN_VAULT_SECRET_ID",
          code=1)
    w.json("platform", "secret-managers", "create", "--from-local", "conjur-ci")
    w.cli("platform", "secret-managers", "list")
    w.json("sync", code=(0, 1))
    w.cli("sync", code=(0, 1))
    w.json("platform", "runs", "list")
    w.cli("platform", "runs", "retry", "--status", "failed", "--dry-run")
    w.json("cache", "clear", "--server", "--yes")


def rotation(w: World) -> None:
    w.json("rotation", "list", "--offline", code=(0, 1))
    w.conjur.add_host("host/app/ci", w.env["CAN_CONJUR_NEW_KEY"])
    w.cli("rotation", "rotate", "sm:conjur-ci", "--secret-env", "CAN_CONJUR_NEW_KEY", "--yes", "--no-publish")
    if not w.full:
        return
    key_id, secret = w.moto.iam_user("svc-rotate", ["secretsmanager:*", "iam:*", "sts:*"])
    w.scanner.harvest("rotation_user_secret_key", secret)
    w.env["ROT_KEY_ID"], w.env["ROT_SECRET"] = key_id, secret
    w.cli("sm", "add", "--provider", "aws", "--name", "rot-aws", "--set", "region=us-east-1",
          "--set", f"endpoint={w.moto.endpoint}",
          "--set-env", "accessKeyId=ROT_KEY_ID", "--set-env", "secretAccessKey=ROT_SECRET")
    w.cli("rotation", "list", code=(0, 1, 4))
    w.json("rotation", "list", code=(0, 1, 4))
    w.json("rotation", "show", "sm:prod-aws", code=(0, 1, 4))
    w.cli("rotation", "rotate", "sm:rot-aws", "--yes", "--no-publish")
    w.ap.issue_api_key("rotated by the leak scan", value=w.env["CAN_AP_NEW_KEY"])
    w.json("rotation", "rotate", "profile:prod", "--secret-env", "CAN_AP_NEW_KEY", "--yes")
    w.cli("rotation", "rotate", "profile:prod", "--yes")  # the platform issues a key (harvested from the store)
    w.cli("rotation", "rotate", f"mcp:prod/{PROJECT}", "--yes", allow={"mcp_token_new_rotation"},
          expect={"mcp_token_new_rotation"})
    w.json("rotation", "mark", "sm:vault-pay", "--note", "rotated in Vault by hand", code=(0, 2))
    w.json("rotation", "list", code=(0, 1, 4))


def incidents(w: World) -> None:
    flows = w.tmp / "flows"
    started = w.json("incident", "start", "--credential", "sm:prod-aws", "--title", "slack token leak",
                     "--rotated-elsewhere", "--note", "rotated in the AWS console", "--scan", str(flows), "--yes",
                     code=(0, 1))
    w.ids["incident"] = str(started.get("incident", {}).get("id") or started.get("id"))
    assert w.ids["incident"] != "None", started
    out_md, out_json = w.tmp / "incident.md", w.tmp / "incident.json"
    w.json("incident", "export", w.ids["incident"], "--format", "json", "-o", str(out_json))
    w.scanner.add_file(out_json, "incident export (json)")
    if not w.full:
        return
    w.cli("incident", "list")
    w.json("incident", "show", w.ids["incident"])
    w.cli("incident", "show", w.ids["incident"])
    w.cli("incident", "export", w.ids["incident"])
    w.cli("incident", "export", w.ids["incident"], "--format", "json")
    w.cli("incident", "export", w.ids["incident"], "-o", str(out_md))
    w.scanner.add_file(out_md, "incident export (md)")


def audits(w: World) -> None:
    env = w.tmp / "ap.env"
    # the last line reuses a credential aptui stores (finding file.store_secrets: named, never shown)
    env.write_text(env_file(w.canaries) + f"AP_S3_SECRET_ACCESS_KEY={w.env['CAN_AWS_SECRET_2']}\n")
    env.chmod(0o600)
    piece = w.tmp / "pieces" / "acme"
    (piece / "src").mkdir(parents=True)
    (piece / "package.json").write_text('{"name": "@acme/piece-acme", "version": "0.1.0"}')
    (piece / "src" / "index.ts").write_text(
        f'const apiKey = "{w.canaries.make("piece_hardcoded_key", "sk")}";\n'
        f'const url = "https://user:{w.canaries.make("piece_url_password")}@api.acme.example/v1";\n'
        "const token = process.env.ACME_TOKEN;\n")
    w.json("audit", "pieces", str(piece.parent), code=1)
    compose = w.tmp / "compose.yaml"
    compose.write_text(compose_file(w.canaries))
    w.json("audit", "hardening", "--env-file", str(env), "--compose-file", str(compose), "--no-live", "--all",
           code=1)
    w.cli("audit", "hardening", "--env-file", str(env), "--no-live", "--markdown", "-", code=1)
    w.json("store", "check")
    w.json("audit", "log", "--limit", "100000")
    if not w.full:
        return
    md = w.tmp / "hardening.md"
    w.cli("audit", "hardening", "--env-file", str(env), "--compose-file", str(compose), "--no-live", code=1)
    w.cli("audit", "hardening", "--env-file", str(env), "--no-live", "--markdown", str(md), code=1)
    w.scanner.add_file(md, "hardening report (md)")
    w.cli("store", "check")
    w.json("store", "info")
    w.cli("audit", "log", "--limit", "100000")
    w.cli("audit", "pieces", str(piece.parent), code=1)


def passphrase(w: World) -> None:
    """Re-key the store to a passphrase (a canary), use it, give a wrong one, re-key back to a key file."""
    w.env["APTUI_PASSPHRASE"] = w.canaries.make("store_passphrase")
    w.json("store", "rekey", "--passphrase")
    w.json("store", "check")
    w.cli("store", "check", code=3, env={"APTUI_PASSPHRASE": w.canaries.make("wrong_passphrase")})
    w.cli("store", "rekey", "--key-file")
    del w.env["APTUI_PASSPHRASE"]
    w.json("store", "info")


def slips(w: World) -> None:
    """A secret typed where a name belongs (the easy mistakes): refused without being repeated."""
    c = w.canaries
    w.cli("profile", "set-key", "prod", c.make("slip_extra_argument", "sk"), code=2)
    w.json("profile", "set-key", "prod", c.make("slip_extra_argument_json", "sk"), code=2)
    w.cli("profile", "set-key", c.make("slip_key_as_name", "sk"), stdin="\n", code=2)
    w.cli("sm", "add", "--provider", "aws", "--name", "slip", "--set", "region=us-east-1",
          "--set-env", "accessKeyId=" + c.make("slip_value_as_env_name", "aws-key-id"), code=2)
    w.json("sm", "update", "prod-aws", "--secret", c.make("slip_value_as_field", "aws-secret"), code=2)
    w.json("sm", "show", c.make("slip_value_as_connection", "sk"), code=(1, 2))
    w.cli("ref", "test", c.make("slip_secret_as_reference", "xoxb"))  # a plain string: passes through, masked
    w.cli("profile", "add", "slip", "--url", "https://ap.example.com/?token=" + c.make("slip_token_in_url"),
          "--no-key", code=2)
    w.cli("platform", "secret-managers", "create", "--provider", "aws", "--name", "slip",
          "--set-env", c.make("slip_set_env_value", "aws-secret"), code=2)
    w.json("platform", "connections", "upsert", "--display-name", "slip", "--piece-name", "x",
           "--external-id", "slip", "--value-env", c.make("slip_value_env", "xoxb"), code=2)


def wrong_aws_credentials(w: World) -> None:
    """Last: moto starts checking signatures, so the canary AWS key is now a wrong credential."""
    w.moto.enforce_auth()
    w.json("sm", "test", "prod-aws", code=1)
    w.json("ref", "test", ref(w.ids["aws"], "prod/api-keys:slack_token"), "--no-cache", code=1,
           env={"APTUI_DEBUG": "1"})
    if not w.full:
        return
    w.cli("ref", "test", ref(w.ids["aws"], "prod/db:password"), "--no-cache", code=1)
    w.cli("sm", "test", "prod-aws", code=1, env={"APTUI_DEBUG": "1"})


def migration(w: World) -> None:
    """A whole ``migrate`` run: plan (text, --json, --reveal), apply, status, a changed source, an app
    connection, rollback with --purge; the plan file and the encrypted backups are scanned too."""
    c = w.canaries
    src = w.tmp / "migrate"
    src.mkdir()
    doc_json = src / "values.json"
    doc_json.write_text(json.dumps({"slack": {"token": c.make("migrate_slack", "xoxb"), "channel": "#ops"},
                                    "db": {"host": "db", "password": c.make("migrate_db_password")}}, indent=2))
    doc_yaml = src / "inputs.yaml"
    doc_yaml.write_text(f"openai:\n  apiKey: {c.make('migrate_openai', 'sk')}  # note\n  model: gpt\n")
    plan = w.tmp / "migration-plan.json"
    w.json("sm", "add", "--provider", "aws", "--name", "migrate-aws", "--set", "region=us-east-1",
           "--set", f"endpoint={w.moto.endpoint}", "--set-env", "accessKeyId=CAN_AWS_KEY_ID",
           "--set-env", "secretAccessKey=CAN_AWS_SECRET_2")
    w.cli("migrate", "plan", str(doc_json), str(doc_yaml), "--to", "migrate-aws", "--secret", "leak/{stem}", "--out",
          str(plan))
    migrated = {"migrate_slack", "migrate_db_password", "migrate_openai"}
    w.json("migrate", "plan", str(doc_json), str(doc_yaml), "--to", "migrate-aws", "--secret", "leak/{stem}",
           "--out", str(plan), "--reveal", allow=migrated, expect=migrated)
    w.json("migrate", "plan", str(doc_json), str(doc_yaml), "--to", "migrate-aws", "--secret", "leak/{stem}",
           "--out", str(plan))
    w.scanner.add("migration plan file", plan.read_text())
    w.cli("migrate", "apply", str(plan), "--yes")
    w.json("migrate", "status", str(plan))
    w.cli("ref", "resolve", str(doc_json), code=(0, 1))
    app_plan = w.tmp / "migration-app.json"
    w.json("migrate", "plan", "--app-connection", "ops-slack-1", "--project", PROJECT, "--value-env", "CAN_APP_VALUE",
           "--to", "migrate-aws", "--secret", "leak/apps", "--out", str(app_plan))
    w.scanner.add("migration app plan file", app_plan.read_text())
    w.json("migrate", "apply", str(app_plan), "--yes", env={"CAN_APP_VALUE": w.env["CAN_APP_VALUE_2"]}, code=1)
    w.json("migrate", "apply", str(app_plan), "--yes")
    w.cli("migrate", "rollback", str(app_plan), "--yes")
    w.json("migrate", "rollback", str(plan), "--yes", "--purge")
    # a source changed after planning: refused, no value quoted
    w.cli("migrate", "plan", str(doc_json), "--to", "migrate-aws", "--secret", "leak2/{stem}", "--out", str(plan))
    doc_json.write_text(doc_json.read_text().replace(c["migrate_db_password"], c.make("migrate_db_password_2")))
    w.json("migrate", "apply", str(plan), "--yes", code=1)
    if not w.full:
        return
    w.cli("migrate", "status", str(plan), code=1)


PHASES = (connections, references, caches, profiles, platform, rotation, incidents, migration, audits, slips,
          wrong_aws_credentials, passphrase)


def run_all(w: World, phases=PHASES) -> None:
    for phase in phases:
        phase(w)


def collect_home(w: World) -> int:
    """Every file aptui left under APTUI_HOME (store, WAL, key file, screenshots, logs, exports)."""
    return w.scanner.add_tree(Path(w.home), "APTUI_HOME")
