"""`aptui profile login|logout|list|show` against the double's sign-in, and sessions in use.

Password from stdin, --password-env and the hidden prompt (a pty); wrong password, rate limit,
MFA, SSO-only platforms, pasted tokens (good, expired, forged, an API key), SESSION_EXPIRED in the
middle of a command. The password and the token never reach output, the store in clear or the audit.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from aptui.masking import Secret
from aptui.services import platform, sessions
from aptui.store import profiles as store_profiles
from tests.doubles.activepieces import ADMIN_EMAIL, ADMIN_PASSWORD, SECOND_PROJECT, load_fixture, make_profile

FAST = {"APTUI_RETRIES": "0", "APTUI_TIMEOUT": "5"}


@pytest.fixture
def keyonly(ctx, activepieces):
    """Profile ``prod``: the API key only, default project set, on the double."""
    return make_profile(ctx, activepieces, "prod", session=False)


def _clean(result, aptui_home, *secrets):
    audit = (aptui_home / "aptui.db").read_bytes()
    for s in secrets:
        assert s not in result.out and s not in result.err
        assert s.encode() not in audit


def _stored_token(ctx, name="prod"):
    ctx.close()
    return store_profiles.session_token(ctx.store, store_profiles.require(ctx.store, name))


def test_login_from_stdin_stores_the_session_and_mcp_works(run_cli, ctx, keyonly, activepieces, aptui_home):
    r = run_cli("platform", "mcp", "show", env=FAST)
    assert r.code == 2
    assert r.err.strip().splitlines()[0] == ("aptui: USER_SESSION_REQUIRED: MCP servers need a signed-in platform "
                                             "user (aptui profile login prod)")
    assert activepieces.requests == []  # refused before sending
    r = run_cli("profile", "login", "prod", "--email", ADMIN_EMAIL, "--json", input=ADMIN_PASSWORD + "\n")
    assert r.code == 0, r.err
    assert r.json["session"] == "valid" and r.json["session_expires_in"] == "6 d" and r.json["user"] == ADMIN_EMAIL
    token = _stored_token(ctx)
    assert token and token.reveal().count(".") == 2
    _clean(r, aptui_home, ADMIN_PASSWORD, token.reveal())
    body = activepieces.calls("POST", "/v1/authentication/sign-in")[0]
    assert body.body == {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD} and body.authorization is None
    r = run_cli("platform", "mcp", "show", "--json", env=FAST)
    assert r.code == 0 and "token" not in r.json["servers"][0]
    assert activepieces.principals[-1][2] == "USER"
    r = run_cli("platform", "connections", "list", "--json", env=FAST)
    assert r.code == 0 and activepieces.principals[-1][2] == "SERVICE"  # the key where SERVICE is admitted
    listing = run_cli("profile", "list", "--json")
    row = listing.json["profiles"][0]
    assert row["key_source"] == "stored" and row["session"] == "valid" and row["session_expires_in"] == "6 d"
    show = run_cli("profile", "show", "prod")
    assert "session:  expires in 6 d as ops@example.com" in show.out
    _clean(listing, aptui_home, token.reveal())
    _clean(show, aptui_home, token.reveal())
    r = run_cli("profile", "logout", "prod", "--json")
    assert r.code == 0 and r.json["dropped"] is True
    assert run_cli("profile", "list", "--json").json["profiles"][0]["session"] == "none"
    assert run_cli("platform", "mcp", "show", env=FAST).code == 2


def test_login_password_env_and_wrong_password(run_cli, ctx, keyonly, activepieces, aptui_home):
    r = run_cli("profile", "login", "prod", "--email", ADMIN_EMAIL, "--password-env", "AP_PW",
                env={"AP_PW": "FAKE-wrong-password"})
    assert r.code == 2 and "INVALID_CREDENTIALS" in r.err and "nothing was stored" in r.err
    assert _stored_token(ctx) is None
    _clean(r, aptui_home, "FAKE-wrong-password")
    r = run_cli("profile", "login", "prod", "--email", ADMIN_EMAIL, "--password-env", "AP_PW",
                env={"AP_PW": ADMIN_PASSWORD})
    assert r.code == 0, r.err
    assert _stored_token(ctx) is not None
    r = run_cli("profile", "login", "prod", "--email", ADMIN_EMAIL, "--password-env", "NOT_SET_ANYWHERE")
    assert r.code == 2 and "NOT_SET_ANYWHERE is not set" in r.err


def test_login_rate_limited(run_cli, keyonly, activepieces):
    for _ in range(5):
        run_cli("profile", "login", "prod", "--email", ADMIN_EMAIL, input="FAKE-wrong-password\n")
    r = run_cli("profile", "login", "prod", "--email", ADMIN_EMAIL, input=ADMIN_PASSWORD + "\n")
    assert r.code != 0 and "RATE_LIMITED" in r.err and "retry after 60s" in r.err
    assert len(activepieces.calls("POST", "/v1/authentication/sign-in")) == 6  # not retried blindly


def test_login_with_mfa(run_cli, ctx, keyonly, activepieces, aptui_home):
    activepieces.add_user("mfa@example.com", "FAKE-mfa-password", mfa_code="424242")
    r = run_cli("profile", "login", "prod", "--email", "mfa@example.com", input="FAKE-mfa-password\n")
    assert r.code == 2 and "MFA" in r.err  # piped stdin ran out: no code, nothing stored
    assert _stored_token(ctx) is None
    r = run_cli("profile", "login", "prod", "--email", "mfa@example.com", input="FAKE-mfa-password\n111111\n")
    assert r.code != 0 and "INVALID_OTP" in r.err and _stored_token(ctx) is None
    r = run_cli("profile", "login", "prod", "--email", "mfa@example.com", "--mfa-code-env", "CODE",
                input="FAKE-mfa-password\n", env={"CODE": "424242"})
    assert r.code == 0, r.err
    assert _stored_token(ctx) is not None
    _clean(r, aptui_home, "FAKE-mfa-password", "424242")


def test_sso_only_platform_points_to_the_pasted_token(run_cli, keyonly, activepieces):
    activepieces.password_sign_in = False
    r = run_cli("profile", "login", "prod", "--email", ADMIN_EMAIL, input=ADMIN_PASSWORD + "\n")
    assert r.code == 2 and "EMAIL_AUTH_DISABLED" in r.err and "--token-stdin" in r.err


def test_pasted_tokens(run_cli, ctx, keyonly, activepieces, aptui_home):
    expired = activepieces.session_token(ttl=-60)
    r = run_cli("profile", "login", "prod", "--token-stdin", input=expired + "\n")
    assert r.code == 2 and "SESSION_EXPIRED" in r.err and _stored_token(ctx) is None
    r = run_cli("profile", "login", "prod", "--token-stdin", input=activepieces.api_key + "\n")
    assert r.code == 2 and "NOT_A_SESSION_TOKEN" in r.err and activepieces.api_key not in r.err
    r = run_cli("profile", "login", "prod", "--token-stdin", input="not-a-token\n")
    assert r.code == 2 and "NOT_A_SESSION_TOKEN" in r.err
    good = activepieces.session_token()
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    r = run_cli("profile", "login", "prod", "--token-stdin", input=forged + "\n")
    assert r.code == 2 and "INVALID_BEARER_TOKEN" in r.err and _stored_token(ctx) is None
    r = run_cli("profile", "login", "prod", "--token-stdin", "--json", input=good + "\n")
    assert r.code == 0 and r.json["session_expires_in"] == "6 d"
    assert _stored_token(ctx).reveal() == good
    assert activepieces.principals[-1] == ("GET", "/v1/projects", "USER")  # tried before storing
    _clean(r, aptui_home, good, forged)


def test_login_at_the_hidden_prompt(aptui_home, keyonly, activepieces, ctx):
    """A real terminal: the e-mail is asked in clear, the password hidden (no echo)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "APTUI_HOME": str(aptui_home), **FAST}
    proc = subprocess.Popen([sys.executable, "-m", "aptui", "profile", "login", "prod"], stdin=follower,
                            stdout=follower, stderr=follower, env=env, start_new_session=True)
    os.close(follower)
    seen = b""

    def wait_for(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while text not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
        assert text in seen, seen

    wait_for(b"e-mail: ")
    os.write(leader, ADMIN_EMAIL.encode() + b"\r")
    wait_for(b"password (hidden): ")
    os.write(leader, ADMIN_PASSWORD.encode() + b"\r")
    wait_for(b"session expires in 6 d")
    assert proc.wait(timeout=30) == 0
    os.close(leader)
    assert ADMIN_PASSWORD.encode() not in seen  # not echoed
    assert _stored_token(ctx) is not None


async def test_session_expired_in_the_middle_of_a_command(ctx, activepieces):
    """The server revokes the session between two calls of one command: the stored session is
    dropped, the command says to log in again, and the next USER call is refused before sending."""
    make_profile(ctx, activepieces, "prod", key=False)
    activepieces.fault(f"/v1/projects/{SECOND_PROJECT}/mcp-server", status=403,
                       body=load_fixture("error.session-expired.json"))
    try:
        servers = await platform.mcp_servers(ctx, "prod")
        assert "error" not in servers[0]
        failed = next(s for s in servers if "error" in s)
    finally:
        await platform.aclose(ctx)
    assert failed["error"]["code"] == "SESSION_EXPIRED"
    assert "aptui profile login prod" in failed["error"]["message"]
    prof = store_profiles.require(ctx.store, "prod")
    assert not prof.has_session and store_profiles.session_token(ctx.store, prof) is None
    row = ctx.store.query("SELECT * FROM audit_log WHERE action = 'profile.session.drop'")[0]
    assert row["target"] == "prod" and "SESSION_EXPIRED" in row["detail"]


async def test_revoked_session_mid_command_for_real(ctx, activepieces):
    make_profile(ctx, activepieces, "prod", key=False)
    try:
        assert await platform.mcp_show(ctx, "prod")
        activepieces.revoke_sessions()  # a password change elsewhere: tokenVersion moves on
        with pytest.raises(Exception) as exc:
            await platform.mcp_show(ctx, "prod")
        assert getattr(exc.value, "code", None) == "SESSION_EXPIRED"
        before = len(activepieces.requests)
        with pytest.raises(Exception) as exc:
            await platform.mcp_show(ctx, "prod")
        assert exc.value.code == "USER_SESSION_REQUIRED" and len(activepieces.requests) == before
    finally:
        await platform.aclose(ctx)
    assert not store_profiles.require(ctx.store, "prod").has_session


async def test_a_session_past_its_exp_is_not_sent(ctx, activepieces):
    make_profile(ctx, activepieces, "prod", key=False, session=False)
    stale = activepieces.session_token(ttl=-30)
    from tests.doubles.activepieces import store_session

    store_session(ctx.store, "prod", stale)
    try:
        with pytest.raises(Exception) as exc:
            await platform.mcp_show(ctx, "prod")
    finally:
        await platform.aclose(ctx)
    assert exc.value.code == "API_KEY_MISSING" and "expired at" in exc.value.message
    assert activepieces.requests == []


async def test_login_service_refuses_bad_input(ctx, keyonly):
    with pytest.raises(Exception) as exc:
        await sessions.login(ctx, "prod", email="nobody", password=Secret(ADMIN_PASSWORD))
    assert exc.value.code == "VALIDATION"
    with pytest.raises(Exception) as exc:
        await sessions.login(ctx, "prod", email=ADMIN_EMAIL, password=Secret("short"))
    assert "8 to 64" in exc.value.message and "short" not in exc.value.one_line()
