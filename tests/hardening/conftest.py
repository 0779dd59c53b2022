"""Local sites for the URL checks: an HTTPS server with a self-signed certificate generated at
test time, and a plain-HTTP server that redirects (or not). Both on 127.0.0.1, ephemeral ports."""

from __future__ import annotations

import json
import ssl
import threading
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Cert:
    cert_pem: Path
    key_pem: Path


def make_cert(directory: Path, *, days: float = 365, name: str = "site") -> Cert:
    """A self-signed EC certificate for 127.0.0.1 and localhost, valid for ``days``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aptui test site")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_pem, key_pem = directory / f"{name}.crt", directory / f"{name}.key"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return Cert(cert_pem, key_pem)


@dataclass
class SiteConfig:
    """What the test site answers; tests change it between requests."""

    hsts: str | None = "max-age=31536000; includeSubDomains"
    status: int = 200
    redirect_status: int = 301
    redirect_to: str | None = None  # None: the https site
    flags: dict | None = field(default_factory=lambda: {"CURRENT_VERSION": "0.72.0", "LATEST_VERSION": "0.72.0"})
    requests: list[str] = field(default_factory=list)


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # failed handshakes are part of the tests
        pass


def _handler(config: SiteConfig, role: str, site: Site):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            config.requests.append(f"{role} {self.path}")
            if role == "http":
                if config.redirect_status in (301, 302, 303, 307, 308):
                    self.send_response(config.redirect_status)
                    self.send_header("Location", config.redirect_to or site.https_url + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"<html>plain</html>"
                self.send_response(config.redirect_status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path.startswith("/api/v1/flags") and config.flags is not None:
                body = json.dumps(config.flags).encode()
                ctype = "application/json"
            else:
                body, ctype = b"<html>activepieces</html>", "text/html"
            self.send_response(config.status)
            if config.hsts is not None:
                self.send_header("Strict-Transport-Security", config.hsts)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Site:
    """An HTTPS site (self-signed) plus a plain-HTTP listener that redirects to it."""

    def __init__(self, cert: Cert, *, legacy: bool = False, legacy_only: bool = False) -> None:
        self.cert = cert
        self.config = SiteConfig()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert.cert_pem, cert.key_pem)
        if legacy or legacy_only:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                if legacy_only:
                    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.https = _Quiet(("127.0.0.1", 0), _handler(self.config, "https", self))
        self.https.socket = ctx.wrap_socket(self.https.socket, server_side=True, do_handshake_on_connect=False)
        self.http = _Quiet(("127.0.0.1", 0), _handler(self.config, "http", self))
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                                          name=f"site-{n}")
                         for n, s in (("https", self.https), ("http", self.http))]
        for t in self._threads:
            t.start()

    @property
    def https_port(self) -> int:
        return self.https.server_address[1]

    @property
    def http_port(self) -> int:
        return self.http.server_address[1]

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        for s in (self.https, self.http):
            s.shutdown()
            s.server_close()
        for t in self._threads:
            t.join(timeout=5)


@pytest.fixture(scope="session")
def site_cert(tmp_path_factory) -> Cert:
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def site(site_cert):
    s = Site(site_cert)
    yield s
    s.stop()


@pytest.fixture
def make_site(tmp_path):
    """Build a site with its own certificate or TLS settings: ``make_site(days=5)``."""
    sites: list[Site] = []

    def build(*, days: float = 365, legacy: bool = False, legacy_only: bool = False) -> Site:
        s = Site(make_cert(tmp_path / f"tls{len(sites)}", days=days), legacy=legacy, legacy_only=legacy_only)
        sites.append(s)
        return s

    yield build
    for s in sites:
        s.stop()


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
