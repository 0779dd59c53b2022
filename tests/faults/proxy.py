"""A fault-injecting HTTP proxy for the fault matrix (127.0.0.1, ephemeral port, threads).

``FaultProxy(upstream, Fault(mode, ...), target=...)`` forwards every request to ``upstream`` (moto,
the Vault/Conjur doubles, the Activepieces double) except the ones the fault takes, which it
answers itself, at the wire level:

- ``delay``           hold the request ``delay`` seconds (beyond the client timeout), then forward;
- ``reset_mid_body``  forward, send the headers and half the body, then RST (``SO_LINGER`` 0);
- ``burst_5xx``       answer 500/502/503 with a gateway's HTML page (``times`` of them, then pass);
- ``rate_limit``      429 + ``Retry-After`` (AWS: its wire form, 400 ``ThrottlingException``);
- ``truncated``       forward, send two thirds of the body under its full ``Content-Length``, then FIN;
- ``non_json``        answer 200 with an HTML sign-in page;
- ``tls_failure``     a TLS listener with a self-signed certificate (the client expects a trusted one).

``times=None`` applies the fault to every matching request; ``times=n`` to the first ``n``, then the
proxy passes requests through. Every request is logged (``requests``, ``count()``, ``max_per_key()``)
and every TCP connection counted (``connections``), so tests can bound the client's attempts.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MODES = ("delay", "reset_mid_body", "burst_5xx", "rate_limit", "truncated", "non_json", "tls_failure")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}
GATEWAY_PAGE = ("<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1>"
                "</center><hr><center>nginx</center></body></html>")
SIGN_IN_PAGE = ("<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action=\"/login\">"
                "<input name=\"user\"><input type=\"password\" name=\"pw\"></form></body></html>")
REASONS = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 400: "Bad Request"}


@dataclass
class Fault:
    mode: str
    times: int | None = None  # None: every matching request
    method: str | None = None  # only requests with this method (None: any)
    path: str | None = None  # only requests whose path matches this regex (None: any)
    delay: float = 6.0
    hold: float = 0.0  # other modes: wait this long before misbehaving (keeps a fault "active" for a while)
    retry_after: int = 1
    statuses: tuple[int, ...] = (502, 503, 500)

    def __post_init__(self) -> None:
        if self.mode not in MODES and self.mode != "pass":
            raise ValueError(f"unknown fault mode {self.mode!r}")


@dataclass
class Seen:
    method: str
    path: str
    key: str  # method + path (+ X-Amz-Target for AWS): one logical operation
    at: float
    faulted: bool


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


class FaultProxy:
    """Threads on 127.0.0.1; ``start()`` / ``stop()`` (always stop it: threads and sockets)."""

    def __init__(self, upstream: str | None, fault: Fault | None = None, *, target: str = "generic") -> None:
        self.fault = fault or Fault("pass")
        self.target = target
        self.upstream = urlsplit(upstream) if upstream else None
        self.requests: list[Seen] = []
        self.connections = 0
        self.handshake_failures = 0
        self._applied = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._clients: set[socket.socket] = set()
        self._tls = None
        if self.fault.mode == "tls_failure":
            from tests.doubles._http import self_signed_context

            self._tls = self_signed_context()

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.settimeout(0.1)
        self._sock = sock
        t = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            with contextlib.suppress(OSError):
                c.close()
        for t in list(self._threads):
            t.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._sock is not None, "proxy not started"
        return self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    # -- observations -----------------------------------------------------------------------------

    def count(self, method: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method)
                       and (path is None or re.search(path, r.path)))

    def per_key(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._lock:
            for r in self.requests:
                out[r.key] = out.get(r.key, 0) + 1
        return out

    def max_per_key(self) -> int:
        return max(self.per_key().values(), default=0)

    @property
    def faulted(self) -> int:
        with self._lock:
            return self._applied

    # -- serving ----------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._clients.add(conn)
            t = threading.Thread(target=self._serve, args=(conn,), name="fault-proxy-conn", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, raw: socket.socket) -> None:
        conn = raw
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(30)
            if self._tls is not None:
                try:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    with self._lock:
                        self.handshake_failures += 1
                    return
            reader = conn.makefile("rb")
            while not self._stop.is_set():
                req = self._read_request(reader)
                if req is None:
                    return
                if not self._handle(conn, req):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(raw)
            with contextlib.suppress(OSError):
                conn.close()

    @staticmethod
    def _read_request(reader) -> _Request | None:
        line = reader.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            return None
        headers: list[tuple[str, str]] = []
        while True:
            h = reader.readline(65537)
            if not h or h in (b"\r\n", b"\n"):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
        body = reader.read(length) if length else b""
        return _Request(parts[0], parts[1], parts[2], headers, body)

    def _take(self, req: _Request) -> bool:
        f = self.fault
        if f.mode in ("pass", "tls_failure"):
            return False
        if f.method and f.method != req.method:
            return False
        if f.path and not re.search(f.path, urlsplit(req.target).path):
            return False
        with self._lock:
            if f.times is not None and self._applied >= f.times:
                return False
            self._applied += 1
            return True

    def _handle(self, conn: socket.socket, req: _Request) -> bool:
        """Answer one request; False when the connection must end."""
        faulted = self._take(req)
        path = urlsplit(req.target).path
        key = f"{req.method} {path}"
        if req.header("X-Amz-Target"):
            key += " " + (req.header("X-Amz-Target") or "")
        with self._lock:
            self.requests.append(Seen(req.method, path, key, time.monotonic(), faulted))
        mode = self.fault.mode if faulted else "pass"
        keep_alive = (req.header("Connection") or "").lower() != "close"
        if mode == "delay":
            if self._stop.wait(self.fault.delay):
                return False
            mode = "pass"
        elif mode != "pass" and self.fault.hold and self._stop.wait(self.fault.hold):
            return False
        if mode == "burst_5xx":
            with self._lock:
                status = self.fault.statuses[(self._applied - 1) % len(self.fault.statuses)]
            reason = REASONS[status]
            body = GATEWAY_PAGE.format(status=status, reason=reason).encode()
            self._write(conn, status, [("Content-Type", "text/html")], body)
            return keep_alive
        if mode == "rate_limit":
            if self.target == "aws":
                body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
                self._write(conn, 400, [("Content-Type", "application/x-amz-json-1.1")], body)
            else:
                body = (b'{"errors":["request path \\"/v1/...\\": rate limit quota exceeded"]}'
                        if self.target == "hashicorp" else b'{"message":"Rate limit exceeded, retry later"}')
                self._write(conn, 429, [("Content-Type", "application/json"),
                                        ("Retry-After", str(self.fault.retry_after))], body)
            return keep_alive
        if mode == "non_json":
            self._write(conn, 200, [("Content-Type", "text/html; charset=utf-8")], SIGN_IN_PAGE.encode())
            return keep_alive
        status, reason, headers, body = self._forward(req)
        if mode == "reset_mid_body":
            if len(body) < 2:
                body = body + b" " * (2 - len(body))
            self._write(conn, status, headers, body[: len(body) // 2], length=len(body), reason=reason)
            self._rst(conn)
            return False
        if mode == "truncated":
            if len(body) < 3:
                body = body + b" " * (3 - len(body))
            self._write(conn, status, headers, body[: len(body) * 2 // 3], length=len(body), reason=reason)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            return False
        self._write(conn, status, headers, body, reason=reason)
        return keep_alive

    def _forward(self, req: _Request) -> tuple[int, str, list[tuple[str, str]], bytes]:
        if self.upstream is None:
            return 502, "Bad Gateway", [("Content-Type", "text/plain")], b"no upstream"
        up = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            up.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            for k, v in req.headers:
                if k.lower() not in HOP_BY_HOP:
                    up.putheader(k, v)
            up.putheader("Content-Length", str(len(req.body)))
            up.putheader("Connection", "close")
            up.endheaders(req.body or None)
            resp = up.getresponse()
            body = resp.read()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            return resp.status, resp.reason or REASONS.get(resp.status, "OK"), headers, body
        except OSError as exc:
            return 502, "Bad Gateway", [("Content-Type", "text/plain")], f"upstream: {exc}".encode()
        finally:
            up.close()

    @staticmethod
    def _write(conn: socket.socket, status: int, headers: list[tuple[str, str]], body: bytes, *,
               length: int | None = None, reason: str | None = None) -> None:
        head = [f"HTTP/1.1 {status} {reason or REASONS.get(status, 'Status')}"]
        head += [f"{k}: {v}" for k, v in headers]
        head.append(f"Content-Length: {len(body) if length is None else length}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        with contextlib.suppress(OSError):
            conn.sendall(data)

    @staticmethod
    def _rst(conn: socket.socket) -> None:
        """Close with an RST instead of a FIN."""
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            conn.close()


@dataclass
class ProxyGroup:
    """Several proxies stopped together."""

    proxies: list[FaultProxy] = field(default_factory=list)

    def add(self, proxy: FaultProxy) -> FaultProxy:
        self.proxies.append(proxy.start())
        return proxy

    def stop(self) -> None:
        for p in self.proxies:
            p.stop()
