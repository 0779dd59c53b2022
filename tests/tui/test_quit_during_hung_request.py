"""Issue 18 item 6: `q` while a provider request hangs ends the process in under 3 s (README).

The real console in a real terminal (tmux, 80x24), a Vault connection whose server accepts and
never answers, `t` starts the test (hvac, in a worker thread), `q` quits. Before the fix the
interpreter joined the hung executor thread at exit: 8.5 s.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    srv.close()


def capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True).stdout


def test_quit_while_a_vault_test_hangs_exits_fast(ctx, aptui_home, silent_server, tmp_path):
    from aptui.store import connections as store_conn

    store_conn.create(ctx.store, provider_id="hashicorp", name="vault-silent",
                      config={"url": f"http://127.0.0.1:{silent_server}", "roleId": "r", "secretId": "s"})
    ctx.close()
    done = tmp_path / "exited"
    session = f"aptui-quit-{os.getpid()}"
    env = f"APTUI_HOME={aptui_home} APTUI_TIMEOUT=10"
    cmd = f"cd {ROOT} && env {env} {sys.executable} -m aptui; date +%s.%N > {done}; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd], check=True)
    try:
        deadline = time.monotonic() + 20
        while "vault-silent" not in capture(session):
            assert time.monotonic() < deadline, capture(session)
            time.sleep(0.1)
        subprocess.run(["tmux", "send-keys", "-t", session, "t"], check=True)
        deadline = time.monotonic() + 10
        while "testing vault-silent" not in capture(session):
            assert time.monotonic() < deadline, capture(session)
            time.sleep(0.05)
        time.sleep(0.5)  # the request is on the wire, unanswered
        started = time.time()
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 15
        while not done.exists() or not done.read_text().strip():
            assert time.monotonic() < deadline, "the console did not exit within 15 s"
            time.sleep(0.05)
        took = float(done.read_text()) - started
        assert took < 3.0, f"exit took {took:.1f} s"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
