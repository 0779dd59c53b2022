"""`aptui audit log` (the local audit trail); hardening and pieces reviews live here too."""

from __future__ import annotations

import click

from aptui.cli.common import app_context, json_option
from aptui.cli.output import emit, table
from aptui.errors import Exit


@click.group("audit")
def audit_group() -> None:
    """The local audit log, and audits of an Activepieces deployment."""


@audit_group.command("log")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--filter", "contains", default=None, help="Case-insensitive text to look for.")
@click.option("--verify", is_flag=True, help="Verify the hash chain instead: report gaps, edits and a cut tail.")
@json_option
def log_cmd(limit: int, contains: str | None, verify: bool, as_json: bool) -> int:
    """Show the local audit log, newest first (or, with --verify, check its HMAC chain; exit 1 if broken)."""
    from aptui.store import audit

    if verify:
        return _verify(as_json)
    rows = audit.recent(app_context().store, limit=limit, contains=contains)
    emit(as_json, {"entries": rows},
         lambda: table(["at", "actor", "action", "target", "outcome", "detail"],
                       [(r["at"], r["actor"], r["action"], r["target"], r["outcome"], r["detail"] or "")
                        for r in rows]))
    return Exit.OK


def _verify(as_json: bool) -> int:
    from aptui.cli.output import line

    found = app_context().store.verify_audit()
    ok = not found.audit and not found.state
    data = {"ok": ok, "entries": found.audit_entries, "problems": found.audit, "state": found.state}

    def render() -> None:
        line(f"audit chain: {found.audit_entries} entries, " + ("intact" if ok else f"{len(found.audit)} problems"))
        for problem in found.state:
            line(f"state: {problem}")
        if found.audit:
            table(["seq", "problem", "detail"], [(a["seq"], a["problem"], a["detail"]) for a in found.audit])

    emit(as_json, data, render)
    return Exit.OK if ok else Exit.FAILED


# -- hardening and pieces reviews ------------------------------------------------------------

_SEV_LABEL = {"high": "HIGH", "medium": "MED ", "low": "LOW ", "info": "INFO"}


def _write_markdown(target: str, text: str, *, quiet: bool) -> None:
    """Write the Markdown report to a file (``-``: stdout). ``quiet``: no message (JSON mode)."""
    from pathlib import Path

    from aptui.cli.output import line, write
    from aptui.errors import usage

    if target == "-":
        if quiet:
            raise usage("--markdown - cannot be combined with --json (both use stdout)")
        write(text)
        return
    path = Path(target).expanduser()
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise usage(f"cannot write the Markdown report to {path} ({exc.strerror})",
                    code="FILE_WRITE_FAILED") from None
    if not quiet:
        line(f"Markdown report written to {path}")


def _render_report(report, show_all: bool) -> None:
    from aptui.cli.output import line

    s = report.summary()
    sev = s["by_severity"]
    verdict = "FAIL" if s["blocking"] else "PASS"
    line(f"{report.kind.capitalize()} audit: {verdict} — {sev['high']} high, {sev['medium']} medium, "
         f"{sev['low']} low, {sev['info']} info open; {s['ok']} passed; {s['skipped']} not checked")
    pieces = report.extra.get("pieces")
    if pieces:
        table(["piece", "version", "installed", "open", "path"],
              [(p["name"], p["version"] or "?",
                (p["installed_version"] or "yes") if p["installed"] else ("no" if p["installed"] is False else "-"),
                p["open_findings"], p["path"]) for p in pieces])
    shown = report.sorted_findings() if show_all else report.open_findings
    for f in shown:
        label = _SEV_LABEL[f.severity] if f.is_open else "ok  "
        line("")
        line(f"{label}  {f.title}  [{f.id}]")
        line(f"      evidence: {f.evidence}")
        if f.location:
            line(f"      where:    {f.location}")
        if f.is_open and f.fix:
            line(f"      fix:      {f.fix}")
    if show_all and report.skipped:
        line("")
        for sk in report.skipped:
            line(f"skip  {sk.check}: {sk.reason}")
    elif not show_all and s["ok"]:
        line("")
        line(f"({s['ok']} passed checks hidden; --all shows them)")


def _finish(report, as_json: bool, markdown: str | None, show_all: bool) -> int:
    """Print (JSON, summary, or Markdown on stdout) and return 1 when a high finding is open."""
    from aptui.services.hardening import to_markdown

    if markdown:
        _write_markdown(markdown, to_markdown(report), quiet=as_json)
    if markdown != "-" or as_json:
        emit(as_json, {"ok": not report.has_blocking, **report.to_dict()}, lambda: _render_report(report, show_all))
    return Exit.FAILED if report.has_blocking else Exit.OK


_markdown_option = click.option("--markdown", "markdown", metavar="PATH",
                                help="Also write a Markdown report to PATH ('-': print it instead of the summary).")
_all_option = click.option("--all", "show_all", is_flag=True, help="Show passed and skipped checks too.")


@audit_group.command("hardening")
@click.option("--env-file", "env_file", metavar="PATH", help="Activepieces .env file to audit.")
@click.option("--compose-file", "compose_file", metavar="PATH", help="docker compose file to audit.")
@click.option("--url", metavar="URL", help="Public URL (https://ap.example.com) for the live checks.")
@click.option("--http-port", type=click.IntRange(1, 65535), help="Port of the plain-http listener (default 80).")
@click.option("--profile", metavar="NAME", help="Profile for the API checks (its URL is used when --url is absent).")
@click.option("--ca-bundle", metavar="PATH", help="PEM CA bundle to verify the site's certificate.")
@click.option("--insecure", is_flag=True, help="Do not verify the site's certificate (still reported as skipped).")
@click.option("--stale-days", type=click.IntRange(1, 36500), default=90, show_default=True,
              help="App connections not updated for this many days are stale.")
@click.option("--timeout", type=click.FloatRange(0.1, 300), help="Seconds per network step (default: settings).")
@click.option("--no-live", "no_live", is_flag=True, help="Skip the live URL checks (redirect, HSTS, TLS).")
@click.option("--no-store-compare", "no_store", is_flag=True,
              help="Do not compare the env file with the secrets in aptui's local store.")
@_markdown_option
@_all_option
@json_option
def hardening_cmd(env_file, compose_file, url, http_port, profile, ca_bundle, insecure, stale_days, timeout, no_live,
                  no_store, markdown, show_all, as_json) -> int:
    """Audit a self-hosted Activepieces: env file, compose file, live URL and (with --profile) the API.

    With no input named, uses .env and docker-compose.yml / compose.yaml in the current directory.
    Exit 1 when a high-severity finding is open; 2 bad input; 4 the URL (the only input) is unreachable.
    """
    from pathlib import Path

    from aptui.cli.common import run_async
    from aptui.services.hardening import HardeningOptions, audit_hardening, discover

    opts = HardeningOptions(env_file=Path(env_file).expanduser() if env_file else None,
                            compose_file=Path(compose_file).expanduser() if compose_file else None,
                            url=url, http_port=http_port, profile=profile, ca_bundle=ca_bundle, insecure=insecure,
                            stale_days=stale_days, timeout=timeout, check_store=not no_store, live_url=not no_live)
    if opts.empty:
        found = discover(Path.cwd())
        opts.env_file, opts.compose_file = found.env_file, found.compose_file
    ctx = app_context()
    report = run_async(audit_hardening(ctx, opts))
    return _finish(report, as_json, markdown, show_all)


@audit_group.command("pieces")
@click.argument("path", metavar="PATH")
@click.option("--profile", metavar="NAME", help="Profile to ask which pieces are installed (GET /v1/pieces).")
@_markdown_option
@_all_option
@json_option
def pieces_cmd(path, profile, markdown, show_all, as_json) -> int:
    """Review private pieces under PATH (e.g. packages/pieces/custom).

    Reports hard-coded credentials, secrets read from process.env, plain http:// URLs and disabled
    TLS verification per piece; with --profile, which pieces are installed and at which version.
    """
    from pathlib import Path

    from aptui.cli.common import run_async
    from aptui.services.pieces_review import review_pieces

    report = run_async(review_pieces(app_context(), Path(path).expanduser(), profile=profile))
    return _finish(report, as_json, markdown, show_all)
