"""services.connections and services.cache against the fake provider."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit
from aptui.services import cache as cache_svc
from aptui.services import connections as svc
from aptui.store import audit
from aptui.store import connections as sc
from aptui.store.cache import cache_for

AWS = {"accessKeyId": "AKIAEXAMPLE123456789", "secretAccessKey": "wJalrXUtnFEMI-secret-value", "region": "us-east-1"}
SECRET_VALUES = ("AKIAEXAMPLE123456789", "wJalrXUtnFEMI-secret-value")


def _no_secrets(obj) -> None:
    text = repr(obj)
    for s in SECRET_VALUES:
        assert s not in text


async def test_add_tests_first_and_views_hide_credentials(ctx, fake_provider):
    v = await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    assert fake_provider.checks == [(None, AWS)]
    assert v["connection"] == {"configured": True, "connected": True}
    assert v["config"] == {"accessKeyId": "set", "secretAccessKey": "set", "region": "us-east-1"}
    assert v["lastTest"]["ok"] is True and v["cache"]["entries"] == 0 and v["projectIds"] == []
    assert set(v) >= {"id", "providerId", "name", "scope", "projectIds", "created", "updated", "connection",
                      "lastTest", "cache"}
    _no_secrets(v)
    listed = await svc.list_connections(ctx)
    assert [x["id"] for x in listed] == [v["id"]]
    _no_secrets(listed)
    _no_secrets(audit.recent(ctx.store))
    assert audit.recent(ctx.store)[0]["action"] == "sm.add"


async def test_add_refuses_a_failing_connection(ctx, fake_provider):
    fake_provider.check_error = AptuiError("SECRET_MANAGER_CONNECTION_FAILED", "The security token is invalid.")
    with pytest.raises(AptuiError) as e:
        await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    assert e.value.code == "SECRET_MANAGER_CONNECTION_FAILED" and "--no-test" in e.value.hint
    assert sc.list_all(ctx.store) == []
    assert audit.recent(ctx.store)[0]["outcome"] == "refused"
    v = await svc.add(ctx, provider_id="aws", name="prod", config=AWS, test_first=False)
    assert v["lastTest"]["ok"] is None and v["connection"]["connected"] is None


async def test_add_unreachable_keeps_exit_4(ctx, fake_provider):
    fake_provider.check_error = AptuiError("SECRET_MANAGER_CONNECTION_FAILED", "connection refused",
                                           exit_code=Exit.UNREACHABLE)
    with pytest.raises(AptuiError) as e:
        await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    assert e.value.exit_code == Exit.UNREACHABLE


@pytest.mark.parametrize("config, message", [
    ({"accessKeyId": "A", "region": "r"}, "missing required field 'secretAccessKey'"),
    ({**AWS, "bogus": "x"}, "unknown field 'bogus'"),
    ({**AWS, "region": ""}, "missing required field 'region'"),
])
async def test_add_validates_fields(ctx, fake_provider, config, message):
    with pytest.raises(AptuiError) as e:
        await svc.add(ctx, provider_id="aws", name="prod", config=config)
    assert message in e.value.message and e.value.exit_code == Exit.USAGE
    assert fake_provider.checks == []


async def test_add_duplicate_name_and_scope_rules(ctx, fake_provider):
    await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    with pytest.raises(AptuiError) as e:
        await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    assert e.value.code == "DUPLICATE_NAME"
    with pytest.raises(AptuiError) as e:
        await svc.add(ctx, provider_id="aws", name="p", config=AWS, scope="PROJECT")
    assert e.value.message == "Please select at least one project"
    with pytest.raises(AptuiError) as e:
        await svc.add(ctx, provider_id="aws", name="p", config=AWS, project_ids=["p1"])
    assert "scope PROJECT" in e.value.message
    with pytest.raises(AptuiError):
        await svc.update(ctx, "prod", project_ids=["p1"])
    assert len(fake_provider.checks) == 1  # no live test for rejected input
    with pytest.raises(AptuiError):
        await svc.add(ctx, provider_id="nope", name="x", config={})


async def test_read_only_refuses_changes(ctx, fake_provider):
    ctx.settings.read_only = True
    with pytest.raises(AptuiError) as e:
        await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    assert e.value.code == "READ_ONLY"


async def test_update(ctx, fake_provider):
    v = await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    cache_for(ctx.store).put(v["id"], "a:b", "cached", 300)
    fake_provider.check_error = AptuiError("SECRET_MANAGER_CONNECTION_FAILED", "denied")
    with pytest.raises(AptuiError):
        await svc.update(ctx, "prod", set_fields={"secretAccessKey": "new-secret-000"})
    assert sc.auth(ctx.store, v["id"])["secretAccessKey"] == AWS["secretAccessKey"]  # nothing changed
    assert sc.get(ctx.store, v["id"]).last_test_ok is False
    fake_provider.check_error = None
    u = await svc.update(ctx, "prod", set_fields={"secretAccessKey": "new-secret-000"}, name="prod-2")
    assert u["changedFields"] == ["secretAccessKey"] and u["changedSecretFields"] == ["secretAccessKey"]
    assert u["name"] == "prod-2" and u["cache"]["entries"] == 0
    assert cache_for(ctx.store).get(v["id"], "a:b", count=False) is None
    assert fake_provider.checks[-1][1]["secretAccessKey"] == "new-secret-000"
    # metadata only: no live test
    n = len(fake_provider.checks)
    u = await svc.update(ctx, v["id"], scope="PROJECT", project_ids=["p1"], value_ttl=60, status_ttl=5)
    assert len(fake_provider.checks) == n and u["scope"] == "PROJECT" and u["cache"]["valueTtl"] == 60
    u = await svc.update(ctx, v["id"], scope="PLATFORM", reset_ttls=True)
    assert u["projectIds"] == [] and u["cache"]["valueTtl"] == ctx.settings.value_ttl
    _no_secrets(audit.recent(ctx.store))


async def test_update_optional_field_can_be_cleared(ctx, fake_provider):
    cfg = {"url": "https://vault", "namespace": "team", "roleId": "r-id", "secretId": "s-id"}
    v = await svc.add(ctx, provider_id="hashicorp", name="vault", config=cfg)
    u = await svc.update(ctx, v["id"], set_fields={"namespace": ""})
    assert "namespace" not in sc.auth(ctx.store, v["id"]) and u["changedFields"] == ["namespace"]
    with pytest.raises(AptuiError):
        await svc.update(ctx, v["id"], set_fields={"url": ""})


async def test_remove(ctx, fake_provider):
    v = await svc.add(ctx, provider_id="aws", name="prod", config=AWS)
    cache_for(ctx.store).put(v["id"], "a:b", "x", 300)
    out = svc.remove(ctx, "prod")
    assert out["cacheEntriesDropped"] == 1 and sc.list_all(ctx.store) == []
    with pytest.raises(AptuiError) as e:
        svc.remove(ctx, "prod")
    assert e.value.code == "ENTITY_NOT_FOUND"


async def test_test_records_and_caches_status(ctx, fake_provider):
    v = await svc.add(ctx, provider_id="aws", name="prod", config=AWS, test_first=False)
    fake_provider.check_error = AptuiError("SECRET_MANAGER_CONNECTION_FAILED", "nope")
    out = await svc.test(ctx, "prod")
    assert out["ok"] is False and out["error"].code == "SECRET_MANAGER_CONNECTION_FAILED"
    assert svc.show(ctx, "prod")["connection"]["connected"] is False
    fake_provider.check_error = None
    out = await svc.test(ctx, v["id"])
    assert out["ok"] and not out["cached"]
    assert (await svc.test(ctx, "prod", use_cache=True))["cached"] is True
    assert svc.show(ctx, "prod")["connection"]["connected"] is True


async def test_conjur_test_notes_tls_difference(ctx, fake_provider):
    cfg = {"organizationAccountName": "o", "loginId": "host/x", "url": "https://c", "apiKey": "k-000"}
    await svc.add(ctx, provider_id="cyberark-conjur", name="conjur", config=cfg)
    out = await svc.test(ctx, "conjur")
    assert "Activepieces does not" in out["notes"][0]
    assert svc.provider_options(ctx, "cyberark-conjur").verify_tls is True
    ctx.settings.conjur_verify_tls = False
    assert svc.provider_options(ctx, "cyberark-conjur").verify_tls is False
    assert svc.provider_options(ctx, "aws").verify_tls is True


async def test_list_scope_and_check(ctx, fake_provider):
    await svc.add(ctx, provider_id="aws", name="plat", config=AWS, test_first=False)
    await svc.add(ctx, provider_id="aws", name="p1", config=AWS, scope="PROJECT", project_ids=["p1"],
                  test_first=False)
    assert {v["name"] for v in await svc.list_connections(ctx, project_id="p1")} == {"plat", "p1"}
    assert {v["name"] for v in await svc.list_connections(ctx, project_id="p2")} == {"plat"}
    assert {v["name"] for v in await svc.list_connections(ctx)} == {"plat", "p1"}
    checked = await svc.list_connections(ctx, check=True)
    assert all(v["connection"]["connected"] is True for v in checked) and len(fake_provider.checks) == 2
    await svc.list_connections(ctx, check=True)
    assert len(fake_provider.checks) == 2  # the cached successful status is reused


async def test_cache_service(ctx, fake_provider):
    v = await svc.add(ctx, provider_id="aws", name="prod", config=AWS, value_ttl=120)
    cache = cache_for(ctx.store)
    cache.put(v["id"], "a:b", "x", 120)
    cache.get(v["id"], "a:b")
    cache.get(v["id"], "c:d")
    st = cache_svc.status(ctx)
    row = st["connections"][0]
    assert (row["entries"], row["hits"], row["misses"], row["valueTtl"], row["statusTtl"]) == (1, 1, 1, 120, 30)
    assert row["server"] == {"valueTtl": 3600, "statusTtl": 3600} and row["ttlSource"] == "connection"
    assert row["status"]["cached"] is True and st["server"]["statusCachedOnlyOnSuccess"] is True
    assert cache_svc.status(ctx, "prod")["connections"][0]["id"] == v["id"]
    out = cache_svc.clear(ctx, "prod")
    assert out["cleared"] == 1 and out["connection"] == v["id"]
    assert cache_svc.status(ctx)["connections"][0]["hits"] == 0
    cache.put(v["id"], "a:b", "x", 120)
    assert cache_svc.clear(ctx)["cleared"] == 1
    with pytest.raises(AptuiError) as e:
        cache_svc.clear(ctx, "missing")
    assert e.value.code == "ENTITY_NOT_FOUND"
