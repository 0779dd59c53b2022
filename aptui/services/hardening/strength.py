"""Describing and judging secret values without ever showing them.

``describe()`` says what a value looks like ("32 chars, hex"); ``weakness()`` names why a value
is weak (placeholder, repeated pattern, few distinct characters, a dictionary word, a run of
sequential characters) or returns None.
"""

from __future__ import annotations

import itertools
import math
import re
import string
import zlib
from collections import Counter

HEX = set(string.hexdigits)
B64 = set(string.ascii_letters + string.digits + "+/=-_")
ALNUM = set(string.ascii_letters + string.digits)

# Values seen in Activepieces' .env.example, docs, deploy scripts and common third-party guides
# (compared case-insensitively, whole value).
PLACEHOLDERS: frozenset[str] = frozenset(
    s.lower()
    for s in (
        "changeme", "change_me", "change-me", "changeit", "change_this", "changethis", "secret", "password",
        "passwd", "pass", "admin", "root", "postgres", "redis", "activepieces", "test", "testing", "example",
        "default", "x" * 3, "x" * 4, "to" + "do", "placeholder", "none", "null", "1234", "123456", "12345678", "qwerty",
        "letmein", "api-key", "apikey", "api_key", "your-api-key", "sk-" + "x" * 3,
        "your-32-char-encryption-key-here", "generate-random-key-here", "generate-jwt-secret-here",
        "32-char-encryption-key", "secure-jwt-secret", "your-encryption-key", "your_encryption_key",
        "your-jwt-secret", "your_jwt_secret", "jwt-secret", "jwt_secret", "encryption-key", "encryption_key",
        "my-secret", "mysecret", "supersecret", "super-secret",
        "0123456789abcdef0123456789abcdef", "abcdef0123456789abcdef0123456789",
        "00000000000000000000000000000000", "12345678901234567890123456789012",
    )
)
_PLACEHOLDER_SHAPES = re.compile(
    r"^<.*>$|^\[.*\]$|^\{\{.*\}\}$|^(your|insert|replace|generate|put|enter|add)[-_ ]|here$|^x{3,}$|^\*+$|"
    r"^\.\.\.$|^…$|change[-_ ]?me",
    re.IGNORECASE,
)
# Words that do not belong in a random key. Six letters or more, so that random base64 of
# 88 characters contains one by chance less than once in a million keys.
WORDS: tuple[str, ...] = (
    "password", "passwd", "secret", "changeme", "example", "activepieces", "encryption", "default", "sample",
    "placeholder", "qwerty", "letmein", "welcome", "generate", "replace", "random", "private", "production",
    "staging", "development", "abcdef", "123456",
)


def charset(value: str) -> str:
    """A word for the alphabet a value uses."""
    chars = set(value)
    if not value:
        return "empty"
    if chars <= HEX:
        return "hex"
    if chars <= ALNUM:
        return "alphanumeric"
    if chars <= B64:
        return "base64-like"
    if all(c.isprintable() for c in value):
        return "printable"
    return "mixed"


def describe(value: str) -> str:
    """``32 chars, hex`` — never the value."""
    return f"{len(value)} chars, {charset(value)}"


def entropy_bits(value: str) -> float:
    """Shannon estimate of the value's entropy (bits for the whole string)."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return per_char * n


def is_placeholder(value: str) -> bool:
    v = value.strip()
    return v.lower() in PLACEHOLDERS or bool(_PLACEHOLDER_SHAPES.search(v))


def _period(value: str) -> int | None:
    """The shortest repeating unit (≤ half the length), if the value is that unit repeated."""
    n = len(value)
    for p in range(1, n // 2 + 1):
        if all(value[i] == value[i % p] for i in range(n)):
            return p
    return None


def _run_chars(value: str) -> int:
    """Characters that sit in runs of 4+ sequential (``1234``, ``fedc``) or equal (``aaaa``) chars."""
    total, run, step = 0, 1, None
    for a, b in itertools.pairwise(value):
        d = ord(b) - ord(a)
        if d in (-1, 0, 1) and (step is None or d == step):
            run, step = run + 1, d
            continue
        total += run if run >= 4 else 0
        run, step = (2, d) if d in (-1, 0, 1) else (1, None)
    return total + (run if run >= 4 else 0)


def weakness(value: str, *, min_length: int = 0) -> str | None:
    """Why ``value`` is a weak secret, in words that do not reveal it; None if it looks random."""
    if not value:
        return "empty"
    if is_placeholder(value):
        return "a known placeholder/example value"
    if len(value) < min_length:
        return f"too short ({len(value)} chars; want at least {min_length})"
    p = _period(value)
    if p is not None:
        return f"a repeated {p}-character pattern"
    lowered = value.lower()
    for word in WORDS:
        if word in lowered:
            return f"contains the dictionary word or pattern {word!r}"
    n = len(value)
    distinct = len(set(value))
    if n >= 16 and distinct < min(8, n // 4):
        return f"only {distinct} distinct characters"
    if n >= 8 and _run_chars(value) * 2 >= n:
        return "long runs of sequential or repeated characters"
    if n >= 16 and sum(1 for a, b in itertools.pairwise(value) if a == b) * 2 >= n:
        return "many repeated characters"
    if n >= 24 and len(zlib.compress(value.encode("utf-8"), 9)) < n * 0.75:
        return "a repetitive pattern (compresses well)"
    # For short alphabets, a random value of n chars has ~log2(alphabet) bits/char.
    bits = entropy_bits(value)
    if n >= 16 and bits / n < 2.5:
        return f"low entropy (~{bits / n:.1f} bits per character)"
    return None
