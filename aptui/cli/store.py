"""`aptui init` and `aptui store check|rekey|info`."""

from __future__ import annotations

import os
import sys

import click

from aptui.cli.common import app_context, json_option
from aptui.cli.output import emit, line, table
from aptui.errors import Exit, usage


def _new_passphrase() -> str:
    env = os.environ.get("APTUI_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise usage("no passphrase given", code="STORE_PASSPHRASE_REQUIRED",
                    hint="set APTUI_PASSPHRASE or run in a terminal to be asked")
    import getpass

    first = getpass.getpass("new store passphrase: ")
    if first != getpass.getpass("repeat passphrase: "):
        raise usage("passphrases do not match; nothing was changed")
    if len(first) < 8:
        raise usage("passphrase too short (at least 8 characters)")
    return first


@click.command("init")
@click.option("--passphrase", is_flag=True,
              help="Protect the store with a passphrase (Argon2id) instead of a key file.")
@json_option
def init_cmd(passphrase: bool, as_json: bool) -> int:
    """Create the encrypted store (done automatically on first run with a key file)."""
    from aptui.store.db import Store

    ctx = app_context()
    if ctx.store_exists:
        raise usage(f"a store already exists at {ctx.paths.store_file}", code="STORE_EXISTS",
                    hint="use `aptui store rekey` to change how it is unlocked")
    store = Store.create(ctx.paths, passphrase=_new_passphrase() if passphrase else None)
    ctx._store = store
    ctx.audit("store.init", str(ctx.paths.store_file), "ok", f"kek={store.kek_kind}")
    data = {"ok": True, "store": str(store.path), "kek": store.kek_kind,
            "key_file": str(ctx.paths.key_file) if store.kek_kind == "keyfile" else None}
    emit(as_json, data, lambda: line(f"created {store.path} (unlocked by {store.kek_kind})"))
    return Exit.OK


@click.group("store")
def store_group() -> None:
    """Inspect and maintain the local encrypted store."""


@store_group.command("check")
@json_option
def check_cmd(as_json: bool) -> int:
    """Decrypt every encrypted field and run SQLite's integrity check; exit 1 on any failure."""
    from aptui.errors import AptuiError

    ctx = app_context()
    report = ctx.store.check()
    note = None
    try:
        ctx.audit("store.check", str(ctx.paths.store_file), "ok" if report.ok else "failed",
                  f"{report.checked} fields, {len(report.failures)} failures")
    except AptuiError as err:  # a read-only store can still be checked
        if err.code != "STORE_READ_ONLY":
            raise
        note = "the store is read-only: this check is not in the audit log"
    seals = report.seals
    data = {"ok": report.ok, "checked": report.checked, "integrity": report.integrity, "failures": report.failures,
            "sealed_rows": seals.sealed_rows, "state": seals.state,
            "audit": {"entries": seals.audit_entries, "problems": seals.audit}}
    if note:
        data["note"] = note

    def render() -> None:
        problems = len(report.failures) + len(seals.state) + len(seals.audit) + (report.integrity != "ok")
        line(f"store check: {'ok' if report.ok else f'FAILED ({problems} problem(s), listed below)'}")
        line(f"fields: {report.checked} encrypted fields decrypted, {len(report.failures)} failed; "
             f"SQLite integrity_check: {report.integrity}")
        line(f"seals: {seals.sealed_rows} rows; store state: {'ok' if not seals.state else 'FAILED'}; "
             f"audit chain: {seals.audit_entries} entries, {len(seals.audit)} problems")
        if note:
            line(f"note: {note}")
        for problem in seals.state:
            line(f"state: {problem}")
        if report.failures:
            table(["table", "row", "column", "reason"],
                  [(f["table"], f["row"], f["column"], f["reason"]) for f in report.failures])
        if seals.audit:
            table(["seq", "problem", "detail"], [(a["seq"], a["problem"], a["detail"]) for a in seals.audit])

    emit(as_json, data, render)
    return Exit.OK if report.ok else Exit.FAILED


@store_group.command("rekey")
@click.option("--passphrase", "use_passphrase", is_flag=True, help="Unlock with a new passphrase from now on.")
@click.option("--key-file", "use_key_file", is_flag=True, help="Unlock with a newly generated key file from now on.")
@click.option("--rotate-data-key", "rotate", is_flag=True,
              help="Also draw a new data key and re-encrypt every field under it (one transaction). Only this "
                   "recovers from a leaked key file or passphrase.")
@json_option
def rekey_cmd(use_passphrase: bool, use_key_file: bool, rotate: bool, as_json: bool) -> int:
    """Change the key-encryption key (new key file or passphrase).

    Without --rotate-data-key the data key and every row stay as they are: an old key file or
    passphrase together with any old copy of the database still opens every current row."""
    if use_passphrase and use_key_file:
        raise usage("choose one of --passphrase and --key-file")
    ctx = app_context()
    store = ctx.store
    ctx.require_writable("store rekey")
    if not use_passphrase and not use_key_file:
        use_passphrase = store.kek_kind == "passphrase"
    kind = store.rekey(passphrase=_new_passphrase() if use_passphrase else None, rotate_data_key=rotate)
    ctx.audit("store.rekey", str(store.path), "ok", f"kek={kind}" + ("; data key rotated" if rotate else ""))
    data = {"ok": True, "kek": kind, "data_key_rotated": rotate,
            "key_file": str(ctx.paths.key_file) if kind == "keyfile" else None}
    emit(as_json, data, lambda: line(f"re-keyed: the store is now unlocked by {kind}"
                                     + (f" ({ctx.paths.key_file})" if kind == "keyfile" else "")
                                     + ("; every field re-encrypted under a new data key" if rotate else "")))
    return Exit.OK


@store_group.command("reseal")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
def reseal_cmd(yes: bool, as_json: bool) -> int:
    """Accept the store's current contents as genuine: re-seal every row and re-chain the audit log.

    For after `aptui store check` reported changes you have reviewed (or removed). What the check
    found before is recorded in the audit log."""
    from aptui.cli.common import confirm

    ctx = app_context()
    ctx.require_writable("store reseal")
    confirm("Accept every row and audit entry of the store as it is now?", yes=yes)
    before = ctx.store.reseal()
    detail = (f"before: {len(before.rows)} broken seals, {len(before.state)} state problems, "
              f"{len(before.audit)} audit problems")
    ctx.audit("store.reseal", str(ctx.store.path), "ok", detail)
    data = {"ok": True, "before": {"rows": before.rows, "state": before.state, "audit": before.audit}}
    emit(as_json, data, lambda: line(f"resealed ({detail})"))
    return Exit.OK


@store_group.command("info")
@json_option
def info_cmd(as_json: bool) -> int:
    """Where the files are, how the store is unlocked, and how many rows each table holds."""
    from aptui.store.schema import SCHEMA_VERSION

    ctx = app_context()
    store = ctx.store
    counts = {t: store.db[t].count for t in ("sm_connections", "profiles", "cache_entries",
                                              "rotation_records", "incidents", "audit_log")}
    data = {"store": str(store.path), "key_file": str(ctx.paths.key_file), "config": str(ctx.paths.config_file),
            "kek": store.kek_kind, "schema": SCHEMA_VERSION, "rows": counts}

    def render() -> None:
        for k in ("store", "key_file", "config", "kek", "schema"):
            line(f"{k:9} {data[k]}")
        table(["table", "rows"], counts.items())

    emit(as_json, data, render)
    return Exit.OK
