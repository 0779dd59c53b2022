"""The canary leak scan: every secret input is a unique canary; nothing aptui wrote or printed may
hold one, except the explicit reveal of the command that asked for it.

Runs the CLI flows (real subprocesses), then scans their stdout/stderr, every file under
APTUI_HOME (the SQLite file, its WAL and SHM, the key file, screenshots), the exports, the audit log
(``audit log --json`` and the raw rows), for the canaries and for the secrets the run generated
(new AWS keys, Vault secret IDs and tokens, Conjur tokens), raw and encoded.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.leaks import flows_cli, harvest
from tests.leaks.world import build_world

pytestmark = pytest.mark.usefixtures("aptui_home")

MIN_CANARIES = 40
MIN_ARTEFACTS = 200


def report(w, findings, missing, seconds: float) -> str:
    return (f"leak scan: {len(w.canaries)} canaries + {len(w.scanner.harvested)} generated secrets, "
            f"{len(w.scanner.artefacts)} artefacts ({w.scanner.bytes_scanned:,} bytes) from {len(w.steps)} "
            f"CLI runs, {len(findings)} findings, {len(missing)} expected reveals missing, {seconds:.1f}s")


def test_cli_flows_leak_nothing(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces, capsys):
    started = time.perf_counter()
    w = build_world(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces)
    flows_cli.run_all(w)
    # the audit log as stored (raw rows), besides `audit log --json` above
    from aptui.services.context import Context

    ctx = Context()
    try:
        rows = ctx.store.query("SELECT * FROM audit_log ORDER BY seq")
        w.scanner.add("audit_log rows (raw)", json.dumps(rows, default=str))
        for table in ("incidents", "incident_events", "rotation_records", "sm_connections", "profiles", "cache_stats"):
            if ctx.store.db[table].exists():
                data = ctx.store.query(f"SELECT * FROM {table}")
                w.scanner.add(f"table {table} (clear columns)", json.dumps(
                    [{k: v for k, v in r.items() if not isinstance(v, bytes)} for r in data], default=str))
        harvested = harvest.from_store(w.scanner, ctx.store)
    finally:
        ctx.close()
    harvest.from_doubles(w.scanner, vault_double, conjur_double)
    files = flows_cli.collect_home(w)
    findings, missing = w.scanner.scan()
    summary = report(w, findings, missing, time.perf_counter() - started)
    with capsys.disabled():
        print("\n" + summary)
    dump = os.environ.get("LEAKS_DUMP")
    if dump:
        Path(dump).write_text("\n".join(map(str, findings)) + "\n--\n" + "\n".join(
            f"{s.seconds:.2f}s exit {s.code} aptui {' '.join(s.args)}" for s in w.steps))
    assert not findings, summary + "\n" + "\n".join(map(str, findings[:40]))
    assert not missing, "the scan did not see these explicit reveals: " + ", ".join(missing)
    assert len(w.canaries) >= MIN_CANARIES and len(w.scanner.artefacts) >= MIN_ARTEFACTS, summary
    assert harvested >= 5 and files >= 3, summary  # store secrets decrypted; db + key file + ... scanned
