"""``aptui migrate apply`` and ``rollback``: journaled, resumable, each step confirmable.

Steps, in order: write each target secret (keys merged), verify every new reference through
aptui's resolver (no cache) against the plan's fingerprints, rewrite each source (encrypted 0600
backup, masked diff), re-verify the rewritten documents as ``ref resolve`` reads them, and upsert
each app connection with its reference (then check ``usingSecretManager`` and ACTIVE). A check of
the sources and the plan runs first every time; nothing is written when it fails.

Every step records what it is about to do in the journal (encrypted in the store) before doing
it, and is marked done after, so a run killed anywhere resumes where it stopped without writing
twice (the writes are idempotent: equal keys already there are not written again).
``APTUI_MIGRATE_CRASH=N`` (``N:written``, ``N:after``) kills the process before step N (right after
its provider write, before that is journaled; after the step): the crash tests use it.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import signal
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from aptui.errors import AptuiError, Exit
from aptui.masking import Secret, redact
from aptui.references import walk
from aptui.services.context import Context
from aptui.services.migrate import detect
from aptui.services.migrate.plan import Plan, find_app_connection, fingerprint, read_source, require_scope
from aptui.services.migrate.rewrite import get, rewrite
from aptui.store import connections as store_conn
from aptui.store import migration_runs as runs

PENDING, DONE_STEP, FAILED_STEP = "pending", "done", "failed"
BACKUP_TABLE = "migration_backups"
CRASH_ENV = "APTUI_MIGRATE_CRASH"
Confirm = Callable[[dict[str, Any]], bool]
Progress = Callable[[int, int, dict[str, Any]], None]


def changed(message: str) -> AptuiError:
    return AptuiError("MIGRATE_SOURCE_CHANGED", message, exit_code=Exit.FAILED,
                      hint="plan again (aptui migrate plan …); nothing was written")


def verify_failed(message: str) -> AptuiError:
    return AptuiError("MIGRATE_VERIFY_FAILED", message, exit_code=Exit.FAILED)


def steps_for(plan: Plan) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for name in plan.secrets():
        n = sum(1 for i in plan.items + plan.app_connections if i["target"]["secret"] == name)
        steps.append({"id": f"write:{name}", "kind": "write", "secret": name,
                      "label": f"write {n} key(s) to {name}"})
    if steps:
        steps.append({"id": "verify", "kind": "verify", "label": "verify every new reference resolves to its value"})
    used = sorted({i["source"] for i in plan.items})
    for s in used:
        steps.append({"id": f"rewrite:{s}", "kind": "rewrite", "source": s,
                      "label": f"rewrite {plan.sources[s]['file']}"})
    if used:
        steps.append({"id": "reverify", "kind": "reverify", "label": "re-verify the rewritten documents"})
    for a in plan.app_connections:
        steps.append({"id": f"upsert:{a['id']}", "kind": "upsert", "app": a["id"],
                      "label": f"upsert app connection {a['externalId']} (project {a['projectId']})"})
    for n, s in enumerate(steps, 1):
        s["n"], s["status"] = n, PENDING
    return steps


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _crash_point() -> tuple[int, str] | None:
    raw = os.environ.get(CRASH_ENV, "")
    if not raw:
        return None
    n, _, when = raw.partition(":")
    return (int(n), when or "before") if n.isdigit() else None


def _maybe_crash(n: int, when: str) -> None:
    """SIGKILL this process at step ``n``: ``before`` it, right after its provider ``written``, or ``after`` it."""
    if _crash_point() == (n, when):
        os.kill(os.getpid(), signal.SIGKILL)


def _alive(owner: dict[str, Any]) -> bool:
    if owner.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(owner.get("pid") or 0), 0)
    except (OSError, ValueError):
        return False
    return True


def read_app_value(item: dict[str, Any], reader: Callable[[dict[str, Any]], str] | None) -> Secret:
    """The app connection's current value, from where the plan says the operator gives it."""
    if reader is None:
        raise AptuiError("MIGRATE_VALUE_REQUIRED", f"app connection {item['externalId']}: its current value is "
                                                   "needed again", exit_code=Exit.USAGE)
    return Secret(reader(item["valueFrom"]))


@dataclass
class Outcome:
    run: runs.Run
    steps: list[dict[str, Any]]
    diffs: dict[str, str] = field(default_factory=dict)
    verification: list[dict[str, Any]] = field(default_factory=list)
    api_calls: int = 0
    error: AptuiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(s["status"] == DONE_STEP for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "run": self.run.id, "state": self.run.state, "steps": self.steps,
                                "verification": self.verification, "diffs": self.diffs, "apiCalls": self.api_calls}
        if self.error is not None:
            data["error"] = self.error.to_dict()
        return data


class Migration:
    """One apply (or resume) of a plan."""

    def __init__(self, ctx: Context, plan: Plan, *, confirm: Confirm | None = None, progress: Progress | None = None,
                 value_reader: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.ctx, self.plan = ctx, plan
        self.confirm = confirm or (lambda step: True)
        self.progress = progress
        self.value_reader = value_reader
        self.conn = store_conn.find(ctx.store, plan.connection_id)
        self.values: dict[str, Secret] = {}
        self.journal: dict[str, Any] = {}
        self.writer: Any = None
        self.current: dict[str, Any] = {}
        self.api_calls = 0
        self.owner = {"pid": os.getpid(), "host": socket.gethostname()}

    # -- run bookkeeping --------------------------------------------------------------------------
    def _claim(self) -> runs.Run:
        ctx, plan = self.ctx, self.plan
        run = runs.latest_for_plan(ctx.store, plan.id)
        if run is not None and run.state in (runs.RUNNING, runs.FAILED, runs.DONE):
            if run.plan_digest != plan.digest():
                raise AptuiError("MIGRATE_PLAN_CHANGED", "the plan was edited after apply started",
                                 exit_code=Exit.USAGE,
                                 hint="roll back first (aptui migrate rollback PLAN.json), then apply the edited plan")
            owner = run.data.get("owner")
            if owner and owner != self.owner and run.state == runs.RUNNING and _alive(owner):
                raise AptuiError("MIGRATE_BUSY", f"aptui process {owner.get('pid')} is applying this plan",
                                 exit_code=Exit.USAGE)
            run.data["owner"] = self.owner
            run.state = runs.RUNNING
            runs.save(ctx.store, run)
            self.journal = runs.journal(ctx.store, run)
            return run
        steps = steps_for(plan)
        return runs.create(ctx.store, plan.id, plan.digest(), str(plan.file or ""), {"steps": steps,
                                                                                     "owner": self.owner})

    def _save(self, run: runs.Run, *, journal: bool = False) -> None:
        runs.save(self.ctx.store, run, journal_doc=self.journal if journal else None)

    def _writer(self) -> Any:
        if self.writer is None:
            from aptui.providers.writers import make_writer
            from aptui.services.connections import provider_options

            config = store_conn.auth(self.ctx.store, self.conn)
            factory = getattr(self.ctx, "writer_factory", None) or make_writer  # tests: a fake backend
            self.writer = factory(self.conn.provider_id, config, provider_options(self.ctx, self.conn.provider_id),
                                  connection_id=self.conn.id)
        return self.writer

    # -- the check that runs first ----------------------------------------------------------------
    def preflight(self, steps: list[dict[str, Any]]) -> None:
        """Sources unchanged since planning (by fingerprint), app values given again, scopes."""
        done = {s["id"] for s in steps if s["status"] == DONE_STEP}
        files = self.journal.get("files", {})
        for s, source in enumerate(self.plan.sources):
            items = [i for i in self.plan.items if i["source"] == s]
            if not items or f"rewrite:{s}" in done:
                continue
            path = FsPath(source["file"])
            data, _fmt, docs = read_source(path)
            entry = files.get(str(s))
            if entry and _sha(data) == entry.get("sha256After"):
                continue  # rewritten before a crash, not marked yet
            for item in items:
                try:
                    value = get(docs[int(item["document"])], tuple(item["path"]))
                except (KeyError, IndexError, TypeError):
                    raise changed(f"{path} {item['location']}: the value is gone since planning") from None
                if not isinstance(value, str) or fingerprint(self.ctx, value) != item["fingerprint"]:
                    raise changed(f"{path} {item['location']}: the value changed since planning")
                self.values[item["id"]] = Secret(value)
        for item in self.plan.app_connections:
            require_scope(self.conn, item["projectId"])
            if f"upsert:{item['id']}" in done:
                continue
            value = read_app_value(item, self.value_reader)
            if fingerprint(self.ctx, value) != item["fingerprint"]:
                raise changed(f"app connection {item['externalId']}: the value given differs from the planned one")
            self.values[item["id"]] = value

    # -- steps ------------------------------------------------------------------------------------
    def _fields(self, secret: str) -> tuple[dict[str, Secret], set[str]]:
        """The values for ``secret`` by key, and the keys the plan allows to overwrite."""
        out: dict[str, Secret] = {}
        overwrite: set[str] = set()
        for item in self.plan.items + self.plan.app_connections:
            if item["target"]["secret"] == secret and item["id"] in self.values:
                out[item["target"]["key"]] = self.values[item["id"]]
                if item.get("overwrite") is True:
                    overwrite.add(item["target"]["key"])
        return out, overwrite

    async def _write(self, run: runs.Run, step: dict[str, Any]) -> str:
        from aptui.providers.writers.base import conflict

        name = step["secret"]
        writer = self._writer()
        if name not in self.current:
            pending = [s["secret"] for s in run.data["steps"] if s["kind"] == "write" and s["status"] != DONE_STEP]
            self.current.update(await writer.read_many(pending))
        current = self.current[name]
        if current.error is not None:
            raise current.error
        fields, overwrite = self._fields(name)
        if not fields:
            raise changed(f"{name}: no value to write (the sources no longer hold them)")
        todo = {}
        for key, value in fields.items():
            there = current.fields.get(key)
            if there is None:
                todo[key] = value
            elif there != value:
                if key not in overwrite:
                    raise conflict(name, f"key {key} already holds another value",
                                   hint="give the item another target.key in the plan, or set \"overwrite\": true "
                                        "on it (the former version is kept for rollback --purge)")
                todo[key] = value
        secrets = self.journal.setdefault("secrets", {})
        if not todo:
            entry = secrets.setdefault(name, {"name": name, "noop": True})
            if not entry.get("noop") and "newVersion" not in entry:  # killed between the write and its record
                entry["newVersion"] = current.version
            self._save(run, journal=True)
            return "already there (no new version)"
        token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"aptui-migrate:{run.id}:{name}"))
        if name not in secrets or secrets[name].get("noop"):
            former = {k: (current.fields[k].reveal() if k in current.fields else None) for k in todo}
            secrets[name] = {"name": name, "created": not current.exists, "previousVersion": current.version,
                             "keys": sorted(todo), "former": former}  # the journal is encrypted
            self._save(run, journal=True)
        receipt = await writer.write(current, todo, token=token)
        _maybe_crash(step["n"], "written")
        secrets[name]["newVersion"] = receipt.new_version
        self._save(run, journal=True)
        self.ctx.audit("migrate.write", f"{self.conn.id}:{name}", "ok",
                       f"keys={','.join(sorted(todo))}; {'created' if receipt.created else 'merged'}")
        return f"{'created' if receipt.created else 'merged into'} {name}: {len(todo)} key(s)"

    async def _resolve(self, refs: list[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
        """Resolve ``(item id, reference, project)`` with no cache; compare fingerprints."""
        from aptui.services.references import RESOLVES, Resolver

        fps = {i["id"]: i["fingerprint"] for i in self.plan.items + self.plan.app_connections}
        rows: list[dict[str, Any]] = []
        by_project: dict[str | None, list[tuple[str, str]]] = {}
        for item_id, ref, project in refs:
            by_project.setdefault(project, []).append((item_id, ref))
        for project, group in by_project.items():
            resolver = Resolver(self.ctx, project_ids=project, use_cache=False)
            results = [resolver.prepare(ref) for _, ref in group]
            await resolver.resolve(results)
            resolver._to_cache = []  # values come back into memory for the comparison only, never the cache
            resolver.commit("migrate.verify", results)
            self.api_calls += resolver.api_calls
            for (item_id, ref), r in zip(group, results, strict=True):
                match = r.verdict == RESOLVES and r.value is not None and fingerprint(self.ctx, r.value) == fps[item_id]
                rows.append({"id": item_id, "reference": ref, "verdict": r.verdict, "match": match,
                             "error": r.error.one_line() if r.error else None})
        return rows

    def _project_of(self, item: dict[str, Any]) -> str | None:
        return item.get("projectId") or self.plan.doc.get("project")

    async def _verify(self, outcome: Outcome) -> str:
        refs = [(i["id"], i["reference"], self._project_of(i)) for i in self.plan.items + self.plan.app_connections]
        rows = await self._resolve(refs)
        outcome.verification = rows
        bad = [r for r in rows if not r["match"]]
        if bad:
            first = bad[0]
            why = first["error"] or ("resolves to a different value" if first["verdict"] == "resolves" else
                                     first["verdict"])
            raise verify_failed(f"{len(bad)} reference(s) do not resolve to their value; first: {first['reference']} "
                                f"({why})")
        return f"{len(rows)} reference(s) resolve to their values (compared by fingerprint)"

    def _backup_dir(self, run: runs.Run) -> FsPath:
        d = self.ctx.paths.data_dir / "migrate-backups" / run.id
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(d.parent, 0o700)
        os.chmod(d, 0o700)
        return d

    async def _rewrite(self, run: runs.Run, step: dict[str, Any], outcome: Outcome) -> str:
        s = step["source"]
        source = self.plan.sources[s]
        path = FsPath(source["file"])
        data, fmt, docs = read_source(path)
        files = self.journal.setdefault("files", {})
        entry = files.get(str(s))
        if entry and _sha(data) == entry.get("sha256After"):
            return "rewritten before a crash; nothing to do"
        items = [i for i in self.plan.items if i["source"] == s]
        replacements = {(int(i["document"]), tuple(i["path"])): i["reference"] for i in items}
        text = data.decode("utf-8")
        new_text, method = rewrite(text, fmt, replacements)
        new = new_text.encode("utf-8")
        backup = self._backup_dir(run) / f"source-{s}.bak"
        blob = self.ctx.store.encrypt(BACKUP_TABLE, run.id, str(s), data)
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        mode = path.stat().st_mode & 0o7777
        files[str(s)] = {"file": str(path), "backup": str(backup), "sha256Before": _sha(data),
                         "sha256After": _sha(new), "mode": mode, "method": method}
        self._save(run, journal=True)
        _atomic_write(path, new, mode)
        outcome.diffs[str(path)] = masked_diff(text, new_text, str(path), docs)
        self.ctx.audit("migrate.rewrite", str(path), "ok", f"{len(items)} value(s); {method}")
        return f"{len(items)} value(s) replaced by references ({method}); backup {backup.name}"

    async def _reverify(self, outcome: Outcome) -> str:
        refs: list[tuple[str, str, str | None]] = []
        for s, source in enumerate(self.plan.sources):
            items = {(int(i["document"]), tuple(i["path"])): i for i in self.plan.items if i["source"] == s}
            if not items:
                continue
            _data, _fmt, docs = read_source(FsPath(source["file"]))
            found = {}
            for d, doc in enumerate(docs):
                for w in walk.iter_walk(doc):
                    if w.kind == walk.REFERENCE and (d, w.path) in items:
                        found[(d, w.path)] = w.value
            for key, item in items.items():
                if found.get(key) != item["reference"]:
                    raise verify_failed(f"{source['file']} {item['location']}: the reference is not where "
                                        "Activepieces resolves it")
                refs.append((item["id"], item["reference"], self._project_of(item)))
        rows = await self._resolve(refs)
        if not outcome.verification:  # a resumed run: the re-verification is the table to show
            outcome.verification = rows
        bad = [r for r in rows if not r["match"]]
        if bad:
            raise verify_failed(f"{len(bad)} reference(s) in the rewritten documents do not resolve to their value")
        return f"{len(rows)} reference(s) in the rewritten documents resolve"

    async def _upsert(self, run: runs.Run, step: dict[str, Any]) -> str:
        from aptui.services import platform

        item = next(a for a in self.plan.app_connections if a["id"] == step["app"])
        profile, project, ext = item.get("profile"), item["projectId"], item["externalId"]
        apps = self.journal.setdefault("apps", {})
        found = await find_app_connection(self.ctx, profile, project, ext)
        if item["id"] not in apps:
            value = self.values.get(item["id"])
            if value is None:
                raise AptuiError("MIGRATE_VALUE_REQUIRED", f"app connection {ext}: its current value is needed",
                                 exit_code=Exit.USAGE)
            apps[item["id"]] = {"externalId": ext, "projectId": project, "profile": profile,
                                "displayName": found.get("displayName"), "pieceName": found.get("pieceName"),
                                "metadata": found.get("metadata"), "formerValue": value.reveal()}
            self._save(run, journal=True)
        await platform.upsert_app_connection(self.ctx, profile, project=project, external_id=ext,
                                             display_name=found.get("displayName") or ext,
                                             piece_name=found.get("pieceName") or "",
                                             value=Secret(item["reference"]), metadata=found.get("metadata"))
        after = await find_app_connection(self.ctx, profile, project, ext)
        if not after.get("usingSecretManager") or after.get("status") != "ACTIVE":
            raise verify_failed(f"app connection {ext}: the platform reports usingSecretManager="
                                f"{bool(after.get('usingSecretManager'))}, status {after.get('status')}")
        return f"{ext} now holds its reference (usingSecretManager, ACTIVE)"

    # -- the loop ---------------------------------------------------------------------------------
    async def run(self) -> Outcome:
        self.ctx.require_writable("migrate apply")
        run = self._claim()
        steps = run.data["steps"]
        outcome = Outcome(run, steps)
        try:
            self.preflight(steps)
            for step in steps:
                if step["status"] == DONE_STEP:
                    continue
                if not self.confirm(step):
                    run.data.pop("owner", None)
                    self._save(run)
                    outcome.error = AptuiError("CANCELLED", f"stopped before step {step['n']} ({step['label']}); "
                                                            "run apply again to resume", exit_code=Exit.FAILED)
                    return outcome
                _maybe_crash(step["n"], "before")
                if self.progress:
                    self.progress(step["n"], len(steps), step)
                try:
                    step["detail"] = await self._do(run, step, outcome)
                except AptuiError as err:
                    step["status"], step["detail"] = FAILED_STEP, err.one_line()
                    run.state = runs.FAILED
                    self._save(run)
                    self.ctx.audit("migrate.step", step["id"], "failed", err.code)
                    outcome.error = err
                    return outcome
                _maybe_crash(step["n"], "after")
                step["status"] = DONE_STEP
                self._save(run)
                if self.progress:
                    self.progress(step["n"], len(steps), step)
            run.state = runs.DONE
            run.data.pop("owner", None)
            self._save(run)
            self.ctx.audit("migrate.apply", self.plan.id, "ok", f"{len(steps)} step(s)")
            return outcome
        finally:
            if self.writer is not None:
                self.api_calls += self.writer.api_calls
                await self.writer.aclose()
            outcome.api_calls = self.api_calls
            self.values.clear()

    async def _do(self, run: runs.Run, step: dict[str, Any], outcome: Outcome) -> str:
        kind = step["kind"]
        if kind == "write":
            return await self._write(run, step)
        if kind == "verify":
            return await self._verify(outcome)
        if kind == "rewrite":
            return await self._rewrite(run, step, outcome)
        if kind == "reverify":
            return await self._reverify(outcome)
        return await self._upsert(run, step)


def _atomic_write(path: FsPath, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.aptui-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def masked_diff(old: str, new: str, name: str, docs: list[Any]) -> str:
    """A unified diff in which every secret-looking value of the document is masked."""
    values = [f.value for d, doc in enumerate(docs) for f in detect.iter_findings(doc, document=d)]
    values += [v for doc in docs for v in _strings(doc) if len(v) >= 8 and detect.high_entropy(v)]
    lines = difflib.unified_diff(redact(old, values).splitlines(keepends=True),
                                 redact(new, values).splitlines(keepends=True), f"{name} (before)", f"{name} (after)",
                                 n=1)
    return "".join(lines)


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


# -- rollback ---------------------------------------------------------------------------------------

async def rollback(ctx: Context, plan: Plan, *, purge: bool = False, force: bool = False,
                   confirm: Confirm | None = None) -> dict[str, Any]:
    """Restore files byte for byte and app connections to their former values; ``purge`` undoes the
    secret writes too (AWS: the previous version; Vault: the previous KV version)."""
    from aptui.services import platform

    ctx.require_writable("migrate rollback")
    run = runs.latest_for_plan(ctx.store, plan.id)
    if run is None:
        raise runs.not_found(plan.id)
    if run.state == runs.ROLLED_BACK:
        return {"run": run.id, "state": run.state, "actions": [], "note": "already rolled back"}
    owner = run.data.get("owner")
    if owner and run.state == runs.RUNNING and _alive(owner) and owner.get("pid") != os.getpid():
        raise AptuiError("MIGRATE_BUSY", f"aptui process {owner.get('pid')} is applying this plan",
                         exit_code=Exit.USAGE)
    journal = runs.journal(ctx.store, run)
    ask = confirm or (lambda step: True)
    actions: list[dict[str, Any]] = []
    for app_id, entry in list(journal.get("apps", {}).items())[::-1]:
        label = f"restore app connection {entry['externalId']} (project {entry['projectId']}) to its former value"
        if entry.get("restored") or not ask({"label": label}):
            continue
        await platform.upsert_app_connection(ctx, entry.get("profile"), project=entry["projectId"],
                                             external_id=entry["externalId"],
                                             display_name=entry.get("displayName") or entry["externalId"],
                                             piece_name=entry.get("pieceName") or "",
                                             value=Secret(entry["formerValue"]), metadata=entry.get("metadata"))
        entry["restored"] = True
        runs.save(ctx.store, run, journal_doc=journal)
        ctx.audit("migrate.rollback", f"app:{entry['projectId']}/{entry['externalId']}", "ok")
        actions.append({"target": f"app connection {entry['externalId']}", "result": "former value restored"})
        del app_id
    for s, entry in sorted(journal.get("files", {}).items()):
        path = FsPath(entry["file"])
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if current is not None and _sha(current) == entry["sha256Before"]:
            actions.append({"target": str(path), "result": "already as before"})
            continue
        if current is not None and _sha(current) != entry["sha256After"] and not force:
            raise AptuiError("MIGRATE_SOURCE_CHANGED", f"{path} changed after the migration rewrote it; not restored",
                             exit_code=Exit.FAILED, hint="pass --force to restore the backup over it")
        if not ask({"label": f"restore {path} from its backup"}):
            continue
        blob = FsPath(entry["backup"]).read_bytes()
        original = ctx.store.cipher.decrypt_bytes(BACKUP_TABLE, run.id, str(s), blob)
        if _sha(original) != entry["sha256Before"]:
            raise AptuiError("MIGRATE_BACKUP_DAMAGED", f"the backup of {path} does not match its digest",
                             exit_code=Exit.FAILED)
        _atomic_write(path, original, int(entry.get("mode") or 0o600))
        ctx.audit("migrate.rollback", str(path), "ok", "restored byte for byte")
        actions.append({"target": str(path), "result": "restored byte for byte"})
    if purge:
        conn = store_conn.find(ctx.store, plan.connection_id)
        from aptui.providers.writers import make_writer
        from aptui.services.connections import provider_options

        factory = getattr(ctx, "writer_factory", None) or make_writer
        writer = factory(conn.provider_id, store_conn.auth(ctx.store, conn), provider_options(ctx, conn.provider_id),
                         connection_id=conn.id)
        try:
            for name, entry in list(journal.get("secrets", {}).items())[::-1]:
                if entry.get("noop") or entry.get("purged") or "newVersion" not in entry:
                    continue
                if not ask({"label": f"undo the write to {name}"}):
                    continue
                result = await writer.restore(entry)
                entry["purged"] = True
                runs.save(ctx.store, run, journal_doc=journal)
                ctx.audit("migrate.purge", f"{conn.id}:{name}", "ok")
                actions.append({"target": name, "result": result})
        finally:
            await writer.aclose()
            from aptui.store.cache import cache_for

            cache_for(ctx.store).invalidate(conn.id)  # cached values of undone writes are stale
    run.state = runs.ROLLED_BACK
    run.data.pop("owner", None)
    runs.save(ctx.store, run, journal_doc=journal)
    ctx.audit("migrate.rollback", plan.id, "ok", f"{len(actions)} action(s); purge={'yes' if purge else 'no'}")
    return {"run": run.id, "state": run.state, "actions": actions, "purged": purge}
