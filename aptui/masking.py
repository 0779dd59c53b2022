"""Secret values that cannot leak by accident, and the one masking rule used everywhere.

``Secret`` wraps a string: its ``repr``/``str``/format show a mask, it refuses pickling and
JSON encoding by accident, and the value comes out only through ``reveal()``.
"""

from __future__ import annotations

import re
import weakref

BULLET = "•"
_LIVE: weakref.WeakSet[Secret] = weakref.WeakSet()  # for crash reports (aptui.crash)


_BUCKETS = (64, 32, 16, 8)
# Prefixes that say what KIND of credential a value is (public knowledge, not part of the secret).
_TYPED = re.compile(r"(sk-ant-|sk-proj-|sk[-_]|AKIA|ASIA|ops_|xox[abposr]-|gh[pousr]_|github_pat_|glpat-|hvs\.|eyJ)")


def length_bucket(n: int) -> str:
    """A length shown without giving it away: ``(16+ chars)``, ``(under 8 chars)``."""
    for edge in _BUCKETS:
        if n >= edge:
            return f"({edge}+ chars)"
    return "(under 8 chars)"


def mask(value: object, *, keep: int = 2) -> str:
    """Bullets and a length bucket (``•••••• (16+ chars)``), never the exact length.

    A prefix is shown only when it names a well-known credential type (``sk-``, ``AKIA``, ``ghp_``,
    ``hvs.``, a JWT's ``eyJ``…) and the value is long enough that the prefix is a small part of it;
    an untyped value shows none of its characters. ``keep`` caps the typed prefix shown (0: none).
    """
    text = value if isinstance(value, str) else str(value)
    n = len(text)
    if n == 0:
        return "(empty)"
    typed = _TYPED.match(text) if keep and n >= 16 else None
    shown = typed.group() if typed else ""
    return f"{shown}{BULLET * 6} {length_bucket(n)}"


class Secret:
    """A secret string whose every accidental rendering is masked."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        object.__setattr__(self, "_value", str(value))
        _LIVE.add(self)

    def reveal(self) -> str:
        """The clear value. Call only when the user asked to reveal, copy or send it."""
        return self._value

    def masked(self) -> str:
        return mask(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({self.masked()})"

    __str__ = masked

    def __format__(self, spec: str) -> str:
        return format(self.masked(), spec)

    def __setattr__(self, name, value):
        raise AttributeError("Secret is immutable")

    def __reduce__(self):
        raise TypeError("Secret values are not picklable")


_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_WORD = re.compile(r"[A-Za-z][A-Za-z_]{0,31}")
_CREDENTIAL = re.compile(r"(sk[-_]|AKIA|ASIA|ops_|xox[abposr]-|gh[pousr]_|github_pat_|glpat-|hvs\.|eyJ)")


def looks_like_credential(text: str) -> bool:
    """A well-known credential prefix (``sk-``, ``AKIA``, ``ops_``, ``xoxb-``, ``ghp_``, ``hvs.``, a JWT),
    or 32+ characters without a space: not something to repeat in an error message."""
    return bool(_CREDENTIAL.match(text)) or (len(text) >= 32 and " " not in text)


def shown(text: str) -> str:
    """``text`` as typed, unless it looks like a credential (then masked): for echoing a name back."""
    return mask(text) if looks_like_credential(text) else text


def name_or_mask(text: str, known: tuple[str, ...] | list[str] = ()) -> str:
    """What the user typed where a *name* belongs (an environment variable, a field), fit to repeat.

    Shown as typed when it is one of ``known`` or a close typo of one; otherwise, unless it looks
    like a credential, when it is an upper-case variable name (with an underscore, or at most 12
    characters) or, where ``known`` names are expected, a word of letters. Anything else may be a
    secret pasted in the wrong place, and is masked.
    """
    if text in known:
        return text
    if known:
        import difflib

        if difflib.get_close_matches(text, list(known), n=1, cutoff=0.8):
            return text
    if looks_like_credential(text):
        return mask(text)
    if _ENV_NAME.fullmatch(text) and ("_" in text or len(text) <= 12):
        return text
    if known and _WORD.fullmatch(text):  # a field-like word (letters only: no digits, no punctuation)
        return text
    return mask(text)


def live_values() -> list[str]:
    """The values of every ``Secret`` still alive in this process (to scrub a debug traceback)."""
    for _ in range(3):
        try:
            return [s.reveal() for s in list(_LIVE)]
        except RuntimeError:  # the set changed size while another thread created a Secret
            continue
    return []


def redact(text: str, secrets: list[str] | tuple[str, ...] | set[str]) -> str:
    """Replace every occurrence of each secret (longest first) in ``text`` with a mask."""
    for s in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        if s in text:
            text = text.replace(s, mask(s))
    return text
