"""`aptui incident start|resume|list|show|skip|export`: the token-compromise runbook.

``start`` opens an incident and walks the steps (scope → contain → flush → recover → verify);
``resume`` continues the latest open one (or ID) at its first unfinished step. Every step is saved
as it goes, so an interrupted session loses nothing. Decisions are flags, so each step is
scriptable: ``--rotate`` / ``--rotated-elsewhere`` for contain, ``--yes`` to confirm the rotation
steps and the retries, ``--skip STEP=REASON``, ``--until STEP``.

Exit codes: 0 closed with every step ok/skipped, or stopped by --until; 1 a step failed or ended
with problems (e.g. a retry failed); 2 a decision or confirmation is needed (nothing is lost:
resume with the flag); 4 a remote was unreachable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from aptui.cli.common import app_context, json_option, read_secret, run_async
from aptui.cli.output import emit, line, print_json, table, write
from aptui.errors import Exit, usage

STEP_CHOICE = click.Choice(["scope", "contain", "flush", "recover", "verify"])
MARK = {"done": "✓", "skipped": "–", "failed": "✗", "waiting": "…", "running": "▶", "pending": "·"}


def run_options(func):
    """Flags shared by ``start`` and ``resume``."""
    options = [
        click.option("--rotate", "contain", flag_value="rotate", default=None,
                     help="Contain: rotate the credential with aptui (assisted rotation)."),
        click.option("--rotated-elsewhere", "contain", flag_value="elsewhere",
                     help="Contain: it was rotated outside aptui; record it."),
        click.option("--rotated-at", default=None, metavar="DATE", help="With --rotated-elsewhere: when."),
        click.option("--note", default=None, help="With --rotated-elsewhere: a one-line note (never a secret)."),
        click.option("--secret-env", default=None, metavar="VAR",
                     help="Conjur, 1Password: the NEW credential from this environment variable (else stdin "
                          "or a hidden prompt). API keys: a key you created (else the platform issues one)."),
        click.option("--skip", "skips", multiple=True, metavar="STEP[=REASON]",
                     help="Skip a step, with a reason recorded in the timeline (repeatable)."),
        click.option("--until", default=None, type=STEP_CHOICE, help="Stop after this step."),
        click.option("--yes", "-y", is_flag=True, help="Confirm every rotation step and the retries."),
        click.option("--copy", "copy_token", is_flag=True, help="MCP: copy the new token (OSC 52) instead of "
                     "printing it."),
        json_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _skips(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        step, _, reason = item.partition("=")
        step = step.strip()
        if step not in ("scope", "contain", "flush", "recover", "verify"):
            raise usage(f"--skip: unknown step {step!r}", hint="steps: scope, contain, flush, recover, verify")
        reason = reason.strip() or "skipped by the operator"
        if len(reason) > 300:
            raise usage("--skip: the reason must be at most 300 characters")
        out[step] = reason
    return out


def _date(text: str | None):
    if text is None:
        return None
    from aptui.clock import parse_iso

    try:
        return parse_iso(text.strip())
    except ValueError:
        raise usage(f"--rotated-at: not a date: {text!r}", hint="ISO-8601, e.g. 2026-11-26T08:30:00Z") from None


def _walk(incident_id: str | None, *, contain: str | None, rotated_at: str | None, note: str | None,
          secret_env: str | None, skips: tuple[str, ...], until: str | None, yes: bool, copy_token: bool,
          as_json: bool, opened: bool = False) -> int:
    from aptui.services import incident, rotation

    ctx = app_context()
    inc = incident.resolve(ctx, incident_id)
    if inc.state == "closed":
        raise usage(f"incident {inc.id} is closed", code="INCIDENT_CLOSED", hint=f"aptui incident show {inc.id}")
    if rotated_at and contain != "elsewhere":
        raise usage("--rotated-at goes with --rotated-elsewhere")
    new_secret = None
    decided = contain or inc.data.get("options", {}).get("contain") or \
        (inc.data.get("steps", {}).get("contain", {}).get("result") or {}).get("mode")
    contain_open = inc.data.get("steps", {}).get("contain", {}).get("status") not in ("done", "skipped")
    if decided == "rotate" and contain_open and "contain" not in _skips(skips):
        item = rotation.find_item(ctx, inc.credential_item)
        current = rotation.pending(ctx, item.id)
        # Required (Conjur, 1Password), or optional and given (an API key the operator made).
        field = rotation.needs_secret(item) or (rotation.accepts_secret(item) if secret_env else None)
        if field and (current is None or secret_env):
            from aptui.masking import Secret

            new_secret = Secret(read_secret(f"new {field} for {item.id}", env=secret_env))
    if copy_token:
        try:
            open("/dev/tty", "w").close()
        except OSError:
            raise usage("--copy needs a terminal (OSC 52 goes to /dev/tty)") from None

    def confirm(step: str, text: str) -> bool:
        if yes:
            if not as_json:
                line(f"    → {step}: {text}")
            return True
        if not sys.stdin.isatty():
            raise usage(f"{step}: {text} — needs confirmation", code="INCIDENT_NEEDS_INPUT",
                        hint="rerun with --yes (in a terminal you are asked)")
        return click.confirm(f"    {step}: {text}. Go on?", default=True)

    def on_event(step: str, action: str, outcome: str, detail: str) -> None:
        if as_json:
            return
        if action == "begin":
            line(f"[{step}] {detail}")
        elif action not in ("done",):
            line(f"    {action}: {outcome}" + (f" — {detail}" if detail else ""))

    def on_secret(item: str, token) -> None:
        if copy_token:
            from aptui.cli.rotation import _osc52

            _osc52(token.reveal())
            if not as_json:
                line(f"    the new token of {item} was copied to the clipboard; it is not shown and not stored")
        else:
            write(f"    new token for {item} (shown once, not stored): {token.reveal()}\n")
            sys.stdout.flush()

    if not as_json and opened:
        line(f"incident {inc.id} opened for {inc.credential_item}")
    elif not as_json:
        line(f"resuming incident {inc.id} ({inc.credential_item}) at step {incident.next_step(inc)}")
    decisions = incident.Decisions(contain=contain, rotated_at=_date(rotated_at), note=note, new_secret=new_secret,
                                   confirm=confirm, skip=_skips(skips), until=until, on_event=on_event,
                                   on_secret=on_secret)
    done = run_async(incident.run(ctx, inc.id, decisions))
    code = incident.exit_code(done)
    if as_json:
        print_json({"ok": code == Exit.OK, **incident.view(ctx, done.id)})
    else:
        _steps_table(done)
        if done.state == "closed":
            line(f"incident {done.id} closed" + (" with problems (see above)" if code else ""))
        else:
            line(f"incident {done.id} stopped before {incident.next_step(done)} (--until); "
                 f"continue with: aptui incident resume {done.id}")
    return code


def _steps_table(inc) -> None:
    from aptui.services import incident

    steps = inc.data.get("steps", {})
    table(["", "step", "status", "summary"],
          [(MARK.get((steps.get(s) or {}).get("status", "pending"), "?"), s, (steps.get(s) or {}).get("status",
                                                                                                   "pending"),
            (steps.get(s) or {}).get("summary") or (steps.get(s) or {}).get("reason") or "")
           for s in incident.STEPS])


@click.group("incident")
def incident_group() -> None:
    """Token-compromise runbook: scope, contain, flush, recover, verify (resumable)."""


@incident_group.command("start")
@click.option("--credential", required=True, metavar="ITEM",
              help="The compromised credential: a rotation item id (sm:NAME, profile:NAME, mcp:PROFILE/PROJECT, "
                   "aws-secret:CONN/SECRET) or a connection name.")
@click.option("--title", default=None, help="A one-line title for the post-mortem.")
@click.option("--since", default="24h", show_default=True, metavar="WHEN",
              help="Retry runs that failed since then: a duration ago (6h, 2d) or an ISO time.")
@click.option("--scan", "scan", multiple=True, metavar="PATH",
              help="Files or directories to scan for references to the credential (repeatable).")
@click.option("--profile", default=None, metavar="NAME", help="Activepieces profile (default: the usual choice).")
@click.option("--strategy", default="FROM_FAILED_STEP", show_default=True,
              type=click.Choice(["FROM_FAILED_STEP", "ON_LATEST_VERSION"]), help="Retry strategy.")
@click.option("--rate", default=2.0, show_default=True, type=float, help="Retries per second at most.")
@click.option("--status", "statuses", multiple=True, metavar="STATUS",
              help="Run statuses to retry (default FAILED, TIMEOUT, INTERNAL_ERROR; repeatable).")
@click.option("--max-runs", default=None, type=int, help="Retry at most this many runs per project.")
@click.option("--no-remote-flush", is_flag=True, help="Do not clear the platform's secret-manager cache.")
@run_options
def start_cmd(credential: str, title: str | None, since: str, scan: tuple[str, ...], profile: str | None,
              strategy: str, rate: float, statuses: tuple[str, ...], max_runs: int | None, no_remote_flush: bool,
              contain: str | None, rotated_at: str | None, note: str | None, secret_env: str | None,
              skips: tuple[str, ...], until: str | None, yes: bool, copy_token: bool, as_json: bool) -> int:
    """Open an incident for a compromised credential and walk the runbook."""
    from aptui.services import incident

    ctx = app_context()
    for s in statuses:
        if s not in ("FAILED", "TIMEOUT", "INTERNAL_ERROR", "QUOTA_EXCEEDED", "MEMORY_LIMIT_EXCEEDED",
                     "LOG_SIZE_EXCEEDED", "CANCELED", "SUCCEEDED"):
            raise usage(f"--status: {s!r} is not a terminal run status")
    _skips(skips)
    inc = incident.start(ctx, credential, title=title, since=since, scan=list(scan), profile=profile,
                         strategy=strategy, rate=rate, statuses=list(statuses) or None, max_runs=max_runs,
                         remote_flush=not no_remote_flush)
    return _walk(inc.id, contain=contain, rotated_at=rotated_at, note=note, secret_env=secret_env, skips=skips,
                 until=until, yes=yes, copy_token=copy_token, as_json=as_json, opened=True)


@incident_group.command("resume")
@click.argument("incident_id", required=False, metavar="[ID]")
@run_options
def resume_cmd(incident_id: str | None, contain: str | None, rotated_at: str | None, note: str | None,
               secret_env: str | None, skips: tuple[str, ...], until: str | None, yes: bool, copy_token: bool,
               as_json: bool) -> int:
    """Continue an incident (default: the latest open one) at its first unfinished step."""
    return _walk(incident_id, contain=contain, rotated_at=rotated_at, note=note, secret_env=secret_env,
                 skips=skips, until=until, yes=yes, copy_token=copy_token, as_json=as_json)


@incident_group.command("list")
@click.option("--state", default=None, type=click.Choice(["open", "closed"]), help="Only open or closed ones.")
@json_option
def list_cmd(state: str | None, as_json: bool) -> int:
    """Incidents, newest first."""
    from aptui.services import incident

    rows = incident.list_incidents(app_context(), state=state)

    def render() -> None:
        if not rows:
            line("no incident" + (f" {state}" if state else ""))
            return
        table(["id", "state", "credential", "next", "steps", "opened"],
              [(r["id"], r["state"], r["credential"], r["nextStep"] or "—",
                " ".join(MARK.get(v, "?") for v in r["stepStatus"].values()), r["created"][:16]) for r in rows])

    emit(as_json, {"incidents": rows}, render)
    return Exit.OK


@incident_group.command("show")
@click.argument("incident_id", required=False, metavar="[ID]")
@json_option
def show_cmd(incident_id: str | None, as_json: bool) -> int:
    """Steps and timeline of an incident (default: the latest open one)."""
    from aptui.services import incident

    ctx = app_context()
    inc = incident.resolve(ctx, incident_id)
    doc = incident.view(ctx, inc.id)

    def render() -> None:
        line(f"incident {doc['id']}: {doc['title']}  [{doc['state']}]")
        line(f"credential {doc['credential']}; failed runs since {doc['options'].get('since')}")
        _steps_table(inc)
        table(["#", "time (UTC)", "who", "step", "action", "outcome", "detail"],
              [(e["seq"], e["at"][:19].replace("T", " "), e["actor"], e["step"], e["action"], e["outcome"],
                e["detail"] or "") for e in doc["timeline"]])

    emit(as_json, doc, render)
    return Exit.OK


@incident_group.command("skip")
@click.argument("incident_id", metavar="ID")
@click.argument("step", type=STEP_CHOICE)
@click.option("--reason", required=True, help="Why (one line, recorded in the timeline).")
@json_option
def skip_cmd(incident_id: str, step: str, reason: str, as_json: bool) -> int:
    """Skip a step of an incident with a recorded reason (nothing is run)."""
    from aptui.services import incident

    ctx = app_context()
    inc = incident.skip(ctx, incident_id, step, reason)
    emit(as_json, {"ok": True, **incident.summary(incident.get(ctx, inc.id))},
         lambda: line(f"incident {inc.id}: {step} skipped ({reason})"))
    return Exit.OK


@incident_group.command("export")
@click.argument("incident_id", metavar="ID")
@click.option("--format", "fmt", default="md", show_default=True, type=click.Choice(["md", "json"]))
@click.option("--output", "-o", default=None, metavar="FILE", help="Write to FILE (0600) instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@json_option
def export_cmd(incident_id: str, fmt: str, output: str | None, force: bool, as_json: bool) -> int:
    """A timeline fit for a post-mortem (Markdown or JSON), with no secret values."""
    from aptui.services import incident

    ctx = app_context()
    text = incident.export(ctx, incident_id, fmt)
    if output is None:
        if as_json and fmt == "md":
            print_json({"ok": True, "format": fmt, "text": text})
        else:
            write(text)
        return Exit.OK
    path = Path(output).expanduser()
    if path.exists() and not force:
        raise usage(f"{output} exists", hint="pass --force to overwrite it")
    if not path.parent.is_dir():
        raise usage(f"directory {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise usage(f"cannot write {output} ({exc.strerror})") from None
    data: dict[str, Any] = {"ok": True, "format": fmt, "output": str(path), "bytes": len(text.encode())}
    emit(as_json, data, lambda: line(f"wrote {path} ({data['bytes']} bytes, {fmt})"))
    return Exit.OK
