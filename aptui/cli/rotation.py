"""`aptui rotation list|show|mark|rotate`: credential rotation due dates and assisted rotation.

``list`` exits 1 when anything is overdue (for cron and monitoring), 4 when every provider lookup was
unreachable and nothing is overdue, 0 otherwise. ``rotate`` confirms every step (``--yes`` skips
the questions), resumes a rotation that stopped, and ``--abort`` undoes what can be undone (after
the store step, ``--restore-old`` or ``--keep-new`` says how; without a terminal one is required). A new
credential for Conjur or 1Password comes from ``--secret-env VAR``, stdin or a hidden prompt, never
from argv. An Activepieces API key is created by the platform (``POST /v1/api-keys``), or, with
``--own-key`` / ``--secret-env VAR``, is one the operator created.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from aptui.cli.common import app_context, json_option, read_secret, run_async, yes_option
from aptui.cli.output import emit, line, print_json, table, write
from aptui.clock import human_age, parse_iso, utc_now
from aptui.errors import Exit, usage

STATE_MARK = {"overdue": "✗ overdue", "due soon": "▲ soon", "ok": "● ok", "unknown": "○ unknown"}


def _when(value: datetime | None, *, due: bool = False) -> str:
    if value is None:
        return "—"
    delta = (value - utc_now()).total_seconds()
    if due:
        rel = f"in {human_age(delta)}" if delta >= 0 else f"{human_age(-delta)} overdue"
    else:
        rel = f"{human_age(-delta)} ago" if delta <= 0 else f"in {human_age(delta)}"
    return f"{value.date().isoformat()} ({rel})"


def _duration(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    from aptui.config import parse_duration

    seconds = parse_duration(text, default_unit="d")
    if seconds < 0:
        raise usage(f"{option} must not be negative")
    return seconds


def _date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_iso(text.strip())
    except ValueError:
        raise usage(f"--date: not a date: {text!r}", hint="use ISO-8601, e.g. 2026-11-20 or 2026-11-20T10:00Z") \
            from None


@click.group("rotation")
def rotation_group() -> None:
    """Credential rotation: due dates, marks and assisted rotation."""


@rotation_group.command("list")
@click.option("--due-within", default=None, metavar="DURATION",
              help="Only items due within this window (overdue included), e.g. 14d.")
@click.option("--state", "states", multiple=True, type=click.Choice(["overdue", "due-soon", "ok", "unknown"]),
              help="Only items in this state (repeatable).")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Only this kind: aws, hashicorp, cyberark-conjur, onepassword, activepieces-api-key, "
                   "mcp-token, aws-secret (repeatable).")
@click.option("--offline", is_flag=True, help="Recorded dates only: no provider or platform lookups.")
@click.option("--profile", default=None, metavar="NAME", help="Look up MCP tokens of this profile only.")
@json_option
def list_cmd(due_within: str | None, states: tuple[str, ...], kinds: tuple[str, ...], offline: bool,
             profile: str | None, as_json: bool) -> int:
    """Every credential aptui knows, sorted by due date. Exit 1 when anything is overdue."""
    from aptui.services import rotation

    for kind in kinds:
        if kind not in rotation.KINDS:
            raise usage(f"unknown kind {kind!r}", hint="kinds: " + ", ".join(rotation.KINDS))
    window = _duration(due_within, "--due-within")
    ctx = app_context()
    report = run_async(rotation.list_items(ctx, offline=offline, due_within=window,
                                           states=[s.replace("-", " ") for s in states] or None,
                                           kinds=list(kinds) or None, profile=profile))

    def render() -> None:
        if not report.items:
            line("no credential matches" if report.hidden else
                 "no credential known yet (add a connection with `aptui sm add` or a profile)")
        else:
            table(["state", "item", "due", "in", "rotated", "source", "conf."],
                  [(STATE_MARK[i.state], i.id, i.due.date().isoformat() if i.due else "—",
                    rotation.relative(i.due, due=True), rotation.relative(i.last_rotated),
                    rotation.short_source(i.source), i.confidence) for i in report.items])
            for i in report.items:
                important = [n for n in i.notes if "failed" in n or "WARNING" in n or "in progress" in n
                             or "Inactive" in n or "cannot" in n or "not replaced" in n or "expiry" in n]
                if i.state == "unknown":
                    important = i.notes or ["no date: rotate it, or record one with `aptui rotation mark`"]
                for note in important:
                    line(f"  {i.id}: {note}")
        counts = report.counts()
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        hidden = f" ({report.hidden} not shown)" if report.hidden else ""
        if summary or hidden:
            line(f"{summary or 'nothing shown'}{hidden}")
        if report.all_unreachable:
            line("every provider lookup was unreachable: dates are recorded ones (exit 4)")

    emit(as_json, report.to_dict(), render)
    return report.exit_code()


@rotation_group.command("show")
@click.argument("item")
@click.option("--offline", is_flag=True, help="Recorded date only: no provider lookup.")
@json_option
def show_cmd(item: str, offline: bool, as_json: bool) -> int:
    """One item: its dates, notes, and its recent assisted rotations."""
    from aptui.services import rotation

    ctx = app_context()
    found = rotation.find_item(ctx, item)
    if not offline:
        report = run_async(rotation.list_items(ctx, kinds=[found.kind]))
        found = next((i for i in report.items if i.id == found.id), found)
    runs = rotation.history(ctx, found.id, limit=10)
    data = {"item": found.to_dict(), "runs": runs}

    def render() -> None:
        line(f"{found.id}  ({found.label})")
        line(f"  state:        {found.state}")
        line(f"  last rotated: {_when(found.last_rotated)}  [{found.source or 'no date'}, {found.confidence}]")
        line(f"  due:          {_when(found.due, due=True)}  (policy {found.policy / 86400:g} days)")
        line(f"  rotate with:  {found.how}")
        for note in found.notes:
            line(f"  note: {note}")
        for run in runs:
            done = [s for s, v in run["steps"].items() if v.get("status") in ("done", "skipped")]
            line(f"  run {run['id']} {run['state']} {run['created'][:16]}: "
                 f"{', '.join(done) or 'no step done'}" + (f"; next {run['step']}" if run["state"] == "active" else "")
                 + (f"; error: {run['error']}" if run.get("error") else ""))

    emit(as_json, data, render)
    return Exit.OK


@rotation_group.command("mark")
@click.argument("item")
@click.option("--date", "date_text", default=None, metavar="DATE", help="When it was rotated (default: now).")
@click.option("--note", default=None, help="Why, or where it was rotated (one line; never a secret).")
@json_option
def mark_cmd(item: str, date_text: str | None, note: str | None, as_json: bool) -> int:
    """Record that ITEM was rotated (outside aptui, or at a known date)."""
    from aptui.services import rotation

    ctx = app_context()
    found = rotation.mark(ctx, item, at=_date(date_text), note=note)
    emit(as_json, {"ok": True, "item": found.to_dict()},
         lambda: line(f"{found.id}: recorded as rotated {_when(found.last_rotated)}; "
                      f"next due {_when(found.due, due=True)}"))
    return Exit.OK


def _tty() -> bool:
    return sys.stdin.isatty()


def _osc52(text: str) -> None:
    """Copy through the terminal (OSC 52, wrapped for tmux) via /dev/tty."""
    import base64
    import os

    seq = f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\x07"
    if os.environ.get("TMUX"):
        seq = f"\x1bPtmux;\x1b{seq}\x1b\\"
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(seq)
            tty.flush()
    except OSError:
        raise usage("--copy needs a terminal (OSC 52 goes to /dev/tty)") from None


_MODE_FLAGS = {"restore": "--restore-old", "keep": "--keep-new"}


def _abort_mode(options: list[tuple[str, str]], chosen: str | None, item: str, *, interactive: bool) -> str | None:
    """The ``abort(mode=...)`` to use: the flag given, the only option, or the operator's choice at a
    terminal; without a terminal and with more than one option, a usage error naming the flags."""
    modes = [m for m, _ in options]
    flags = " or ".join(_MODE_FLAGS.get(m, m) for m in modes)
    if chosen is not None:
        if chosen not in modes:
            only = "nothing to choose (just --abort)" if modes == ["undo"] else f"choose {flags}"
            raise usage(f"{_MODE_FLAGS[chosen]} is not possible for {item} now: {only}",
                        code="ROTATION_ABORT_UNAVAILABLE")
        return chosen
    if len(modes) == 1:
        return None if modes[0] == "undo" else modes[0]
    if not interactive:
        raise usage(f"aborting {item} needs a choice: {flags}",
                    hint="; ".join(f"{_MODE_FLAGS.get(m, m)}: {text}" for m, text in options))
    for n, (_, text) in enumerate(options, 1):
        line(f"  {n}. {text}")
    pick = click.prompt("abort how", type=click.IntRange(1, len(options)), default=1)
    return modes[pick - 1]


@rotation_group.command("rotate")
@click.argument("item")
@click.option("--abort", "abort_run", is_flag=True, help="Abort the rotation in progress (deletes an unused new "
              "key / destroys an unused new secret ID).")
@click.option("--restore-old", "abort_mode", flag_value="restore", default=None,
              help="With --abort after the store step: put the old key / secret ID back in aptui and delete the "
              "new one.")
@click.option("--keep-new", "abort_mode", flag_value="keep",
              help="With --abort after the store step: keep the new key / secret ID in aptui; undo nothing.")
@click.option("--secret-env", default=None, metavar="VAR",
              help="Conjur, 1Password, API keys: read the NEW credential from this environment variable.")
@click.option("--own-key", is_flag=True, help="API keys: give a key you created (stdin or hidden prompt) instead "
              "of letting the platform create one.")
@click.option("--profile", default=None, metavar="NAME", help="Profile whose platform gets the new credential.")
@click.option("--no-publish", is_flag=True, help="Do not update the platform's secret-manager connection.")
@click.option("--copy", "copy_token", is_flag=True, help="MCP: copy the new token (OSC 52) instead of printing it.")
@yes_option
@json_option
def rotate_cmd(item: str, abort_run: bool, abort_mode: str | None, secret_env: str | None, own_key: bool,
               profile: str | None, no_publish: bool, copy_token: bool, yes: bool, as_json: bool) -> int:
    """Rotate ITEM step by step, confirming each step; rerun to resume after a stop."""
    from aptui.services import rotation

    if abort_mode and not abort_run:
        raise usage(f"{_MODE_FLAGS[abort_mode]} goes with --abort", hint=f"aptui rotation rotate {item} --abort "
                    f"{_MODE_FLAGS[abort_mode]}")
    ctx = app_context()
    ctx.require_writable("rotation rotate")
    if abort_run:
        mode = _abort_mode(rotation.abort_options(ctx, item), abort_mode, item, interactive=not as_json and _tty())
        result = run_async(rotation.abort(ctx, item, mode=mode))
        emit(as_json, result, lambda: (
            [line(f"undone: {u}") for u in result["undone"]],
            [line(f"problem: {p}") for p in result["problems"]],
            line(f"rotation of {result['item']} aborted; {result['state']}")))
        return Exit.OK if result["ok"] else Exit.FAILED
    if not yes and not _tty():
        raise usage("rotation asks before every step — refusing without a terminal",
                    hint="pass --yes to confirm every step non-interactively")
    found = rotation.find_item(ctx, item)
    current = rotation.pending(ctx, found.id)
    new_secret = None
    field_name = rotation.needs_secret(found)
    optional = rotation.accepts_secret(found) if not field_name else None
    if own_key and not optional:
        raise usage("--own-key is for Activepieces API keys (profile:NAME)")
    if (field_name and (current is None or secret_env)) or (optional and (secret_env or own_key)):
        from aptui.masking import Secret

        new_secret = Secret(read_secret(f"new {field_name or optional} for {found.id}", env=secret_env))
    if current is not None and not as_json:
        line(f"resuming the rotation of {found.id} at step '{current.next_step}'")

    def ask(step: str, text: str) -> bool:
        if yes:
            if not as_json:
                line(f"→ {step}: {text}")
            return True
        return click.confirm(f"{step}: {text}. Go on?", default=True)

    tokens: list[Any] = []

    def done(result) -> None:
        if result.secret is not None:
            tokens.append(result.secret)
        if not as_json:
            line(f"{'✓' if result.outcome == 'done' else '–'} {result.step}: {result.detail}")

    if copy_token and found.kind != "mcp-token":
        raise usage("--copy is for MCP tokens only")
    if copy_token:
        try:
            open("/dev/tty", "w").close()
        except OSError:
            raise usage("--copy needs a terminal (OSC 52 goes to /dev/tty); nothing was rotated") from None
    rot = run_async(rotation.rotate(ctx, found.id, confirm=ask, new_secret=new_secret, profile=profile,
                                    publish=False if no_publish else None, on_step=done))
    data = {"ok": True, **rot.to_dict()}
    if tokens:
        token = tokens[0]
        if copy_token:
            _osc52(token.reveal())
            data["copied"] = True
        elif as_json:
            data["new_token"] = token.reveal()
    if as_json:
        print_json(data)
    else:
        line(f"{found.id}: rotation complete")
        if tokens and not copy_token:
            write(f"new token (shown once, not stored): {tokens[0].reveal()}\n")
        elif tokens:
            line("the new token was copied to the clipboard; it is not shown and not stored")
    return Exit.OK
