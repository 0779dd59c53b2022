"""1Password writes: item create/edit through the SDK, behind a small interface (``OnePasswordItems``).

A target is an item (``vault/item``) whose fields are the keys (concealed fields, titled by key, so
``op://vault/item/key`` resolves). ``write`` creates the item, or puts it back with the fields set
and every other field kept. ``restore`` deletes an item the run created, or puts the former field
values back (from the journal, encrypted in the store) and removes the fields the run added.
The real implementation wraps ``onepassword-sdk`` (``items.list/get/create/put/delete``); tests
use the fake in ``tests/doubles/onepassword_fake.py``, which implements the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aptui.masking import Secret
from aptui.providers import errors as E
from aptui.providers.onepassword import OnePasswordError, OnePasswordProvider, classify
from aptui.providers.writers.base import Current, Receipt, conflict, denied


@dataclass
class OpItem:
    """An item as the writer sees it: ids, version and its fields by title (clear values, memory only)."""

    id: str
    vault_id: str
    title: str
    version: int = 0
    fields: dict[str, str] = field(default_factory=dict, repr=False)


@runtime_checkable
class OnePasswordItems(Protocol):
    async def get_item(self, vault: str, item: str) -> OpItem | None:
        """The item titled ``item`` in the vault titled (or with id) ``vault``; None if absent."""

    async def create_item(self, vault: str, item: str, fields: dict[str, str]) -> OpItem: ...

    async def put_fields(self, item: OpItem, fields: dict[str, str], *, remove: list[str] | None = None) -> OpItem:
        """Set ``fields`` (adding missing ones), drop ``remove``, keep every other field."""

    async def delete_item(self, item: OpItem) -> None: ...


class SdkItems:
    """``OnePasswordItems`` over an authenticated ``onepassword.client.Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def _vault_id(self, vault: str) -> str | None:
        for v in await self.client.vaults.list():
            if vault in (getattr(v, "title", None), getattr(v, "id", None)):
                return str(v.id)
        return None

    @staticmethod
    def _item(raw: Any) -> OpItem:
        fields = {str(f.title): str(f.value or "") for f in (raw.fields or [])}
        return OpItem(str(raw.id), str(raw.vault_id), str(raw.title), int(raw.version or 0), fields)

    async def get_item(self, vault: str, item: str) -> OpItem | None:
        try:
            vault_id = await self._vault_id(vault)
            if vault_id is None:
                raise OnePasswordError(f"vault {vault!r} not found or not shared with the service account")
            for overview in await self.client.items.list(vault_id):
                if overview.title == item:
                    return self._item(await self.client.items.get(vault_id, overview.id))
        except OnePasswordError:
            raise
        except Exception as exc:
            raise classify(exc) from None
        return None

    async def create_item(self, vault: str, item: str, fields: dict[str, str]) -> OpItem:
        from onepassword.types import ItemCategory, ItemCreateParams, ItemField, ItemFieldType

        try:
            vault_id = await self._vault_id(vault)
            if vault_id is None:
                raise OnePasswordError(f"vault {vault!r} not found or not shared with the service account")
            params = ItemCreateParams(category=ItemCategory.APICREDENTIALS, vault_id=vault_id, title=item,
                                      fields=[ItemField(id=k, title=k, field_type=ItemFieldType.CONCEALED, value=v)
                                              for k, v in fields.items()])
            return self._item(await self.client.items.create(params))
        except OnePasswordError:
            raise
        except Exception as exc:
            raise classify(exc) from None

    async def put_fields(self, item: OpItem, fields: dict[str, str], *, remove: list[str] | None = None) -> OpItem:
        from onepassword.types import ItemField, ItemFieldType

        try:
            raw = await self.client.items.get(item.vault_id, item.id)
            kept = [f for f in raw.fields if f.title not in set(remove or [])]
            by_title = {f.title: f for f in kept}
            for k, v in fields.items():
                if k in by_title:
                    by_title[k].value = v
                else:
                    kept.append(ItemField(id=k, title=k, field_type=ItemFieldType.CONCEALED, value=v))
            raw.fields = kept
            return self._item(await self.client.items.put(raw))
        except Exception as exc:
            raise classify(exc) from None

    async def delete_item(self, item: OpItem) -> None:
        try:
            await self.client.items.delete(item.vault_id, item.id)
        except Exception as exc:
            raise classify(exc) from None


class OnePasswordWriter(OnePasswordProvider):
    """A ``OnePasswordProvider`` that also writes items (the service account needs write access)."""

    async def _items(self) -> OnePasswordItems:
        session = await self._ensure_session()
        if isinstance(session, OnePasswordItems):
            return session
        client = getattr(session, "_client", None)
        if client is None:
            raise denied(self.provider_id, "-", "this 1Password backend cannot write items")
        return SdkItems(client)

    def _denied(self, name: str, exc: OnePasswordError) -> Exception:
        return denied(self.provider_id, name, E.clean(exc.message or "Unknown error", self._secrets))

    async def read_many(self, names: list[str]) -> dict[str, Current]:
        items = await self._items()
        out: dict[str, Current] = {}
        for name in dict.fromkeys(names):
            vault, _, title = name.partition("/")
            try:
                found = await self._run("items.get", lambda v=vault, t=title: items.get_item(v, t))
            except OnePasswordError as exc:
                out[name] = Current(name, exists=True, error=self._denied(name, exc))  # type: ignore[arg-type]
                continue
            if found is None:
                out[name] = Current(name)
                continue
            out[name] = Current(name, exists=True, fields={k: Secret(v) for k, v in found.fields.items()},
                                version=found.version, meta={"item": found})
        return out

    async def write(self, current: Current, fields: dict[str, Secret], *, token: str) -> Receipt:
        name = current.name
        if current.error is not None:
            raise current.error
        items = await self._items()
        vault, _, title = name.partition("/")
        clear = {k: v.reveal() for k, v in fields.items()}
        try:
            if current.exists:
                item = current.meta.get("item")
                if not isinstance(item, OpItem):
                    raise conflict(name, "the item changed since aptui read it")
                new = await self._run("items.put", lambda: items.put_fields(item, clear))
            else:
                new = await self._run("items.create", lambda: items.create_item(vault, title, clear))
        except OnePasswordError as exc:
            raise self._denied(name, exc) from None
        finally:
            clear.clear()
        return Receipt(name, not current.exists, current.version, new.version, sorted(fields),
                       meta={"itemId": new.id, "vaultId": new.vault_id})

    async def restore(self, entry: dict[str, Any]) -> str:
        name = entry["name"]
        vault, _, title = name.partition("/")
        items = await self._items()
        try:
            item = await self._run("items.get", lambda: items.get_item(vault, title))
            if item is None:
                return "the item is gone already"
            if entry.get("created"):
                await self._run("items.delete", lambda: items.delete_item(item))
                return "item deleted"
            former = entry.get("former") or {}
            back = {k: v for k, v in former.items() if v is not None}
            drop = [k for k, v in former.items() if v is None]
            await self._run("items.put", lambda: items.put_fields(item, back, remove=drop))
        except OnePasswordError as exc:
            raise self._denied(name, exc) from None
        return f"former fields put back ({len(back)} restored, {len(drop)} removed)"
