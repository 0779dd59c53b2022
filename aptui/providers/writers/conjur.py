"""CyberArk Conjur writes: ``POST /secrets/{account}/variable/{id}`` (a new version of the variable).

Each target is one variable (``prefix/key``); it must already be declared in policy (Conjur has no
"create on write") and the host needs ``update`` on it. ``read_many`` reads each variable's
versions from ``/resources`` and its current value; ``restore`` writes the former version's value
back as a new version (Conjur cannot remove a value; an empty variable is left as it is).
"""

from __future__ import annotations

from typing import Any

from aptui.masking import Secret
from aptui.providers import errors as E
from aptui.providers.conjur import ConjurProvider, encode_uri_component
from aptui.providers.writers.base import Current, Receipt, denied

UNDECLARED = ("the variable is not declared in Conjur policy (Conjur creates variables only by loading policy; "
              "docs/migrate.md lists the variables to declare)")


class ConjurWriter(ConjurProvider):
    """A ``ConjurProvider`` that also writes."""

    def _var_url(self, var_id: str, *, kind: str = "secrets", version: int | None = None) -> str:
        q = f"?version={version}" if version else ""
        return f"{self.url}/{kind}/{self.account}/variable/{encode_uri_component(var_id)}{q}"

    async def _authed(self, method: str, url: str, label: str, content: str | None = None) -> Any:
        token = await self._ensure_token()
        headers = {"Authorization": f'Token token="{token}"'}
        if content is not None:
            headers["Content-Type"] = "text/plain"
        resp = await self._request(method, url, label=label, headers=headers, content=content)
        if resp.status_code == 401:
            token = await self._ensure_token(replace=token)
            headers["Authorization"] = f'Token token="{token}"'
            resp = await self._request(method, url, label=label, headers=headers, content=content)
        return resp

    def _reason(self, status: int, resp: Any) -> str:
        detail = ""
        try:
            body = resp.json()
            detail = str(((body or {}).get("error") or {}).get("message") or "")
        except ValueError:
            pass
        return E.clean(E.http_status_message(status) + (f": {detail}" if detail else ""), self._secrets)

    async def read_many(self, names: list[str]) -> dict[str, Current]:
        out: dict[str, Current] = {}
        for name in dict.fromkeys(names):
            key = name.rsplit("/", 1)[-1]
            resp = await self._authed("GET", self._var_url(name, kind="resources"), "resource")
            if resp.status_code == 404:
                out[name] = Current(name, exists=True, error=denied(self.provider_id, name, UNDECLARED))
                continue
            if resp.status_code >= 400:
                out[name] = Current(name, exists=True, error=denied(self.provider_id, name,
                                                                    self._reason(resp.status_code, resp)))
                continue
            try:
                versions = [int(s.get("version") or 0) for s in (resp.json().get("secrets") or [])]
            except (ValueError, AttributeError):
                versions = []
            version = max(versions, default=0)
            fields: dict[str, Secret] = {}
            if version:
                got = await self._authed("GET", self._var_url(name), "variable")
                if got.status_code == 200:
                    fields[key] = Secret(got.content.decode("utf-8", "replace"))
                elif got.status_code != 404:
                    out[name] = Current(name, exists=True, error=denied(self.provider_id, name,
                                                                        self._reason(got.status_code, got)))
                    continue
            out[name] = Current(name, exists=bool(version), fields=fields, version=version)
        return out

    async def write(self, current: Current, fields: dict[str, Secret], *, token: str) -> Receipt:
        name = current.name
        if current.error is not None:
            raise current.error
        (key, value), = fields.items()
        resp = await self._authed("POST", self._var_url(name), "set", content=value.reveal())
        if resp.status_code >= 300:
            reason = UNDECLARED if resp.status_code == 404 else self._reason(resp.status_code, resp)
            raise denied(self.provider_id, name, reason)
        version = int(current.version or 0)
        return Receipt(name, version == 0, version, version + 1, [key])

    async def restore(self, entry: dict[str, Any]) -> str:
        name = entry["name"]
        prev = int(entry.get("previousVersion") or 0)
        if prev <= 0:
            return "Conjur cannot remove a variable's value; left as it is (remove the variable from policy)"
        got = await self._authed("GET", self._var_url(name, version=prev), "variable")
        if got.status_code != 200:
            raise denied(self.provider_id, name, self._reason(got.status_code, got))
        resp = await self._authed("POST", self._var_url(name), "set", content=got.content.decode("utf-8", "replace"))
        if resp.status_code >= 300:
            raise denied(self.provider_id, name, self._reason(resp.status_code, resp))
        return f"version {prev}'s value written back as a new version"
