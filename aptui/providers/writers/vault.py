"""Vault / OpenBao KV v2 writes: put with ``cas`` merging keys into the current version.

The target is the API path ``mount/data/path``. ``read_many`` reads the current version (its keys
and ``metadata.version``); ``write`` posts the merged keys with ``options.cas`` = that version (0
for a new secret), so a concurrent writer makes the write fail instead of being overwritten.
``restore`` writes the former version's keys back as a new version (cas again), or soft-deletes
the version the run created.
"""

from __future__ import annotations

import json
from typing import Any

from aptui.masking import Secret
from aptui.providers import errors as E
from aptui.providers.vault import VaultProvider, vault_errors
from aptui.providers.writers.base import Current, Receipt, conflict, denied

CAS_MISMATCH = "check-and-set"


class VaultWriter(VaultProvider):
    """A ``VaultProvider`` that also writes (needs create/update on ``mount/data/path``)."""

    async def _request(self, method: str, path: str, label: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        token = await self._ensure_token()
        status, data = await self._http(method, path, token=token, label=label, body=body)
        if status == 403:
            probe, _ = await self._http("GET", "/v1/auth/token/lookup-self", token=token, label="lookup-self")
            if probe == 403:
                token = await self._ensure_token(replace=token)
                status, data = await self._http(method, path, token=token, label=label, body=body)
        return status, data

    def _reason(self, status: int, body: Any) -> str:
        detail = vault_errors(body)
        text = E.http_status_message(status) + (f": {detail}" if detail else "")
        return E.clean(text, self._secrets)

    async def read_many(self, names: list[str]) -> dict[str, Current]:
        out: dict[str, Current] = {}
        for name in dict.fromkeys(names):
            status, body = await self._request("GET", f"/v1/{name}", "read")
            data = body.get("data") if isinstance(body, dict) else None
            meta = data.get("metadata") if isinstance(data, dict) else None
            version = int(meta.get("version") or 0) if isinstance(meta, dict) else 0
            if status == 404:
                out[name] = Current(name, exists=version > 0, version=version)
                continue
            if status >= 400:
                out[name] = Current(name, exists=True, error=denied(self.provider_id, name,
                                                                    self._reason(status, body)))
                continue
            values = data.get("data") if isinstance(data, dict) else None
            if not isinstance(values, dict):
                out[name] = Current(name, exists=True, error=conflict(
                    name, "not a KV v2 secret (no data.data)", hint="write to mount/data/path on a KV v2 mount"))
                continue
            fields = {str(k): Secret(v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()}
            types = [k for k, v in values.items() if not isinstance(v, str)]
            out[name] = Current(name, exists=True, fields=fields, version=version, meta={"raw": types})
        return out

    async def write(self, current: Current, fields: dict[str, Secret], *, token: str) -> Receipt:
        name = current.name
        if current.error is not None:
            raise current.error
        raw = set(current.meta.get("raw") or [])
        doc = {k: (json.loads(v.reveal()) if k in raw else v.reveal()) for k, v in current.fields.items()}
        doc.update({k: v.reveal() for k, v in fields.items()})
        version = int(current.version or 0)
        status, body = await self._request("POST", f"/v1/{name}", "write",
                                           {"options": {"cas": version}, "data": doc})
        del doc
        if status >= 400:
            reason = self._reason(status, body)
            if status == 400 and CAS_MISMATCH in reason:
                raise conflict(name, f"another writer changed the secret since version {version} ({reason})",
                               hint="run apply again: aptui reads it again and merges")
            raise denied(self.provider_id, name, reason)
        new = (body.get("data") or {}).get("version") if isinstance(body, dict) else None
        return Receipt(name, not current.exists, version, new, sorted(fields))

    async def restore(self, entry: dict[str, Any]) -> str:
        name = entry["name"]
        prev, new = int(entry.get("previousVersion") or 0), entry.get("newVersion")
        if prev <= 0:
            status, body = await self._request("DELETE", f"/v1/{name}", "delete")
            if status >= 400:
                raise denied(self.provider_id, name, self._reason(status, body))
            return f"version {new} deleted (soft delete)"
        status, body = await self._request("GET", f"/v1/{name}?version={prev}", "read")
        data = (body.get("data") or {}) if isinstance(body, dict) else {}
        if status >= 400 or not isinstance(data.get("data"), dict):
            raise denied(self.provider_id, name, self._reason(status, body) if status >= 400 else
                         f"version {prev} has no data to restore")
        status, body = await self._request("POST", f"/v1/{name}", "write",
                                           {"options": {"cas": int(new or 0)}, "data": data["data"]})
        if status >= 400:
            raise denied(self.provider_id, name, self._reason(status, body))
        got = (body.get("data") or {}).get("version") if isinstance(body, dict) else None
        return f"version {prev}'s keys written back as version {got}"
