"""The canary leak scan: every secret input is a unique canary; nothing aptui wrote or printed may
hold one, except the explicit reveal of the command (or the screen) that asked for it.

CLI flows run as real subprocesses; console flows run under Pilot at 80x24. Scanned: stdout and
stderr of every command, every screen, the clipboard, every file under APTUI_HOME (the SQLite
file, its WAL and SHM, the key file, the screenshots f12 saved), exports and reports, the audit log
(``audit log --json`` and the raw rows), the clear columns of every table, the errors and
notifications the console showed. Searched for: the canaries and the secrets the run generated
(new AWS keys, Vault secret IDs and tokens, Conjur tokens), raw, base64 and hex.

``test_cli_flows_leak_nothing`` is the CI subset; ``test_cli_full_matrix_leaks_nothing`` (slow)
runs every command of the matrix (``pytest -m slow tests/leaks``).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from tests.leaks import flows_cli, flows_tui, harvest
from tests.leaks.canary import CanarySet, Scanner
from tests.leaks.world import World, build_world

# Floors so the scan can never silently scan nothing (the CI subset; the full matrix has more).
MIN_CANARIES_CLI, MIN_ARTEFACTS_CLI, MIN_ARTEFACTS_FULL = 40, 90, 250
MIN_CANARIES_TUI, MIN_ARTEFACTS_TUI = 39, 40


def scan_store(w: World) -> list[str]:
    """The audit log and every table's clear columns as stored; harvest the store's secrets."""
    from aptui.services.context import Context

    ctx = Context()
    try:
        return scan_store_with(w, ctx.store)
    finally:
        ctx.close()


def scan_store_with(w: World, store: Any) -> list[str]:
    rows = store.query("SELECT * FROM audit_log ORDER BY seq")
    w.scanner.add("audit_log rows (raw)", json.dumps(rows, default=str))
    for table in store.db.table_names():
        data = store.query(f"SELECT * FROM [{table}]")
        w.scanner.add(f"table {table} (clear columns)", json.dumps(
            [{k: v for k, v in r.items() if not isinstance(v, bytes)} for r in data], default=str))
    return harvest.from_store(w.scanner, store)


def finish(w: World, started: float, capsys, *, min_canaries: int, min_artefacts: int, stored: list[str],
           must_be_stored: tuple[str, ...]) -> None:
    harvest.from_doubles(w.scanner, w.vault, w.conjur, w.ap)
    findings, missing = w.scanner.scan()
    summary = (f"leak scan: {len(w.canaries)} canaries + {len(w.scanner.harvested)} generated secrets, "
               f"{len(w.scanner.artefacts)} artefacts ({w.scanner.bytes_scanned:,} bytes; {len(w.steps)} CLI runs), "
               f"{len(findings)} findings, {len(missing)} expected reveals not seen, "
               f"{time.perf_counter() - started:.1f}s")
    with capsys.disabled():
        print("\n" + summary)
    dump = os.environ.get("APTUI_LEAK_REPORT")  # a file for the figures (docs/security.md)
    if dump:
        with open(dump, "a") as fh:
            fh.write(summary + "\n" + "".join(f"  {f}\n" for f in findings))
    assert not findings, summary + "\n" + "\n".join(map(str, findings[:40]))
    assert not missing, "the scan did not see these explicit reveals: " + ", ".join(missing)
    assert len(w.canaries) >= min_canaries and len(w.scanner.artefacts) >= min_artefacts, summary
    # the canaries typed in did reach the store (encrypted): the flows really ran
    for name in must_be_stored:
        assert any(w.canaries[name] in text for text in stored), f"{name} is not in the store: " + summary
    assert any(a.name.startswith("APTUI_HOME/aptui.db") for a in w.scanner.artefacts), "the store was not scanned"
    assert any(a.name.startswith("APTUI_HOME/aptui.key") for a in w.scanner.artefacts), "the key file was not scanned"


def cli_scan(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces, capsys, monkeypatch, *,
             full: bool):
    started = time.perf_counter()
    w = build_world(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces, monkeypatch)
    w.full = full
    flows_cli.run_all(w)
    stored = scan_store(w)
    flows_cli.collect_home(w)
    floor = MIN_ARTEFACTS_FULL if full else MIN_ARTEFACTS_CLI
    finish(w, started, capsys, min_canaries=MIN_CANARIES_CLI, min_artefacts=floor, stored=stored,
           must_be_stored=("aws_secret_2", "vault_secret_id", "conjur_new_key", "ap_api_key", "op_token",
                           "slack_token"))
    assert w.ap.issued_tokens and any(t in stored for t in w.ap.issued_tokens), "no session was stored"


def test_cli_flows_leak_nothing(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces, capsys,
                                monkeypatch):
    cli_scan(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces, capsys, monkeypatch,
             full=False)


@pytest.mark.slow
def test_cli_full_matrix_leaks_nothing(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces,
                                       capsys, monkeypatch):
    cli_scan(tmp_path, aptui_home, moto_aws, vault_double, conjur_double, activepieces, capsys, monkeypatch,
             full=True)


async def test_console_flows_leak_nothing(tmp_path, ctx, moto_aws, vault_double, conjur_double, activepieces, capsys,
                                         monkeypatch):
    from aptui.tui.app import AptuiApp

    started = time.perf_counter()
    w = build_world(tmp_path, ctx.paths.data_dir, moto_aws, vault_double, conjur_double, activepieces,
                    monkeypatch)
    flows_tui.seed(w, ctx)
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await flows_tui.run(w, app, pilot)
        for n, err in enumerate(app.errors):
            w.scanner.add(f"console error #{n} (message, hint, params)", json.dumps(
                [repr(err), str(err), err.to_dict()], default=str))
        notes = [f"{title}: {message}" for title, message in app.notices]  # every one shown, not just the last
        w.scanner.add("console notifications", "\n".join(notes))
        assert notes, "no notification was recorded"
        # the store while the console holds it open (WAL and SHM present)
        stored = scan_store_with(w, ctx.store)
        flows_cli.collect_home(w)
    shots = list((ctx.paths.data_dir / "screenshots").glob("*.svg"))
    assert shots, "f12 saved no screenshot"
    assert any(a.name.startswith("APTUI_HOME/screenshots/") for a in w.scanner.artefacts)
    finish(w, started, capsys, min_canaries=MIN_CANARIES_TUI, min_artefacts=MIN_ARTEFACTS_TUI, stored=stored,
           must_be_stored=("tui_aws_key_id", "tui_aws_secret", "slack_token"))


# -- the scanner itself ---------------------------------------------------------------------------------


def test_the_scanner_finds_planted_canaries_in_every_form():
    import base64

    c = CanarySet()
    value = c.make("planted", "sk")
    other = c.make("other", "aws-key-id")
    s = Scanner(c)
    s.harvest("generated", "gen-4f9c2a7e11d0b3")
    s.add("clean", "nothing to see: sk-•••••• (32+ chars)")
    s.add("raw", f"xx {value} yy")
    s.add("truncated", "value: " + value[:12] + "…")
    s.add("upper", value.upper())
    s.add("base64", base64.b64encode(b"{" + value.encode() + b"}"))
    s.add("base64-url", base64.urlsafe_b64encode(b"ab" + value.encode()))
    s.add("hex", value.encode().hex())
    s.add("generated raw", b"\x00\x01gen-4f9c2a7e11d0b3\x02")
    s.add("generated b64", base64.b64encode(b"token=gen-4f9c2a7e11d0b3;"))
    s.add("allowed", f"revealed: {value}", allowed={"planted"})
    s.add("expected but absent", "masked", expected={"other"})
    s.add("expected and present", other, expected={"other"})
    findings, missing = s.scan()
    found = {(f.artefact, f.secret) for f in findings}
    for name in ("raw", "upper", "base64", "base64-url", "hex"):
        assert (name, "planted") in found, name
    assert ("truncated", "(unattributed)") in found or ("truncated", "planted") in found
    assert ("generated raw", "generated") in found and ("generated b64", "generated") in found
    assert not any(f.artefact in ("clean", "allowed", "expected and present") for f in findings)
    assert missing == ["expected but absent: other"]


def test_the_scanner_sees_a_canary_planted_in_the_store(tmp_path, ctx):
    """The raw-bytes scan is not fooled by SQLite: a value written in clear is found in the file."""
    c = CanarySet()
    value = c.make("planted_in_db")
    with ctx.store.transaction() as conn:
        conn.execute("INSERT INTO audit_log (at, actor, action, target, outcome, detail) VALUES (?,?,?,?,?,?)",
                     ("2026-01-01T00:00:00Z", "t@h", "test.plant", "x", "ok", value))
    s = Scanner(c)
    s.add_tree(ctx.paths.data_dir, "APTUI_HOME")
    findings, _ = s.scan()
    assert any(f.secret == "planted_in_db" and f.artefact.startswith("APTUI_HOME/aptui.db") for f in findings), findings


def test_canaries_are_unique_and_shaped():
    c = CanarySet()
    shapes = {"aws-key-id": 20, "aws-secret": 40, "sk": 51, "ops": 64, "uuid": 36, "ap-id": 21, "hex32": 32}
    made = {shape: c.make(f"n-{shape}", shape) for shape in shapes}
    assert all(len(v) == shapes[k] for k, v in made.items())
    assert made["aws-key-id"].startswith("AKIA") and made["aws-key-id"].isalnum()
    assert made["ap-id"].isalnum() and made["sk"].startswith("sk-") and made["ops"].startswith("ops_")
    assert len({cn.core for cn in c.by_name.values()}) == len(c)
    with pytest.raises(AssertionError):
        c.make("n-sk", "sk")


def test_rotation_item_slip_is_not_repeated(run_cli):
    c = CanarySet()
    key = c.make("slip_rotation_item", "sk")
    r = run_cli("rotation", "rotate", key, "--yes")
    assert r.code == 2
    assert key not in r.out + r.err
