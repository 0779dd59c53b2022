"""A hostile server or file puts terminal escapes in every string it hands aptui; the CLI shows them,
never obeys them. Each test checks the bytes written to stdout and stderr (as ``run_cli`` captures
them): no ESC, BEL or C1 control, while ``--json`` stays correct JSON carrying the text unchanged."""

from __future__ import annotations

import json
import re

import pytest

from tests.doubles.activepieces import DEFAULT_PROJECT

OSC52 = "\x1b]52;c;ZXZpbA==\x07"          # write the operator's clipboard
OSC8 = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # a hyperlink
OSC0 = "\x1b]0;pwned\x07"                 # retitle the window
CLEAR = "\x1b[2J\x1b[H"                    # clear the screen
C1 = "\x9b31m\x9d0;t\x9c"                 # the 8-bit CSI/OSC/ST forms
HOSTILE = f"evil{OSC52}{OSC8}{OSC0}{CLEAR}{C1}"
MARKUP = "[link=https://evil.example/]x[/link][bold red]"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FAST = {"APTUI_RETRIES": "0", "APTUI_TIMEOUT": "5", "COLUMNS": "400"}


def assert_clean(result) -> None:
    for name, text in (("stdout", result.out), ("stderr", result.err)):
        bad = RAW.findall(text.replace("\r", ""))
        assert not bad, f"{name} carries raw control characters {bad!r}: {text!r}"


@pytest.fixture
def cli(run_cli, ap_profile):
    def run(*args, env=None):
        return run_cli(*args, env={**FAST, **(env or {})})

    return run


def test_connection_names_from_the_server_are_shown_not_obeyed(cli, activepieces):
    activepieces.add_connection(display_name=HOSTILE + MARKUP, external_id="x" + OSC52)
    r = cli("platform", "connections", "list", "--project", DEFAULT_PROJECT)
    assert r.code == 0, r.err
    assert_clean(r)
    assert "evil\\x1b]52;c;ZXZpbA==\\x07" in r.out and "x\\x1b]52;c;ZXZpbA==\\x07" in r.out
    j = cli("platform", "connections", "list", "--project", DEFAULT_PROJECT, "--json")
    assert j.code == 0
    names = [c["displayName"] for c in json.loads(j.out)["connections"]]
    assert HOSTILE + MARKUP in names  # JSON escapes; the value is carried exactly
    assert "\x1b" not in j.out


def test_server_version_and_edition(cli, activepieces):
    activepieces.flags.update({"CURRENT_VERSION": "0.71.2" + OSC0 + CLEAR, "EDITION": "ee" + OSC52})
    for args in (("profile", "test", "ap-test"), ("platform", "info"), ("profile", "list")):
        r = cli(*args)
        assert r.code == 0, (args, r.err)
        assert_clean(r)
    r = cli("profile", "test", "ap-test")
    assert "\\x1b]0;pwned\\x07" in r.out


def test_error_messages_from_the_server(cli, activepieces):
    body = {"code": "VALIDATION" + CLEAR, "params": {"message": "bad " + HOSTILE}}
    activepieces.fault("/v1/app-connections", status=409, body=body, times=None)
    r = cli("platform", "connections", "list", "--project", DEFAULT_PROJECT)
    assert r.code != 0
    assert_clean(r)
    assert r.err.startswith("aptui: ") and r.err.count("\n") == 1
    j = cli("platform", "connections", "list", "--project", DEFAULT_PROJECT, "--json")
    assert_clean(j)
    json.loads(j.out)


def test_vault_error_messages(run_cli, vault_double):
    role_id, secret_id = vault_double.add_approle("app")
    r = run_cli("sm", "add", "--provider", "hashicorp", "--name", "vault", "--set", f"url={vault_double.url}",
                "--set-env", "roleId=RID", "--set-env", "secretId=SID", "--no-test",
                env={"SID": secret_id, "RID": role_id, **FAST})
    assert r.code == 0, r.err
    vault_double.fail_next(5, 400, body={"errors": ["invalid role" + HOSTILE]})
    r = run_cli("sm", "test", "vault", env=FAST)
    assert r.code != 0
    assert_clean(r)
    assert "\\x1b]52" in r.out + r.err
    vault_double.fail_next(5, 400, body={"errors": ["invalid role" + HOSTILE]})
    j = run_cli("sm", "test", "vault", "--json", env=FAST)
    assert_clean(j)
    assert "invalid role" + HOSTILE in json.loads(j.out)["error"]["hint"]


def test_conjur_names_in_errors(run_cli, conjur_double, tmp_path):
    conjur_double.add_host("host/app/ci", "api-key-1")
    cfg = conjur_double.config("host/app/ci", "api-key-1")
    sets = [a for k, v in cfg.items() if k != "apiKey" for a in ("--set", f"{k}={v}")]
    r = run_cli("sm", "add", "--provider", "cyberark-conjur", "--name", "cj" , *sets, "--set-env", "apiKey=K",
                "--json", env={"K": cfg["apiKey"], **FAST})
    assert r.code == 0, r.err
    cid = r.json["connection"]["id"]
    ref = "{{" + cid + "|ap_sep_v1|missing" + OSC52 + CLEAR + "}}"
    r = run_cli("ref", "resolve", ref, env=FAST)
    assert r.code != 0
    assert_clean(r)


def test_references_read_from_a_file(run_cli, tmp_path):
    src = tmp_path / "flows"
    src.mkdir()
    (src / ("bad" + "\x1b[2J" + ".json")).write_text(json.dumps({"k": "{{abc" + OSC52 + "|ap_sep_v1|p}}"}))
    r = run_cli("ref", "scan", str(src), env=FAST)
    assert_clean(r)
    r = run_cli("ref", "resolve", "{{x" + OSC0 + "|ap_sep_v1|p}}", env=FAST)
    assert r.code != 0
    assert_clean(r)


# -- the AP_API_KEY fallback -----------------------------------------------------------------------

def test_ap_api_key_fallback_warns_naming_the_host(run_cli, activepieces):
    assert run_cli("profile", "add", "envkey", "--url", activepieces.url, "--project", DEFAULT_PROJECT,
                   "--no-key").code == 0
    r = run_cli("platform", "connections", "list", "--json", env={**activepieces.env(), **FAST})
    assert r.code == 0
    host = activepieces.url.split("://", 1)[1].rstrip("/")
    assert "warning" in r.err and "AP_API_KEY" in r.err and host in r.err and "envkey" in r.err
    assert r.err.count("\n") == 1 and activepieces.api_key not in r.err
    json.loads(r.out)  # stdout stays a JSON document


def test_per_profile_variable_replaces_the_global_fallback(run_cli, activepieces):
    assert run_cli("profile", "add", "prod-eu", "--url", activepieces.url, "--project", DEFAULT_PROJECT,
                   "--no-key").code == 0
    env = {"APTUI_PROFILE_PROD_EU_API_KEY": activepieces.api_key, "AP_API_KEY": "sk-wrong-global-key-000000",
           **FAST}
    r = run_cli("platform", "connections", "list", "--json", env=env)
    assert r.code == 0, r.err
    assert "warning" not in r.err
    listed = run_cli("profile", "list", "--json", env=env)
    assert listed.json["profiles"][0]["key_source"] == "APTUI_PROFILE_PROD_EU_API_KEY"
