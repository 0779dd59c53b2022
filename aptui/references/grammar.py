"""The reference grammar, exactly as Activepieces parses it (``secret-managers.service.ts``).

``{{<connectionId>|ap_sep_v1|<path>}}``: the value is trimmed (JavaScript ``trim``), must start
with ``{{`` and end with ``}}``, and is split at the FIRST separator. Parts are not trimmed. Any
failure is the internal ``SECRET_MANAGER_KEY_NOT_SECRET``, which Activepieces turns into a silent
pass-through of the original value; ``NotReference`` carries that reason for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SEPARATOR = "|ap_sep_v1|"
KEY_NOT_SECRET = "SECRET_MANAGER_KEY_NOT_SECRET"
MSG_NOT_SECRET = "Key is not a secret"
MSG_NOT_FORMAT = "Key is not in the expected secret format"
MSG_MISSING_PART = "Invalid secret key: missing connectionId or path"

# JavaScript String.prototype.trim: WhiteSpace (incl. every Zs character and U+FEFF) and
# LineTerminator. Python's str.strip() differs (it strips U+001C..U+001F and U+0085, keeps U+FEFF).
JS_WHITESPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)

# Labels for the warnings aptui adds next to Activepieces' verdict.
EXTENSION = "aptui-extension"          # aptui can do this, Activepieces cannot
UPSTREAM_FAILS = "activepieces-fails"  # Activepieces will fail (or do nothing) here
BROKEN = "broken-reference"            # looks like a reference, but is passed through
NOT_RESOLVED = "not-resolved-by-activepieces"
DIFFERENCE = "upstream-difference"     # aptui behaves differently from Activepieces
STRICTER = "stricter-than-activepieces"

_LEGACY = re.compile(r"^\s*(aws|hashicorp|cyberark-conjur|onepassword)\s*:", re.IGNORECASE)


def js_trim(text: str) -> str:
    return text.strip(JS_WHITESPACE)


@dataclass(frozen=True)
class RefWarning:
    """A labelled remark next to a verdict (never contains a secret value)."""

    label: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "message": self.message}


@dataclass(frozen=True)
class Reference:
    """A value Activepieces treats as a secret reference."""

    connection_id: str
    path: str

    @property
    def text(self) -> str:
        return build(self.connection_id, self.path)


@dataclass(frozen=True)
class NotReference:
    """A value Activepieces returns unchanged. ``reason`` is the internal KEY_NOT_SECRET message
    (None for non-strings, which are never even parsed)."""

    reason: str | None

    @property
    def code(self) -> str | None:
        return KEY_NOT_SECRET if self.reason else None


def parse(value: Any) -> Reference | NotReference:
    """Parse one value exactly as ``extractConnectionIdAndPath`` does."""
    if not isinstance(value, str):
        return NotReference(None)
    t = js_trim(value)
    if not (t.startswith("{{") and t.endswith("}}")):
        return NotReference(MSG_NOT_SECRET)
    inner = t[2:-2]
    i = inner.find(SEPARATOR)
    if i == -1:
        return NotReference(MSG_NOT_FORMAT)
    connection_id, path = inner[:i], inner[i + len(SEPARATOR):]
    if not connection_id or not path:
        return NotReference(MSG_MISSING_PART)
    return Reference(connection_id, path)


def build(connection_id: str, path: str) -> str:
    """The reference text the Activepieces web UI builds."""
    return "{{" + connection_id + SEPARATOR + path + "}}"


def contains_reference(value: Any) -> bool:
    """Upstream ``containsSecretManagerReference``: string leaves, recursing objects AND arrays."""
    if isinstance(value, str):
        t = js_trim(value)
        return t.startswith("{{") and SEPARATOR in t and t.endswith("}}")
    if isinstance(value, dict):
        return any(contains_reference(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_reference(v) for v in value)
    return False


def embedded_reference(text: str) -> bool:
    """True when a reference-shaped ``{{…|ap_sep_v1|…}}`` appears inside a longer string."""
    start = text.find("{{")
    if start == -1:
        return False
    sep = text.find(SEPARATOR, start + 2)
    return sep != -1 and text.find("}}", sep + len(SEPARATOR)) != -1


def classify_passthrough(value: Any) -> tuple[str, str] | None:
    """Why a value Activepieces passes through still deserves a look.

    Returns ``("partial", reason)`` for a reference inside a longer string (never resolved),
    ``("broken", reason)`` for a malformed reference, or None for an ordinary value.
    """
    if not isinstance(value, str) or isinstance(parse(value), Reference):
        return None
    t = js_trim(value)
    braced = t.startswith("{{") and t.endswith("}}")
    if not braced and embedded_reference(t):
        return "partial", "the reference is part of a longer string; Activepieces resolves whole-string references only"
    if SEPARATOR in t:
        if braced:
            return "broken", "empty connection id or path; Activepieces keeps the literal text"
        if t.startswith("{{") or t.endswith("}}") or t.startswith("{") or t.endswith("}"):
            return "broken", "unbalanced braces: a reference must start with {{ and end with }}"
        return "broken", "missing the {{ }} braces around the reference"
    if "ap_sep" in t.lower():
        return "broken", "the separator must be exactly |ap_sep_v1| (case-sensitive, with both bars)"
    if braced and _LEGACY.match(t[2:-2]):
        return "broken", "legacy {{provider:path}} form; current Activepieces treats it as plain text"
    return None


def reference_warnings(ref: Reference) -> list[RefWarning]:
    """Remarks on a well-formed reference that Activepieces would still trip over."""
    out: list[RefWarning] = []
    if js_trim(ref.connection_id) != ref.connection_id:
        out.append(RefWarning(BROKEN, "the connection id has whitespace inside the braces; Activepieces keeps "
                                      "it and will not find the connection"))
    if js_trim(ref.path) != ref.path:
        out.append(RefWarning(BROKEN, "the path has leading or trailing whitespace, which Activepieces keeps "
                                      "as part of the path"))
    if SEPARATOR in ref.path:
        out.append(RefWarning(BROKEN, "the path contains |ap_sep_v1| again; Activepieces splits at the first "
                                      "one and keeps the rest in the path"))
    if "}}" in ref.path and "{{" in ref.path:
        out.append(RefWarning(BROKEN, "this looks like several references in one string; Activepieces reads "
                                      "it as ONE reference whose path runs to the last }}"))
    return out
