"""SIGKILL a writer mid-way, many times: every committed row is readable, nothing is half-written."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from aptui.config import Paths
from aptui.store.db import Store

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from aptui.config import Paths
    from aptui.store.db import Store

    home = Path(sys.argv[1]); start = int(sys.argv[2])
    store = Store.open(Paths(config_dir=home, data_dir=home))
    i = start
    while True:
        rid = f"w{i:06d}"
        with store.transaction() as conn:
            # Two rows per transaction: both exist or neither does.
            conn.execute(
                "INSERT INTO profiles (id, name, base_url, api_key, created, updated) VALUES (?,?,?,?,?,?)",
                (rid, rid, "https://x", store.encrypt("profiles", rid, "api_key", "value-" + rid + "-" + "x" * 300),
                 "t", "t"))
            conn.execute("INSERT INTO rotation_records VALUES (?,?,?,?,?,?,NULL)",
                         ("r" + rid, rid, "activepieces-api-key", "set", "t", "recorded"))
        print(rid, flush=True)
        i += 1
    """
)


def test_sigkill_loop_loses_no_committed_row(tmp_path):
    home = tmp_path / "h"
    Store.open(Paths(config_dir=home, data_dir=home)).close()
    committed: set[str] = set()
    rng = random.Random(1234)
    next_start = 0
    rounds = 15
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(next_start)],
                                stdout=subprocess.PIPE, text=True)
        # Wait for the first commit, then kill at a random moment while it keeps writing.
        first = proc.stdout.readline().strip()
        assert first, "writer did not start"
        committed.add(first)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read().split()
        proc.wait()
        committed.update(rest)
        next_start += 100000
    store = Store.open(Paths(config_dir=home, data_dir=home))
    profiles = {r["id"]: r["api_key"] for r in store.query("SELECT id, api_key FROM profiles")}
    records = {r["item_id"] for r in store.query("SELECT item_id FROM rotation_records")}
    assert committed <= set(profiles), "a row reported as committed is missing"
    assert set(profiles) == records, "a transaction was half-written"
    for rid, blob in profiles.items():
        assert store.decrypt("profiles", rid, "api_key", blob).startswith(f"value-{rid}-")
    report = store.check()
    assert report.ok, report
    assert report.checked == len(profiles) >= rounds
    store.close()
