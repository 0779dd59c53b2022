"""Per-provider path rules with Activepieces' exact VALIDATION messages, and the split fields.

``split(provider_id, path)`` returns the provider's view of a valid path (the fields named in
``reference-cases.public.json``) or raises ``AptuiError("VALIDATION", …)`` exactly where the
upstream provider's ``validatePathFormat`` would. ``path_warnings`` adds aptui's remarks on paths
that validate but will not work as the user probably expects.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from aptui.errors import AptuiError, usage
from aptui.references.grammar import EXTENSION, UPSTREAM_FAILS, RefWarning

AWS_MESSAGE = "Wrong key format. Should be secretName:secretJsonKey, got {path}"
VAULT_MESSAGE = "Wrong path format . should be mount/data/path/key. got {path}"
ONEPASSWORD_MESSAGE = "Wrong secret reference format. Expected: op://vault/item/field"
# JS /^op:\/\/[^/]+\/[^/]+\/.+$/ : "." excludes JS line terminators, "$" is end of input.
OP_REFERENCE_PATTERN = re.compile(r"\Aop://[^/]+/[^/]+/[^\n\r\u2028\u2029]+\Z")
_AWS_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
CONJUR_ACCOUNT_PLACEHOLDER = "{account}"


def validation(message: str) -> AptuiError:
    return AptuiError("VALIDATION", message)


def encode_uri_component(text: str) -> str:
    """JavaScript ``encodeURIComponent`` (raises UnicodeEncodeError where JS throws URIError)."""
    return quote(text.encode("utf-8"), safe="!~*'()")


def split(provider_id: str, path: str) -> dict[str, Any]:
    """Validate ``path`` for ``provider_id`` and return the provider split fields."""
    if provider_id == "aws":
        i = path.find(":")
        if i == -1:
            raise validation(AWS_MESSAGE.format(path=path))
        return {"secretName": path[:i], "secretJsonKey": path[i + 1:]}
    if provider_id == "hashicorp":
        stripped = path[:-1] if path.endswith("/") else path
        if len(stripped.split("/")) < 3:
            raise validation(VAULT_MESSAGE.format(path=path))
        parts = path.split("/")
        mount = "/".join(parts[:-1])
        return {"mountPath": mount, "secretKey": parts[-1], "requestPath": f"/v1/{mount}",
                "responseField": "data.data.data"}
    if provider_id == "cyberark-conjur":
        try:
            request = f"/secrets/{CONJUR_ACCOUNT_PLACEHOLDER}/variable/{encode_uri_component(path)}"
        except UnicodeEncodeError:
            request = None
        return {"variableId": path, "requestPath": request}
    if provider_id == "onepassword":
        if not OP_REFERENCE_PATTERN.match(path):
            raise validation(ONEPASSWORD_MESSAGE)
        return {"secretReference": path}
    raise usage(f"unknown provider {provider_id!r}", hint="providers: aws, hashicorp, cyberark-conjur, onepassword")


def path_warnings(provider_id: str, path: str) -> list[RefWarning]:
    """Remarks on a path that passes validation (call after ``split`` succeeded)."""
    out: list[RefWarning] = []
    if provider_id == "aws":
        name, _, key = path.partition(":")
        if name.lower() == "arn":
            out.append(RefWarning(UPSTREAM_FAILS, "ARNs do not work: Activepieces splits at the first colon, so "
                                                  "the secret name becomes 'arn'"))
        elif not name:
            out.append(RefWarning(UPSTREAM_FAILS, "the secret name before ':' is empty; the fetch will fail"))
        elif not _AWS_NAME.match(name):
            out.append(RefWarning(UPSTREAM_FAILS, "the secret name has characters AWS does not allow in names "
                                                  "(A-Za-z0-9/_+=.@-)"))
        if not key:
            out.append(RefWarning(UPSTREAM_FAILS, "the JSON key after ':' is empty; Activepieces will report it "
                                                  "not found"))
    elif provider_id == "hashicorp":
        parts = path.split("/")
        if path.endswith("/"):
            out.append(RefWarning(UPSTREAM_FAILS, "trailing '/': the path validates but Activepieces asks for "
                                                  "the field '' and fails"))
        if "data" not in parts[1:-1]:
            out.append(RefWarning(
                UPSTREAM_FAILS,
                "no 'data' segment: Activepieces reads KV v2 responses only (mount/data/path/key); on a KV v1 "
                "mount it always fails with 'No secret found at requested path'"))
            out.append(RefWarning(EXTENSION, "aptui can read a KV v1 mount for you; Activepieces cannot"))
    elif provider_id == "cyberark-conjur":
        try:
            encode_uri_component(path)
        except UnicodeEncodeError:
            out.append(RefWarning(UPSTREAM_FAILS, "the path holds an unpaired surrogate; encodeURIComponent "
                                                  "throws 'URI malformed' in Activepieces"))
    return out
