"""Wire recorders for the hostile-environment tests.

- ``RecordingProxy``: what an ambient ``HTTP_PROXY`` points at. It records every request (plain
  requests and ``CONNECT``) and answers 502, so a client that used it both shows up and fails.
- ``Forwarder``: sits at a connection's own URL and forwards to the real server (OpenBao, moto),
  recording each request's headers/body and the answer, so a test can check which credentials went
  where.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import Any

from tests.doubles._http import DoubleServer, Reply, Request, forward, json_or_none


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
        return json_or_none(self.body)


class Forwarder(DoubleServer):
    """Forwards every request to ``upstream`` and keeps ``exchanges``."""

    name = "forwarder"

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []

    def route(self, req: Request) -> Reply:
        status, body, ctype = forward(self.upstream, req)
        with self._lock:
            self.exchanges.append(Exchange(req, status, body))
        return Reply(status, body, {"Content-Type": ctype or "application/json"})
