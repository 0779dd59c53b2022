"""Wire recorders for the hostile-environment tests.

- ``RecordingProxy``: what an ambient ``HTTP_PROXY`` points at. It records every request (plain
  requests and ``CONNECT``) and answers 502, so a client that used it both shows up and fails.
- ``Forwarder``: sits at a connection's own URL and forwards to the real server (OpenBao, moto),
  recording each request's headers/body and the answer, so a test can check which credentials went
  where.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.doubles._http import DoubleServer, Reply, Request

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RecordingProxy:
    """A TCP listener that logs the first line and headers of whatever arrives, then answers 502."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass
                self.seen.append(data.decode("latin-1"))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@dataclass
class Exchange:
    request: Request
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class Forwarder(DoubleServer):
    """Forwards every request to ``upstream`` and keeps ``exchanges``."""

    name = "forwarder"

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []

    def route(self, req: Request) -> Reply:
        skip = {"content-length", "connection", "accept-encoding", "host"}
        headers = {k: v for k, v in req.headers.items() if k not in skip}
        fwd = urllib.request.Request(self.upstream + req.raw_path, data=req.body or None, method=req.method,
                                     headers=headers)
        try:
            with _OPENER.open(fwd, timeout=30) as resp:
                status, body, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            status, body, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
        with self._lock:
            self.exchanges.append(Exchange(req, status, body))
        return Reply(status, body, {"Content-Type": ctype or "application/json"})
