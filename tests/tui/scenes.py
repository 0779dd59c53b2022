"""One realistic, deterministic scene for snapshots and for scripts/screenshots.py.

Three secret-manager connections (AWS on moto, Vault, Conjur), cached values, a profile on the
Activepieces double, a few audit entries; ``drive(pilot, pane)`` puts a pane in its typical state.
Fake values only: nothing here is a real credential.
"""

from __future__ import annotations

from typing import Any

AWS_ID = "awsConn00000000000001"
VAULT_ID = "vaultConn000000000001"
CONJUR_ID = "conjurConn00000000001"
SLACK_TOKEN = "xoxb-demo-0000-not-a-real-token"
REFERENCE = "{{" + AWS_ID + "|ap_sep_v1|prod/api-keys:slack_token}}"


def seed(ctx: Any, *, aws_config: dict[str, str], ap_url: str | None = None, ap_key: str | None = None,
         project: str | None = None, moto_secrets: Any = None, ap_session: str | None = None) -> None:
    from aptui.masking import Secret
    from aptui.store import connections as store_conn
    from aptui.store import profiles
    from aptui.store.cache import cache_for

    if moto_secrets is not None:
        moto_secrets("prod/api-keys", {"slack_token": SLACK_TOKEN, "stripe_key": "sk_test_demo_0000"})
    store_conn.create(ctx.store, provider_id="aws", name="prod-aws", config=aws_config, connection_id=AWS_ID,
                      tested_ok=True)
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault-payments", connection_id=VAULT_ID,
                      config={"url": "http://127.0.0.1:8200", "roleId": "demo-role", "secretId": "demo-secret-id"},
                      scope="PROJECT", project_ids=["prj8Kq2LmN4pQ7rS9tUv1"])
    store_conn.record_test(ctx.store, VAULT_ID, False, "SECRET_MANAGER_CONNECTION_FAILED: invalid role or secret ID")
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur-ci", connection_id=CONJUR_ID,
                      config={"organizationAccountName": "acme", "loginId": "host/ci", "url": "https://conjur.local",
                              "apiKey": "demo-conjur-key"})
    cache = cache_for(ctx.store)
    cache.put_many(AWS_ID, {"prod/api-keys:stripe_key": "sk_test_demo_0000", "prod/db:password": "demo-pw"}, 300)
    cache.put(VAULT_ID, "secret/data/payments/api", "demo-vault-value", 300)
    cache.get(AWS_ID, "prod/db:password")
    cache.get(AWS_ID, "prod/missing:key")
    cache.flush()
    if ap_url:
        profiles.create(ctx.store, "prod", ap_url, api_key=Secret(ap_key or ""), default_project=project,
                        make_default=True)
        if ap_session:
            from tests.doubles.activepieces import store_session

            store_session(ctx.store, "prod", ap_session)
    for action, target, outcome, detail in (
            ("sm.add", AWS_ID, "ok", "provider=aws name=prod-aws scope=PLATFORM"),
            ("sm.add", VAULT_ID, "ok", "provider=hashicorp name=vault-payments scope=PROJECT"),
            ("sm.test", VAULT_ID, "failed", "SECRET_MANAGER_CONNECTION_FAILED"),
            ("ref.test", REFERENCE.replace("{{", "").replace("}}", ""), "ok", None),
            ("cache.clear", CONJUR_ID, "ok", "0 entries"),
            ("platform.mcp.rotate", "prj8Kq2LmN4pQ7rS9tUv1", "ok", "server=mcp1")):
        ctx.audit(action, target, outcome, detail)


async def drive(pilot: Any, pane: str) -> None:
    """Put ``pane`` ("sm", "refs", "cache", "platform", "audit") in its typical state."""
    from textual.widgets import Input

    from tests.tui.conftest import settle

    app = pilot.app
    number = {p.PANE_ID: p.NUMBER for p in app.pane_classes}[pane]
    await settle(pilot)
    await pilot.press(number)
    await settle(pilot)
    if pane == "refs":
        box = app.query_one("#ref-input", Input)
        box.value = REFERENCE
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
    await settle(pilot)
