"""Rotation items and due dates: provider-observed dates (moto IAM + Secrets Manager, the Vault double,
the Activepieces double), recorded fallbacks with the reason, states, sorting, filters, marks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aptui.clock import utc_now
from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from aptui.services import platform
from aptui.services.rotation import items as rot_items
from aptui.store import connections as store_conn
from aptui.store import profiles as store_profiles
from tests.doubles._http import closed_port_url
from tests.doubles.activepieces import DEFAULT_PROJECT
from tests.rotation.conftest import admin_user

DAY = 86400


def by_id(report):
    return {i.id: i for i in report.items}


async def test_no_credentials_gives_an_empty_ok_report(ctx):
    report = await rot_items.list_items(ctx)
    assert report.items == [] and report.exit_code() == Exit.OK


async def test_aws_key_age_is_observed_from_iam(ctx, aws_conn):
    aws_conn("prod-aws")
    report = await rot_items.list_items(ctx)
    item = by_id(report)["sm:prod-aws"]
    assert item.kind == "aws" and item.source == "observed:iam.ListAccessKeys" and item.confidence == "high"
    assert item.policy == 90 * DAY and item.state == rot_items.OK
    assert abs((item.due - item.last_rotated).total_seconds() - 90 * DAY) < 1
    assert report.exit_code() == Exit.OK
    later = await rot_items.list_items(ctx, now=utc_now() + timedelta(days=80))
    assert by_id(later)["sm:prod-aws"].state == rot_items.DUE_SOON and later.exit_code() == Exit.OK
    overdue = await rot_items.list_items(ctx, now=utc_now() + timedelta(days=91))
    assert by_id(overdue)["sm:prod-aws"].state == rot_items.OVERDUE and overdue.exit_code() == Exit.FAILED


async def test_access_denied_on_list_access_keys_falls_back_to_recorded(ctx, aws_conn, moto_aws):
    admin_user(moto_aws)
    aws_conn("limited", actions=["secretsmanager:ListSecrets"])
    moto_aws.enforce_auth()
    report = await rot_items.list_items(ctx)
    item = by_id(report)["sm:limited"]
    assert item.source == "recorded" and item.confidence == "medium" and item.state == rot_items.OK
    assert item.lookup == rot_items.LOOKUP_DENIED
    assert any("iam:ListAccessKeys failed (AWS_REQUEST_FAILED" in n and "AccessDenied" in n for n in item.notes)
    assert report.exit_code() == Exit.OK


async def test_policy_overrides_per_kind_and_per_item(ctx, aws_conn):
    aws_conn("a")
    aws_conn("b")
    ctx.settings.rotation_policies["aws"] = 30 * DAY
    ctx.settings.rotation_items["sm:b"] = 1 * DAY
    report = await rot_items.list_items(ctx, now=utc_now() + timedelta(days=2))
    items = by_id(report)
    assert items["sm:a"].policy == 30 * DAY and items["sm:a"].state == rot_items.OK
    assert items["sm:b"].policy == 1 * DAY and items["sm:b"].state == rot_items.OVERDUE
    assert [i.id for i in report.items] == ["sm:b", "sm:a"]  # by due date


def _bao_conn(ctx, openbao, name: str, *, rotation: bool, **role_kw) -> None:
    """A Vault connection on the real OpenBao, in its own namespace (its own roles and policies)."""
    from tests.doubles.openbao import ACTIVEPIECES_POLICY, ROTATION_POLICY

    ns = openbao.fresh_namespace("rot")
    policies = ["activepieces"]
    if rotation:
        openbao.write_policy("rotate", ACTIVEPIECES_POLICY + ROTATION_POLICY.replace("{role}", "app"), namespace=ns)
        policies = ["rotate"]
    role = openbao.approle("app", policies=policies, namespace=ns, **role_kw)
    store_conn.create(ctx.store, provider_id="hashicorp", name=name, config=openbao.config(role), tested_ok=True)


async def test_vault_secret_id_lookup_gives_creation_and_expiry(ctx, openbao):
    _bao_conn(ctx, openbao, "vault-pay", rotation=True, secret_id_ttl="120h")
    report = await rot_items.list_items(ctx)
    item = by_id(report)["sm:vault-pay"]
    assert item.source == "observed:vault.secret-id-lookup" and item.confidence == "high"
    assert item.policy == 30 * DAY
    assert item.expires is not None and item.due == item.expires  # the TTL ends before the 30-day policy
    assert item.state == rot_items.DUE_SOON
    assert any("hard expiry" in n for n in item.notes)


async def test_vault_lookup_denied_is_a_note_not_a_failure(ctx, openbao):
    _bao_conn(ctx, openbao, "vault-pay", rotation=False)
    item = by_id(await rot_items.list_items(ctx))["sm:vault-pay"]
    assert item.source == "recorded" and item.lookup == rot_items.LOOKUP_DENIED
    assert any("VAULT_REQUEST_FAILED" in n and "403" in n for n in item.notes)


async def test_unreachable_provider_is_noted_and_exit_4_when_nothing_could_be_looked_up(ctx):
    store_conn.create(ctx.store, provider_id="hashicorp", name="dead-vault", tested_ok=True,
                      config={"url": closed_port_url(), "roleId": "r", "secretId": "s"})
    report = await rot_items.list_items(ctx)
    item = by_id(report)["sm:dead-vault"]
    assert item.lookup == rot_items.LOOKUP_UNREACHABLE and item.state == rot_items.OK
    assert any("connection refused" in n for n in item.notes)
    assert report.exit_code() == Exit.UNREACHABLE
    offline = await rot_items.list_items(ctx, offline=True)
    assert offline.exit_code() == Exit.OK and by_id(offline)["sm:dead-vault"].lookup == rot_items.LOOKUP_NONE


async def test_one_failing_lookup_does_not_fail_the_others(ctx, aws_conn):
    aws_conn("good")
    store_conn.create(ctx.store, provider_id="hashicorp", name="dead-vault", tested_ok=True,
                      config={"url": closed_port_url(), "roleId": "r", "secretId": "s"})
    report = await rot_items.list_items(ctx)
    items = by_id(report)
    assert items["sm:good"].source.startswith("observed:")
    assert items["sm:dead-vault"].lookup == rot_items.LOOKUP_UNREACHABLE
    assert report.exit_code() == Exit.OK


async def test_referenced_aws_secrets_are_items_with_describe_secret_dates(ctx, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    moto_aws.create_secret("prod/api", {"k": "v"})
    moto_aws.create_secret("prod/db", {"password": "p"})
    sm = moto_aws.client()
    sm.rotate_secret(SecretId="prod/db", RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    from aptui.store.cache import cache_for

    cache_for(ctx.store).put(conn.id, "prod/api:k", "v", 300)
    ctx.audit("ref.test", "{{" + conn.id + "|ap_sep_v1|prod/db:password}}", "ok")
    report = await rot_items.list_items(ctx)
    items = by_id(report)
    api, db = items["aws-secret:prod-aws/prod/api"], items["aws-secret:prod-aws/prod/db"]
    assert api.source == "observed:secretsmanager.ListSecretVersionIds" and api.policy == 90 * DAY
    assert db.source == "observed:secretsmanager.DescribeSecret" and db.confidence == "high"
    assert abs((db.due - db.last_rotated).total_seconds() - 30 * DAY) < 5  # AWS's own schedule
    assert any("every 30 days" in n for n in db.notes)


async def test_a_secret_deleted_after_it_resolved_is_unknown_with_the_reason(ctx, aws_conn):
    conn = aws_conn("prod-aws")
    ctx.audit("ref.test", "{{" + conn.id + "|ap_sep_v1|gone/secret:key}}", "ok")  # resolved once, then deleted
    ctx.audit("ref.test", "{{" + conn.id + "|ap_sep_v1|typo/secret:key}}", "SECRET_MANAGER_GET_SECRET_FAILED")
    items = by_id(await rot_items.list_items(ctx))
    item = items["aws-secret:prod-aws/gone/secret"]
    assert item.state == rot_items.UNKNOWN and any("ResourceNotFound" in n for n in item.notes)
    assert "aws-secret:prod-aws/typo/secret" not in items  # never resolved: not a credential to track


async def test_conjur_and_profiles_use_recorded_dates(ctx, monkeypatch):
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur",
                      config={"organizationAccountName": "a", "loginId": "host/x", "url": "https://c", "apiKey": "k"})
    store_profiles.create(ctx.store, "prod", "https://ap.example.com", api_key=Secret("sk-" + "x" * 30))
    store_profiles.create(ctx.store, "envkey", "https://ap2.example.com")
    report = await rot_items.list_items(ctx, offline=True)
    items = by_id(report)
    assert items["sm:conjur"].source == "recorded" and items["sm:conjur"].confidence == "medium"
    assert items["profile:prod"].kind == "activepieces-api-key" and items["profile:prod"].state == rot_items.OK
    env = items["profile:envkey"]
    assert env.state == rot_items.UNKNOWN and any("AP_API_KEY" in n for n in env.notes)
    assert [i.id for i in report.items][-1] == "profile:envkey"  # unknown sorts last


async def test_mcp_tokens_are_dated_from_the_server(ctx, activepieces, ap_profile):
    report = await rot_items.list_items(ctx)
    item = by_id(report)[f"mcp:ap-test/{DEFAULT_PROJECT}"]
    assert item.source == "observed:mcp.created" and item.confidence == "high"  # fixture: created == updated
    await platform.rotate_mcp_token(ctx, project=DEFAULT_PROJECT)
    await platform.aclose(ctx)
    item = by_id(await rot_items.list_items(ctx))[f"mcp:ap-test/{DEFAULT_PROJECT}"]
    assert item.source == "recorded" and item.confidence == "medium"
    assert any("audit log" in n for n in item.notes)
    assert (utc_now() - item.last_rotated).total_seconds() < 60


async def test_profile_key_is_dated_from_the_platform_key_list(ctx, activepieces, ap_profile):
    item = by_id(await rot_items.list_items(ctx))["profile:ap-test"]
    assert item.source == "observed:activepieces.api-keys" and item.confidence == "high"
    assert abs((utc_now() - item.last_rotated).total_seconds() - 40 * DAY) < 60  # the double's seed
    assert item.policy == 90 * DAY and item.state == rot_items.OK
    entry = activepieces.api_key_records[0]
    assert f"platform API key 'aptui operator' ({entry['id']})" in item.notes
    assert activepieces.calls("GET", "/v1/api-keys")
    assert rot_items.short_source(item.source) == "obs:api-keys"


async def test_profile_key_with_an_ambiguous_tail_takes_the_oldest_date(ctx, activepieces, ap_profile):
    older = (utc_now() - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    activepieces.issue_api_key("ci bot", value="sk-" + "Z" * 57 + activepieces.api_key[-4:], created=older)
    activepieces.issue_api_key("unrelated", value="sk-" + "Y" * 57 + "QQQQ", created=older)
    item = by_id(await rot_items.list_items(ctx))["profile:ap-test"]
    assert item.confidence == "low" and item.state == rot_items.OVERDUE
    assert abs((utc_now() - item.last_rotated).total_seconds() - 120 * DAY) < 60
    assert any("2 platform API keys end in the same 4 characters" in n for n in item.notes)


@pytest.mark.parametrize(("status", "code", "note"), [
    (None, None, "not among the platform's 0 API key(s)"),
    (403, "AUTHORIZATION", "GET /v1/api-keys denied (AUTHORIZATION)"),
    (402, "FEATURE_DISABLED", "does not list API keys (FEATURE_DISABLED)"),
    (404, "ENTITY_NOT_FOUND", "does not list API keys (ENTITY_NOT_FOUND)"),
    (500, "INTERNAL", "GET /v1/api-keys failed"),
])
async def test_profile_key_not_dated_by_the_platform_keeps_the_recorded_date(ctx, activepieces, ap_profile,
                                                                             status, code, note):
    from aptui.store import rotation as store_rot

    store_rot.add_record(ctx.store, ap_profile.id, "activepieces-api-key", "rotated", "2026-11-01T00:00:00.000Z",
                         note="x")
    ctx.settings.retries = 0
    if status is None:
        activepieces.api_key_records.clear()
    else:
        activepieces.fault(r"/v1/api-keys", status=status, body={"code": code, "params": {"message": "no"}},
                           times=None)
    item = by_id(await rot_items.list_items(ctx))["profile:ap-test"]
    assert item.source == "recorded" and item.last_rotated.day == 1, item.notes
    assert any(note in n for n in item.notes), item.notes
    if status == 403:
        assert item.lookup == rot_items.LOOKUP_DENIED


async def test_mcp_listing_failure_keeps_recorded_items(ctx, activepieces, ap_profile):
    from aptui.store import rotation as store_rot

    store_rot.add_record(ctx.store, f"mcp:{ap_profile.id}/{DEFAULT_PROJECT}", "mcp-token", "rotated",
                         "2026-11-01T00:00:00.000Z", note="x")
    ctx.settings.retries = 0
    activepieces.fault(r"/v1/projects/[^/]+/mcp-server", status=500, times=20)
    item = by_id(await rot_items.list_items(ctx))[f"mcp:ap-test/{DEFAULT_PROJECT}"]
    assert item.source == "recorded" and item.last_rotated.day == 1
    assert item.lookup in (rot_items.LOOKUP_FAILED, rot_items.LOOKUP_UNREACHABLE)


async def test_due_within_and_state_filters(ctx, aws_conn):
    aws_conn("a")
    aws_conn("b")
    ctx.settings.rotation_items["sm:b"] = 3 * DAY
    report = await rot_items.list_items(ctx, due_within=7 * DAY)
    assert [i.id for i in report.items] == ["sm:b"] and report.hidden == 1
    assert (await rot_items.list_items(ctx, states=["ok"])).hidden == 1
    later = await rot_items.list_items(ctx, states=["ok"], now=utc_now() + timedelta(days=5))
    assert [i.id for i in later.items] == ["sm:a"] and later.exit_code() == Exit.FAILED  # sm:b overdue, hidden
    vault_only = await rot_items.list_items(ctx, kinds=["hashicorp"], now=utc_now() + timedelta(days=5))
    assert vault_only.items == [] and vault_only.exit_code() == Exit.OK


def test_mark_records_a_rotation_and_validates_input(ctx):
    conn = store_conn.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_x"})
    with ctx.store.transaction() as db:  # stored long ago
        db.execute("UPDATE rotation_records SET at = '2020-01-01T00:00:00.000Z' WHERE item_id = ?", (conn.id,))
        db.execute("UPDATE sm_connections SET credential_set_at = '2020-01-01T00:00:00.000Z'")
    assert rot_items.find_item(ctx, "sm:op").state == rot_items.OVERDUE
    item = rot_items.mark(ctx, "sm:op", at=utc_now() - timedelta(days=100), note="rotated in 1Password")
    assert item.state == rot_items.OVERDUE and item.confidence == "low" and item.source == "recorded"
    assert any("marked rotated by an operator (rotated in 1Password)" in n for n in item.notes)
    assert rot_items.mark(ctx, "sm:op").state == rot_items.OK
    for bad, code in ((("sm:op",), {"at": utc_now() + timedelta(days=2)}), (("sm:nope",), {})):
        with pytest.raises(AptuiError) as exc:
            rot_items.mark(ctx, *bad, **code)
        assert exc.value.exit_code == Exit.USAGE
    with pytest.raises(AptuiError) as exc:
        rot_items.mark(ctx, "sm:op", note="two\nlines")
    assert exc.value.exit_code == Exit.USAGE
    audit = ctx.store.query("SELECT action, target FROM audit_log WHERE action = 'rotation.mark'")
    assert len(audit) == 2 and audit[0]["target"] == "sm:op"


def test_mark_is_refused_in_read_only_mode(ctx):
    store_conn.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_x"})
    ctx.settings.read_only = True
    with pytest.raises(AptuiError) as exc:
        rot_items.mark(ctx, "sm:op")
    assert exc.value.code == "READ_ONLY"


async def test_a_mark_newer_than_the_observed_key_is_reported_not_trusted(ctx, aws_conn):
    aws_conn("prod-aws")
    rot_items.mark(ctx, "sm:prod-aws", note="rotated in the console")
    item = by_id(await rot_items.list_items(ctx))["sm:prod-aws"]
    assert item.source == "observed:iam.ListAccessKeys"
    assert any("the stored credential was not replaced" in n for n in item.notes)


def test_item_ids_resolve(ctx, aws_conn, ap_profile):
    conn = aws_conn("prod/aws")
    assert rot_items.find_item(ctx, "sm:prod/aws").connection_id == conn.id
    assert rot_items.find_item(ctx, conn.id).id == "sm:prod/aws"  # a bare connection id works too
    assert rot_items.find_item(ctx, "aws-secret:prod/aws/x/y").secret_name == "x/y"
    assert rot_items.find_item(ctx, f"mcp:ap-test/{DEFAULT_PROJECT}").record_key == \
        f"mcp:{ap_profile.id}/{DEFAULT_PROJECT}"
    for bad in ("", "nope", "sm:missing", "profile:missing", "mcp:ap-test", "aws-secret:prod/aws/"):
        with pytest.raises(AptuiError) as exc:
            rot_items.find_item(ctx, bad)
        assert exc.value.exit_code == Exit.USAGE
