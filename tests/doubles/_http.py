"""A small threaded HTTP server base for provider doubles, with fault-injection knobs.

Not a pytest plugin itself (leading underscore). Subclasses implement ``route(req) -> Reply``.
Knobs: ``fail_next(n, status, path=...)``, ``delay`` / ``delay_path``, request log and ``count()``.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    raw_path: str  # as sent, percent-encoding kept
    path: str  # raw path without the query string (still encoded)
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json_or_none(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes → as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), "application/json"


@dataclass
class _Fault:
    remaining: int
    status: int
    body: Any
    path: str | None


class DoubleServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1, ephemeral port, served from a daemon thread."""

    name = "double"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._stopping = threading.Event()
        self.delay = 0.0  # seconds added to every response
        self.delay_path: str | None = None  # only delay requests whose path starts with this
        self.requests: list[Request] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.scheme = "http"

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, *, tls: bool = False) -> DoubleServer:
        """Serve in a thread; ``tls=True`` serves HTTPS with a fresh self-signed certificate."""
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without NODELAY, Nagle + delayed ACK add 40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(self.command, self.path, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                reply = double._dispatch(req)
                if reply is None:  # connection dropped on purpose
                    self.close_connection = True
                    return
                data, ctype = reply.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.headers.pop("Content-Type", ctype))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

            def do_LIST(self) -> None:
                self._handle()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            self.scheme = "https"
            self._httpd.socket = self_signed_context().wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DoubleServer:
        return self if self._httpd is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "double not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    # --- knobs ---------------------------------------------------------------------------------

    def fail_next(self, n: int, status: int, *, path: str | None = None, body: Any = None) -> None:
        """Answer the next ``n`` requests (whose decoded path starts with ``path``) with ``status``."""
        with self._lock:
            self._faults.append(_Fault(n, status, body if body is not None else self.fault_body(status), path))

    def fault_body(self, status: int) -> Any:
        return {"errors": [f"injected failure {status}"]}

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """Requests received (optionally: decoded path starting with ``path``, and method)."""
        with self._lock:
            return sum(1 for r in self.requests
                       if (path is None or unquote(r.path).startswith(path)) and (method is None or r.method == method))

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(f"{r.method} {unquote(r.path)}" for r in self.requests)

    # --- dispatch ------------------------------------------------------------------------------

    def _dispatch(self, req: Request) -> Reply | None:
        with self._lock:
            self.requests.append(req)
            fault = None
            for f in self._faults:
                if f.remaining > 0 and (f.path is None or unquote(req.path).startswith(f.path)):
                    f.remaining -= 1
                    fault = f
                    break
            self._faults = [f for f in self._faults if f.remaining > 0]
            delay = self.delay if (self.delay_path is None or unquote(req.path).startswith(self.delay_path)) else 0
        if delay:
            self._stopping.wait(delay)
        if fault is not None:
            return Reply(fault.status, fault.body)
        try:
            return self.route(req)
        except Exception as exc:  # a bug in the double must show up as a 500, not a hang
            return Reply(500, {"errors": [f"double error: {type(exc).__name__}: {exc}"]})

    def route(self, req: Request) -> Reply:
        """Subclasses answer here; the base answers 404 to everything."""
        return Reply(404, None)


def rfc3339(ts: float | None) -> str:
    """Vault/Conjur-style UTC timestamp (``""`` for None)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def self_signed_context() -> ssl.SSLContext:
    """A server SSL context with a throwaway self-signed certificate for 127.0.0.1."""
    import datetime
    import ipaddress
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aptui-test-double")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = f"{tmp}/cert.pem", f"{tmp}/key.pem"
        with open(cert_file, "wb") as fh:
            fh.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def json_or_none(body: bytes) -> Any:
    """A body as JSON, or None when it is not JSON."""
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an ambient proxy


def forward(upstream: str, req: Request, *, keep_host: bool = False) -> tuple[int, bytes, str]:
    """Send ``req`` on to ``upstream`` (no proxy): ``(status, body, content type)``."""
    skip = {"content-length", "connection", "accept-encoding"} | (set() if keep_host else {"host"})
    headers = {k: v for k, v in req.headers.items() if k not in skip}
    fwd = urllib.request.Request(upstream + req.raw_path, data=req.body or None, method=req.method, headers=headers)
    try:
        with _DIRECT.open(fwd, timeout=30) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("Content-Type", "")
