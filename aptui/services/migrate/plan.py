"""``aptui migrate plan``: find the secrets, pick their targets and references, write the plan.

The plan never holds a value: each item has a keyed fingerprint (HMAC-SHA256 under a key derived
from the store, ``store.migration_runs.fingerprint_key``) that ``apply`` compares with the source
to tell a changed source, and a description such as "40 chars, alphanumeric". The operator may
edit the plan (drop items, set ``"skip": true``, change ``target.secret``/``target.key``): the
reference follows the target and is checked again by ``load``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, Exit, usage
from aptui.ids import new_id
from aptui.masking import Secret
from aptui.references import grammar
from aptui.references.scan import kind_of
from aptui.references.walk import Path
from aptui.services.context import Context
from aptui.services.hardening.strength import describe
from aptui.services.migrate import detect
from aptui.services.migrate.rewrite import parse
from aptui.store import connections as store_conn
from aptui.store import migration_runs as runs
from aptui.store.connections import Connection

PLAN_KIND = "aptui-migration-plan"
PLAN_VERSION = 1
_KEY_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
DEFAULT_SECRET = {"aws": "aptui/migrated/{stem}", "hashicorp": "secret/aptui/{stem}",
                  "cyberark-conjur": "aptui/{stem}", "onepassword": None}


def fingerprint(ctx: Context, value: str | Secret) -> str:
    text = value.reveal() if isinstance(value, Secret) else value
    digest = hmac.new(runs.fingerprint_key(ctx.store), text.encode("utf-8"), hashlib.sha256).hexdigest()
    return "hmac-sha256:" + digest


def invalid(message: str, *, hint: str | None = None) -> AptuiError:
    return usage(message, code="MIGRATE_PLAN_INVALID", hint=hint)


# -- targets --------------------------------------------------------------------------------------------

def vault_api_path(secret: str) -> str:
    """``secret/prod/slack`` → ``secret/data/prod/slack`` (kept when ``/data/`` is already there)."""
    parts = [p for p in secret.strip("/").split("/") if p]
    if len(parts) < 2:
        raise invalid(f"Vault secret {secret!r} needs a mount and a path (e.g. secret/prod/slack)")
    if "data" in parts[1:-1] or parts[1] == "data":
        return "/".join(parts)
    return "/".join([parts[0], "data", *parts[1:]])


def target(provider_id: str, secret: str, key: str, *, planned: bool = False) -> dict[str, str]:
    """The target secret and key in the provider's own form, and the reference path.

    ``planned``: ``secret``/``key`` come from a plan file, where a Conjur ``secret`` is already the
    variable id (its last segment is the key)."""
    if not secret or not key:
        raise invalid("a target needs a secret and a key")
    if provider_id == "aws":
        path = f"{secret}:{key}"
        return {"secret": secret, "key": key, "path": path, "providerForm": path}
    if provider_id == "hashicorp":
        api = vault_api_path(secret)
        path = f"{api}/{key}"
        return {"secret": api, "key": key, "path": path, "providerForm": path}
    if provider_id == "cyberark-conjur":
        path = secret.strip("/") if planned else f"{secret.strip('/')}/{key}"
        return {"secret": path, "key": path.rsplit("/", 1)[-1], "path": path, "providerForm": path}
    if provider_id == "onepassword":
        parts = [p for p in secret.removeprefix("op://").strip("/").split("/") if p]
        if len(parts) != 2:
            raise invalid(f"1Password secret {secret!r} must be vault/item")
        path = f"op://{parts[0]}/{parts[1]}/{key}"
        return {"secret": "/".join(parts), "key": key, "path": path, "providerForm": path}
    raise invalid(f"unknown provider {provider_id!r}")


def check_reference(ctx: Context, reference: str, provider_id: str, project_ids: list[str] | None) -> None:
    """The reference must validate with aptui's own rules, as Activepieces would see it."""
    from aptui.references.grammar import BROKEN, UPSTREAM_FAILS
    from aptui.services.references import VALID, parse_reference

    r = parse_reference(ctx, reference, project_ids=project_ids)
    if r.error is not None:
        raise invalid(f"reference {reference} does not validate: {r.error.code}: {r.error.message}",
                      hint=r.error.hint)
    bad = [w.message for w in r.warnings if w.label in (BROKEN, UPSTREAM_FAILS)]
    if r.verdict != VALID or r.provider_id != provider_id or bad:
        raise invalid(f"reference {reference} would not resolve in Activepieces" + (f": {bad[0]}" if bad else ""))


def _key_for(path: Path, taken: set[str], stem: str) -> str:
    last = next((str(p) for p in reversed(path) if isinstance(p, str)), "value")
    for candidate in (last, f"{stem}_{last}", "_".join(str(p) for p in path), f"{stem}_" + "_".join(map(str, path))):
        key = _KEY_SAFE.sub("_", candidate).strip("_") or "value"
        if key not in taken:
            taken.add(key)
            return key
    n = 2
    while f"{key}_{n}" in taken:
        n += 1
    taken.add(f"{key}_{n}")
    return f"{key}_{n}"


# -- the plan -------------------------------------------------------------------------------------------

@dataclass
class Plan:
    doc: dict[str, Any]
    file: FsPath | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Secret] = field(default_factory=dict, repr=False)  # memory only, for --reveal

    @property
    def id(self) -> str:
        return self.doc["id"]

    @property
    def items(self) -> list[dict[str, Any]]:
        return [i for i in self.doc.get("items", []) if not i.get("skip")]

    @property
    def app_connections(self) -> list[dict[str, Any]]:
        return [a for a in self.doc.get("appConnections", []) if not a.get("skip")]

    @property
    def sources(self) -> list[dict[str, Any]]:
        return self.doc.get("sources", [])

    @property
    def connection_id(self) -> str:
        return self.doc["connection"]["id"]

    @property
    def provider_id(self) -> str:
        return self.doc["connection"]["providerId"]

    def digest(self) -> str:
        """What apply is bound to: the plan's content, canonical JSON."""
        body = {k: v for k, v in self.doc.items() if k not in ("created", "summary")}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def secrets(self) -> list[str]:
        """Distinct target secrets, in order of first use."""
        names = [i["target"]["secret"] for i in self.items] + [a["target"]["secret"] for a in self.app_connections]
        return list(dict.fromkeys(names))

    def to_json(self) -> str:
        return json.dumps(self.doc, indent=2, ensure_ascii=False) + "\n"


def _source_format(path: FsPath) -> str:
    kind = kind_of(path)
    if kind not in ("json", "yaml"):
        raise usage(f"{path}: a source must be a .json, .yaml or .yml document", code="MIGRATE_SOURCE_INVALID")
    return kind


def read_source(path: FsPath) -> tuple[bytes, str, list[Any]]:
    """Bytes, format and parsed documents of a source (one-line errors, never the content)."""
    fmt = _source_format(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise usage(f"{path}: cannot read ({exc.strerror or type(exc).__name__})", code="MIGRATE_SOURCE_INVALID") \
            from None
    try:
        text = data.decode("utf-8")
        docs = parse(text, fmt)
    except Exception as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise usage(f"{path}: not valid {fmt.upper()}{where}", code="MIGRATE_SOURCE_INVALID") from None
    return data, fmt, docs


def _connection(ctx: Context, to: str) -> Connection:
    conn = store_conn.find(ctx.store, to)
    if conn.provider_id not in DEFAULT_SECRET:
        raise usage(f"aptui cannot write to provider {conn.provider_id}")
    return conn


def secret_name(template: str | None, provider_id: str, stem: str) -> str:
    name = template or DEFAULT_SECRET[provider_id]
    if not name:
        raise usage("a secret name (vault/item) is required for 1Password", code="MIGRATE_PLAN_INVALID")
    return name.replace("{stem}", _KEY_SAFE.sub("-", stem))


def build_plan(ctx: Context, sources: list[FsPath], *, to: str, secret: str | None = None,
               project: str | None = None) -> Plan:
    """Scan ``sources`` and plan each secret found (no network)."""
    conn = _connection(ctx, to)
    projects = [project] if project else None
    doc: dict[str, Any] = {"kind": PLAN_KIND, "version": PLAN_VERSION, "id": new_id(), "created": utc_now_iso(),
                           "keyId": runs.key_id(ctx.store),
                           "connection": {"id": conn.id, "name": conn.name, "providerId": conn.provider_id},
                           "project": project, "sources": [], "items": [], "appConnections": []}
    skipped: list[dict[str, Any]] = []
    values: dict[str, Secret] = {}
    taken: dict[str, set[str]] = {}
    seen: set[FsPath] = set()
    for src in sources:
        path = src.expanduser().resolve()
        if path in seen:
            continue
        seen.add(path)
        data, fmt, docs = read_source(path)
        index = len(doc["sources"])
        doc["sources"].append({"file": str(path), "format": fmt, "fingerprint": fingerprint(ctx, data.decode())})
        stem = path.stem
        name = secret_name(secret, conn.provider_id, stem)
        for d, parsed in enumerate(docs):
            for f in detect.iter_findings(parsed, document=d):
                entry = {"source": index, "document": d, "location": f.location, "reason": f.reason}
                if f.kind != detect.SECRET:
                    skipped.append({"file": str(path), **entry})
                    continue
                key = _key_for(f.path, taken.setdefault(name, set()), stem)
                tgt = target(conn.provider_id, name, key)
                ref = grammar.build(conn.id, tgt["path"])
                item_id = f"s{len(doc['items']) + 1}"
                values[item_id] = Secret(f.value)
                doc["items"].append({"id": item_id, **entry, "path": list(f.path),
                                     "looks": describe(f.value), "fingerprint": fingerprint(ctx, f.value),
                                     "target": tgt, "reference": ref})
    plan = Plan(doc, skipped=skipped, values=values)
    for item in plan.items:
        check_reference(ctx, item["reference"], conn.provider_id, projects)
    doc["summary"] = {"secrets": len(doc["items"]), "targets": len(plan.secrets()), "skipped": len(skipped)}
    doc["skipped"] = skipped
    return plan


async def plan_app_connection(ctx: Context, plan: Plan | None, *, external_id: str, project: str, to: str,
                              secret: str, value: Secret, value_from: dict[str, Any], key: str | None = None,
                              profile: str | None = None) -> Plan:
    """Add an app connection to ``plan`` (or a new one): scope check first, then the platform's record."""
    from aptui.services import platform

    conn = _connection(ctx, to)
    require_scope(conn, project)
    found = await find_app_connection(ctx, profile, project, external_id)
    if plan is None:
        plan = Plan({"kind": PLAN_KIND, "version": PLAN_VERSION, "id": new_id(), "created": utc_now_iso(),
                     "keyId": runs.key_id(ctx.store),
                     "connection": {"id": conn.id, "name": conn.name, "providerId": conn.provider_id},
                     "project": project, "sources": [], "items": [], "appConnections": []})
    elif plan.connection_id != conn.id:
        raise invalid("one plan writes to one secret-manager connection")
    if platform.is_reference(value):
        raise usage(f"app connection {external_id}: the value given is already a reference; nothing to migrate",
                    code="MIGRATE_NOTHING_TO_DO")
    k = key or _KEY_SAFE.sub("_", external_id).strip("_") or "value"
    tgt = target(conn.provider_id, secret, k)
    ref = grammar.build(conn.id, tgt["path"])
    check_reference(ctx, ref, conn.provider_id, [project])
    plan.doc["appConnections"].append({
        "id": f"a{len(plan.doc['appConnections']) + 1}", "externalId": external_id, "projectId": project,
        "profile": profile, "connectionId": found.get("id"), "displayName": found.get("displayName"),
        "pieceName": found.get("pieceName"), "valueFrom": value_from, "looks": describe(value.reveal()),
        "fingerprint": fingerprint(ctx, value), "target": tgt, "reference": ref})
    summary = plan.doc.setdefault("summary", {})
    summary["appConnections"] = len(plan.doc["appConnections"])
    summary["targets"] = len(plan.secrets())
    return plan


def require_scope(conn: Connection, project: str) -> None:
    """Activepieces' rule: the connection must serve the project, else "Connection is not accessible"."""
    from aptui.services.references import _not_accessible

    if not conn.serves([project]):
        raise _not_accessible(conn.id, "-", hint=f"connection {conn.name} is scoped to projects "
                                                 f"{', '.join(conn.project_ids)}, not {project}")


async def find_app_connection(ctx: Context, profile: str | None, project: str, external_id: str) -> dict[str, Any]:
    from aptui.services import platform

    async for c in platform.iter_app_connections(ctx, profile, project=project):
        if c.get("externalId") == external_id:
            return c
    raise AptuiError("ENTITY_NOT_FOUND", f"no app connection with externalId {external_id!r} in project {project}",
                     exit_code=Exit.USAGE, params={"entityType": "AppConnection", "entityId": external_id})


# -- loading an (edited) plan ------------------------------------------------------------------------------

def load(ctx: Context, file: FsPath) -> Plan:
    """Read a plan file and check it: kind, key, connection, targets and references."""
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise usage(f"{file}: cannot read the plan ({exc.strerror or type(exc).__name__})",
                    code="MIGRATE_PLAN_INVALID") from None
    except ValueError as exc:
        raise invalid(f"{file}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or doc.get("kind") != PLAN_KIND or doc.get("version") != PLAN_VERSION:
        raise invalid(f"{file} is not an aptui migration plan (version {PLAN_VERSION})")
    if doc.get("keyId") != runs.key_id(ctx.store):
        raise invalid("the plan was made with another aptui store (its fingerprint key differs)",
                      hint="plan again with this store")
    plan = Plan(doc, file=file.resolve())
    try:
        conn = store_conn.find(ctx.store, plan.connection_id)
    except AptuiError:
        raise invalid(f"the plan's connection {plan.connection_id} is not in the store") from None
    if conn.provider_id != plan.provider_id:
        raise invalid("the plan's connection changed provider since planning")
    for item in plan.items + plan.app_connections:
        label = item.get("id") or "?"
        try:
            tgt = target(conn.provider_id, str(item["target"]["secret"]), str(item["target"]["key"]), planned=True)
        except (KeyError, TypeError):
            raise invalid(f"item {label}: target.secret and target.key are required") from None
        ref = grammar.build(conn.id, tgt["path"])
        if item.get("reference") != ref:
            raise invalid(f"item {label}: the reference does not match its target",
                          hint=f"write \"reference\": \"{ref}\" (or plan again)")
        item["target"] = tgt
        if "fingerprint" not in item or not str(item["fingerprint"]).startswith("hmac-sha256:"):
            raise invalid(f"item {label}: no fingerprint")
        if "source" in item and not (0 <= int(item["source"]) < len(plan.sources)):
            raise invalid(f"item {label}: no such source")
        projects = [item["projectId"]] if item.get("projectId") else ([doc["project"]] if doc.get("project")
                                                                     else None)
        check_reference(ctx, ref, conn.provider_id, projects)
    _check_duplicates(plan)
    return plan


def _check_duplicates(plan: Plan) -> None:
    seen: dict[tuple[str, str], str] = {}
    for item in plan.items + plan.app_connections:
        k = (item["target"]["secret"], item["target"]["key"])
        if k in seen and seen[k] != item["fingerprint"]:
            raise invalid(f"two different values target {k[0]} key {k[1]}", hint="give one of them another key")
        seen[k] = item["fingerprint"]


def write_plan(plan: Plan, out: FsPath) -> None:
    """Write the plan file 0600 (it holds no value, but names where secrets are)."""
    tmp = out.with_name(out.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(plan.to_json())
    os.replace(tmp, out)
    plan.file = out.resolve()
