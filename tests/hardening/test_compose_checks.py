"""Compose checks: shapes (v1/v2/v3), env_file/environment forms, port syntaxes, roles, secrets."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError
from aptui.services.hardening.compose_checks import check_compose, interpolate, load_compose, parse_port
from tests.hardening.conftest import FIXTURES


def findings_of(path, project_env=None):
    findings, skipped = check_compose(load_compose(path, project_env))
    return {f.id: f for f in findings}, skipped


@pytest.mark.parametrize("item,host_ip,published,target,exposure", [
    (5432, None, None, "5432", "public"),
    ("5432", None, None, "5432", "public"),
    ("5432:5432", None, "5432", "5432", "public"),
    ("127.0.0.1:5432:5432", "127.0.0.1", "5432", "5432", "loopback"),
    ("127.0.0.1::5432", "127.0.0.1", None, "5432", "loopback"),
    ("0.0.0.0:6379:6379/tcp", "0.0.0.0", "6379", "6379", "public"),
    ("[::1]:6379:6379", "::1", "6379", "6379", "loopback"),
    ("::1:6379:6379", "::1", "6379", "6379", "loopback"),
    ("10.0.0.5:5432:5432", "10.0.0.5", "5432", "5432", "private"),
    ("203.0.113.7:5432:5432", "203.0.113.7", "5432", "5432", "public"),
    ("9090-9091:8080-8081", None, "9090-9091", "8080-8081", "public"),
    ("localhost:5432:5432", "localhost", "5432", "5432", "loopback"),
    ({"target": 5432, "published": 5432}, None, "5432", "5432", "public"),
    ({"target": 6379, "published": "6379", "host_ip": "127.0.0.1", "protocol": "tcp"}, "127.0.0.1", "6379",
     "6379", "loopback"),
    ({"target": 6379, "host_ip": "::"}, "::", None, "6379", "public"),
])
def test_port_syntaxes(item, host_ip, published, target, exposure):
    (p,) = parse_port(item, {})
    assert (p.host_ip, p.published, p.target, p.exposure) == (host_ip, published, target, exposure)


def test_port_interpolation():
    (p,) = parse_port("${BIND:-127.0.0.1}:${PG_PORT}:5432", {"PG_PORT": "15432"})
    assert (p.host_ip, p.published, p.exposure) == ("127.0.0.1", "15432", "loopback")
    (p,) = parse_port("${BIND}:5432:5432", {})
    assert p.exposure == "unknown"


def test_interpolate_forms():
    env = {"A": "1", "E": ""}
    assert interpolate("$A ${A} ${E:-d} ${E-d} ${X:-x} ${A:+set} $$A", env) == ("1 1 d  x set $A", False)
    assert interpolate("${NOPE}", env) == ("${NOPE}", True)


def test_bad_compose_fixture():
    found, skipped = findings_of(FIXTURES / "compose.bad.yml")
    assert found["compose.split_roles"].is_open and found["compose.split_roles"].severity == "medium"
    assert "(the default)" not in found["compose.split_roles"].evidence  # set explicitly in bad.env
    pg = found["compose.ports.postgres"]
    assert pg.is_open and pg.severity == "high" and "0.0.0.0:5432->5432" in pg.evidence
    redis = found["compose.ports.redis"]
    assert redis.is_open and redis.severity == "high" and "(random)->6379" in redis.evidence
    assert found["compose.ports.app"].is_open and found["compose.ports.app"].severity == "low"
    inline = found["compose.inline_secrets"]
    assert "AP_JWT_SECRET (activepieces)" in inline.evidence and "POSTGRES_PASSWORD (postgres)" in inline.evidence
    assert "inline-jwt" not in inline.evidence
    weak = found["compose.postgres_password"]
    assert weak.is_open and weak.severity == "high" and "weak" in weak.evidence
    assert skipped == []


def test_bad_compose_merges_env_file_and_environment():
    project = load_compose(FIXTURES / "compose.bad.yml")
    app = project.activepieces()[0]
    assert app.env_files == [FIXTURES / "bad.env"]
    assert app.env.get("AP_JWT_SECRET") == "inline-jwt-not-from-env-file"  # environment: overrides env_file
    assert app.env.get("AP_CONTAINER_TYPE") == "WORKER_AND_APP"


def test_good_compose_fixture_is_clean():
    found, _ = findings_of(FIXTURES / "compose.good.yml")
    assert not [f for f in found.values() if f.is_open], found
    assert found["compose.split_roles"].evidence == "app=APP, worker=WORKER"
    assert "loopback only" in found["compose.ports.redis"].evidence
    assert "no published ports" in found["compose.ports.postgres"].evidence
    project = load_compose(FIXTURES / "compose.good.yml")
    worker = next(s for s in project.services if s.name == "worker")
    assert worker.env.get("AP_FRONTEND_URL") == "${AP_FRONTEND_URL}" and worker.env.entry("AP_FRONTEND_URL").unresolved


def test_good_compose_interpolates_from_the_project_env():
    from aptui.services.hardening.envfile import load_env_file

    env = load_env_file(FIXTURES / "good.env").values
    project = load_compose(FIXTURES / "compose.good.yml", env)
    worker = next(s for s in project.services if s.name == "worker")
    assert worker.env.get("AP_FRONTEND_URL") == "https://ap.example.com"


def test_legacy_v1_shape():
    found, _ = findings_of(FIXTURES / "compose.v1.yml")
    db = found["compose.ports.postgres"]
    assert db.is_open and db.severity == "medium" and "10.0.0.5" in db.evidence  # bitnami/postgresql
    cache = found["compose.ports.redis"]
    assert cache.is_open and cache.severity == "high" and "network_mode: host" in cache.evidence  # valkey
    assert found["compose.split_roles"].is_open


def _write(tmp_path, text, name="compose.yml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_app_without_worker_and_memory_queue(tmp_path):
    found, _ = findings_of(_write(tmp_path, "services:\n  ap:\n    image: activepieces/activepieces\n"
                                            "    environment: [AP_CONTAINER_TYPE=APP]\n"))
    assert found["compose.split_roles"].severity == "low" and "No worker" in found["compose.split_roles"].title
    found, _ = findings_of(_write(tmp_path, "services:\n  ap:\n    image: activepieces/activepieces\n"
                                            "    environment:\n      AP_REDIS_TYPE: MEMORY\n"))
    f = found["compose.split_roles"]
    assert f.is_open and f.severity == "low" and "cannot be split" in f.evidence


def test_nothing_to_judge_is_skipped(tmp_path):
    found, skipped = findings_of(_write(tmp_path, "services:\n  web:\n    image: nginx\n"))
    assert found == {}
    assert any(s.startswith("compose.split_roles") for s in skipped)
    assert any(s.startswith("compose.ports.postgres") for s in skipped)


def test_env_file_forms(tmp_path):
    (tmp_path / "a.env").write_text("AP_CONTAINER_TYPE=WORKER\n")
    p = _write(tmp_path, "services:\n  w:\n    image: activepieces/activepieces\n    env_file:\n      - a.env\n"
                         "      - path: missing.env\n        required: false\n")
    project = load_compose(p)
    assert project.services[0].env.get("AP_CONTAINER_TYPE") == "WORKER" and project.problems == []
    p = _write(tmp_path, "services:\n  w:\n    image: activepieces/activepieces\n    env_file: missing.env\n")
    found, _ = findings_of(p)
    assert found["compose.env_file"].is_open and "missing.env" in found["compose.env_file"].evidence


def test_environment_bare_names_come_from_the_project_env(tmp_path):
    p = _write(tmp_path, "services:\n  a:\n    image: activepieces/activepieces\n    environment:\n"
                         "      - AP_ENCRYPTION_KEY\n      - AP_JWT_SECRET\n")
    svc = load_compose(p, {"AP_ENCRYPTION_KEY": "k" * 32}).services[0]
    assert svc.env.get("AP_ENCRYPTION_KEY") == "k" * 32 and not svc.env.entry("AP_ENCRYPTION_KEY").unresolved
    assert svc.env.entry("AP_JWT_SECRET").unresolved and svc.inline_env == {}


@pytest.mark.parametrize("text,what", [
    ("services:\n  app:\n    image: x\n     ports: [\n", "not valid YAML at line"),
    ("- a\n- b\n", "not a YAML mapping"),
    ("services: {}\n", "defines no services"),
    ("name: x\n", "defines no services"),
])
def test_invalid_compose_files(tmp_path, text, what):
    with pytest.raises(AptuiError) as exc:
        load_compose(_write(tmp_path, text))
    assert exc.value.exit_code == 2 and what in exc.value.message


def test_invalid_fixture_and_missing_and_binary(tmp_path):
    with pytest.raises(AptuiError) as exc:
        load_compose(FIXTURES / "compose.invalid.yml")
    assert exc.value.code == "FILE_INVALID"
    with pytest.raises(AptuiError) as exc:
        load_compose(tmp_path / "none.yml")
    assert exc.value.code == "FILE_NOT_FOUND"
    b = tmp_path / "b.yml"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(AptuiError) as exc:
        load_compose(b)
    assert exc.value.code == "FILE_NOT_TEXT"
