"""The grammar and the per-provider path rules, beyond the public cases."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError
from aptui.references import grammar, paths
from aptui.references.grammar import MSG_MISSING_PART, MSG_NOT_FORMAT, MSG_NOT_SECRET, NotReference, Reference


@pytest.mark.parametrize("text, expected", [
    ("{{ id|ap_sep_v1|path }}", Reference(" id", "path ")),                       # inner whitespace kept
    ("{{id|ap_sep_v1|a|ap_sep_v1|b}}", Reference("id", "a|ap_sep_v1|b")),          # first separator wins
    ("{{a|ap_sep_v1|p}} {{b|ap_sep_v1|q}}", Reference("a", "p}} {{b|ap_sep_v1|q")),  # ONE reference
    ("\ufeff\u3000{{id|ap_sep_v1|p}}\u2028\n", Reference("id", "p")),              # JS trim set
    ("{{{id|ap_sep_v1|p}}}", Reference("{id", "p}")),
    ("{{id|AP_SEP_V1|p}}", NotReference(MSG_NOT_FORMAT)),                          # case-sensitive
    ("\x1c{{id|ap_sep_v1|p}}", NotReference(MSG_NOT_SECRET)),                      # not JS whitespace
    ("{{id|ap_sep_v1|p}}\x85", NotReference(MSG_NOT_SECRET)),                      # NEL is not trimmed by JS
    ("{{|ap_sep_v1|}}", NotReference(MSG_MISSING_PART)),
    ("{{}", NotReference(MSG_NOT_SECRET)),
    ("{}}", NotReference(MSG_NOT_SECRET)),
    ("}}{{", NotReference(MSG_NOT_SECRET)),
    (None, NotReference(None)),
    (True, NotReference(None)),
    ({"a": 1}, NotReference(None)),
])
def test_parse(text, expected):
    assert grammar.parse(text) == expected


def test_build_round_trip():
    ref = grammar.parse(grammar.build("abc", "x/y:z"))
    assert ref == Reference("abc", "x/y:z") and ref.text == "{{abc|ap_sep_v1|x/y:z}}"


def test_contains_reference_is_upstreams_looser_check():
    assert grammar.contains_reference({"a": ["x", {"b": " {{|ap_sep_v1|}} "}]})  # arrays too, empty parts too
    assert not grammar.contains_reference({"a": "Bearer {{x|ap_sep_v1|y}}"})
    assert not grammar.contains_reference(42)


@pytest.mark.parametrize("value, kind", [
    ("Bearer {{x|ap_sep_v1|y}}", "partial"),
    ("{{x|ap_sep_v1|y}} trailing", "partial"),
    ("x|ap_sep_v1|y", "broken"),
    ("{x|ap_sep_v1|y}}", "broken"),
    ("{{x|ap_sep_v1|}}", "broken"),
    ("{{x|AP_SEP_V1|y}}", "broken"),
    ("{{aws:prod/db:password}}", "broken"),
    ("{{trigger.body.name}}", None),  # a flow template, not a reference
    ("hello", None),
    ("{{x|ap_sep_v1|y}}", None),      # a real reference
])
def test_classify_passthrough(value, kind):
    found = grammar.classify_passthrough(value)
    assert (found[0] if found else None) == kind


def test_reference_warnings_flag_upstream_traps():
    labels = {w.message.split(";")[0] for w in grammar.reference_warnings(Reference(" id", " a|ap_sep_v1|b}} {{c "))}
    assert len(labels) == 4


# -- provider path rules ------------------------------------------------------------------------

@pytest.mark.parametrize("path, fields", [
    ("prod/db:password", {"secretName": "prod/db", "secretJsonKey": "password"}),
    ("a:b:c", {"secretName": "a", "secretJsonKey": "b:c"}),
    (":", {"secretName": "", "secretJsonKey": ""}),            # both sides may be empty
    ("arn:aws:secretsmanager:x", {"secretName": "arn", "secretJsonKey": "aws:secretsmanager:x"}),
])
def test_aws_split(path, fields):
    assert paths.split("aws", path) == fields


@pytest.mark.parametrize("path", ["my-secret", "", "prod/db/password", "two  spaces", "tab\there", "new\nline"])
def test_aws_validation_message(path):
    with pytest.raises(AptuiError) as e:
        paths.split("aws", path)
    assert e.value.code == "VALIDATION"
    assert e.value.message == f"Wrong key format. Should be secretName:secretJsonKey, got {path}"


def test_aws_warnings():
    assert any("ARN" in w.message for w in paths.path_warnings("aws", "arn:aws:sm:x"))
    assert any("empty" in w.message for w in paths.path_warnings("aws", "name:"))
    assert paths.path_warnings("aws", "prod/db:password") == []


@pytest.mark.parametrize("path, fields", [
    ("secret/data/keys/my-key", {"mountPath": "secret/data/keys", "secretKey": "my-key",
                                 "requestPath": "/v1/secret/data/keys", "responseField": "data.data.data"}),
    ("secret/data/keys/my-key/", {"mountPath": "secret/data/keys/my-key", "secretKey": "",
                                  "requestPath": "/v1/secret/data/keys/my-key", "responseField": "data.data.data"}),
    ("a/b/c", {"mountPath": "a/b", "secretKey": "c", "requestPath": "/v1/a/b", "responseField": "data.data.data"}),
    ("a//b", {"mountPath": "a/", "secretKey": "b", "requestPath": "/v1/a/", "responseField": "data.data.data"}),
])
def test_vault_split(path, fields):
    assert paths.split("hashicorp", path) == fields


@pytest.mark.parametrize("path", ["a/b", "a/b/", "a//", "a", "/", ""])
def test_vault_validation_message(path):
    with pytest.raises(AptuiError) as e:
        paths.split("hashicorp", path)
    assert e.value.code == "VALIDATION"
    assert e.value.message == f"Wrong path format . should be mount/data/path/key. got {path}"


def test_vault_warnings():
    msgs = [w.label for w in paths.path_warnings("hashicorp", "kv/myapp/password")]
    assert "activepieces-fails" in msgs and "aptui-extension" in msgs
    assert any("trailing" in w.message for w in paths.path_warnings("hashicorp", "secret/data/k/f/"))
    assert paths.path_warnings("hashicorp", "secret/data/keys/my-key") == []


@pytest.mark.parametrize("path, request_path", [
    ("prod/db/password", "/secrets/{account}/variable/prod%2Fdb%2Fpassword"),
    ("a b:c!~*'()é", "/secrets/{account}/variable/a%20b%3Ac!~*'()%C3%A9"),
])
def test_conjur_split(path, request_path):
    assert paths.split("cyberark-conjur", path) == {"variableId": path, "requestPath": request_path}


def test_conjur_lone_surrogate_is_reported_not_raised():
    fields = paths.split("cyberark-conjur", "a\ud800b")
    assert fields["requestPath"] is None
    assert any("URI malformed" in w.message for w in paths.path_warnings("cyberark-conjur", "a\ud800b"))


@pytest.mark.parametrize("path, ok", [
    ("op://vault/item/field", True),
    ("op://vault/item/section/field", True),
    ("op://vault/item/field?attribute=otp", True),
    ("op://v a/i/f", True),
    ("op://vault\n/item/field", True),   # [^/] matches a newline in JS too
    ("op://vault/item/fi\neld", False),  # "." does not
    ("op://vault/item/field\n", False),  # JS "$" is the end of input
    ("op://vault/item/fie\u2028ld", False),
    ("op://vault/item", False),
    ("op://vault//field", False),
    ("OP://vault/item/field", False),
    (" op://vault/item/field", False),
    ("vault/item/field", False),
])
def test_onepassword_pattern(path, ok):
    if ok:
        assert paths.split("onepassword", path) == {"secretReference": path}
    else:
        with pytest.raises(AptuiError) as e:
            paths.split("onepassword", path)
        assert e.value.message == "Wrong secret reference format. Expected: op://vault/item/field"


def test_unknown_provider_is_a_usage_error():
    with pytest.raises(AptuiError) as e:
        paths.split("gcp", "x")
    assert e.value.exit_code == 2
