"""`aptui migrate plan|apply|rollback|status`: hard-coded secrets into a secret manager, references back.

Values are masked in every output unless ``plan --reveal``; the plan file holds fingerprints only.
Exit codes: 0 done, 1 a step failed (denied write, changed source, failed verification) or was
declined, 2 bad input, 3 store, 4 a remote unreachable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from aptui.cli.common import app_context, json_option, read_secret, run_async, yes_option
from aptui.cli.output import emit, line, print_json, table
from aptui.errors import AptuiError, Exit, usage

DEFAULT_OUT = "aptui-migration-plan.json"


@click.group("migrate")
def migrate_group() -> None:
    """Move hard-coded secrets into a secret manager and leave references (plan, apply, rollback)."""


def _value_from(value_env: str | None) -> dict[str, Any]:
    if value_env:
        return {"env": value_env}
    return {"stdin": True} if not sys.stdin.isatty() else {"prompt": True}


def _read_value(source: dict[str, Any]) -> str:
    return read_secret("app connection value", env=source.get("env"))


@migrate_group.command("plan")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, metavar="CONNECTION", help="Target secret-manager connection (id or name).")
@click.option("--secret", metavar="NAME", help="Target secret (AWS name, Vault mount/path, Conjur prefix, 1Password "
                                               "vault/item); {stem} is the source file's name.")
@click.option("--project", metavar="P", help="Project the references are checked for (scope).")
@click.option("--app-connection", "external_id", metavar="EXTERNAL_ID", help="Plan an app connection on the platform.")
@click.option("--value-env", metavar="VAR", help="Environment variable holding the app connection's current value.")
@click.option("--key", metavar="KEY", help="Key for the app connection's value in the target secret.")
@click.option("--profile", metavar="NAME", help="Activepieces profile (app connections).")
@click.option("--add-to", type=click.Path(path_type=Path), metavar="PLAN.json",
              help="Add the app connection to an existing plan.")
@click.option("--out", type=click.Path(path_type=Path), metavar="PLAN.json", help=f"Plan file (default {DEFAULT_OUT}).")
@click.option("--reveal", is_flag=True, help="Show the values found (never written to the plan).")
@json_option
def plan_cmd(sources: tuple[Path, ...], to: str, secret: str | None, project: str | None, external_id: str | None,
             value_env: str | None, key: str | None, profile: str | None, add_to: Path | None, out: Path | None,
             reveal: bool, as_json: bool) -> int:
    """Find hard-coded secrets in JSON/YAML SOURCES (or one app connection) and write a value-free plan."""
    from aptui.masking import Secret
    from aptui.services.migrate import plan as planner

    ctx = app_context()
    if external_id:
        if sources:
            raise usage("plan either SOURCE files or one --app-connection at a time",
                        hint="then add the other with --add-to PLAN.json")
        if not project or not secret:
            raise usage("--app-connection needs --project and --secret")
        base = planner.load(ctx, add_to) if add_to else None
        value = Secret(read_secret("app connection value", env=value_env))
        plan = run_async(planner.plan_app_connection(ctx, base, external_id=external_id, project=project, to=to,
                                                     secret=secret, value=value, value_from=_value_from(value_env),
                                                     key=key, profile=profile))
        target = add_to or out or Path(DEFAULT_OUT)
    else:
        if not sources:
            raise usage("give at least one SOURCE (a JSON or YAML document), or --app-connection")
        plan = planner.build_plan(ctx, list(sources), to=to, secret=secret, project=project)
        target = out or Path(DEFAULT_OUT)
    planner.write_plan(plan, target)
    ctx.audit("migrate.plan", plan.id, "ok", f"{len(plan.items)} value(s), {len(plan.app_connections)} app "
                                             f"connection(s), {len(plan.secrets())} target(s)")

    def shown(item: dict[str, Any]) -> str:
        v = plan.values.get(item["id"])
        if v is None:
            return item.get("looks", "")
        return v.reveal() if reveal else v.masked()

    data = {"plan": str(plan.file), "id": plan.id, "connection": plan.doc["connection"],
            "items": [{**i, "value": shown(i)} if reveal else i for i in plan.items],
            "appConnections": plan.app_connections, "skipped": plan.doc.get("skipped", []),
            "targets": plan.secrets()}

    def render() -> None:
        sources_by = {n: s["file"] for n, s in enumerate(plan.sources)}
        rows = [(i["id"], f"{Path(sources_by[i['source']]).name} {i['location']}", shown(i), i["reason"],
                 i["target"]["providerForm"]) for i in plan.items]
        rows += [(a["id"], f"app {a['externalId']} ({a['projectId']})", a.get("looks", ""), "app connection value",
                  a["target"]["providerForm"]) for a in plan.app_connections]
        title = f"plan {plan.id} → {plan.doc['connection']['name']}"
        table(["id", "where", "value", "why", "target"], rows, title=title)
        for s in plan.doc.get("skipped", []):
            line(f"skipped: {Path(s['file']).name} {s['location']}: {s['reason']}")
        line(f"plan written to {plan.file} (fingerprints only, no values); review or edit it, then: "
             f"aptui migrate apply {plan.file}")

    emit(as_json, data, render)
    return Exit.OK


def _confirm_step(yes: bool, as_json: bool):
    def ask(step: dict[str, Any]) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise usage(f"step {step.get('n', '')} ({step['label']}) needs confirmation",
                        hint="pass --yes to confirm every step non-interactively")
        return click.confirm(f"{step['label']}?", default=True, err=True)

    return ask


@migrate_group.command("apply")
@click.argument("plan_file", type=click.Path(path_type=Path), metavar="PLAN.json")
@yes_option
@json_option
def apply_cmd(plan_file: Path, yes: bool, as_json: bool) -> int:
    """Apply a plan: write, verify, rewrite, re-verify, upsert. Resumes a stopped run."""
    from aptui.services.migrate import apply as applier
    from aptui.services.migrate import plan as planner

    ctx = app_context()
    plan = planner.load(ctx, plan_file)

    def progress(n: int, total: int, step: dict[str, Any]) -> None:
        if not as_json:
            status = step["status"]
            extra = f": {step['detail']}" if step.get("detail") and status == "done" else ""
            sys.stderr.write(f"[{n}/{total}] {step['label']} … {status if status != 'pending' else 'running'}{extra}\n")

    migration = applier.Migration(ctx, plan, confirm=_confirm_step(yes, as_json), progress=progress,
                                  value_reader=_read_value)
    outcome = run_async(migration.run())
    if as_json:
        print_json(outcome.to_dict())
    else:
        for name, diff in outcome.diffs.items():
            line(f"--- masked diff of {name}")
            for d in diff.splitlines():
                line(d)
        if outcome.verification:
            table(["item", "reference", "verdict", "value matches"],
                  [(r["id"], r["reference"], r["verdict"], "yes" if r["match"] else "NO") for r in
                   outcome.verification], title="verification")
        line(f"run {outcome.run.id}: {outcome.run.state}, {sum(s['status'] == 'done' for s in outcome.steps)}/"
             f"{len(outcome.steps)} steps done, {outcome.api_calls} secret-manager call(s)")
    if outcome.error is not None:
        if not as_json:
            sys.stderr.write(f"aptui: {outcome.error.one_line()}\n")
        return outcome.error.exit_code
    return Exit.OK


@migrate_group.command("rollback")
@click.argument("plan_file", type=click.Path(path_type=Path), metavar="PLAN.json")
@click.option("--purge", is_flag=True, help="Also undo the secret writes (AWS previous version, Vault previous KV "
                                            "version; created secrets deleted).")
@click.option("--force", is_flag=True, help="Restore a file even if it changed after the migration.")
@yes_option
@json_option
def rollback_cmd(plan_file: Path, purge: bool, force: bool, yes: bool, as_json: bool) -> int:
    """Restore rewritten files byte for byte and app connections to their former values."""
    from aptui.services.migrate import apply as applier
    from aptui.services.migrate import plan as planner

    ctx = app_context()
    plan = planner.load(ctx, plan_file)
    result = run_async(applier.rollback(ctx, plan, purge=purge, force=force, confirm=_confirm_step(yes, as_json)))

    def render() -> None:
        for a in result["actions"]:
            line(f"{a['target']}: {a['result']}")
        line(f"run {result['run']}: {result['state']}" + ("" if purge else "; secrets left in the manager "
                                                                            "(--purge undoes them)"))

    emit(as_json, result, render)
    return Exit.OK


@migrate_group.command("status")
@click.argument("plan_file", type=click.Path(path_type=Path), metavar="PLAN.json")
@json_option
def status_cmd(plan_file: Path, as_json: bool) -> int:
    """The steps of the plan's latest run."""
    from aptui.services.migrate import plan as planner
    from aptui.store import migration_runs as runs

    ctx = app_context()
    plan = planner.load(ctx, plan_file)
    run = runs.latest_for_plan(ctx.store, plan.id)
    if run is None:
        raise runs.not_found(plan.id)
    emit(as_json, run.to_dict(), lambda: table(["n", "step", "status", "detail"],
                                               [(s["n"], s["label"], s["status"], s.get("detail") or "")
                                                for s in run.data.get("steps", [])],
                                               title=f"run {run.id}: {run.state}"))
    return Exit.OK if run.state == runs.DONE else Exit.FAILED


__all__ = ["AptuiError", "migrate_group"]
