"""AWS Secrets Manager writes: CreateSecret / PutSecretValue merging JSON keys.

Reads go through ``BatchGetSecretValue`` (≤ 20 names a call) like the reader. A write is one
``CreateSecret`` (new secret) or ``PutSecretValue`` (existing JSON secret, keys merged) with a
``ClientRequestToken`` derived from the run, so a resumed run never writes twice; AWS keeps the
former value as ``AWSPREVIOUS``. ``restore`` moves ``AWSCURRENT`` back to the former version
(``UpdateSecretVersionStage``), or schedules deletion of a secret the run created.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aptui.masking import Secret
from aptui.providers import errors as E
from aptui.providers.aws import BATCH_LIMIT, AwsProvider, _AwsCallError
from aptui.providers.writers.base import Current, Receipt, conflict, denied

NOT_FOUND = "ResourceNotFoundException"
_BOTO_PREFIX = re.compile(r"^An error occurred \([^)]*\) when calling the \w+ operation: ")
RECOVERY_DAYS = 7


def _parse(name: str, text: str | None) -> Current:
    if text is None:
        return Current(name, exists=True, error=conflict(name, "the secret is binary; aptui merges keys into "
                                                               "JSON secrets only"))
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return Current(name, exists=True, error=conflict(name, "the secret is not a JSON object; aptui will not "
                                                               "overwrite it", hint="pick another --secret"))
    fields = {str(k): Secret(v if isinstance(v, str) else json.dumps(v)) for k, v in doc.items()}
    return Current(name, exists=True, fields=fields, meta={"raw_types": {k: type(v).__name__ for k, v in doc.items()
                                                                         if not isinstance(v, str)}})


class AwsWriter(AwsProvider):
    """An ``AwsProvider`` that also writes."""

    def _denied(self, name: str, exc: _AwsCallError) -> Exception:
        message = _BOTO_PREFIX.sub("", exc.message)
        return denied(self.provider_id, name, E.clean(f"{exc.code}: {message}" if exc.code else message,
                                                      self._secrets))

    async def read_many(self, names: list[str]) -> dict[str, Current]:
        out: dict[str, Current] = {}
        names = list(dict.fromkeys(names))
        if len(names) >= 2:
            for i in range(0, len(names), BATCH_LIMIT):
                chunk = names[i:i + BATCH_LIMIT]
                try:
                    resp = await self._call("batch_get_secret_value", SecretIdList=chunk)
                except _AwsCallError:
                    break  # denied or unsupported: one GetSecretValue per name below
                for item in resp.get("SecretValues") or []:
                    if item.get("Name") in chunk:
                        cur = _parse(item["Name"], item.get("SecretString"))
                        cur.version = item.get("VersionId")
                        out[item["Name"]] = cur
                for err in resp.get("Errors") or []:
                    sid = err.get("SecretId")
                    if sid in chunk:
                        out[sid] = (Current(sid) if err.get("ErrorCode") == NOT_FOUND else
                                    Current(sid, exists=True, error=self._denied(
                                        sid, _AwsCallError(str(err.get("ErrorCode") or ""),
                                                           str(err.get("Message") or ""), None))))
        for name in names:
            if name not in out:
                out[name] = await self._read_one(name)
        return out

    async def _read_one(self, name: str) -> Current:
        try:
            resp = await self._call("get_secret_value", SecretId=name)
        except _AwsCallError as exc:
            if exc.code == NOT_FOUND:
                return Current(name)
            return Current(name, exists=True, error=self._denied(name, exc))  # type: ignore[arg-type]
        cur = _parse(name, resp.get("SecretString"))
        cur.version = resp.get("VersionId")
        return cur

    async def write(self, current: Current, fields: dict[str, Secret], *, token: str) -> Receipt:
        name = current.name
        if current.error is not None:
            raise current.error
        if current.exists and current.version == token:  # written by this run before a crash
            return Receipt(name, bool(current.meta.get("created")), None, token, sorted(fields), already=True)
        doc: dict[str, Any] = {}
        types = current.meta.get("raw_types") or {}
        for k, v in current.fields.items():
            doc[k] = json.loads(v.reveal()) if k in types else v.reveal()
        doc.update({k: v.reveal() for k, v in fields.items()})
        text = json.dumps(doc, ensure_ascii=False)
        try:
            if current.exists:
                resp = await self._call("put_secret_value", SecretId=name, SecretString=text,
                                        ClientRequestToken=token)
            else:
                resp = await self._call("create_secret", Name=name, SecretString=text, ClientRequestToken=token,
                                        Description="created by aptui migrate")
        except _AwsCallError as exc:
            if exc.code == "ResourceExistsException" and not current.exists:
                raise conflict(name, "the secret was created by someone else after aptui read it",
                               hint="run apply again: aptui reads it again and merges") from None
            raise self._denied(name, exc) from None
        finally:
            del text, doc
        return Receipt(name, not current.exists, current.version, resp.get("VersionId") or token, sorted(fields))

    async def restore(self, entry: dict[str, Any]) -> str:
        name = entry["name"]
        try:
            if entry.get("created"):
                await self._call("delete_secret", SecretId=name, RecoveryWindowInDays=RECOVERY_DAYS)
                return f"scheduled for deletion in {RECOVERY_DAYS} days"
            prev, new = entry.get("previousVersion"), entry.get("newVersion")
            if not prev:
                return "no previous version recorded; left as it is"
            await self._call("update_secret_version_stage", SecretId=name, VersionStage="AWSCURRENT",
                             MoveToVersionId=prev, RemoveFromVersionId=new)
            return f"AWSCURRENT back on version {prev}"
        except _AwsCallError as exc:
            raise self._denied(name, exc) from None
