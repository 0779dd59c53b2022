"""The finders (what is a secret, and why) and the format-preserving rewrite."""

from __future__ import annotations

import json

import pytest

from aptui.services.migrate import detect
from aptui.services.migrate.rewrite import REDUMP, TEXTUAL, json_spans, parse, rewrite
from tests.migrate.helpers import rand

REF = "{{conn0aB1cD2eF3gH4iJ5kL|ap_sep_v1|prod/x:k}}"


def _found(doc):
    return {f.location: (f.kind, f.reason) for f in detect.iter_findings(doc)}


def test_token_shapes_key_names_and_entropy():
    doc = {"a": "xoxb-" + rand(30), "b": "ghp_" + rand(36), "c": "sk-" + rand(40), "d": "AKIA" + "ABCD2345EFGH6789",
           "apiKey": rand(12), "clientSecret": rand(16), "secret_text": rand(20), "db_password": "hunter2-x",
           "opaque": rand(40)}
    f = _found(doc)
    assert f["$.a"] == ("secret", "token shape: a Slack token")
    assert f["$.b"] == ("secret", "token shape: a GitHub token")
    assert f["$.c"] == ("secret", "token shape: an sk-… API key")
    assert f["$.d"] == ("secret", "token shape: an AWS access key id")
    for k in ("apiKey", "clientSecret", "secret_text", "db_password"):
        assert f[f"$.{k}"] == ("secret", f"key name {k!r}")
    assert f["$.opaque"][0] == "secret" and f["$.opaque"][1].startswith("high entropy")


def test_plain_settings_placeholders_and_references_are_left_alone():
    doc = {"host": "db.internal.example.com", "port": 5432, "channel": "#alerts", "enabled": True,
           "url": "https://hooks.example.com/services/abc", "tokenUrl": "https://auth.example.com/oauth/token",
           "secretName": "prod/slack", "region": "eu-west-1", "flowId": "550e8400-e29b-41d4-a716-446655440000",
           "id": "550e8400-e29b-41d4-a716-446655440000", "note": "a plain sentence with several words in it",
           "path": "/var/lib/activepieces/cache/data-0001", "password": "changeme", "token": "<your-token-here>",
           "ref": REF, "partial": "Bearer " + REF}
    f = _found(doc)
    assert f.pop("$.password") == ("skipped", "a placeholder or empty value")
    assert f.pop("$.token") == ("skipped", "a placeholder or empty value")
    assert f.pop("$.ref") == ("skipped", "already a secret-manager reference")
    assert f.pop("$.partial")[0] == "skipped"
    assert f == {}


def test_secrets_in_arrays_are_reported_not_migrated():
    f = _found({"keys": ["ghp_" + rand(36)]})
    assert f["$.keys[0]"][0] == "skipped" and "inside an array" in f["$.keys[0]"][1]


def test_finding_repr_never_shows_the_value():
    value = "ghp_" + rand(36)
    (finding,) = detect.iter_findings({"t": value})
    assert value not in repr(finding) and value[:8] not in repr(finding)


def test_json_rewrite_keeps_everything_else_byte_for_byte():
    secret = rand(30)
    text = ('{\n  "b":  "caf\\u00e9",\n\t"a" : {"password":"' + secret + '" , "n": 1.50},\n  "z": [1,2]\n}\n')
    out, method = rewrite(text, "json", {(0, ("a", "password")): REF})
    assert method == TEXTUAL
    assert out == text.replace(secret, REF)


def test_minified_json_and_escaped_values():
    secret = 'ab"c\\d' + rand(20)
    text = json.dumps({"x": {"token": secret}, "y": "é"}, separators=(",", ":"), ensure_ascii=True)
    out, method = rewrite(text, "json", {(0, ("x", "token")): REF})
    assert method == TEXTUAL and json.loads(out) == {"x": {"token": REF}, "y": "é"}
    assert out.endswith(',"y":"\\u00e9"}')


def test_yaml_rewrite_keeps_comments_quotes_and_order():
    s1, s2, s3 = rand(30), rand(30), rand(30)
    text = (f"# top comment\nz: 1\nplain: {s1}  # trailing\nsingle: '{s2}'\ndouble: \"{s3}\"\n"
            "nested:\n  - keep\n  - also\nflag: yes\n")
    reps = {(0, ("plain",)): REF, (0, ("single",)): REF, (0, ("double",)): REF}
    out, method = rewrite(text, "yaml", reps)
    assert method == TEXTUAL
    assert out == (f"# top comment\nz: 1\nplain: \"{REF}\"  # trailing\nsingle: \"{REF}\"\ndouble: \"{REF}\"\n"
                   "nested:\n  - keep\n  - also\nflag: yes\n")


def test_yaml_block_scalar_and_multiple_documents():
    key = "-----BEGIN PRIVATE KEY-----\n" + rand(60) + "\n-----END PRIVATE KEY-----\n"
    body = "\n".join("    " + line for line in key.splitlines())
    text = f"a: 1\n---\nsigning:\n  privateKey: |\n{body}\n  next: 2\n"
    docs = parse(text, "yaml")
    assert docs[1]["signing"]["privateKey"] == key
    out, method = rewrite(text, "yaml", {(1, ("signing", "privateKey")): REF})
    assert method == TEXTUAL
    assert parse(out, "yaml") == [{"a": 1}, {"signing": {"privateKey": REF, "next": 2}}]
    assert out.startswith("a: 1\n---\nsigning:\n  privateKey: \"{{")


def test_yaml_anchor_falls_back_to_a_redump_that_reads_back():
    secret = rand(30)
    text = f"base: &tok {secret}\nother: *tok\nkeep: [1, 2]\n"
    out, method = rewrite(text, "yaml", {(0, ("base",)): REF, (0, ("other",)): REF})
    assert parse(out, "yaml") == [{"base": REF, "other": REF, "keep": [1, 2]}]
    assert secret not in out
    assert method in (TEXTUAL, REDUMP)


def test_json_spans_cover_only_string_tokens():
    spans = json_spans('{"a": "x", "b": [1, "y"], "c": {"d": null}}')
    assert set(spans) == {("a",), ("b", 1)}


@pytest.mark.parametrize("name,text", [("bad.json", '{"token": "ghp_x",\n'), ("bad.yaml", "a: [\n")])
def test_unparsable_sources_are_one_line_errors(tmp_path, name, text):
    from aptui.errors import AptuiError
    from aptui.services.migrate.plan import read_source

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(AptuiError) as exc:
        read_source(path)
    assert exc.value.code == "MIGRATE_SOURCE_INVALID" and exc.value.exit_code == 2
    assert "ghp_" not in exc.value.one_line()
