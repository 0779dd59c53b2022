"""Canary secrets and the scanner that looks for them in everything aptui wrote or printed.

Every canary is ``<prefix>CANARY<core><fill>``: the prefix and fill give it the shape of the field it
stands in for (an AWS key id, an ``sk-`` API key, an ``ops_`` 1Password token, a 21-character MCP
token ...), the ``core`` (10 hex digits, unique per canary and per run) names it. The scanner looks
in each artefact for:

- the core of every canary, case-insensitively (so a truncated, upper-cased or partly masked copy
  is found too), and the word ``CANARY`` anywhere else (a fragment too short to name a canary);
- every secret (canaries and the "harvested" secrets that aptui or a double generated during the
  run: new AWS keys, Vault secret IDs and tokens) raw, base64 (three alignments, standard and
  URL-safe) and hex encoded.

An artefact may allow some canaries (the stdout of the command that asked ``--reveal``; the one-time
display of a rotated MCP token) and may expect some (the scan must find them there, which proves it
looks).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

MARK = "CANARY"
_MARK_RE = re.compile(rb"CANARY", re.IGNORECASE)
CORE_LEN = 10
MIN_HARVESTED = 8  # shorter generated values would match by chance


def _core() -> str:
    return secrets.token_hex(5)  # 10 hex digits


@dataclass
class Canary:
    name: str
    value: str
    core: str


class CanarySet:
    """The canaries of one run, by name. ``make(name, shape)`` creates one of a given shape."""

    SHAPES = {
        # shape -> (prefix, total length or None, alphabet of the fill)
        "aws-key-id": ("AKIA", 20, "0123456789ABCDEF"),
        "aws-secret": ("", 40, "0123456789abcdef"),
        "sk": ("sk-", 51, "0123456789abcdef"),
        "ops": ("ops_", 64, "0123456789abcdef"),
        "uuid": ("", 36, "0123456789abcdef"),
        "ap-id": ("", 21, "0123456789abcdef"),  # an Activepieces id: 21 alphanumerics
        "hex32": ("", 32, "0123456789abcdef"),  # AP_ENCRYPTION_KEY shape
        "text": ("", 44, "0123456789abcdef"),
        "xoxb": ("xoxb-", 48, "0123456789abcdef"),
    }

    def __init__(self) -> None:
        self.by_name: dict[str, Canary] = {}
        self._cores: set[str] = set()

    def make(self, name: str, shape: str = "text") -> str:
        assert name not in self.by_name, name
        prefix, length, alphabet = self.SHAPES[shape]
        core = _core()
        while core in self._cores:
            core = _core()
        self._cores.add(core)
        if shape == "aws-key-id":
            core = core.upper()
        head = f"{prefix}{MARK}{core}"
        fill = "".join(secrets.choice(alphabet) for _ in range(max(0, length - len(head))))
        value = head + fill
        assert len(value) == length, (shape, value)
        self.by_name[name] = Canary(name, value, core)
        return value

    def __getitem__(self, name: str) -> str:
        return self.by_name[name].value

    def __len__(self) -> int:
        return len(self.by_name)

    def values(self) -> list[str]:
        return [c.value for c in self.by_name.values()]


@dataclass
class Artefact:
    """One thing aptui wrote or printed."""

    name: str
    data: bytes
    allowed: frozenset[str] = frozenset()  # canary / harvested names that may appear here
    expected: frozenset[str] = frozenset()  # names that must appear here (the scan proves it looks)


@dataclass
class Finding:
    artefact: str
    secret: str
    form: str
    context: str

    def __str__(self) -> str:
        return f"{self.artefact}: {self.secret} ({self.form}) near {self.context!r}"


def encoded_forms(value: str) -> dict[str, bytes]:
    """The byte strings by which ``value`` would be recognised once encoded (form -> needle)."""
    raw = value.encode()
    forms: dict[str, bytes] = {"raw": raw, "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw)
        start = 4 * ((pad + 2) // 3)
        end = 4 * ((pad + len(raw)) // 3)
        stable = enc[start:end]
        if len(stable) >= 12:
            forms[f"base64+{pad}"] = stable
            urlsafe = stable.replace(b"+", b"-").replace(b"/", b"_")
            if urlsafe != stable:
                forms[f"base64url+{pad}"] = urlsafe
    return forms


@dataclass
class Scanner:
    canaries: CanarySet
    harvested: dict[str, str] = field(default_factory=dict)  # name -> generated secret value
    artefacts: list[Artefact] = field(default_factory=list)

    def add(self, name: str, data: bytes | str, *, allowed: set[str] | frozenset[str] = frozenset(),
            expected: set[str] | frozenset[str] = frozenset()) -> Artefact:
        blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
        art = Artefact(name, blob, frozenset(allowed) | frozenset(expected), frozenset(expected))
        self.artefacts.append(art)
        return art

    def add_file(self, path: Path, name: str | None = None) -> Artefact:
        return self.add(name or str(path), path.read_bytes())

    def add_tree(self, root: Path, label: str) -> int:
        """Every regular file under ``root`` (raw bytes). Returns how many."""
        n = 0
        for path in sorted(root.rglob("*")):
            if path.is_file():
                self.add_file(path, f"{label}/{path.relative_to(root)}")
                n += 1
        return n

    def harvest(self, name: str, value: str | None) -> None:
        if value and len(value) >= MIN_HARVESTED and MARK not in value.upper():
            self.harvested[name] = value

    @property
    def bytes_scanned(self) -> int:
        return sum(len(a.data) for a in self.artefacts)

    def _needles(self) -> list[tuple[str, str, bytes]]:
        out: list[tuple[str, str, bytes]] = []
        for c in self.canaries.by_name.values():
            for form, needle in encoded_forms(c.value).items():
                if form != "raw":
                    out.append((c.name, form, needle))
        for name, value in self.harvested.items():
            out += [(name, form, needle) for form, needle in encoded_forms(value).items()]
        return out

    def scan(self) -> tuple[list[Finding], list[str]]:
        """(findings outside what each artefact allows, expected secrets that were NOT found)."""
        cores = {c.core.lower().encode(): c.name for c in self.canaries.by_name.values()}
        needles = self._needles()
        findings: list[Finding] = []
        missing: list[str] = []
        for art in self.artefacts:
            seen: set[str] = set()
            lower = art.data.lower()
            for m in _MARK_RE.finditer(art.data):
                tail = lower[m.end():m.end() + CORE_LEN]
                name = cores.get(tail)
                if name is None:
                    context = _context(art.data, m.start())
                    findings.append(Finding(art.name, "(unattributed)", "CANARY fragment", context))
                    continue
                seen.add(name)
                if name not in art.allowed:
                    findings.append(Finding(art.name, name, "raw", _context(art.data, m.start())))
            for core, name in cores.items():  # the core without the mark (e.g. a suffix shown)
                pos = lower.find(core)
                if pos >= 0 and name not in seen:
                    seen.add(name)
                    if name not in art.allowed:
                        findings.append(Finding(art.name, name, "core", _context(art.data, pos)))
            for name, form, needle in needles:
                pos = art.data.find(needle)
                if pos >= 0:
                    seen.add(name)
                    if name not in art.allowed:
                        findings.append(Finding(art.name, name, form, _context(art.data, pos)))
            missing += [f"{art.name}: {name}" for name in sorted(art.expected - seen)]
        return findings, missing


def _context(data: bytes, pos: int, width: int = 40) -> str:
    return data[max(0, pos - width):pos + width].decode("utf-8", "replace")
