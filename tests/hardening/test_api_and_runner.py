"""API checks (against the Activepieces double and a fake) and the whole audit in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from aptui.errors import AptuiError
from aptui.services.hardening import HardeningOptions, audit_hardening, discover, to_markdown
from aptui.services.hardening.api_checks import check_platform, connection_findings, secret_manager_findings
from tests.doubles.activepieces import SECOND_PROJECT, days_ago
from tests.hardening.conftest import FIXTURES


class FakeApi:
    """A ``PlatformApi`` with canned answers; ``fail`` maps a method name to an error."""

    def __init__(self, projects=None, connections=None, managers=None, pieces=None, fail=None):
        self.projects = projects or [{"id": "p1"}, {"id": "p2"}]
        self.connections = connections or {}
        self.managers = managers or []
        self.pieces = pieces or []
        self.fail = fail or {}

    def _maybe_fail(self, name):
        if name in self.fail:
            raise self.fail[name]

    async def list_projects(self):
        self._maybe_fail("list_projects")
        return self.projects

    async def list_app_connections(self, project_id):
        self._maybe_fail("list_app_connections")
        return self.connections.get(project_id, [])

    async def list_secret_managers(self):
        self._maybe_fail("list_secret_managers")
        return self.managers

    async def list_pieces(self):
        self._maybe_fail("list_pieces")
        return self.pieces


NOW = datetime(2026, 11, 26, tzinfo=UTC)


def stamp(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat().replace("+00:00", "Z")


def test_connection_findings_stale_and_failing():
    conns = [{"id": "a", "displayName": "Old Slack", "status": "ACTIVE", "updated": stamp(120)},
             {"id": "b", "displayName": "Broken Stripe", "status": "ERROR", "updated": stamp(1)},
             {"id": "c", "displayName": "Fresh", "status": "ACTIVE", "updated": stamp(3)},
             {"id": "d", "displayName": "Gone", "status": "MISSING", "updated": stamp(400)}]
    findings, rows = connection_findings(conns, stale_days=90, now=NOW, location="x")
    by = {f.id: f for f in findings}
    assert by["api.connections.failing"].is_open and "'Broken Stripe' (ERROR)" in by["api.connections.failing"].evidence
    assert "'Gone' (MISSING)" in by["api.connections.failing"].evidence
    assert by["api.connections.stale"].is_open and "'Old Slack' (120 days)" in by["api.connections.stale"].evidence
    assert {r["id"] for r in rows} == {"a", "b", "d"}
    findings, rows = connection_findings(conns[2:3], stale_days=90, now=NOW, location="x")
    assert all(f.status == "ok" for f in findings) and rows == []


def test_many_names_are_summarised():
    conns = [{"id": str(i), "displayName": f"c{i}", "status": "ERROR", "updated": stamp(1)} for i in range(9)]
    findings, _ = connection_findings(conns, stale_days=90, now=NOW, location="x")
    assert "and 4 more" in findings[0].evidence


def test_secret_manager_usage():
    managers = [{"id": "1", "name": "prod-aws", "providerId": "aws", "scope": "PLATFORM",
                 "connection": {"configured": True, "connected": True}},
                {"id": "2", "name": "vault-fin", "providerId": "hashicorp", "scope": "PROJECT", "projectIds": ["p1"],
                 "connection": {"configured": True, "connected": False}},
                {"id": "3", "name": "empty", "providerId": "aws", "scope": "PROJECT", "projectIds": [],
                 "connection": {"configured": True, "connected": True}}]
    findings, rows = secret_manager_findings(managers, 7, "x")
    assert [r["projects"] for r in rows] == [7, 1, 0]
    text = [(f.id, f.status, f.subject, f.evidence) for f in findings]
    assert ("api.secret_managers.usage", "ok", "prod-aws", "prod-aws (aws, PLATFORM): serves all projects (7)") in text
    assert any(f.id == "api.secret_managers.connected" and f.is_open and f.subject == "vault-fin" for f in findings)
    assert any(f.id == "api.secret_managers.usage" and f.is_open and f.subject == "empty" for f in findings)


async def test_check_platform_skips_what_fails():
    fail = AptuiError("FEATURE_DISABLED", "secret managers need an Enterprise plan")
    api = FakeApi(connections={"p1": [{"id": "x", "displayName": "X", "status": "ACTIVE", "updated": stamp(1)}],
                               "p2": [{"id": "x", "displayName": "X", "status": "ACTIVE", "updated": stamp(1)}]},
                  fail={"list_secret_managers": fail})
    result = await check_platform(api, now=NOW)
    assert result.info["app_connections"] == 1  # the same connection in two projects counts once
    assert ("api.secret_managers", "listing secret managers failed (secret managers need an Enterprise plan)") \
        in result.skipped
    api = FakeApi(fail={"list_app_connections": AptuiError("PLATFORM_TIMEOUT", "slow")})
    result = await check_platform(api, now=NOW)
    assert result.skipped[0][0] == "api.connections"
    with pytest.raises(AptuiError):
        await check_platform(FakeApi(fail={"list_projects": AptuiError("AUTHENTICATION", "bad key")}), now=NOW)


async def test_api_checks_through_the_double(ctx, activepieces, ap_profile):
    activepieces.add_connection(display_name="Ancient webhook key", connection_id="conOld0000000000000001")
    activepieces.connections[-1]["updated"] = days_ago(200)
    activepieces.add_secret_manager("team-vault", "hashicorp", scope="PROJECT", project_ids=[SECOND_PROJECT])
    progress = []
    report = await audit_hardening(ctx, HardeningOptions(profile="ap-test", live_url=False, stale_days=90),
                                   progress=lambda m, d, t: progress.append((m, d, t)))
    by = {f.id: f for f in report.findings if f.id != "api.secret_managers.usage"}
    assert "'Stripe live key' (ERROR)" in by["api.connections.failing"].evidence
    assert "'Ancient webhook key' (200 days)" in by["api.connections.stale"].evidence
    usage = {f.subject: f.evidence for f in report.findings if f.id == "api.secret_managers.usage"}
    assert usage["prod-aws"].endswith("serves all projects (2)") and usage["team-vault"].endswith("1 project(s)")
    assert report.extra["platform"]["projects"] == 2
    assert progress[0][0] == "checking the environment" and progress[-1] == ("done", 4, 4)
    assert activepieces.calls("GET", "/v1/app-connections")  # asked per project
    assert activepieces.api_key not in json.dumps(report.to_dict()) + to_markdown(report)


async def test_api_failure_with_other_inputs_is_a_finding(ctx, activepieces, ap_profile):
    activepieces.fault("/v1/projects", status=401, times=None)
    report = await audit_hardening(ctx, HardeningOptions(profile="ap-test", live_url=False,
                                                         env_file=FIXTURES / "good.env"))
    f = next(f for f in report.findings if f.id == "api.access")
    assert f.blocking and "AUTHENTICATION" in f.evidence


async def test_api_failure_alone_is_raised(ctx, activepieces, ap_profile):
    activepieces.fault("/v1/projects", status=401, times=None)
    with pytest.raises(AptuiError) as exc:
        await audit_hardening(ctx, HardeningOptions(profile="ap-test", live_url=False))
    assert exc.value.code == "AUTHENTICATION"


async def test_unknown_profile_is_a_usage_error(ctx):
    with pytest.raises(AptuiError) as exc:
        await audit_hardening(ctx, HardeningOptions(profile="nope"))
    assert exc.value.exit_code == 2


async def test_nothing_to_audit(ctx):
    with pytest.raises(AptuiError) as exc:
        await audit_hardening(ctx, HardeningOptions())
    assert exc.value.exit_code == 2 and "nothing to audit" in exc.value.message
    with pytest.raises(AptuiError):
        await audit_hardening(ctx, HardeningOptions(url="https://ap.example.com", live_url=False))
    with pytest.raises(AptuiError) as exc:
        await audit_hardening(ctx, HardeningOptions(env_file=FIXTURES / "good.env", stale_days=0))
    assert "stale days" in exc.value.message


async def test_bad_inputs_fail_before_the_network(ctx, free_port):
    for opts in (HardeningOptions(env_file=FIXTURES / "missing.env", url=f"https://127.0.0.1:{free_port}"),
                 HardeningOptions(compose_file=FIXTURES / "compose.invalid.yml"),
                 HardeningOptions(env_file=FIXTURES / "good.env", url="ftp://x"),
                 HardeningOptions(env_file=FIXTURES / "good.env", url="https://x", ca_bundle="/no/such.pem")):
        with pytest.raises(AptuiError) as exc:
            await audit_hardening(ctx, opts)
        assert exc.value.exit_code == 2


async def test_full_offline_audit_with_compose_only(ctx):
    report = await audit_hardening(ctx, HardeningOptions(compose_file=FIXTURES / "compose.bad.yml"))
    ids = {f.id for f in report.findings if f.is_open}
    # the environment of the Activepieces service (bad.env + inline environment) is audited too
    assert {"env.encryption_key.length", "compose.split_roles", "compose.ports.postgres", "file.mode"} <= ids
    assert "env.container_type" not in ids  # judged by compose.split_roles instead
    assert report.has_blocking and report.targets["compose_file"].endswith("compose.bad.yml")


async def test_good_inputs_pass(ctx, tmp_path, site, site_cert):
    env = tmp_path / ".env"
    env.write_text((FIXTURES / "good.env").read_text().replace("https://ap.example.com", site.https_url))
    env.chmod(0o600)
    compose = tmp_path / "compose.yaml"
    compose.write_text((FIXTURES / "compose.good.yml").read_text())
    report = await audit_hardening(ctx, HardeningOptions(env_file=env, compose_file=compose, url=site.https_url,
                                                         http_port=site.http_port, ca_bundle=str(site_cert.cert_pem)))
    assert not report.has_blocking, [f.to_dict() for f in report.open_findings]
    assert {"http.hsts", "http.certificate", "compose.split_roles", "env.encryption_key.strength"} <= {
        f.id for f in report.findings if not f.is_open}


async def test_unreachable_url_with_env_is_a_finding(ctx, free_port):
    report = await audit_hardening(ctx, HardeningOptions(env_file=FIXTURES / "good.env",
                                                         url=f"https://127.0.0.1:{free_port}", http_port=free_port))
    assert any(f.id == "http.reachable" and f.blocking for f in report.findings)


def test_discover(tmp_path):
    assert discover(tmp_path).empty
    (tmp_path / ".env").write_text("A=1\n")
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    found = discover(tmp_path)
    assert found.env_file == tmp_path / ".env" and found.compose_file == tmp_path / "docker-compose.yml"


async def test_audit_is_recorded_in_the_local_trail(ctx):
    from aptui.store import audit

    assert ctx.store is not None  # an existing store
    await audit_hardening(ctx, HardeningOptions(env_file=FIXTURES / "bad.env"))
    rows = audit.recent(ctx.store, contains="audit.hardening")
    assert rows and rows[0]["outcome"] == "fail" and "high" in rows[0]["detail"]


async def test_compose_env_files_get_the_file_checks_too(ctx, tmp_path):
    env = tmp_path / "prod.env"
    env.write_text((FIXTURES / "good.env").read_text())
    env.chmod(0o600)
    report = await audit_hardening(ctx, HardeningOptions(env_file=env, compose_file=FIXTURES / "compose.bad.yml"))
    modes = {f.location: f for f in report.findings if f.id == "file.mode"}
    assert set(modes) == {str(env), str(FIXTURES / "bad.env")}
    assert modes[str(env)].status == "ok"
    # the env checks judge the --env-file, the compose file still judges its own services
    assert not any(f.id == "env.encryption_key.length" and f.is_open for f in report.findings)
    assert any(f.id == "compose.ports.postgres" and f.is_open for f in report.findings)
