"""services.references against the in-memory fake provider: order, scope, cache, bulk grouping."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from aptui.services import connections as conn_svc
from aptui.services import references as svc
from aptui.store import audit
from aptui.store import connections as store_conn
from aptui.store.cache import cache_for
from tests.references.helpers import DUMMY_CONFIG

AWS = "awsConn00000000000001"


def _aws(ctx, cid=AWS, name="prod-aws", scope="PLATFORM", projects=None):
    return store_conn.create(ctx.store, provider_id="aws", name=name, config=DUMMY_CONFIG["aws"], scope=scope,
                             project_ids=projects, connection_id=cid)


def ref(path, cid=AWS):
    return "{{" + cid + "|ap_sep_v1|" + path + "}}"


async def test_resolves_masked_then_cached(ctx, fake_provider):
    _aws(ctx)
    fake_provider.values[("aws", "prod/db:password")] = "s3cr3t-value-123"
    r = await svc.test_reference(ctx, ref("prod/db:password"))
    assert r.verdict == svc.RESOLVES and not r.cached and r.activepieces_resolves
    assert isinstance(r.value, Secret) and r.value.reveal() == "s3cr3t-value-123"
    d = r.to_dict()
    assert d["value"] == "•••••• (16+ chars)" and "s3cr3t-value-123" not in str(d)
    assert r.to_dict(reveal=True)["value"] == "s3cr3t-value-123"
    again = await svc.test_reference(ctx, ref("prod/db:password"))
    assert again.cached and again.value.reveal() == "s3cr3t-value-123"
    assert len(fake_provider.fetch_calls) == 1
    rows = audit.recent(ctx.store)
    assert [r["outcome"] for r in rows if r["action"] == "ref.test"] == ["cached", "ok"]
    assert all("s3cr3t" not in str(r) for r in rows)
    assert rows[0]["target"] == ref("prod/db:password")


async def test_no_cache_fetches_again(ctx, fake_provider):
    _aws(ctx)
    fake_provider.values[("aws", "a:b")] = "v"
    await svc.test_reference(ctx, ref("a:b"))
    r = await svc.test_reference(ctx, ref("a:b"), use_cache=False)
    assert not r.cached and len(fake_provider.fetch_calls) == 2


async def test_validation_runs_before_any_fetch(ctx, fake_provider):
    _aws(ctx)
    r = await svc.test_reference(ctx, ref("my-secret"))
    assert r.verdict == svc.ERROR and r.error.code == "VALIDATION"
    assert r.error.message == "Wrong key format. Should be secretName:secretJsonKey, got my-secret"
    assert fake_provider.fetch_calls == []


async def test_unknown_connection_is_not_accessible(ctx, fake_provider):
    r = await svc.test_reference(ctx, ref("my-secret", "unknownConn0000000001"))
    assert r.verdict == svc.ERROR and r.error.code == "SECRET_MANAGER_GET_SECRET_FAILED"
    assert r.error.message == "Connection is not accessible"
    assert r.error.params == {"provider": "unknownConn0000000001",
                              "request": {"connectionId": "unknownConn0000000001", "path": "my-secret"}}
    assert fake_provider.fetch_calls == []


async def test_whitespace_inside_braces_is_kept(ctx, fake_provider):
    _aws(ctx)
    r = await svc.test_reference(ctx, "{{ " + AWS + "|ap_sep_v1|a:b}}")
    assert r.error.message == "Connection is not accessible"
    assert any(w.label == "broken-reference" for w in r.warnings)


@pytest.mark.parametrize("asked, ok", [(["p1"], True), (["p2"], True), (["p1", "p2"], True), (["p3"], False),
                                       (["p1", "p3"], False), (None, True)])
async def test_project_scope(ctx, fake_provider, asked, ok):
    _aws(ctx, scope="PROJECT", projects=["p1", "p2"])
    fake_provider.values[("aws", "a:b")] = "value"
    r = await svc.test_reference(ctx, ref("a:b"), project_ids=asked)
    if ok:
        assert r.verdict == svc.RESOLVES
        if asked is None:
            assert any("no project given" in w.message for w in r.warnings)
    else:
        assert r.verdict == svc.ERROR and r.error.message == "Connection is not accessible"
        assert "p1, p2" in r.error.hint


async def test_scope_check_comes_before_the_cache(ctx, fake_provider):
    _aws(ctx, scope="PROJECT", projects=["p1"])
    fake_provider.values[("aws", "a:b")] = "value"
    assert (await svc.test_reference(ctx, ref("a:b"), project_ids="p1")).verdict == svc.RESOLVES
    r = await svc.test_reference(ctx, ref("a:b"), project_ids="other")
    assert r.verdict == svc.ERROR and r.value is None and not r.cached


async def test_provider_id_form(ctx, fake_provider):
    _aws(ctx)
    fake_provider.values[("aws", "a:b")] = "value"
    r = await svc.test_reference(ctx, "{{aws|ap_sep_v1|a:b}}")
    assert r.verdict == svc.RESOLVES and r.connection_id == AWS
    assert r.suggested == ref("a:b") and r.activepieces_resolves is False
    assert any(w.label == "aptui-extension" and AWS in w.message for w in r.warnings)


async def test_provider_id_form_ambiguous_names_candidates(ctx, fake_provider):
    _aws(ctx)
    _aws(ctx, cid="awsConn00000000000002", name="dev-aws")
    r = await svc.test_reference(ctx, "{{aws|ap_sep_v1|a:b}}")
    assert r.verdict == svc.ERROR and r.error.code == "AMBIGUOUS_PROVIDER_REFERENCE"
    assert "prod-aws (awsConn00000000000001)" in r.error.message and "dev-aws" in r.error.message
    assert r.error.exit_code == Exit.USAGE and fake_provider.fetch_calls == []


async def test_provider_id_form_scope_narrows_candidates(ctx, fake_provider):
    _aws(ctx, scope="PROJECT", projects=["p1"])
    _aws(ctx, cid="awsConn00000000000002", name="dev-aws", scope="PROJECT", projects=["p2"])
    fake_provider.values[("aws", "a:b")] = "value"
    r = await svc.test_reference(ctx, "{{aws|ap_sep_v1|a:b}}", project_ids="p2")
    assert r.verdict == svc.RESOLVES and r.connection_id == "awsConn00000000000002"
    none = await svc.test_reference(ctx, "{{hashicorp|ap_sep_v1|a/b/c}}")
    assert none.error.message == "Connection is not accessible" and none.error.params["provider"] == "hashicorp"


async def test_passthrough_and_lookalikes(ctx, fake_provider):
    plain = await svc.test_reference(ctx, "just-a-password-value")
    assert plain.verdict == svc.PASSTHROUGH and plain.detail.endswith("Key is not a secret")
    assert plain.to_dict()["input"] != "just-a-password-value"  # plain strings are masked in output
    partial = await svc.test_reference(ctx, "Bearer " + ref("a:b"))
    assert partial.verdict == svc.NOT_RESOLVED_VERDICT and partial.passthrough
    broken = await svc.test_reference(ctx, AWS + "|ap_sep_v1|a:b")
    assert broken.verdict == svc.PASSTHROUGH and broken.warnings[0].label == "broken-reference"
    number = await svc.test_reference(ctx, 12345)
    assert number.verdict == svc.PASSTHROUGH and number.to_dict()["input"] == 12345
    assert fake_provider.fetch_calls == []


async def test_extension_read_is_an_upstream_error_and_not_cached(ctx, fake_provider):
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault", config=DUMMY_CONFIG["hashicorp"],
                      connection_id="vaultConn000000000001")
    fake_provider.values[("hashicorp", "kv/app/password")] = "v1-value"
    fake_provider.extension_paths.add("kv/app/password")
    r = await svc.test_reference(ctx, ref("kv/app/password", "vaultConn000000000001"))
    assert r.verdict == svc.ERROR and r.error.message == "[kv/app/password] No secret found at requested path"
    assert r.value.reveal() == "v1-value" and r.activepieces_resolves is False
    assert {w.label for w in r.warnings} >= {"aptui-extension", "activepieces-fails"}
    assert cache_for(ctx.store).get("vaultConn000000000001", "kv/app/password", count=False) is None


async def test_bulk_groups_per_connection_and_dedupes(ctx, fake_provider):
    _aws(ctx)
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault", config=DUMMY_CONFIG["hashicorp"],
                      connection_id="vaultConn000000000001")
    values = []
    for i in range(300):
        path = f"s{i % 10}:k{i % 7}"
        fake_provider.values[("aws", path)] = f"value-{path}"
        values.append((f"#{i}", ref(path)))
    values.append(("vault", ref("secret/data/x/y", "vaultConn000000000001")))
    fake_provider.values[("hashicorp", "secret/data/x/y")] = "vault-value"
    results = await svc.resolve_values(ctx, values)
    assert [r.location for r in results] == [loc for loc, _ in values]
    assert all(r.verdict == svc.RESOLVES for r in results)
    by_conn = {cid: paths for cid, paths in fake_provider.fetch_calls}
    assert len(fake_provider.fetch_calls) == 2
    assert len(by_conn[AWS]) == len(set(by_conn[AWS])) == 70
    assert results[5].value.reveal() == "value-s5:k5"
    # everything is cached now: a second bulk run makes no provider call
    again = await svc.resolve_values(ctx, values)
    assert len(fake_provider.fetch_calls) == 2 and all(r.cached for r in again)


async def test_connection_failure_applies_to_its_references_only(ctx, fake_provider):
    _aws(ctx)
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault", config=DUMMY_CONFIG["hashicorp"],
                      connection_id="vaultConn000000000001")
    fake_provider.values[("hashicorp", "secret/data/x/y")] = "vault-value"

    calls = []
    real = fake_provider.factory

    def factory(provider_id, config, options=None, *, connection_id=None):
        p = real(provider_id, config, options, connection_id=connection_id)
        calls.append(provider_id)
        if provider_id == "aws":
            async def boom(paths):
                raise AptuiError("SECRET_MANAGER_CONNECTION_FAILED", "connection refused (http://127.0.0.1:9)",
                                 exit_code=Exit.UNREACHABLE)
            p.fetch_many = boom
        return p

    ctx.provider_factory = factory
    results = await svc.resolve_values(ctx, [(None, ref("a:b")),
                                             (None, ref("secret/data/x/y", "vaultConn000000000001"))])
    assert results[0].verdict == svc.ERROR and results[0].error.exit_code == Exit.UNREACHABLE
    assert results[1].verdict == svc.RESOLVES


async def test_provider_bug_never_leaks_its_text(ctx, fake_provider):
    _aws(ctx)
    fake_provider.fetch_error = None

    def factory(provider_id, config, options=None, *, connection_id=None):
        p = fake_provider.factory(provider_id, config, options, connection_id=connection_id)

        async def bug(paths):
            raise RuntimeError("secret-looking text s3cr3t")
        p.fetch_many = bug
        return p

    ctx.provider_factory = factory
    r = await svc.test_reference(ctx, ref("a:b"))
    assert r.verdict == svc.ERROR and "s3cr3t" not in r.error.message and "RuntimeError" in r.error.message


async def test_a_tampered_config_fails_with_the_stores_code(ctx, fake_provider):
    """Not a provider's "configuration is not valid": the store refused the row (exit 3), and nothing
    was fetched with it."""
    _aws(ctx)
    with ctx.store.transaction() as conn:
        blob = conn.execute("SELECT auth FROM sm_connections WHERE id=?", (AWS,)).fetchone()[0]
        conn.execute("UPDATE sm_connections SET auth=? WHERE id=?", (blob[:-1] + bytes([blob[-1] ^ 1]), AWS))
    r = await svc.test_reference(ctx, ref("a:b"))
    assert r.verdict == svc.ERROR and r.error.code in ("STORE_TAMPERED", "STORE_FIELD_TAMPERED")
    assert r.error.exit_code == Exit.STORE and not fake_provider.fetched_paths


async def test_update_and_remove_invalidate_the_cache(ctx, fake_provider):
    _aws(ctx)
    fake_provider.values[("aws", "a:b")] = "old"
    await svc.test_reference(ctx, ref("a:b"))
    fake_provider.values[("aws", "a:b")] = "new"
    assert (await svc.test_reference(ctx, ref("a:b"))).value.reveal() == "old"
    await conn_svc.update(ctx, AWS, set_fields={"region": "eu-west-1"})
    r = await svc.test_reference(ctx, ref("a:b"))
    assert not r.cached and r.value.reveal() == "new"
    conn_svc.remove(ctx, AWS)
    assert ctx.store.query("SELECT COUNT(*) AS n FROM cache_entries")[0]["n"] == 0
    assert (await svc.test_reference(ctx, ref("a:b"))).error.message == "Connection is not accessible"


async def test_resolve_document(ctx, fake_provider):
    _aws(ctx)
    fake_provider.values[("aws", "a:b")] = "value-ab"
    doc = {"auth": {"password": ref("a:b"), "user": "app"}, "list": [ref("a:b")],
           "header": "Bearer " + ref("a:b"), "bad": ref("nocolon"), "broken": "x|ap_sep_v1|y", "n": 1}
    report = await svc.resolve_document(ctx, doc)
    by = {r.location: r for r in report.items}
    assert by["$.auth.password"].verdict == svc.RESOLVES
    assert by["$.list[0]"].verdict == svc.NOT_RESOLVED_VERDICT
    assert by["$.header"].verdict == svc.NOT_RESOLVED_VERDICT
    assert by["$.bad"].error.code == "VALIDATION"
    assert by["$.broken"].verdict == svc.PASSTHROUGH and by["$.broken"].warnings[0].label == "broken-reference"
    assert report.counts() == {"resolves": 1, "error": 1, "passthrough": 1, "not-resolved-by-activepieces": 2,
                               "cached": 0}
    resolved = report.resolved_document()
    assert resolved["auth"] == {"password": "value-ab", "user": "app"}
    assert resolved["list"] == [ref("a:b")] and resolved["bad"] == ref("nocolon")
    assert len(fake_provider.fetch_calls) == 1


async def test_scan_tests_each_distinct_reference_once(ctx, fake_provider, tmp_path):
    _aws(ctx)
    fake_provider.values[("aws", "a:b")] = "value-ab"
    for i in range(3):
        (tmp_path / f"c{i}.json").write_text('{{"p": "{}", "l": ["{}"]}}'.format(ref("a:b"), ref("a:b")))
    (tmp_path / ".env").write_text(f"X={ref('zz')}\n")
    seen = []
    report = await svc.scan_references(ctx, [tmp_path], progress=lambda d, t, label: seen.append(label))
    assert report.unique == 2 and len(report.findings) == 7
    assert fake_provider.fetch_calls == [(AWS, ["a:b"])]
    assert report.counts() == {"resolves": 3, "error": 1, "passthrough": 0, "not-resolved-by-activepieces": 3}
    assert any(s.startswith("scan ") for s in seen) and any(s.startswith("test ") for s in seen)


async def test_scan_without_testing(ctx, fake_provider, tmp_path):
    _aws(ctx)
    (tmp_path / "c.json").write_text('{{"p": "{}"}}'.format(ref("a:b")))
    report = await svc.scan_references(ctx, [tmp_path], test=False)
    assert report.findings[0][1].verdict == svc.VALID and fake_provider.fetch_calls == []


def test_parse_offline_with_provider_rules(ctx):
    r = svc.parse_reference(ctx, "{{anything|ap_sep_v1|secret/key}}", provider_id="hashicorp")
    assert r.verdict == svc.ERROR and r.error.code == "VALIDATION"
    ok = svc.parse_reference(ctx, "{{anything|ap_sep_v1|op://v/i/f}}", provider_id="onepassword")
    assert ok.verdict == svc.VALID and ok.parsed["secretReference"] == "op://v/i/f"


def test_onepassword_sdk_check_is_a_warning(ctx):
    pytest.importorskip("onepassword")
    r = svc.parse_reference(ctx, "{{x|ap_sep_v1|op://a/b/c?foo=bar}}", provider_id="onepassword")
    assert r.verdict == svc.VALID
    assert any(w.label == "activepieces-fails" and "1Password SDK" in w.message for w in r.warnings)
