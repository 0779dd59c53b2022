"""The one proxy rule and the one TLS trust rule every aptui HTTP client follows.

- **Destinations and credentials** come only from a connection or profile: no client reads the
  environment (``trust_env=False`` for httpx and requests, ``proxies={}`` for botocore).
- **Proxy**: never for a loopback target (127.0.0.0/8, ::1, ``localhost``); otherwise the proxy set
  in config (``[network] proxy`` or ``APTUI_PROXY``), or none. ``HTTP(S)_PROXY``/``ALL_PROXY`` are
  ignored: a proxy is a destination, and destinations are configured, not inherited.
- **TLS trust**: the connection's/profile's CA bundle when it has one, else the system store (the
  OpenSSL default CA file compiled into Python, falling back to certifi's). ``SSL_CERT_FILE``,
  ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``AWS_CA_BUNDLE`` are ignored.
- **Plain http://** is for loopback only; elsewhere a Vault/Conjur connection needs its explicit
  lab flag (``allowHttp``), and ``audit hardening`` lists such connections.

Core layer: stdlib only at import time; httpx/requests are imported by the helpers that build them.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aptui.errors import usage

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_loopback(url_or_host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (a URL or a bare host)."""
    host = host_of(url_or_host) if "://" in url_or_host else url_or_host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http(url: str) -> bool:
    """A ``http://`` URL to a non-loopback host (credentials would cross the network in clear)."""
    return url.strip().lower().startswith("http://") and not is_loopback(url)


def require_secure(url: str, *, allow_http: bool, what: str) -> None:
    """Refuse ``http://`` to a non-loopback host unless the lab flag is set (usage error INSECURE_URL)."""
    if plain_http(url) and not allow_http:
        raise usage(f"plain http:// is refused for {host_of(url)} ({what} credentials would cross the network "
                    "in clear)", code="INSECURE_URL",
                    hint="use https://, http:// only for 127.0.0.1, ::1 or localhost, or --set allowHttp=true "
                         "for a lab")


def proxy_for(url: str, proxy: str | None) -> str | None:
    """The proxy to use for ``url``: none for loopback, else the configured one (or none)."""
    if not proxy or is_loopback(url):
        return None
    return proxy


def system_ca_file() -> str:
    """The system CA store as a file: OpenSSL's compiled default, else certifi's bundle."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile,):
        if candidate and os.path.isfile(candidate):
            return candidate
    import certifi

    return certifi.where()


def trust_file(ca_bundle: str | None) -> str:
    """The CA file a client trusts: the bundle, else the system store. A bad bundle is a usage error."""
    if ca_bundle:
        path = os.path.expanduser(ca_bundle)
        if not os.path.isfile(path):
            raise usage(f"CA bundle {ca_bundle} cannot be used (no such file)", code="TLS_CONFIG_INVALID",
                        hint="give the path of a PEM file with the CA certificates to trust")
        return path
    return system_ca_file()


def ssl_context(ca_bundle: str | None, *, verify: bool = True) -> ssl.SSLContext | bool:
    """An SSLContext trusting exactly ``trust_file(ca_bundle)`` (never env), or False when verify is off."""
    if not verify:
        return False
    path = trust_file(ca_bundle)
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise usage(f"CA bundle {ca_bundle or path} cannot be used ({reason})", code="TLS_CONFIG_INVALID") from None


@dataclass(frozen=True)
class NetRule:
    """What a client for one destination uses: its proxy (or None) and its TLS trust."""

    url: str
    proxy: str | None = None
    ca_bundle: str | None = None
    verify: bool = True

    @classmethod
    def for_url(cls, url: str, *, proxy: str | None = None, ca_bundle: str | None = None,
                verify: bool = True) -> NetRule:
        return cls(url, proxy_for(url, proxy), ca_bundle or None, verify)

    def httpx_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client``/``AsyncClient``."""
        return {"verify": ssl_context(self.ca_bundle, verify=self.verify), "proxy": self.proxy, "trust_env": False}

    def requests_session(self) -> Any:
        """A ``requests.Session`` that reads nothing from the environment (for hvac)."""
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = trust_file(self.ca_bundle) if self.verify else False
        session.proxies = {"http": self.proxy, "https": self.proxy} if self.proxy else {}
        return session

    def botocore_kwargs(self) -> dict[str, Any]:
        """``(verify, proxies)`` for a botocore client: ``{"verify": ..., "proxies": {...}}``."""
        return {"verify": trust_file(self.ca_bundle) if self.verify else False,
                "proxies": {"http": self.proxy, "https": self.proxy} if self.proxy else {}}
