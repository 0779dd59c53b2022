"""`aptui ref parse|test|resolve|scan`: will Activepieces resolve this reference?

Values are masked (first 2 chars, bullets, length) unless ``--reveal``; nothing else ever prints
one. Exit codes: 0 when every reference resolves (or the value is not a reference), 1 when one
fails, 4 when a provider was unreachable, 2 for bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from aptui import docparse
from aptui.cli.common import app_context, json_option, run_async
from aptui.cli.output import dumps, emit, line, table, write
from aptui.errors import Exit, usage
from aptui.untrusted import visible


def _exit_for(results: Iterable[Any], *, strict: bool = False, single: bool = False) -> int:
    """3 if the store refused (a tampered or damaged row), else 4 if a provider was unreachable, else 2
    for ambiguous input, else 1 for any error. ``single`` (one reference asked about): a broken
    lookalike that Activepieces passes through unchanged fails too, rather than "ok, not a reference"."""
    from aptui.references.grammar import BROKEN
    from aptui.services.references import ERROR, NOT_RESOLVED_VERDICT

    codes = {Exit.OK}
    for r in results:
        if r.verdict == ERROR:
            exit_code = r.error.exit_code if r.error is not None else Exit.FAILED
            codes.add(exit_code if exit_code in (Exit.STORE, Exit.UNREACHABLE, Exit.USAGE) and
                      (r.error is None or r.error.code != "VALIDATION") else Exit.FAILED)
        elif (strict and (r.verdict == NOT_RESOLVED_VERDICT or r.warnings)) or \
                (single and any(w.label == BROKEN for w in r.warnings)):
            codes.add(Exit.FAILED)
    for code in (Exit.STORE, Exit.UNREACHABLE, Exit.USAGE, Exit.FAILED):
        if code in codes:
            return code
    return Exit.OK


def _value_text(r: Any, reveal: bool) -> str:
    if r.value is None:
        return ""
    return r.value.reveal() if reveal else r.value.masked()


def render_result(r: Any, *, reveal: bool = False) -> None:
    """Human form of one verdict."""
    from aptui.services.references import ERROR, NOT_RESOLVED_VERDICT, PASSTHROUGH, RESOLVES, VALID

    if r.verdict == PASSTHROUGH:
        line("not a reference: Activepieces returns this value unchanged (pass-through)")
        if r.detail:
            line(f"  reason: {r.detail}")
    elif r.verdict == NOT_RESOLVED_VERDICT:
        line("not resolved by Activepieces: the value stays exactly as written")
    else:
        ref = r.reference
        conn = f"{r.connection_name} ({r.connection_id})" if r.connection_name else ref.connection_id
        line(f"reference: connection {conn}" + (f", provider {r.provider_id}" if r.provider_id else ""))
        line(f"path:      {ref.path}")
        extra = {k: v for k, v in (r.parsed or {}).items() if k not in ("connectionId", "path")}
        for k, v in extra.items():
            line(f"  {k}: {v}")
        if r.verdict == VALID:
            line("verdict:   valid (offline check: grammar, scope and path rules)")
        elif r.verdict == RESOLVES:
            line(f"verdict:   resolves{' (cached)' if r.cached else ''}")
            line(f"value:     {_value_text(r, reveal)}")
        elif r.verdict == ERROR and r.error is not None:
            line(f"verdict:   error {r.error.code}: {r.error.message}")
            if r.error.hint:
                line(f"  hint: {r.error.hint}")
            if r.value is not None:
                line(f"aptui read: {_value_text(r, reveal)}")
        if r.suggested:
            line(f"write instead: {r.suggested}")
    for w in r.warnings:
        line(f"warning [{w.label}]: {w.message}")


def _audit_reveal(ctx: Any, results: Iterable[Any]) -> None:
    for r in results:
        if r.value is not None:
            ctx.audit("ref.reveal", r.target, "ok", None)


@click.group("ref")
def ref_group() -> None:
    """Parse, test, resolve and scan secret references ({{connectionId|ap_sep_v1|path}})."""


@ref_group.command("parse")
@click.argument("reference")
@click.option("--provider", "provider_id", default=None,
              type=click.Choice(["aws", "hashicorp", "cyberark-conjur", "onepassword"]),
              help="Check the path against this provider's rules, without looking the connection up.")
@click.option("--project", "projects", multiple=True, help="Project id the reference is used in (repeatable).")
@json_option
def parse_cmd(reference: str, provider_id: str | None, projects: tuple[str, ...], as_json: bool) -> int:
    """Offline: grammar, connection and scope (local store), per-provider path rules."""
    from aptui.services import references as svc

    r = svc.parse_reference(app_context(), reference, provider_id=provider_id, project_ids=list(projects) or None)
    emit(as_json, r.to_dict(), lambda: render_result(r))
    return _exit_for([r], single=True)


@ref_group.command("test")
@click.argument("reference")
@click.option("--project", "projects", multiple=True, help="Project id the reference is used in (repeatable).")
@click.option("--reveal", is_flag=True, help="Print the value in clear (audited).")
@click.option("--no-cache", is_flag=True, help="Fetch even when a cached value exists.")
@json_option
def test_cmd(reference: str, projects: tuple[str, ...], reveal: bool, no_cache: bool, as_json: bool) -> int:
    """Live: resolve one reference as Activepieces would (masked unless --reveal)."""
    from aptui.services import references as svc

    ctx = app_context()
    r = run_async(svc.test_reference(ctx, reference, project_ids=list(projects) or None, use_cache=not no_cache))
    if reveal:
        _audit_reveal(ctx, [r])
    emit(as_json, r.to_dict(reveal=reveal), lambda: render_result(r, reveal=reveal))
    return _exit_for([r], single=True)


def _read_limited(file: str) -> tuple[bytes, str]:
    """The bytes of FILE (``-``: stdin), refusing more than ``docparse.MAX_BYTES``."""
    limit = docparse.MAX_BYTES
    if file == "-":
        data, name = sys.stdin.buffer.read(limit + 1), "stdin"
    else:
        path = Path(file)
        if not path.is_file():
            raise usage(f"{file}: no such file")
        try:
            with path.open("rb") as fh:
                data, name = fh.read(limit + 1), file
        except OSError as exc:
            raise usage(f"{file}: cannot read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:
        raise usage(f"{name}: more than {limit} bytes; not read", code=docparse.CODE,
                    hint="split the document, or resolve the part that holds the references")
    return data, name


def _load_document(file: str) -> Any:
    """A JSON or YAML document within aptui's limits (size, depth, values, YAML aliases)."""
    data, name = _read_limited(file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise usage(f"{name}: cannot read (not UTF-8 text)") from None
    if name.lower().endswith((".yaml", ".yml")):
        import yaml

        try:
            return docparse.safe_load_yaml(text, name)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise usage(f"{name}: not valid YAML" + (f" (line {mark.line + 1})" if mark else "")) from None
    try:
        return docparse.loads_json(text, name)
    except json.JSONDecodeError as exc:
        raise usage(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None


@ref_group.command("resolve")
@click.argument("file")
@click.option("--project", "projects", multiple=True, help="Project id the document belongs to (repeatable).")
@click.option("--reveal", is_flag=True, help="Also print the resolved document with values in clear (audited).")
@click.option("--no-cache", is_flag=True, help="Fetch even when cached values exist.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings and unresolved references too.")
@json_option
def resolve_cmd(file: str, projects: tuple[str, ...], reveal: bool, no_cache: bool, strict: bool,
                as_json: bool) -> int:
    """Resolve every reference in a JSON document (a connection value, flow settings) as Activepieces would.

    Reports per JSON path: ok, error code, cached, or not resolved by Activepieces (arrays, keys,
    partial strings). FILE may be - for stdin; .yaml/.yml files are read as YAML.
    """
    from aptui.services import references as svc

    ctx = app_context()
    doc = _load_document(file)
    report = run_async(svc.resolve_document(ctx, doc, project_ids=list(projects) or None, use_cache=not no_cache))
    if reveal:
        _audit_reveal(ctx, report.items)
    data: dict[str, Any] = {"file": file, "counts": report.counts(),
                            "items": [r.to_dict(reveal=reveal) for r in report.items]}
    if reveal:
        data["resolved"] = report.resolved_document()

    def render() -> None:
        if not report.items:
            line("no references found")
        table(["json path", "verdict", "detail"],
              [(r.location, r.verdict + (" (cached)" if r.cached else ""), _detail(r, reveal))
               for r in report.items])
        c = report.counts()
        line(f"{c['resolves']} resolve ({c['cached']} cached), {c['error']} errors, "
             f"{c['not-resolved-by-activepieces']} not resolved by Activepieces, {c['passthrough']} broken lookalikes")
        if reveal:
            write(dumps(data["resolved"]) + "\n")

    emit(as_json, data, render)
    return _exit_for(report.items, strict=strict)


def _detail(r: Any, reveal: bool) -> str:
    if r.error is not None:
        return f"{r.error.code}: {r.error.message}"
    text = _value_text(r, reveal) if r.value is not None else ""
    notes = "; ".join(f"[{w.label}] {w.message}" for w in r.warnings)
    return " · ".join(x for x in (text, notes) if x)


@ref_group.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--project", "projects", multiple=True, help="Project id the files belong to (repeatable).")
@click.option("--no-test", is_flag=True, help="Only find references, do not resolve them.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings and unresolved references too.")
@json_option
def scan_cmd(paths: tuple[Path, ...], projects: tuple[str, ...], no_test: bool, strict: bool, as_json: bool) -> int:
    """Find references in JSON/YAML/.env files and test each distinct one."""
    from aptui.services import references as svc

    ctx = app_context()
    progress, finish = _progress()
    try:
        report = run_async(svc.scan_references(ctx, list(paths), project_ids=list(projects) or None,
                                               test=not no_test, progress=progress))
    finally:
        finish()
    items = []
    for occ, r in report.findings:
        d = r.to_dict()
        d.update({"file": occ.file, "line": occ.line, "location": occ.location})
        if occ.document:
            d["document"] = occ.document
        items.append(d)
    data = {"files": report.scan.files_scanned, "references": report.unique, "counts": report.counts(),
            "findings": items, "notes": report.scan.notes}

    def render() -> None:
        table(["where", "location", "verdict", "detail"],
              [(f"{occ.file}:{occ.line or '?'}", occ.location, r.verdict + (" (cached)" if r.cached else ""),
                _detail(r, False)) for occ, r in report.findings])
        for note in report.scan.notes:
            line(f"note: {note['file']}: {note['note']}")
        c = report.counts()
        line(f"{report.scan.files_scanned} files, {len(report.findings)} findings, {report.unique} distinct "
             f"references: {c['resolves']} resolve, {c['error']} errors, "
             f"{c['not-resolved-by-activepieces']} not resolved by Activepieces")

    emit(as_json, data, render)
    refused = [n for n in report.scan.notes if n.get("code") == docparse.CODE]
    if refused:  # a file over the limits is reported, never half-read: bad input, exit 2
        if not as_json:
            sys.stderr.write(f"aptui: {docparse.CODE}: {len(refused)} file(s) refused: "
                             f"{visible(refused[0]['file'])}: {visible(refused[0]['note'])}\n")
        return Exit.USAGE
    return _exit_for([r for _, r in report.findings], strict=strict)


def _progress():
    """A rich progress bar on stderr when stderr is a terminal; otherwise nothing."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, Progress, TextColumn

    from aptui.cli.output import console

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   console=console(stderr=True), transient=True)
    bar.start()
    task = bar.add_task("scanning", total=None)

    def update(done: int, total: int, label: str) -> None:
        from rich.markup import escape

        from aptui.untrusted import visible

        bar.update(task, completed=done, total=total, description=escape(visible(label)[:40]))

    return update, bar.stop
