"""Reference parse/test/resolve/scan with Activepieces' order, scope and cache rules.

Per reference, as upstream ``getSecret``: parse (a non-reference passes through unchanged) →
connection lookup with the scope check (``Connection is not accessible``) → config → provider
path validation (``VALIDATION``) → cache → fetch → cache the value. Bulk resolution groups the
uncached paths per connection and calls ``fetch_many`` once per connection, connections in
parallel. The verdict answers "will Activepieces resolve this?"; whatever aptui can do beyond
that (providerId form, KV v1 reads) is a labelled warning. Values leave this module only as
``Secret``; nothing here prints or logs one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from aptui.errors import AptuiError, Exit
from aptui.masking import Secret, mask
from aptui.providers.base import FetchResult
from aptui.providers.fields import PROVIDER_IDS
from aptui.references import grammar, paths, walk
from aptui.references.grammar import (
    BROKEN,
    DIFFERENCE,
    EXTENSION,
    NOT_RESOLVED,
    UPSTREAM_FAILS,
    NotReference,
    Reference,
    RefWarning,
)
from aptui.references.scan import Occurrence, ScanResult
from aptui.references.scan import scan as scan_files
from aptui.services.connections import client_for, ttls
from aptui.services.context import Context
from aptui.store import connections as store_conn
from aptui.store.cache import cache_for
from aptui.store.connections import Connection

RESOLVES = "resolves"
ERROR = "error"
PASSTHROUGH = "passthrough"
NOT_RESOLVED_VERDICT = NOT_RESOLVED  # "not-resolved-by-activepieces"
VALID = "valid"  # offline parse: the reference validates
GET_SECRET_FAILED = "SECRET_MANAGER_GET_SECRET_FAILED"
NOT_ACCESSIBLE = "Connection is not accessible"
CONFIG_INVALID = "Secret manager configuration is not valid"
NOT_FOUND = "No secret found at requested path"
Progress = Callable[[int, int, str], None]


@dataclass
class RefResult:
    """The verdict on one value. ``value`` is set only when a secret was obtained."""

    input: Any
    verdict: str
    reference: Reference | None = None
    provider_id: str | None = None
    connection_id: str | None = None
    connection_name: str | None = None
    parsed: dict[str, Any] | None = None
    value: Secret | None = None
    cached: bool = False
    error: AptuiError | None = None
    detail: str | None = None
    warnings: list[RefWarning] = field(default_factory=list)
    location: str | None = None
    suggested: str | None = None  # the reference text Activepieces needs (providerId form)
    doc_path: tuple[str | int, ...] | None = None  # where in a walked document
    _pending: bool = False

    @property
    def passthrough(self) -> bool:
        """Activepieces returns the value unchanged."""
        return self.verdict in (PASSTHROUGH, NOT_RESOLVED_VERDICT)

    @property
    def activepieces_resolves(self) -> bool | None:
        """Whether Activepieces would replace this value by a secret (None: not a reference)."""
        if self.reference is None:
            return None
        return self.verdict in (RESOLVES, VALID) and self.suggested is None

    @property
    def target(self) -> str:
        """Connection id + path (for the audit log; never a value)."""
        if self.reference is None:
            return "-"
        return grammar.build(self.connection_id or self.reference.connection_id, self.reference.path)

    def warn(self, label: str, message: str) -> None:
        w = RefWarning(label, message)
        if w not in self.warnings:
            self.warnings.append(w)

    def display_input(self) -> Any:
        """The input as safe to show: references and lookalikes as they are, other strings masked."""
        if isinstance(self.input, str) and self.reference is None and not self.warnings:
            return mask(self.input)
        return self.input

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"verdict": self.verdict, "input": self.display_input()}
        if self.location is not None:
            data["location"] = self.location
        if self.reference is not None:
            data["connectionId"] = self.connection_id or self.reference.connection_id
            data["connectionName"] = self.connection_name
            data["providerId"] = self.provider_id
            data["path"] = self.reference.path
            data["parsed"] = self.parsed
            data["activepieces"] = {"resolves": self.activepieces_resolves}
        if self.suggested:
            data["suggested"] = self.suggested
        if self.verdict == PASSTHROUGH or self.verdict == NOT_RESOLVED_VERDICT:
            data["passthrough"] = ("Activepieces returns this value unchanged"
                                   if self.verdict == PASSTHROUGH else
                                   "Activepieces never looks at this value; it stays as written")
        if self.detail:
            data["detail"] = self.detail
        if self.value is not None:
            data["value"] = self.value.reveal() if reveal else self.value.masked()
            data["cached"] = self.cached
        if self.error is not None:
            data["error"] = self.error.to_dict()
        data["warnings"] = [w.to_dict() for w in self.warnings]
        return data


def _not_accessible(connection_id: str, path: str, hint: str | None = None) -> AptuiError:
    return AptuiError(GET_SECRET_FAILED, NOT_ACCESSIBLE, hint=hint,
                      params={"provider": connection_id, "request": {"connectionId": connection_id, "path": path}})


def _project_list(project_ids: str | Iterable[str] | None) -> list[str] | None:
    if project_ids is None:
        return None
    if isinstance(project_ids, str):
        return [project_ids]
    ids = [p for p in project_ids if p]
    return ids or None


def _onepassword_sdk_warning(path: str) -> RefWarning | None:
    """The 1Password SDK's own offline check (stricter than Activepieces' regex)."""
    try:
        from onepassword.secrets import Secrets
    except Exception:
        return None
    try:
        Secrets.validate_secret_reference(path)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return RefWarning(UPSTREAM_FAILS, f"the 1Password SDK rejects this reference ({reason}); "
                                          "Activepieces' format check passes but the fetch will fail")
    return None


class Resolver:
    """Prepares and resolves many values against one snapshot of the connections."""

    def __init__(self, ctx: Context, *, project_ids: str | Iterable[str] | None = None, use_cache: bool = True,
                 sdk_checks: bool = True) -> None:
        self.ctx = ctx
        self.project_ids = _project_list(project_ids)
        self.use_cache = use_cache
        self.sdk_checks = sdk_checks
        self.connections = {c.id: c for c in store_conn.list_all(ctx.store)}
        self.api_calls = 0
        self._to_cache: list[tuple[str, dict[str, Secret], float]] = []

    # -- offline part ---------------------------------------------------------------------------
    def prepare(self, value: Any, *, location: str | None = None, provider_id: str | None = None) -> RefResult:
        """Parse, find the connection (scope), validate the path. ``provider_id`` validates against
        that provider's rules without any connection (offline rule check)."""
        parsed = grammar.parse(value)
        if isinstance(parsed, NotReference):
            return self._passthrough(value, parsed, location)
        ref = parsed
        r = RefResult(value, VALID, reference=ref, location=location,
                      parsed={"connectionId": ref.connection_id, "path": ref.path})
        for w in grammar.reference_warnings(ref):
            r.warn(w.label, w.message)
        if provider_id is None:
            conn = self._connection_for(r)
            if conn is None:
                return r
            provider_id = conn.provider_id
        r.provider_id = provider_id
        try:
            r.parsed.update(paths.split(provider_id, ref.path))  # type: ignore[union-attr]
        except AptuiError as err:
            r.verdict, r.error = ERROR, err
            return r
        for w in paths.path_warnings(provider_id, ref.path):
            r.warn(w.label, w.message)
        if provider_id == "onepassword" and self.sdk_checks:
            w = _onepassword_sdk_warning(ref.path)
            if w is not None:
                r.warn(w.label, w.message)
        return r

    def _passthrough(self, value: Any, parsed: NotReference, location: str | None) -> RefResult:
        r = RefResult(value, PASSTHROUGH, detail=(f"{parsed.code}: {parsed.reason}" if parsed.reason else
                                                  "not a string: Activepieces returns it unchanged"),
                      location=location)
        found = grammar.classify_passthrough(value)
        if found is not None:
            kind, reason = found
            if kind == "partial":
                r.verdict = NOT_RESOLVED_VERDICT
                r.warn(NOT_RESOLVED, reason)
            else:
                r.warn(BROKEN, "looks like a broken reference: " + reason)
        return r

    def _connection_for(self, r: RefResult) -> Connection | None:
        ref = r.reference
        assert ref is not None
        conn = self.connections.get(ref.connection_id)
        if conn is None and ref.connection_id in PROVIDER_IDS:
            candidates = [c for c in self.connections.values()
                          if c.provider_id == ref.connection_id and c.serves(self.project_ids)]
            if len(candidates) > 1:
                names = ", ".join(f"{c.name} ({c.id})" for c in sorted(candidates, key=lambda c: c.name))
                r.verdict = ERROR
                r.error = AptuiError("AMBIGUOUS_PROVIDER_REFERENCE",
                                     f"{ref.connection_id} matches {len(candidates)} connections in scope: {names}",
                                     exit_code=Exit.USAGE, hint="write the connection id instead of the providerId",
                                     params={"candidates": [c.id for c in candidates]})
                r.warn(EXTENSION, "the {{providerId|ap_sep_v1|path}} form is an aptui convenience; Activepieces "
                                  "needs the connection id")
                return None
            if len(candidates) == 1:
                conn = candidates[0]
                r.suggested = grammar.build(conn.id, ref.path)
                r.warn(EXTENSION, f"providerId form: aptui used connection {conn.name} ({conn.id}); Activepieces "
                                  f"needs the connection id and fails on this text with '{NOT_ACCESSIBLE}'")
            else:
                r.verdict = ERROR
                r.error = _not_accessible(ref.connection_id, ref.path,
                                          hint=f"no {ref.connection_id} connection serves this scope")
                r.warn(EXTENSION, "the {{providerId|ap_sep_v1|path}} form is an aptui convenience; Activepieces "
                                  "looks the text up as a connection id")
                return None
        if conn is None:
            hint = "no connection with this id in the local store (`aptui sm list` shows the ids)"
            named = next((c for c in self.connections.values() if c.name == ref.connection_id), None)
            if named is not None:  # the name typed where the id belongs: Activepieces fails too, show the fix
                r.suggested = grammar.build(named.id, ref.path)
                hint = f"{ref.connection_id} is the connection's name; a reference names it by its id, {named.id}"
            r.verdict, r.error = ERROR, _not_accessible(ref.connection_id, ref.path, hint=hint)
            return None
        if not conn.serves(self.project_ids):
            asked = ", ".join(self.project_ids or [])
            r.verdict, r.error = ERROR, _not_accessible(
                ref.connection_id, ref.path,
                hint=f"connection {conn.name} is scoped to projects {', '.join(conn.project_ids)}, not {asked}")
            return None
        r.connection_id, r.connection_name = conn.id, conn.name
        r.parsed["connectionId"] = ref.connection_id  # type: ignore[index]
        if self.project_ids is None and conn.scope == "PROJECT":
            r.warn(DIFFERENCE, "no project given: like Activepieces without a project, every PROJECT-scoped "
                               "connection matches; pass --project to check the scope")
        r._pending = True
        return conn

    # -- live part ------------------------------------------------------------------------------
    async def resolve(self, results: list[RefResult], progress: Progress | None = None) -> None:
        """Fetch every pending result: cache first, then one ``fetch_many`` per connection."""
        pending = [r for r in results if r._pending and r.error is None]
        by_conn: dict[str, list[RefResult]] = {}
        for r in pending:
            by_conn.setdefault(r.connection_id, []).append(r)  # type: ignore[arg-type]
        total = len(pending)
        done = 0

        def tick(n: int, label: str) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total, label)

        async def one(cid: str, items: list[RefResult]) -> None:
            await self._resolve_connection(self.connections[cid], items)
            tick(len(items), self.connections[cid].name)

        await asyncio.gather(*(one(cid, items) for cid, items in by_conn.items()))
        for r in results:
            r._pending = False
            if r.verdict == VALID:
                r.verdict = RESOLVES if r.value is not None and r.error is None else ERROR

    def commit(self, action: str, results: list[RefResult]) -> None:
        """Cache the fetched values, write the audit rows and the cache counters: one transaction."""
        cache = cache_for(self.ctx.store)
        with self.ctx.store.transaction():
            for cid, values, ttl in self._to_cache:
                cache.put_many(cid, values, ttl)
            self._to_cache = []
            _audit(self.ctx, action, results)
            cache.flush()

    async def _resolve_connection(self, conn: Connection, items: list[RefResult]) -> None:
        cache = cache_for(self.ctx.store)
        try:
            config = store_conn.auth(self.ctx.store, conn)
        except AptuiError as err:
            for r in items:
                if err.exit_code == Exit.STORE:  # tampered or damaged: the store's own code, nothing used
                    r.error = err
                    continue
                r.error = AptuiError(GET_SECRET_FAILED, CONFIG_INVALID, hint=err.message,
                                     params={"provider": conn.provider_id,
                                             "request": {"connectionId": conn.id, "path": r.reference.path}})
            return
        wanted = list(dict.fromkeys(r.reference.path for r in items))  # type: ignore[union-attr]
        hits = cache.get_many(conn.id, wanted) if self.use_cache else {}
        missing = [p for p in wanted if p not in hits]
        fetched: dict[str, FetchResult] = {}
        failure: AptuiError | None = None
        if missing:
            provider, owned = await client_for(self.ctx, conn.provider_id, config, connection_id=conn.id)
            before = int(getattr(provider, "api_calls", 0) or 0)
            try:
                fetched = await provider.fetch_many(missing)
            except AptuiError as err:
                failure = err
            except Exception as exc:  # a provider bug: type name only, never its text
                failure = AptuiError(GET_SECRET_FAILED, f"fetch failed ({type(exc).__name__})")
            finally:
                if owned:
                    with contextlib.suppress(Exception):
                        await provider.aclose()
                self.api_calls += int(getattr(provider, "api_calls", 0) or 0) - before
        to_cache: dict[str, Secret] = {}
        for r in items:
            path = r.reference.path  # type: ignore[union-attr]
            if path in hits:
                r.value, r.cached = hits[path], True
                continue
            if failure is not None:
                r.error = failure
                self._tls_note(r, conn)
                continue
            fr = fetched.get(path)
            if fr is None:
                r.error = AptuiError(GET_SECRET_FAILED, f"[{path}] no answer from the provider client")
                continue
            self._apply(r, conn, fr)
            if r.error is None and r.value is not None and fr.upstream_ok:
                to_cache[path] = r.value
        if to_cache:
            self._to_cache.append((conn.id, to_cache, ttls(self.ctx, conn)[0]))

    def _tls_note(self, r: RefResult, conn: Connection) -> None:
        if conn.provider_id == "cyberark-conjur" and r.error is not None and _tls_related(r.error.message):
            r.warn(DIFFERENCE, "Activepieces does not verify Conjur's TLS certificate, aptui does: upstream may "
                               "still connect (set providers.conjur_verify_tls = false to match it)")

    def _apply(self, r: RefResult, conn: Connection, fr: FetchResult) -> None:
        path = r.reference.path  # type: ignore[union-attr]
        for note in fr.notes:
            r.warn(EXTENSION if not fr.upstream_ok else DIFFERENCE, note)
        if fr.error is not None:
            r.error = fr.error
            if fr.value is not None:
                r.value = fr.value
                r.warn(EXTENSION, "aptui could read a value here; Activepieces cannot (value shown only with "
                                  "--reveal)")
            self._tls_note(r, conn)
            return
        if fr.value is None:
            r.error = AptuiError(GET_SECRET_FAILED, f"[{path}] {NOT_FOUND}")
            return
        r.value = fr.value
        if not fr.upstream_ok:
            message = NOT_FOUND if conn.provider_id == "hashicorp" else "Activepieces cannot read this value"
            r.error = AptuiError(GET_SECRET_FAILED, f"[{path}] {message}",
                                 params={"provider": conn.provider_id,
                                         "request": {"connectionId": conn.id, "path": path}})
            r.warn(EXTENSION, "aptui read this value (see the note above); Activepieces fails on it")


def _tls_related(message: str) -> bool:
    text = message.lower()
    return "tls" in text or "ssl" in text or "certificate" in text


# -- use cases ------------------------------------------------------------------------------------------

def parse_reference(ctx: Context, value: Any, *, provider_id: str | None = None,
                    project_ids: str | Iterable[str] | None = None) -> RefResult:
    """Offline: grammar, connection lookup in the local store (scope), per-provider path rules."""
    return Resolver(ctx, project_ids=project_ids).prepare(value, provider_id=provider_id)


def _audit(ctx: Context, action: str, results: list[RefResult]) -> None:
    """One audit row per distinct (connection + path, outcome), all in one transaction."""
    from aptui.store import audit as audit_log

    seen: dict[tuple[str, str], None] = {}
    for r in results:
        if r.reference is None:
            continue
        outcome = ("cached" if r.cached else "ok") if r.verdict == RESOLVES else \
            (r.error.code if r.error else r.verdict)
        seen.setdefault((r.target, outcome))
    audit_log.append_many(ctx.store, [(action, target, outcome, None) for target, outcome in seen])


async def test_reference(ctx: Context, value: Any, *, project_ids: str | Iterable[str] | None = None,
                         use_cache: bool = True) -> RefResult:
    """Live: the verdict Activepieces would give, with the value (masked unless revealed)."""
    resolver = Resolver(ctx, project_ids=project_ids, use_cache=use_cache)
    result = resolver.prepare(value)
    await resolver.resolve([result])
    resolver.commit("ref.test", [result])
    return result


async def resolve_values(ctx: Context, values: list[tuple[str | None, Any]], *,
                         project_ids: str | Iterable[str] | None = None, use_cache: bool = True,
                         progress: Progress | None = None, action: str = "ref.resolve") -> list[RefResult]:
    """Bulk: ``(location, value)`` pairs → results in the same order."""
    resolver = Resolver(ctx, project_ids=project_ids, use_cache=use_cache)
    results = [resolver.prepare(v, location=loc) for loc, v in values]
    await resolver.resolve(results, progress)
    resolver.commit(action, results)
    return results


@dataclass
class DocumentReport:
    items: list[RefResult]
    document: Any
    api_calls: int = 0

    def resolved_document(self) -> Any:
        """The document as Activepieces would hand it over (values revealed: caller's choice)."""
        values = {r.doc_path: r.value.reveal() for r in self.items
                  if r.verdict == RESOLVES and r.value is not None and r.doc_path is not None}
        return walk.substitute(self.document, values)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {RESOLVES: 0, ERROR: 0, PASSTHROUGH: 0, NOT_RESOLVED_VERDICT: 0, "cached": 0}
        for r in self.items:
            out[r.verdict] = out.get(r.verdict, 0) + 1
            out["cached"] += int(r.cached)
        return out


async def resolve_document(ctx: Context, doc: Any, *, project_ids: str | Iterable[str] | None = None,
                           use_cache: bool = True, progress: Progress | None = None) -> DocumentReport:
    """Walk a JSON document as Activepieces' ``resolveObject`` and resolve every reference in it."""
    resolver = Resolver(ctx, project_ids=project_ids, use_cache=use_cache)
    results: list[RefResult] = []
    for item in walk.iter_walk(doc):
        if item.kind == walk.REFERENCE:
            r = resolver.prepare(item.value, location=item.json_path)
        else:
            r = RefResult(item.value, NOT_RESOLVED_VERDICT if item.kind == walk.NOT_RESOLVED else PASSTHROUGH,
                          location=item.json_path, detail=item.reason)
            r.warn(NOT_RESOLVED if item.kind == walk.NOT_RESOLVED else BROKEN,
                   item.reason if item.kind == walk.NOT_RESOLVED else "looks like a broken reference: "
                   + (item.reason or ""))
            if item.reference is not None:
                r.reference = item.reference
                r.parsed = {"connectionId": item.reference.connection_id, "path": item.reference.path}
        r.doc_path = item.path
        results.append(r)
    await resolver.resolve(results, progress)
    resolver.commit("ref.resolve", results)
    return DocumentReport(results, doc, resolver.api_calls)


@dataclass
class ScanReport:
    scan: ScanResult
    findings: list[tuple[Occurrence, RefResult]]
    unique: int

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {RESOLVES: 0, ERROR: 0, PASSTHROUGH: 0, NOT_RESOLVED_VERDICT: 0}
        for _, r in self.findings:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out


async def scan_references(ctx: Context, roots: list[FsPath], *, project_ids: str | Iterable[str] | None = None,
                          test: bool = True, progress: Progress | None = None) -> ScanReport:
    """Find references in files and test each distinct one once (grouped per connection)."""
    result = scan_files(roots, progress=(lambda d, t, f: progress(d, t, f"scan {f}")) if progress else None)
    resolver = Resolver(ctx, project_ids=project_ids)
    unique: dict[str, RefResult] = {}
    findings: list[tuple[Occurrence, RefResult]] = []
    for occ in result.occurrences:
        item = occ.item
        if item.kind == walk.REFERENCE:
            r = unique.get(item.value)
            if r is None:
                r = unique[item.value] = resolver.prepare(item.value)
        else:
            r = RefResult(item.value, NOT_RESOLVED_VERDICT if item.kind == walk.NOT_RESOLVED else PASSTHROUGH,
                          detail=item.reason)
            r.warn(NOT_RESOLVED if item.kind == walk.NOT_RESOLVED else BROKEN,
                   item.reason if item.kind == walk.NOT_RESOLVED else "looks like a broken reference: "
                   + (item.reason or ""))
            r.reference = item.reference
        findings.append((occ, r))
    if test:
        await resolver.resolve(list(unique.values()),
                               (lambda d, t, label: progress(d, t, f"test {label}")) if progress else None)
        resolver.commit("ref.scan", list(unique.values()))
    return ScanReport(result, findings, len(unique))
