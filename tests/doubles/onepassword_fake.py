"""A fake 1Password backend implementing ``aptui.providers.onepassword.OnePasswordBackend``.

There is no offline 1Password server, so the provider is tested behind its interface. The fake
holds vaults → items → fields, valid service-account tokens, and knobs: ``fail_next(n, kind,
message)`` for the next backend calls, ``delay`` seconds per call, and counters
(``authentications``, ``calls``). Error texts follow the SDK's descriptions of its error types.

    fake = onepassword_fake
    fake.add("prod", "db", "password", "s3cr3t")          # op://prod/db/password
    provider = OnePasswordProvider(fake.config(), backend=fake)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import pytest

from aptui.providers.onepassword import OnePasswordError, Resolved

VALID_TOKEN = "ops_fake_service_account_token_0123456789abcdef"
BAD_TOKEN_MESSAGE = "invalid service account token, please make sure you provide a valid service account token"
TYPE_TEXT = {
    "vaultNotFound": "no vault matched the secret reference query",
    "itemNotFound": "no item matched the secret reference query",
    "fieldNotFound": "the specified field cannot be found within the item",
    "noMatchingSections": "no section found within the item for the provided identifier",
}


def sdk_validate(ref: str) -> str | None:
    """The SDK's offline checks (texts as ``Secrets.validate_secret_reference`` raises them)."""
    if not ref.startswith("op://"):
        return 'the secret reference could not be parsed: secret reference is not prefixed with "op://"'
    parts = ref[5:].split("?", 1)[0].split("/")
    if len(parts) < 3 or len(parts) > 4:
        return ('the secret reference could not be parsed: secret reference has invalid format - must be '
                '"op://<vault>/<item>/[section/]field[?attribute=<attribute-value>]"')
    return None


@dataclass
class _Fault:
    remaining: int
    kind: str
    message: str
    op: str | None


@dataclass
class FakeOnePassword:
    tokens: set[str] = field(default_factory=lambda: {VALID_TOKEN})
    vaults: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    delay: float = 0.0
    authentications: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    closed_sessions: int = 0
    revoked: bool = False  # sessions stop working (token revoked server-side)
    writable: set[str] | None = None  # vaults the service account may write (None = all)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    _faults: list[_Fault] = field(default_factory=list)

    def config(self, token: str = VALID_TOKEN) -> dict[str, str]:
        return {"serviceAccountToken": token}

    def add(self, vault: str, item: str, field_name: str, value: str, *, section: str | None = None) -> str:
        key = f"{section}/{field_name}" if section else field_name
        self.vaults.setdefault(vault, {}).setdefault(item, {})[key] = value
        return f"op://{vault}/{item}/{key}"

    def fail_next(self, n: int, kind: str = "other", message: str = "injected failure", *,
                  op: str | None = None) -> None:
        """The next ``n`` calls (of ``op``: authenticate, list_vaults, resolve_all, resolve) raise."""
        self._faults.append(_Fault(n, kind, message, op))

    async def _enter(self, op: str) -> None:
        self.calls[op] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        for f in self._faults:
            if f.remaining > 0 and (f.op is None or f.op == op):
                f.remaining -= 1
                self._faults = [x for x in self._faults if x.remaining > 0]
                raise OnePasswordError(f.message, f.kind)

    # --- OnePasswordBackend --------------------------------------------------------------------

    async def authenticate(self, token: str) -> FakeSession:
        self.authentications += 1
        await self._enter("authenticate")
        if token not in self.tokens:
            raise OnePasswordError(BAD_TOKEN_MESSAGE, "auth")
        return FakeSession(self)

    def validate(self, ref: str) -> str | None:
        return sdk_validate(ref)

    # --- lookups -------------------------------------------------------------------------------

    def lookup(self, ref: str) -> tuple[str | None, str | None]:
        """``(value, None)`` or ``(None, error type)``."""
        if sdk_validate(ref):
            return None, "parsing"
        vault, item, *rest = ref[5:].split("?", 1)[0].split("/")
        if vault not in self.vaults:
            return None, "vaultNotFound"
        if item not in self.vaults[vault]:
            return None, "itemNotFound"
        key = "/".join(rest)
        fields = self.vaults[vault][item]
        if key in fields:
            return fields[key], None
        if len(rest) == 2 and not any(k.startswith(rest[0] + "/") for k in fields):
            return None, "noMatchingSections"
        return None, "fieldNotFound"


class FakeSession:
    def __init__(self, fake: FakeOnePassword) -> None:
        self.fake = fake
        self.closed = False

    async def _enter(self, op: str) -> None:
        await self.fake._enter(op)
        if self.fake.revoked or self.closed:
            raise OnePasswordError(BAD_TOKEN_MESSAGE, "auth")

    async def list_vaults(self) -> list[str]:
        await self._enter("list_vaults")
        return sorted(self.fake.vaults)

    async def resolve_all(self, refs: list[str]) -> dict[str, Resolved]:
        await self._enter("resolve_all")
        out: dict[str, Resolved] = {}
        for ref in refs:
            value, err = self.fake.lookup(ref)
            out[ref] = Resolved(value=value) if err is None else Resolved(error_type=err)
        return out

    async def resolve(self, ref: str) -> str:
        await self._enter("resolve")
        value, err = self.fake.lookup(ref)
        if err is None and value is not None:
            return value
        if err == "parsing":
            raise OnePasswordError(f"error resolving secret reference: {sdk_validate(ref)}", "other")
        raise OnePasswordError(f"error resolving secret reference: {TYPE_TEXT.get(err or '', err)}", "other")

    async def close(self) -> None:
        self.closed = True
        self.fake.closed_sessions += 1

    # --- OnePasswordItems (aptui.providers.writers.onepassword): the SDK's items.* -------------

    def _item(self, vault: str, title: str):
        from aptui.providers.writers.onepassword import OpItem

        fields = self.fake.vaults[vault][title]
        return OpItem(f"{vault}:{title}", vault, title, self.fake.versions.get((vault, title), 1), dict(fields))

    def _may_write(self, vault: str) -> None:
        if self.fake.writable is not None and vault not in self.fake.writable:
            raise OnePasswordError(f"You do not have permission to perform this action on vault {vault}", "other")

    async def get_item(self, vault: str, item: str):
        await self._enter("items.get")
        if vault not in self.fake.vaults:
            raise OnePasswordError(f"vault {vault!r} not found or not shared with the service account", "other")
        return self._item(vault, item) if item in self.fake.vaults[vault] else None

    async def create_item(self, vault: str, item: str, fields: dict[str, str]):
        await self._enter("items.create")
        self._may_write(vault)
        self.fake.vaults[vault][item] = dict(fields)
        self.fake.versions[(vault, item)] = 1
        return self._item(vault, item)

    async def put_fields(self, item, fields: dict[str, str], *, remove: list[str] | None = None):
        await self._enter("items.put")
        self._may_write(item.vault_id)
        stored = self.fake.vaults[item.vault_id][item.title]
        if self.fake.versions.get((item.vault_id, item.title), 1) != item.version:
            raise OnePasswordError("item version is out of date (incorrect item version)", "other")
        for k in remove or []:
            stored.pop(k, None)
        stored.update(fields)
        self.fake.versions[(item.vault_id, item.title)] = item.version + 1
        return self._item(item.vault_id, item.title)

    async def delete_item(self, item) -> None:
        await self._enter("items.delete")
        self._may_write(item.vault_id)
        self.fake.vaults[item.vault_id].pop(item.title, None)


@pytest.fixture
def onepassword_fake() -> FakeOnePassword:
    return FakeOnePassword()
