"""Which values of a JSON/YAML document are hard-coded secrets, and why.

The finders are the audit's: the token shapes of ``pieces_review.TOKEN_PATTERNS`` (``xoxb-``,
``ghp_``, ``sk-``, ``AKIA…``, JWTs, URL credentials), the secret-variable names of
``hardening.env_checks.SECRET_NAME`` (applied to ``camelCase`` keys too), and an entropy test backed
by ``hardening.strength``. Plain settings (hosts, ports, channels, flags, ids, names, URLs without
credentials), placeholders and values that are already references are left alone, each with its
reason. Strings inside arrays are reported but not migrated: Activepieces does not resolve
references in arrays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aptui.references import grammar
from aptui.references.walk import Path, json_path
from aptui.services.hardening.env_checks import SECRET_NAME
from aptui.services.hardening.strength import describe, entropy_bits, is_placeholder, weakness
from aptui.services.pieces_review import TOKEN_PATTERNS

SECRET = "secret"
SKIPPED = "skipped"
_WORDS = re.compile(r"token|secret|passw(or)?d|passwd|pwd|api_?key|access_?key|private_?key|client_?secret|"
                    r"credential|bearer|auth_?key|signing_?key|webhook_?secret|secret_?text", re.I)
# Keys naming a plain setting even when they contain a secret word (tokenUrl, secretName, passwordField).
_PLAIN_KEY = re.compile(r"(^|_)(url|uri|host|hostname|port|endpoint|channel|region|name|id|type|path|file|"
                        r"enabled|disabled|expires?|expiry|ttl|length|mode|version|scope|scopes|format|"
                        r"field|label|header|prefix|kind|count|timeout|username|user|email|algorithm)$", re.I)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
MIN_ENTROPY_LEN = 20
MIN_BITS_PER_CHAR = 3.5


@dataclass(frozen=True)
class Finding:
    """One string of the document: a secret to migrate, or a value skipped with its reason."""

    path: Path
    value: str
    kind: str  # SECRET or SKIPPED
    reason: str
    document: int = 0

    @property
    def location(self) -> str:
        return json_path(self.path)

    def __repr__(self) -> str:  # never the value
        return f"Finding({self.location}, {self.kind}, {self.reason!r})"


def normalise_key(key: str) -> str:
    """``apiKey`` → ``API_KEY`` (so the env-variable rule applies to JSON keys)."""
    return _CAMEL.sub("_", key).replace("-", "_").upper()


def secret_key_name(key: str) -> bool:
    norm = normalise_key(key)
    if _PLAIN_KEY.search(norm):
        return False
    return bool(SECRET_NAME.search(norm) or _WORDS.search(key))


def plain_key_name(key: str) -> bool:
    return bool(_PLAIN_KEY.search(normalise_key(key)))


def token_shape(value: str) -> str | None:
    """What known credential shape ``value`` has, or None."""
    for _name, rx, what in TOKEN_PATTERNS:
        if rx.search(value):
            return what
    return None


def high_entropy(value: str) -> str | None:
    """A reason when ``value`` looks like a random secret by its entropy alone."""
    if len(value) < MIN_ENTROPY_LEN or any(c.isspace() for c in value) or "://" in value:
        return None
    hostname = value.count(".") >= 2 and value.replace(".", "").replace("-", "").isalnum()
    if value.startswith(("/", "./", "~")) or value.isdigit() or hostname or _UUID.match(value):
        return None
    bits = entropy_bits(value) / len(value)
    if bits < MIN_BITS_PER_CHAR or weakness(value) is not None:
        return None
    return f"high entropy (~{bits:.1f} bits per character, {describe(value)})"


def classify(key: str | int | None, value: str) -> tuple[str, str] | None:
    """``(SECRET|SKIPPED, reason)`` for one string value, or None for a plain value."""
    if isinstance(grammar.parse(value), grammar.Reference):
        return SKIPPED, "already a secret-manager reference"
    if grammar.classify_passthrough(value) is not None:
        return SKIPPED, "reference-shaped text (fix it by hand: `aptui ref parse`)"
    shape = token_shape(value)
    named = isinstance(key, str) and secret_key_name(key)
    if not value.strip() or is_placeholder(value):
        return (SKIPPED, "a placeholder or empty value") if named or shape else None
    if shape:
        return SECRET, f"token shape: {shape}"
    if named:
        if len(value) < 4:
            return SKIPPED, f"key name {key!r} but only {len(value)} characters"
        return SECRET, f"key name {key!r}"
    if isinstance(key, str) and plain_key_name(key):
        return None
    reason = high_entropy(value)
    return (SECRET, reason) if reason else None


def iter_findings(doc: Any, *, document: int = 0) -> Iterator[Finding]:
    """Every secret (and every skipped secret-looking value) of ``doc``, in document order."""

    def visit(node: Any, path: Path, key: str | int | None, in_array: bool, depth: int) -> Iterator[Finding]:
        if depth > 200:
            return
        if isinstance(node, str):
            found = classify(key, node)
            if found is None:
                return
            kind, reason = found
            if kind == SECRET and in_array:
                kind, reason = SKIPPED, f"{reason}; inside an array, where Activepieces does not resolve references"
            yield Finding(path, node, kind, reason, document)
        elif isinstance(node, Mapping):
            for k, v in node.items():
                name = k if isinstance(k, str | int) else str(k)
                yield from visit(v, (*path, name), name, in_array, depth + 1)
        elif isinstance(node, list | tuple):
            for i, v in enumerate(node):
                yield from visit(v, (*path, i), key, True, depth + 1)

    yield from visit(doc, (), None, False, 0)
