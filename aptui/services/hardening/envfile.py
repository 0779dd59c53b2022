"""A faithful dotenv parser for the audit (what Docker Compose and python-dotenv accept).

Accepted syntax, one assignment per line:

- blank lines; ``# comments`` on their own line; an optional ``export`` prefix;
- ``KEY=value`` with optional spaces around ``=``; keys ``[A-Za-z_][A-Za-z0-9_.-]*``;
- unquoted values: trimmed; `` #`` (whitespace then ``#``) starts an inline comment;
- ``'single quoted'``: literal, may span lines, no escapes, no expansion;
- ``"double quoted"``: may span lines; escapes ``\\n \\r \\t \\\\ \\" \\$``; text after the
  closing quote may only be a comment;
- ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``$VAR`` in unquoted and double-quoted
  values expand from keys defined *earlier in the same file* (never from aptui's own
  environment); an unknown name stays as written and the entry is marked ``unresolved``;
- a key defined twice: the last one wins (both lines are remembered).

An unterminated quote is an error (exit 2, the line number named, never the value). Lines that
are not assignments are kept as ``problems`` (line, reason) and otherwise ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from aptui.masking import mask
from aptui.services.hardening.files import bad_input, read_text

_KEY = re.compile(r"(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.\-]*)[ \t]*")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}
_DOLLAR = "\x00"  # stands for an escaped \$ during expansion (NUL never occurs in text input)


@dataclass
class EnvEntry:
    """One assignment. ``value`` is expanded; ``raw`` is as written (unquoted, unescaped)."""

    key: str
    value: str = field(repr=False)
    raw: str = field(repr=False)
    line: int
    quote: str = ""
    unresolved: bool = False

    def __repr__(self) -> str:
        return f"EnvEntry({self.key}={mask(self.value)}, line={self.line})"


@dataclass
class EnvFile:
    """A parsed env file, or the merged environment of a compose service."""

    path: Path | None
    entries: list[EnvEntry] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            self.label = str(self.path) if self.path else "environment"

    def entry(self, key: str) -> EnvEntry | None:
        found = None
        for e in self.entries:
            if e.key == key:
                found = e
        return found

    def get(self, key: str, default: str | None = None) -> str | None:
        e = self.entry(key)
        return e.value if e is not None else default

    def has(self, key: str) -> bool:
        return self.entry(key) is not None

    def where(self, key: str) -> str:
        e = self.entry(key)
        if e is None or self.path is None:
            return self.label
        return f"{self.path}:{e.line}"

    @property
    def values(self) -> dict[str, str]:
        return {e.key: e.value for e in self.entries}

    def duplicates(self) -> dict[str, list[int]]:
        lines: dict[str, list[int]] = {}
        for e in self.entries:
            lines.setdefault(e.key, []).append(e.line)
        return {k: v for k, v in lines.items() if len(v) > 1}


def _expand(text: str, known: dict[str, str]) -> tuple[str, bool]:
    unresolved = False

    def sub(m: re.Match) -> str:
        nonlocal unresolved
        name = m.group(1) or m.group(4)
        op, default = m.group(2), m.group(3)
        value = known.get(name)
        if op == ":-" and not value:
            return default or ""
        if op == "-" and value is None:
            return default or ""
        if value is None:
            unresolved = True
            return m.group(0)
        return value

    return _REF.sub(sub, text), unresolved


def parse_env(text: str, path: Path | None = None, *, label: str = "env file") -> EnvFile:
    """Parse dotenv ``text``. Raises an exit-2 ``FILE_INVALID`` for an unterminated quote."""
    env = EnvFile(path=path)
    known: dict[str, str] = {}
    where = str(path) if path else label
    n = len(text)
    i = 0
    lineno = 1
    while i < n:
        # skip leading blanks
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] == "\n":
            i += 1
            lineno += 1
            continue
        eol = text.find("\n", i)
        eol = n if eol < 0 else eol
        if text[i] == "#":
            i = eol
            continue
        m = _KEY.match(text, i, eol)
        if not m or m.end() >= eol or text[m.end()] != "=":
            bare = m is not None and not text[m.end():eol].strip()
            reason = "no '=' (a bare name is not an assignment)" if bare else "not a KEY=VALUE line"
            env.problems.append((lineno, reason))
            i = eol
            continue
        key = m.group(1)
        start_line = lineno
        i = m.end() + 1
        while i < eol and text[i] in " \t":
            i += 1
        quote = text[i] if i < eol and text[i] in "\"'" else ""
        if quote == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise bad_input("FILE_INVALID", f"{where}:{start_line}: unterminated single-quoted value for {key}",
                                hint="close the quote; multi-line values need the closing quote")
            raw = value = text[i + 1 : close]
            lineno += raw.count("\n")
            i = close + 1
            unresolved = False
        elif quote == '"':
            j = i + 1
            out: list[str] = []
            raw_parts: list[str] = []
            closed = False
            while j < n:
                c = text[j]
                if c == "\\" and j + 1 < n:
                    nxt = text[j + 1]
                    raw_parts.append(c + nxt)
                    if nxt == "$":
                        out.append(_DOLLAR)
                    elif nxt in _ESCAPES:
                        out.append(_ESCAPES[nxt])
                    else:
                        out.append(c + nxt)
                    j += 2
                    continue
                if c == '"':
                    closed = True
                    break
                out.append(c)
                raw_parts.append(c)
                j += 1
            if not closed:
                raise bad_input("FILE_INVALID", f"{where}:{start_line}: unterminated double-quoted value for {key}",
                                hint="close the quote; multi-line values need the closing quote")
            raw = "".join(raw_parts)
            lineno += raw.count("\n")
            expanded, unresolved = _expand("".join(out), known)
            value = expanded.replace(_DOLLAR, "$")
            i = j + 1
        elif i < eol and text[i] == "#" and i > m.end() + 1:
            raw = value = ""  # `KEY= # comment`: an empty value
            unresolved = False
            i = eol
        else:
            body = text[i:eol]
            cut = re.search(r"[ \t]#", body)
            if cut:
                body = body[: cut.start()]
            raw = body.strip()
            value, unresolved = _expand(raw, known)
            i = eol
        if quote:
            rest_end = text.find("\n", i)
            rest_end = n if rest_end < 0 else rest_end
            rest = text[i:rest_end].strip()
            if rest and not rest.startswith("#"):
                env.problems.append((lineno, f"text after the closing quote of {key} is ignored"))
            i = rest_end
        env.entries.append(EnvEntry(key=key, value=value, raw=raw, line=start_line, quote=quote,
                                    unresolved=unresolved))
        known[key] = value
    return env


def load_env_file(path: Path, *, label: str = "env file") -> EnvFile:
    """Read and parse an env file (exit 2 for missing/unreadable/binary/invalid input)."""
    return parse_env(read_text(path, label), path, label=label)
