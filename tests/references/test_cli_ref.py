"""`aptui ref parse|test|resolve|scan` as real subprocesses (moto for AWS)."""

from __future__ import annotations

import json

import pytest

PASSWORD = "s3cr3t-db-password"


@pytest.fixture
def aws_conn(run_cli, moto_aws):
    moto_aws.create_secret("prod/db", {"password": PASSWORD, "user": "app", "port": 5432})
    r = run_cli("sm", "add", "--provider", "aws", "--name", "prod-aws", "--set", "region=us-east-1",
                "--set", f"endpoint={moto_aws.endpoint}", "--set-env", "accessKeyId=AK", "--set-env",
                "secretAccessKey=SK", "--json",
                env={"AK": "AKIAMOTO000000000000", "SK": "moto-secret-000"})
    assert r.code == 0, r.err
    return r.json["connection"]["id"]


def ref(cid, path):
    return "{{" + cid + "|ap_sep_v1|" + path + "}}"


def test_parse_offline(run_cli):
    ok = run_cli("ref", "parse", "{{x|ap_sep_v1|secret/data/keys/k}}", "--provider", "hashicorp", "--json")
    assert ok.code == 0 and ok.json["verdict"] == "valid" and ok.json["parsed"]["requestPath"] == "/v1/secret/data/keys"
    bad = run_cli("ref", "parse", "{{x|ap_sep_v1|my-secret}}", "--provider", "aws", "--json")
    assert bad.code == 1 and bad.json["error"] == {
        "code": "VALIDATION", "message": "Wrong key format. Should be secretName:secretJsonKey, got my-secret"}
    plain = run_cli("ref", "parse", "plain-value")
    assert plain.code == 0 and "not a reference" in plain.out and "unchanged" in plain.out
    assert "plain-value" not in plain.out
    unknown = run_cli("ref", "parse", "{{unknownConn0000000001|ap_sep_v1|a:b}}", "--json")
    assert unknown.code == 1 and unknown.json["error"]["message"] == "Connection is not accessible"
    partial = run_cli("ref", "parse", "Bearer {{x|ap_sep_v1|a:b}}", "--json")
    assert partial.code == 0 and partial.json["verdict"] == "not-resolved-by-activepieces"


def test_test_masked_and_revealed(run_cli, aws_conn):
    r = run_cli("ref", "test", ref(aws_conn, "prod/db:password"))
    assert r.code == 0 and "resolves" in r.out and "••••••" in r.out and PASSWORD not in r.out + r.err
    j = run_cli("ref", "test", ref(aws_conn, "prod/db:password"), "--json")
    assert j.json["verdict"] == "resolves" and j.json["cached"] is True and PASSWORD not in j.out
    shown = run_cli("ref", "test", ref(aws_conn, "prod/db:password"), "--reveal", "--json")
    assert shown.json["value"] == PASSWORD
    log = run_cli("audit", "log", "--json")
    assert PASSWORD not in log.out and "ref.reveal" in log.out
    missing_key = run_cli("ref", "test", ref(aws_conn, "prod/db:nokey"), "--json")
    assert missing_key.code == 1
    assert missing_key.json["error"]["message"] == "[prod/db:nokey] Secret value for key nokey not found"
    number = run_cli("ref", "test", ref(aws_conn, "prod/db:port"), "--json")
    assert number.json["error"]["message"] == "[prod/db:port] Secret value for key port not found"
    via_provider = run_cli("ref", "test", "{{aws|ap_sep_v1|prod/db:user}}", "--json")
    assert via_provider.code == 0 and via_provider.json["suggested"] == ref(aws_conn, "prod/db:user")
    assert via_provider.json["activepieces"]["resolves"] is False
    plain = run_cli("ref", "test", "not-a-ref", "--json")
    assert plain.code == 0 and plain.json["verdict"] == "passthrough"
    scoped = run_cli("ref", "test", ref(aws_conn, "prod/db:user"), "--project", "p9", "--json")
    assert scoped.code == 0  # PLATFORM serves every project


def test_resolve_file(run_cli, aws_conn, tmp_path):
    doc = {"type": "SECRET_TEXT", "auth": {"password": ref(aws_conn, "prod/db:password"),
                                           "user": ref(aws_conn, "prod/db:user")},
           "hosts": [ref(aws_conn, "prod/db:password")], "header": "Bearer " + ref(aws_conn, "prod/db:password")}
    f = tmp_path / "conn.json"
    f.write_text(json.dumps(doc))
    r = run_cli("ref", "resolve", str(f), "--json")
    assert r.code == 0, r.err
    by = {i["location"]: i for i in r.json["items"]}
    assert by["$.auth.password"]["verdict"] == "resolves" and by["$.hosts[0]"]["verdict"] == \
        "not-resolved-by-activepieces"
    assert r.json["counts"]["resolves"] == 2 and PASSWORD not in r.out and "resolved" not in r.json
    text = run_cli("ref", "resolve", str(f))
    assert "$.auth.password" in text.out and PASSWORD not in text.out
    strict = run_cli("ref", "resolve", str(f), "--strict")
    assert strict.code == 1
    shown = run_cli("ref", "resolve", str(f), "--reveal", "--json")
    assert shown.json["resolved"]["auth"] == {"password": PASSWORD, "user": "app"}
    assert shown.json["resolved"]["hosts"] == doc["hosts"]
    stdin = run_cli("ref", "resolve", "-", "--json", input=json.dumps({"p": ref(aws_conn, "nocolon")}))
    assert stdin.code == 1 and stdin.json["items"][0]["error"]["code"] == "VALIDATION"
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    invalid = run_cli("ref", "resolve", str(bad))
    assert invalid.code == 2 and "not valid JSON" in invalid.err
    assert run_cli("ref", "resolve", str(tmp_path / "none.json")).code == 2
    y = tmp_path / "flow.yaml"
    y.write_text(f"settings:\n  token: '{ref(aws_conn, 'prod/db:user')}'\n")
    assert run_cli("ref", "resolve", str(y), "--json").json["counts"]["resolves"] == 1


def test_scan(run_cli, aws_conn, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"p": ref(aws_conn, "prod/db:password")}, indent=1))
    (tmp_path / "b.yml").write_text(f"x:\n  - '{ref(aws_conn, 'prod/db:password')}'\n")
    (tmp_path / ".env").write_text(f"A={ref(aws_conn, 'prod/db:missing')}\nB=plain-secret-value\n")
    (tmp_path / "blob.json").write_bytes(b"\x00\x00")
    r = run_cli("ref", "scan", str(tmp_path), "--json")
    assert r.code == 1, r.err  # the missing key fails
    assert r.json["files"] == 3 and r.json["references"] == 2
    found = {(f["file"].rsplit("/", 1)[-1], f["line"], f["verdict"]) for f in r.json["findings"]}
    assert found == {("a.json", 2, "resolves"), ("b.yml", 2, "not-resolved-by-activepieces"), (".env", 1, "error")}
    assert any("binary" in n["note"] for n in r.json["notes"])
    assert PASSWORD not in r.out and "plain-secret-value" not in r.out
    assert r.err == ""  # no progress bar when stderr is not a terminal
    text = run_cli("ref", "scan", str(tmp_path), "--no-test")
    assert text.code == 0 and "a.json:2" in text.out


def test_a_broken_lookalike_fails_parse_and_test(run_cli):
    """`{{id|ap_sep_v1|}}` is passed through unchanged by Activepieces (ref-015): asked about one
    reference, that is a failure (exit 1), not "ok"; plain text stays exit 0."""
    for command in ("parse", "test"):
        r = run_cli("ref", command, "{{awsConn00000000000001|ap_sep_v1|}}", "--json")
        assert r.code == 1, (command, r.out, r.err)
        assert r.json["verdict"] == "passthrough" and r.json["warnings"][0]["label"] == "broken-reference"
    assert run_cli("ref", "parse", "just a plain value").code == 0
