"""The one proxy rule and the one TLS trust rule (``aptui.net``), through every kind of client:
the configured proxy for non-loopback targets, never for loopback, never the environment's; the
connection's/profile's CA bundle or the system store, never ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE``."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from aptui import net
from aptui.errors import AptuiError
from aptui.providers.base import ProviderOptions
from tests.hermetic.wire import RecordingProxy

FAR = "https://vault.example.invalid:8200"


@pytest.fixture
def proxy():
    p = RecordingProxy()
    yield p
    p.stop()


def test_loopback_detection():
    for url in ("http://127.0.0.1:8200", "http://127.1.2.3", "http://[::1]:80", "http://localhost:5000",
                "https://api.localhost"):
        assert net.is_loopback(url), url
    for url in ("http://10.0.0.1", "https://vault.example.com", "http://127.0.0.1.nip.io", "http://[::2]"):
        assert not net.is_loopback(url), url
    assert net.plain_http("http://vault.lab:8200") and not net.plain_http("http://127.0.0.1:8200")
    assert not net.plain_http("https://vault.lab")


def test_proxy_rule_ignores_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://ambient:3128")
    assert net.proxy_for(FAR, None) is None
    assert net.proxy_for(FAR, "http://configured:3128") == "http://configured:3128"
    assert net.proxy_for("http://127.0.0.1:8200", "http://configured:3128") is None
    session = net.NetRule.for_url(FAR, proxy="http://configured:3128").requests_session()
    assert session.trust_env is False and session.proxies == {"http": "http://configured:3128",
                                                              "https": "http://configured:3128"}
    kwargs = net.NetRule.for_url("http://127.0.0.1:1").httpx_kwargs()
    assert kwargs["trust_env"] is False and kwargs["proxy"] is None


def test_trust_rule_ignores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ambient.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ambient.pem"))
    system = net.trust_file(None)
    assert "ambient" not in system and system == net.system_ca_file()
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(Path(system).read_bytes())
    assert net.trust_file(str(bundle)) == str(bundle)
    assert isinstance(net.ssl_context(str(bundle)), ssl.SSLContext)
    assert net.ssl_context(None, verify=False) is False
    with pytest.raises(AptuiError) as bad:
        net.trust_file(str(tmp_path / "missing.pem"))
    assert bad.value.code == "TLS_CONFIG_INVALID"


async def test_every_client_uses_the_configured_proxy_for_a_far_target(proxy):
    from aptui.activepieces.client import ActivepiecesClient, ClientOptions
    from aptui.masking import Secret
    from aptui.providers.conjur import ConjurProvider
    from aptui.providers.vault import VaultProvider
    from aptui.providers.vault_approle import VaultAppRole

    opts = ProviderOptions(timeout=3, retries=0, proxy=proxy.url, extra={"backoff_base": 0})
    vault = {"url": FAR, "roleId": "r", "secretId": "s"}
    clients = [VaultProvider(vault, opts), VaultAppRole(vault, opts),
               ConjurProvider({"url": "https://conjur.example.invalid", "organizationAccountName": "o",
                               "loginId": "host/a", "apiKey": "k"}, opts)]
    for client in clients:
        with pytest.raises(AptuiError):
            await (client.check() if hasattr(client, "check") else client.login())
        await client.aclose()
    ap = ActivepiecesClient("https://ap.example.invalid", Secret("sk-test-key"),
                            options=ClientOptions(timeout=3, retries=0, proxy=proxy.url))
    with pytest.raises(AptuiError):
        await ap.request("GET", "/v1/flags")
    await ap.aclose()
    targets = sorted({" ".join(line.split()[:2]) for line in proxy.seen})  # urllib3 says HTTP/1.0, httpx 1.1
    assert targets == ["CONNECT ap.example.invalid:443", "CONNECT conjur.example.invalid:443",
                       "CONNECT vault.example.invalid:8200"], targets


async def test_a_loopback_target_never_goes_through_the_proxy(proxy, openbao):
    from aptui.providers.vault import VaultProvider

    role = openbao.approle("net-loopback")
    p = VaultProvider(openbao.config(role), ProviderOptions(timeout=5, retries=0, proxy=proxy.url))
    await p.check()
    await p.aclose()
    assert proxy.seen == []


async def test_plain_http_to_a_far_host_is_refused_at_use_time_too():
    from aptui.providers.conjur import ConjurProvider
    from aptui.providers.vault import VaultProvider

    vault = VaultProvider({"url": "http://vault.example.invalid", "roleId": "r", "secretId": "s"})
    with pytest.raises(AptuiError) as refused:
        await vault.check()
    assert "plain http:// is refused for vault.example.invalid" in refused.value.message
    conjur = ConjurProvider({"url": "http://conjur.example.invalid", "organizationAccountName": "o",
                             "loginId": "host/a", "apiKey": "k"})
    with pytest.raises(AptuiError) as refused:
        await conjur.check()
    assert "plain http:// is refused" in refused.value.message
    await conjur.aclose()
