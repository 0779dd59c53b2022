"""Rotation items: every credential aptui knows, when it was last rotated, and when it is due.

Item ids (stable, readable, accepted by ``rotation mark``/``rotate`` and ``incident start``):
- ``sm:<connection name>``: the credential of a secret-manager connection (kind = its provider);
- ``profile:<name>``: a profile's Activepieces API key (kind ``activepieces-api-key``);
- ``mcp:<profile>/<project id>``: a project's MCP server token (kind ``mcp-token``);
- ``aws-secret:<connection name>/<secret name>``: an AWS secret referenced through a connection.

Dates come from the provider where it can tell (``observed:<api>``, high confidence): IAM
ListAccessKeys ``CreateDate`` of the connection's own key, Vault's secret-id lookup
(``creation_time``/``expiration_time``), DescribeSecret/ListSecretVersionIds for AWS secrets, the
MCP server's ``created``/``updated``, the platform's ``GET /v1/api-keys`` entry of a profile's own
key (matched on its last four characters). Otherwise it is the date aptui last saw the credential set or
rotated (``recorded``: medium when aptui did it, low when an operator marked it). A lookup that
fails never fails the list: the item keeps its recorded date and a note says why.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aptui import clock
from aptui.clock import iso, parse_iso
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import mask, shown
from aptui.providers.fields import PROVIDER_IDS, PROVIDERS
from aptui.services.context import Context
from aptui.store import connections as store_conn
from aptui.store import profiles as store_profiles
from aptui.store import rotation as store_rot
from aptui.store.connections import Connection

API_KEY, MCP_TOKEN, AWS_SECRET = "activepieces-api-key", "mcp-token", "aws-secret"
KINDS = (*PROVIDER_IDS, API_KEY, MCP_TOKEN, AWS_SECRET)
OVERDUE, DUE_SOON, OK, UNKNOWN = "overdue", "due soon", "ok", "unknown"
STATES = (OVERDUE, DUE_SOON, OK, UNKNOWN)
HIGH, MEDIUM, LOW, NONE = "high", "medium", "low", "none"
RECORDED = "recorded"
# Lookup outcomes, counted per list: exit 4 when every attempted lookup was unreachable.
LOOKUP_OK, LOOKUP_DENIED, LOOKUP_UNREACHABLE, LOOKUP_FAILED, LOOKUP_NONE = (
    "observed", "denied", "unreachable", "failed", "none")
KIND_LABEL = {"aws": "AWS access key", "hashicorp": "Vault AppRole secret ID", "cyberark-conjur": "Conjur API key",
              "onepassword": "1Password service-account token", API_KEY: "Activepieces API key",
              MCP_TOKEN: "MCP server token", AWS_SECRET: "AWS secret"}
# How `rotation rotate` handles a kind: provider-assisted, a new value from a hidden prompt, the platform API.
HOW = {"aws": "assisted", "hashicorp": "assisted", "cyberark-conjur": "prompt", "onepassword": "prompt",
       API_KEY: "assisted", MCP_TOKEN: "platform", AWS_SECRET: "mark"}


@dataclass
class Item:
    """One credential and its rotation state."""

    id: str
    kind: str
    label: str
    record_key: str
    policy: float
    last_rotated: datetime | None = None
    source: str | None = None
    confidence: str = NONE
    due: datetime | None = None
    expires: datetime | None = None
    state: str = UNKNOWN
    notes: list[str] = field(default_factory=list)
    lookup: str = LOOKUP_NONE
    connection_id: str | None = None
    profile_id: str | None = None
    profile: str | None = None
    project_id: str | None = None
    secret_name: str | None = None
    pending: bool = False

    @property
    def how(self) -> str:
        return HOW.get(self.kind, "mark")

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "policySeconds": self.policy,
                "policyDays": round(self.policy / 86400, 2),
                "lastRotated": iso(self.last_rotated) if self.last_rotated else None, "source": self.source,
                "confidence": self.confidence, "due": iso(self.due) if self.due else None,
                "expires": iso(self.expires) if self.expires else None, "state": self.state,
                "notes": list(self.notes), "lookup": self.lookup, "rotate": self.how,
                "rotationInProgress": self.pending}


@dataclass
class RotationReport:
    items: list[Item]
    now: datetime
    due_soon: float
    lookups: Counter = field(default_factory=Counter)
    hidden: int = 0  # items left out by --due-within / --state
    overdue_any: bool = False  # overdue among the items in scope (kinds), shown or not

    def counts(self) -> dict[str, int]:
        c = Counter(i.state for i in self.items)
        return {s: c.get(s, 0) for s in STATES}

    @property
    def overdue(self) -> bool:
        return self.overdue_any or any(i.state == OVERDUE for i in self.items)

    @property
    def all_unreachable(self) -> bool:
        attempted = sum(v for k, v in self.lookups.items() if k != LOOKUP_NONE)
        return attempted > 0 and self.lookups.get(LOOKUP_UNREACHABLE, 0) == attempted

    def exit_code(self) -> int:
        """1 when anything is overdue; else 4 when every provider lookup was unreachable; else 0."""
        if self.overdue:
            return Exit.FAILED
        if self.all_unreachable:
            return Exit.UNREACHABLE
        return Exit.OK

    def to_dict(self) -> dict[str, Any]:
        return {"ok": not self.overdue, "now": iso(self.now), "dueSoonSeconds": self.due_soon,
                "counts": self.counts(), "lookups": dict(self.lookups), "hidden": self.hidden,
                "items": [i.to_dict() for i in self.items]}


# -- dates -----------------------------------------------------------------------------------------

def relative(dt: datetime | None, *, due: bool = False, now: datetime | None = None) -> str:
    """``in 84d`` / ``27d late`` for a due date, ``5d ago`` otherwise; ``—`` for None."""
    from aptui.clock import human_age

    if dt is None:
        return "—"
    delta = (dt - (now or clock.utc_now())).total_seconds()
    if due:
        return f"in {human_age(delta)}" if delta >= 0 else f"{human_age(-delta)} late"
    return f"{human_age(max(0.0, -delta))} ago"


def short_source(source: str | None) -> str:
    """``obs:ListAccessKeys`` for ``observed:iam.ListAccessKeys``; ``recorded`` as is (narrow tables)."""
    if not source:
        return "—"
    if source.startswith("observed:"):
        return "obs:" + source.removeprefix("observed:").rsplit(".", 1)[-1]
    return source


def _as_utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        from datetime import UTC

        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


def finish(item: Item, now: datetime, due_soon: float) -> Item:
    """Compute ``due`` (unless the provider gave one) and ``state``."""
    if item.due is None and item.last_rotated is not None:
        item.due = item.last_rotated + timedelta(seconds=item.policy)
    if item.expires is not None and (item.due is None or item.expires < item.due):
        item.due = item.expires
        item.note(f"hard expiry {iso(item.expires)}: the provider rejects it after that")
    if item.due is None:
        item.state = UNKNOWN
    elif item.due <= now:
        item.state = OVERDUE
    elif (item.due - now).total_seconds() <= due_soon:
        item.state = DUE_SOON
    else:
        item.state = OK
    return item


def _apply_record(item: Item, rec: store_rot.Record | None, fallback: str | None = None,
                  fallback_note: str | None = None) -> None:
    """Use aptui's own record (or a fallback date) as a *recorded* date."""
    if rec is not None:
        item.last_rotated = _as_utc(rec.at)
        item.source = RECORDED
        item.confidence = LOW if rec.source == store_rot.MARKED else MEDIUM
        what = "marked rotated by an operator" if rec.source == store_rot.MARKED else f"{rec.event} in aptui"
        item.note(f"recorded: {what}" + (f" ({rec.note})" if rec.note else ""))
        return
    if fallback:
        item.last_rotated = _as_utc(fallback)
        item.source = RECORDED
        item.confidence = MEDIUM
        if fallback_note:
            item.note(fallback_note)


def _observed(item: Item, when: datetime | None, api: str, confidence: str = HIGH,
              rec: store_rot.Record | None = None) -> None:
    """A provider-observed date; a newer operator mark is reported, not trusted over it."""
    when = _as_utc(when)
    if when is None:
        return
    if rec is not None and rec.source == store_rot.MARKED and _as_utc(rec.at) and _as_utc(rec.at) > when:
        item.note(f"marked rotated on {rec.at[:10]}, but {api} still reports {iso(when)[:10]}: the stored "
                  "credential was not replaced")
    item.last_rotated, item.source, item.confidence = when, f"observed:{api}", confidence
    item.lookup = LOOKUP_OK


def _lookup_failed(item: Item, err: BaseException, what: str) -> None:
    if isinstance(err, AptuiError):
        if err.exit_code == Exit.UNREACHABLE:
            item.lookup = LOOKUP_UNREACHABLE
        elif getattr(err, "denied", False):
            item.lookup = LOOKUP_DENIED
        else:
            item.lookup = LOOKUP_FAILED
        reason = f"{err.code}: {err.message}"
    elif isinstance(err, TimeoutError):
        item.lookup, reason = LOOKUP_UNREACHABLE, "timed out"
    else:
        item.lookup, reason = LOOKUP_FAILED, f"unexpected {type(err).__name__}"
    fallback = "falling back to the recorded date" if item.last_rotated else "no recorded date either"
    item.note(f"{what} failed ({reason}); {fallback}")


# -- item ids ---------------------------------------------------------------------------------------

def sm_item_id(conn: Connection) -> str:
    return f"sm:{conn.name}"


def mcp_key(profile_id: str, project_id: str) -> str:
    return f"mcp:{profile_id}/{project_id}"


def aws_secret_key(connection_id: str, secret: str) -> str:
    return f"aws-secret:{connection_id}/{secret}"


def _connection_item(ctx: Context, conn: Connection) -> Item:
    item_id = sm_item_id(conn)
    label = f"{KIND_LABEL.get(conn.provider_id, 'credential')} of connection {conn.name}"
    return Item(item_id, conn.provider_id, label, conn.id, ctx.settings.policy_for(conn.provider_id, item_id),
                connection_id=conn.id)


def _profile_item(ctx: Context, prof: store_profiles.Profile) -> Item:
    item_id = f"profile:{prof.name}"
    return Item(item_id, API_KEY, f"Activepieces API key of profile {prof.name}", prof.id,
                ctx.settings.policy_for(API_KEY, item_id), profile_id=prof.id, profile=prof.name)


def _mcp_item(ctx: Context, prof: store_profiles.Profile, project_id: str) -> Item:
    item_id = f"mcp:{prof.name}/{project_id}"
    return Item(item_id, MCP_TOKEN, f"MCP token of project {project_id} ({prof.name})", mcp_key(prof.id, project_id),
                ctx.settings.policy_for(MCP_TOKEN, item_id), profile_id=prof.id, profile=prof.name,
                project_id=project_id)


def _aws_secret_item(ctx: Context, conn: Connection, secret: str) -> Item:
    item_id = f"aws-secret:{conn.name}/{secret}"
    return Item(item_id, AWS_SECRET, f"AWS secret {secret} (connection {conn.name})", aws_secret_key(conn.id, secret),
                ctx.settings.policy_for(AWS_SECRET, item_id), connection_id=conn.id, secret_name=secret)


HINT = "item ids: sm:<connection>, profile:<name>, mcp:<profile>/<project id>, aws-secret:<connection>/<secret>"


def find_item(ctx: Context, item_id: str) -> Item:
    """The item for an id (offline: no provider lookup, recorded date only)."""
    text = (item_id or "").strip()
    if not text:
        raise usage("empty item id", hint=HINT)
    store = ctx.store
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("sm", "profile", "mcp", "aws-secret"):
        conn = store_conn.get(store, text) or store_conn.by_name(store, text)
        if conn is not None:
            return _with_record(ctx, _connection_item(ctx, conn), conn)
        raise usage(f"unknown rotation item {shown(text)!r}", code="ENTITY_NOT_FOUND", hint=HINT)
    if kind == "sm":
        conn = store_conn.by_name(store, rest) or store_conn.get(store, rest)
        if conn is None:
            raise _missing(text, "secret-manager connection", "aptui sm list")
        return _with_record(ctx, _connection_item(ctx, conn), conn)
    if kind == "profile":
        prof = store_profiles.get(store, rest)
        if prof is None:
            raise _missing(text, "profile", "aptui profile list")
        return _with_record(ctx, _profile_item(ctx, prof))
    if kind == "mcp":
        name, slash, project = rest.partition("/")
        prof = store_profiles.get(store, name) if slash else None
        if prof is None or not project:
            raise _missing(text, "profile/project", "aptui rotation list")
        return _with_record(ctx, _mcp_item(ctx, prof, project))
    for conn in sorted(store_conn.list_all(store, provider_id="aws"), key=lambda c: -len(c.name)):
        if rest.startswith(conn.name + "/") and len(rest) > len(conn.name) + 1:
            return _with_record(ctx, _aws_secret_item(ctx, conn, rest[len(conn.name) + 1:]))
    raise _missing(text, "AWS connection/secret", "aptui rotation list")


def _missing(item_id: str, what: str, where: str) -> AptuiError:
    item_id = shown(item_id)  # a credential typed where the item id belongs is not repeated
    return AptuiError("ENTITY_NOT_FOUND", f"no {what} for rotation item {item_id!r}", exit_code=Exit.USAGE,
                      hint=f"see `{where}`; {HINT}", params={"entityType": "RotationItem", "entityId": item_id})


def _with_record(ctx: Context, item: Item, conn: Connection | None = None) -> Item:
    recs = store_rot.latest_by_item(ctx.store)
    _recorded(ctx, item, recs, conn)
    item.pending = item.record_key in store_rot.active_items(ctx.store)
    return finish(item, clock.utc_now(), ctx.settings.due_soon)


def _recorded(ctx: Context, item: Item, recs: dict[str, store_rot.Record], conn: Connection | None = None,
              mcp_audit: dict[str, str] | None = None) -> None:
    rec = recs.get(item.record_key)
    if item.kind in PROVIDERS:
        if conn is None:
            conn = store_conn.get(ctx.store, item.connection_id or "")
        fallback = (conn.credential_set_at or conn.created) if conn else None
        _apply_record(item, rec, fallback, "recorded: the date the credential was stored in aptui")
    elif item.kind == API_KEY:
        prof = store_profiles.get(ctx.store, item.profile_id or "")
        if prof is not None and not prof.has_key:
            item.note("no key stored: the profile uses $AP_API_KEY, whose age aptui cannot see")
            _apply_record(item, rec if rec and rec.source == store_rot.MARKED else None)
        else:
            _apply_record(item, rec, prof.api_key_set_at if prof else None, "recorded: the date the key was stored")
    elif item.kind == MCP_TOKEN:
        audited = (mcp_audit or {}).get(item.project_id or "")
        if audited and (rec is None or audited > rec.at):
            rec = store_rot.Record(item.record_key, MCP_TOKEN, store_rot.ROTATED, audited, store_rot.RECORDED,
                                   "rotated through aptui (audit log)")
        _apply_record(item, rec)
    else:
        _apply_record(item, rec)


# -- discovery ----------------------------------------------------------------------------------------

def known_aws_secrets(ctx: Context, conn: Connection) -> list[str]:
    """Secret names aptui has seen resolve through ``conn``: cache entries, successful reference audit
    rows, and rotation records (a reference that never resolved, a typo, is no credential to track)."""
    from aptui.references import grammar

    names: set[str] = set()
    for row in ctx.store.query("SELECT path FROM cache_entries WHERE connection_id = ?", (conn.id,)):
        names.add(str(row["path"]).split(":", 1)[0])
    for row in ctx.store.query("SELECT DISTINCT target FROM audit_log WHERE action LIKE 'ref.%' "
                               "AND outcome IN ('ok', 'cached') AND target LIKE ?",
                               ("%" + conn.id + "%",)):
        parsed = grammar.parse(row["target"])
        if isinstance(parsed, grammar.Reference) and parsed.connection_id == conn.id and ":" in parsed.path:
            names.add(parsed.path.split(":", 1)[0])
    prefix = aws_secret_key(conn.id, "")
    for key in store_rot.items_of_kind(ctx.store, AWS_SECRET):
        if key.startswith(prefix):
            names.add(key[len(prefix):])
    return sorted(n for n in names if n)


def _mcp_audit(ctx: Context) -> dict[str, str]:
    """Latest successful ``platform.mcp.rotate`` per project, from the audit log."""
    rows = ctx.store.query("SELECT target, MAX(at) AS at FROM audit_log WHERE action = 'platform.mcp.rotate' "
                           "AND outcome = 'ok' GROUP BY target")
    return {r["target"]: r["at"] for r in rows}


# -- provider lookups -----------------------------------------------------------------------------------

def _options(ctx: Context, provider_id: str):
    from aptui.services.connections import provider_options

    return provider_options(ctx, provider_id)


async def _lookup_aws_key(ctx: Context, item: Item, config: dict[str, str], rec) -> None:
    from aptui.providers.aws_iam import INACTIVE, AwsIam

    iam = AwsIam(config, _options(ctx, "aws"))
    try:
        keys = await iam.list_access_keys()
    finally:
        await iam.aclose()
    mine = next((k for k in keys if k.key_id == config.get("accessKeyId")), None)
    if mine is None:
        item.lookup = LOOKUP_FAILED
        item.note(f"iam:ListAccessKeys does not list the stored key {mask(config.get('accessKeyId', ''))} for "
                  "this user; using the recorded date")
        return
    _observed(item, mine.created, "iam.ListAccessKeys", rec=rec)
    if mine.status == INACTIVE:
        item.note("the stored key is Inactive in IAM: Activepieces cannot use it")
    if len(keys) > 1:
        item.note(f"the IAM user has {len(keys)} access keys (limit 2): assisted rotation needs a free slot")


async def _lookup_vault(ctx: Context, item: Item, config: dict[str, str], rec) -> None:
    from aptui.providers.vault_approle import VaultAppRole

    client = VaultAppRole(config, _options(ctx, "hashicorp"))
    try:
        login = await client.login()
        role = login.role_name
        if not role:
            role = ((await client.lookup_self(login.token)).get("meta") or {}).get("role_name")
        if not role:
            item.lookup = LOOKUP_FAILED
            item.note("Vault did not name the AppRole (no role_name in the login or token metadata)")
            return
        info = await client.lookup_secret_id(login.token, role)
    finally:
        await client.aclose()
    if info is None:
        item.lookup = LOOKUP_FAILED
        item.note(f"Vault does not know the stored secret ID of role {role}")
        return
    _observed(item, info.created, "vault.secret-id-lookup", rec=rec)
    item.expires = info.expires


async def _lookup_aws_secret(ctx: Context, item: Item, config: dict[str, str]) -> None:
    from aptui.providers.aws_iam import AwsIam

    iam = AwsIam(config, _options(ctx, "aws"))
    try:
        meta = await iam.describe_secret(item.secret_name or "")
        if meta.get("LastRotatedDate"):
            _observed(item, meta.get("LastRotatedDate"), "secretsmanager.DescribeSecret")
        else:
            created = await iam.current_version_created(item.secret_name or "")
            if created is not None:
                _observed(item, created, "secretsmanager.ListSecretVersionIds")
            else:
                _observed(item, meta.get("CreatedDate"), "secretsmanager.DescribeSecret", MEDIUM)
                item.note("date of creation: the current version's date is unknown")
    finally:
        await iam.aclose()
    if meta.get("RotationEnabled"):
        days = (meta.get("RotationRules") or {}).get("AutomaticallyAfterDays")
        nxt = _as_utc(meta.get("NextRotationDate"))
        if nxt is not None:
            item.due = nxt
        item.note("rotated by AWS Secrets Manager" + (f" every {days} days" if days else ""))
    elif meta.get("RotationEnabled") is False:
        item.note("automatic rotation is off in AWS Secrets Manager")


async def _lookup_mcp(ctx: Context, profile: store_profiles.Profile, items: dict[str, Item],
                      recs: dict[str, store_rot.Record], audit: dict[str, str]) -> None:
    """List the profile's MCP servers and date their tokens (adds items to ``items``)."""
    from aptui.services import platform

    servers = await platform.mcp_servers(ctx, profile)
    for server in servers:
        pid = str(server.get("projectId") or "")
        if not pid:
            continue
        item = items.get(f"mcp:{profile.name}/{pid}")
        if item is None:
            item = items[f"mcp:{profile.name}/{pid}"] = _mcp_item(ctx, profile, pid)
            _recorded(ctx, item, recs, mcp_audit=audit)
        if "error" in server:
            item.lookup = LOOKUP_FAILED
            item.note(f"MCP server not readable ({server['error'].get('code')})")
            continue
        _date_mcp(item, server)


def _date_mcp(item: Item, server: dict[str, Any]) -> None:
    created, updated = _as_utc(server.get("created")), _as_utc(server.get("updated"))
    item.lookup = LOOKUP_OK
    if created is None:
        return
    if updated is None or updated <= created:
        item.last_rotated, item.source, item.confidence = created, "observed:mcp.created", HIGH
        item.notes = [n for n in item.notes if not n.startswith("recorded")]
        item.note("never rotated since the server was created (created = updated)")
        return
    recorded = item.last_rotated
    if recorded is not None and created <= recorded <= updated + timedelta(seconds=5):
        item.confidence = MEDIUM
        item.note(f"server updated {iso(updated)[:16]}; the recorded rotation is consistent with it")
        return
    item.last_rotated, item.source, item.confidence = created, "observed:mcp.created", LOW
    item.note(f"server updated {iso(updated)[:16]}: the token may have been rotated then (or tools changed); "
              "the creation date is used, so the due date is early rather than late")


async def _lookup_api_key(ctx: Context, item: Item, profile: store_profiles.Profile, rec) -> None:
    """Date a profile's API key from the platform's key list (matched on its last 4 characters)."""
    from aptui.activepieces.client import ApiError
    from aptui.services import platform

    try:
        found = await platform.own_api_key(ctx, profile)
    except ApiError as err:
        if err.code in ("USER_SESSION_REQUIRED", "SESSION_EXPIRED"):
            item.note(f"GET /v1/api-keys needs a signed-in platform admin (aptui profile login {profile.name}): "
                      "recorded date")
            return
        if err.status == 403:
            item.lookup = LOOKUP_DENIED
            item.note(f"GET /v1/api-keys denied ({err.code}): recorded date")
            return
        if err.status in (402, 404):  # FEATURE_DISABLED, or a platform without the API-key module
            item.note(f"the platform does not list API keys ({err.code}): recorded date")
            return
        raise
    matches, listed = found["matches"], found["keys"]
    if not matches:
        item.note(f"the key is not among the platform's {listed} API key(s) (revoked, or not a platform key): "
                  "recorded date")
        return
    oldest = min(matches, key=lambda m: _as_utc(m.get("created")) or clock.utc_now())
    api = "activepieces.api-keys"
    if len(matches) == 1:
        _observed(item, oldest.get("created"), api, rec=rec)
    else:
        _observed(item, oldest.get("created"), api, LOW, rec)
        item.note(f"{len(matches)} platform API keys end in the same 4 characters: the oldest creation date is "
                  "used, so the due date is early rather than late")
    # (lastUsedAt is not shown: the platform stamps it on every use, this listing included)
    item.note(f"platform API key '{oldest.get('displayName')}' ({oldest.get('id')})")


async def _bounded(coro, seconds: float):
    return await asyncio.wait_for(coro, seconds)


async def list_items(ctx: Context, *, offline: bool = False, now: datetime | None = None,
                     due_within: float | None = None, states: list[str] | None = None,
                     kinds: list[str] | None = None, profile: str | None = None,
                     progress: Callable[[int, int], None] | None = None) -> RotationReport:
    """Every credential with its due date, sorted by due date (unknown last).

    Provider lookups run concurrently, each with a time limit; one failing item never fails the
    list. ``offline`` uses recorded dates only. ``due_within`` keeps items due within that many
    seconds (overdue included); ``states``/``kinds`` filter too.
    """
    now = now or clock.utc_now()
    store = ctx.store
    recs = store_rot.latest_by_item(store)
    pending = store_rot.active_items(store)
    audit = _mcp_audit(ctx)
    items: dict[str, Item] = {}
    jobs: list[tuple[Item, Any]] = []
    conns = store_conn.list_all(store)
    for conn in conns:
        item = items[sm_item_id(conn)] = _connection_item(ctx, conn)
        _recorded(ctx, item, recs, conn)
        if not offline and conn.provider_id in ("aws", "hashicorp"):
            jobs.append((item, ("key", conn)))
        elif conn.provider_id not in ("aws", "hashicorp"):
            item.note("the provider does not report credential ages: recorded date")
        if conn.provider_id == "aws":
            for secret in known_aws_secrets(ctx, conn):
                s_item = items[f"aws-secret:{conn.name}/{secret}"] = _aws_secret_item(ctx, conn, secret)
                _recorded(ctx, s_item, recs)
                if not offline:
                    jobs.append((s_item, ("secret", conn)))
    profiles = store_profiles.list_all(store)
    for prof in profiles:
        item = items[f"profile:{prof.name}"] = _profile_item(ctx, prof)
        _recorded(ctx, item, recs)
        prefix = f"mcp:{prof.id}/"
        for key in store_rot.items_of_kind(store, MCP_TOKEN):
            if key.startswith(prefix):
                m_item = items[f"mcp:{prof.name}/{key[len(prefix):]}"] = _mcp_item(ctx, prof, key[len(prefix):])
                _recorded(ctx, m_item, recs, mcp_audit=audit)
    mcp_profiles = [p for p in profiles if profile in (None, p.name)]
    timeout = max(5.0, float(ctx.settings.timeout) * 3)

    async def run(item: Item, job: tuple[str, Connection]) -> None:
        what, conn = job
        label = {"aws": "iam:ListAccessKeys", "hashicorp": "Vault secret-id lookup"}.get(conn.provider_id, "lookup")
        if what == "secret":
            label = "secretsmanager:DescribeSecret"
        try:
            config = store_conn.auth(store, conn)
            if what == "secret":
                await _bounded(_lookup_aws_secret(ctx, item, config), timeout)
            elif conn.provider_id == "aws":
                await _bounded(_lookup_aws_key(ctx, item, config, recs.get(item.record_key)), timeout)
            else:
                await _bounded(_lookup_vault(ctx, item, config, recs.get(item.record_key)), timeout)
        except Exception as exc:  # one item's failure is a note, never the list's
            _lookup_failed(item, exc, label)

    async def run_api_key(prof: store_profiles.Profile) -> None:
        item = items[f"profile:{prof.name}"]
        try:
            await _bounded(_lookup_api_key(ctx, item, prof, recs.get(item.record_key)), timeout)
        except Exception as exc:  # one item's failure is a note, never the list's
            if isinstance(exc, AptuiError) and exc.code in ("API_KEY_MISSING", "PROFILE_MISSING"):
                return
            _lookup_failed(item, exc, "GET /v1/api-keys")

    async def run_mcp(prof: store_profiles.Profile) -> None:
        try:
            await _bounded(_lookup_mcp(ctx, prof, items, recs, audit), timeout * 2)
        except Exception as exc:
            for item in items.values():
                if item.kind == MCP_TOKEN and item.profile_id == prof.id:
                    _lookup_failed(item, exc, "MCP server listing")
            if isinstance(exc, AptuiError) and exc.code in ("API_KEY_MISSING", "PROFILE_MISSING",
                                                            "USER_SESSION_REQUIRED", "SESSION_EXPIRED"):
                return
            mcp_failures.append(exc)

    mcp_failures: list[BaseException] = []
    total = len(jobs) + (0 if offline else 2 * len(mcp_profiles))
    done = 0

    async def tick(aw) -> None:
        nonlocal done
        await aw
        done += 1
        if progress is not None:
            progress(done, total)

    tasks = [tick(run(item, job)) for item, job in jobs]
    if not offline:
        tasks += [tick(run_mcp(p)) for p in mcp_profiles]
        tasks += [tick(run_api_key(p)) for p in mcp_profiles]
    if tasks:
        from aptui.services import platform

        try:
            await asyncio.gather(*tasks)
        finally:
            if not offline and mcp_profiles:
                await platform.aclose(ctx)
    report = RotationReport([], now, ctx.settings.due_soon)
    for item in items.values():
        item.pending = item.record_key in pending
        if item.pending:
            item.note("an assisted rotation is in progress: `aptui rotation rotate " + item.id + "` resumes it")
        finish(item, now, ctx.settings.due_soon)
        report.lookups[item.lookup] += 1
    for exc in mcp_failures:  # a profile whose MCP listing failed counts as one failed lookup
        report.lookups[LOOKUP_UNREACHABLE if isinstance(exc, AptuiError) and exc.exit_code == Exit.UNREACHABLE
                       else LOOKUP_FAILED] += 1
    # By due minute, then id: items due together keep a stable order (dates read from providers
    # carry sub-second noise).
    everything = sorted(items.values(), key=lambda i: (i.due is None, (i.due or now).replace(second=0, microsecond=0),
                                                       i.id))
    if kinds:
        everything = [i for i in everything if i.kind in kinds]
    report.overdue_any = any(i.state == OVERDUE for i in everything)
    shown = everything
    if due_within is not None:
        limit = now + timedelta(seconds=due_within)
        shown = [i for i in shown if i.due is not None and i.due <= limit]
    if states:
        shown = [i for i in shown if i.state in states]
    report.items = shown
    report.hidden = len(everything) - len(shown)
    return report


# -- mark -----------------------------------------------------------------------------------------------

def mark(ctx: Context, item_id: str, *, at: datetime | None = None, note: str | None = None) -> Item:
    """Record that ``item_id`` was rotated (now, or at ``at``), e.g. rotated outside aptui."""
    ctx.require_writable("rotation mark")
    item = find_item(ctx, item_id)
    now = clock.utc_now()
    when = _as_utc(at) if at is not None else now
    if when is None:
        raise usage("not a date", hint="use ISO-8601, e.g. 2026-11-20 or 2026-11-20T10:00:00Z")
    if when > now + timedelta(minutes=5):
        raise usage(f"{iso(when)} is in the future", hint="give the date the credential was actually rotated")
    if when.year < 2000:
        raise usage(f"{iso(when)} is too far in the past")
    if note is not None and ("\n" in note or len(note) > 300):
        raise usage("the note must be one line of at most 300 characters")
    store_rot.add_record(ctx.store, item.record_key, item.kind, store_rot.ROTATED, iso(when),
                         source=store_rot.MARKED, note=note or "marked rotated")
    ctx.audit("rotation.mark", item.id, "ok", f"at={iso(when)}")
    return find_item(ctx, item.id)
