"""The writer protocol: read the current state of a target secret, write merged keys, undo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from aptui.errors import AptuiError, Exit
from aptui.masking import Secret

WRITE_DENIED = "SECRET_MANAGER_WRITE_FAILED"
CONFLICT = "MIGRATE_TARGET_CONFLICT"


@dataclass
class Current:
    """A target secret as it is now. ``fields`` hold clear values (memory only, for the merge)."""

    name: str
    exists: bool = False
    fields: dict[str, Secret] = field(default_factory=dict)
    version: Any = None  # AWS VersionId, Vault KV version, Conjur version count
    error: AptuiError | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # provider facts for the journal (no values)


@dataclass
class Receipt:
    """What a write did (value-free; goes into the journal)."""

    name: str
    created: bool
    previous_version: Any
    new_version: Any
    keys: list[str]
    already: bool = False  # the write had happened before (a resumed run)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created, "previousVersion": self.previous_version,
                "newVersion": self.new_version, "keys": self.keys, "already": self.already, "meta": self.meta}


def denied(provider: str, name: str, reason: str, *, hint: str | None = None) -> AptuiError:
    """The provider refused a write: its reason, one line, nothing written."""
    return AptuiError(WRITE_DENIED, f"[{name}] {reason}", exit_code=Exit.FAILED, hint=hint,
                      params={"provider": provider, "secret": name})


def conflict(name: str, message: str, *, hint: str | None = None) -> AptuiError:
    return AptuiError(CONFLICT, f"[{name}] {message}", exit_code=Exit.FAILED, hint=hint)


class SecretWriter(Protocol):
    provider_id: str

    @property
    def api_calls(self) -> int: ...

    async def read_many(self, names: list[str]) -> dict[str, Current]:
        """The current state of each target secret (one batched call where the provider allows)."""

    async def write(self, current: Current, fields: dict[str, Secret], *, token: str) -> Receipt:
        """Merge ``fields`` into the secret (keeping its other keys), idempotently under ``token``."""

    async def restore(self, entry: dict[str, Any]) -> str:
        """Undo a ``Receipt`` (``--purge``): back to the previous version, or delete what was created."""

    async def aclose(self) -> None: ...
