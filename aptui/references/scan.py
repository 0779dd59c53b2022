"""Find references in JSON, YAML and .env files, with file, line and JSON path for each.

JSON and YAML documents go through the resolve walk (``walk.py``), so each finding says whether
Activepieces would resolve it; a ``.env`` value is a whole string. Binary files, files that are not
UTF-8 and files over ``max_bytes`` are skipped with a note; unparsable files get a note too.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from json.decoder import scanstring
from pathlib import Path as FsPath
from typing import Any

from aptui import docparse
from aptui.references.walk import Path, WalkItem, iter_walk

MAX_BYTES = 5 * 1024 * 1024
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox",
                       ".mypy_cache", ".ruff_cache", ".pytest_cache"})
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")
_WS = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class Occurrence:
    """One finding: where it is and what the walk says about it."""

    file: str
    line: int | None
    location: str  # JSON path ($.a.b) or the .env variable name
    item: WalkItem
    document: int = 0  # index of the YAML document in a multi-document file


@dataclass
class ScanResult:
    occurrences: list[Occurrence] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    files_scanned: int = 0


def kind_of(path: FsPath) -> str | None:
    """``json``, ``yaml``, ``env`` or None (not a file type ``ref scan`` reads)."""
    name = path.name.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return "env"
    return None


def _outside(link: FsPath, top: FsPath) -> str | None:
    """Where ``link`` leads when that is outside ``top`` (or is broken), else None."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return "a broken or looping link"
    return None if target == top or top in target.parents else str(target)


def iter_files(root: FsPath, notes: list[dict[str, str]] | None = None) -> Iterator[FsPath]:
    """Files under ``root`` (or ``root`` itself) that ``ref scan`` reads, in a stable order.

    A symbolic link (to a file or a directory) that leads outside ``root`` is not followed: it is
    reported in ``notes``. Links to directories are never descended (their target inside ``root``
    is scanned where it is)."""
    if root.is_file():
        yield root
        return
    top = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for d in dirnames:
            link = FsPath(dirpath) / d
            if link.is_symlink() and notes is not None and (where := _outside(link, top)):
                notes.append({"file": str(link), "note": f"not followed: a link to {where}, outside {root}"})
        for name in sorted(filenames):
            p = FsPath(dirpath) / name
            if kind_of(p) is None:
                continue
            if p.is_symlink() and (where := _outside(p, top)):
                if notes is not None:
                    notes.append({"file": str(p), "note": f"not followed: a link to {where}, outside {root}"})
                continue
            if p.is_file():
                yield p


# -- JSON with line numbers -----------------------------------------------------------------

class _JsonLocator:
    """A small JSON reader over already-validated text that records the line of every value."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.lines: dict[Path, int] = {}
        self.decoder = json.JSONDecoder()

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def ws(self, i: int) -> int:
        return _WS.match(self.text, i).end()

    def value(self, i: int, path: Path) -> tuple[Any, int]:
        text = self.text
        i = self.ws(i)
        self.lines.setdefault(path, self.line(i))
        c = text[i]
        if c == "{":
            obj: dict[str, Any] = {}
            i = self.ws(i + 1)
            if text[i] == "}":
                return obj, i + 1
            while True:
                i = self.ws(i)
                key, i = scanstring(text, i + 1)
                i = self.ws(i) + 1  # ':'
                obj[key], i = self.value(i, (*path, key))
                i = self.ws(i)
                if text[i] == "}":
                    return obj, i + 1
                i += 1  # ','
        if c == "[":
            arr: list[Any] = []
            i = self.ws(i + 1)
            if text[i] == "]":
                return arr, i + 1
            while True:
                item, i = self.value(i, (*path, len(arr)))
                arr.append(item)
                i = self.ws(i)
                if text[i] == "]":
                    return arr, i + 1
                i += 1
        if c == '"':
            return scanstring(text, i + 1)
        return self.decoder.raw_decode(text, i)


def load_json(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse JSON (raises ValueError as ``json.loads`` does) and map each value's path to its line."""
    doc = docparse.loads_json(text)
    locator = _JsonLocator(text)
    try:
        located, _ = locator.value(0, ())
    except (RecursionError, IndexError, ValueError):
        return doc, {}
    return located, locator.lines


# -- YAML with line numbers -----------------------------------------------------------------

def load_yaml(text: str) -> list[tuple[Any, dict[Path, int]]]:
    """Every document of a YAML stream as plain data plus a path → line map."""
    import yaml
    from yaml.constructor import SafeConstructor

    # Composed within the limits (aliases counted, expanded size measured, depth capped), so the
    # tree walk below (aliases expanded) is bounded too.

    constructor = SafeConstructor()
    out: list[tuple[Any, dict[Path, int]]] = []

    def convert(node: Any, path: Path, lines: dict[Path, int], seen: frozenset[int]) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen or len(path) > 200:
            return None
        seen = seen | {id(node)}
        if isinstance(node, yaml.MappingNode):
            obj: dict[Any, Any] = {}
            for knode, vnode in node.value:
                key = knode.value if isinstance(knode, yaml.ScalarNode) else str(knode.start_mark)
                obj[key] = convert(vnode, (*path, key), lines, seen)
            return obj
        if isinstance(node, yaml.SequenceNode):
            return [convert(v, (*path, i), lines, seen) for i, v in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        try:
            return constructor.construct_object(node, deep=True)
        except Exception:
            return node.value

    for node in docparse.compose_yaml(text):
        lines: dict[Path, int] = {}
        out.append((convert(node, (), lines, frozenset()), lines))
    return out


# -- .env -------------------------------------------------------------------------------------

def load_env(text: str) -> list[tuple[str, str, int]]:
    """``(name, value, line)`` for every assignment in a .env file."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _ENV_LINE.match(raw)
        if not m:
            continue
        name, value = m.group(1), m.group(2)
        if value[:1] in ("'", '"'):
            q = value[0]
            end = value.find(q, 1)
            while q == '"' and end > 0 and value[end - 1] == "\\":
                end = value.find(q, end + 1)
            value = value[1:end] if end > 0 else value[1:]
            if q == '"':
                value = value.replace('\\"', '"').replace("\\n", "\n")
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        out.append((name, value, n))
    return out


# -- files ------------------------------------------------------------------------------------

def _read_text(path: FsPath, max_bytes: int, result: ScanResult) -> str | None:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            result.notes.append({"file": str(path),
                                 "note": f"skipped: {size} bytes is over the {max_bytes} byte limit"})
            return None
        data = path.read_bytes()
    except OSError as exc:
        result.notes.append({"file": str(path), "note": f"skipped: cannot read ({exc.strerror or exc})"})
        return None
    if b"\x00" in data[:8192]:
        result.notes.append({"file": str(path), "note": "skipped: binary file"})
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.notes.append({"file": str(path), "note": "skipped: not UTF-8 text"})
        return None


def scan_file(path: FsPath, result: ScanResult, *, max_bytes: int = MAX_BYTES, kind: str | None = None) -> None:
    """Scan one file; a document over the limits (aptui.docparse) adds a ``refused`` note instead."""
    found = len(result.occurrences)
    try:
        _scan_file(path, result, max_bytes=max_bytes, kind=kind)
    except docparse.DocumentLimitError as exc:
        del result.occurrences[found:]
        result.notes.append({"file": str(path), "note": f"refused: {exc.message}", "code": exc.code})


def _scan_file(path: FsPath, result: ScanResult, *, max_bytes: int, kind: str | None) -> None:
    kind = kind or kind_of(path)
    if kind is None:
        result.notes.append({"file": str(path), "note": "skipped: not a .json, .yaml/.yml or .env file"})
        return
    text = _read_text(path, max_bytes, result)
    if text is None:
        return
    result.files_scanned += 1
    name = str(path)
    if kind == "json":
        try:
            doc, lines = load_json(text)
        except (ValueError, RecursionError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
            result.notes.append({"file": name, "note": f"not valid JSON{where}; not scanned"})
            return
        result.occurrences.extend(Occurrence(name, lines.get(it.path), it.json_path, it) for it in iter_walk(doc))
    elif kind == "yaml":
        try:
            docs = load_yaml(text)
        except docparse.DocumentLimitError:
            raise
        except Exception as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            result.notes.append({"file": name, "note": f"not valid YAML{where}; not scanned"})
            return
        for index, (doc, lines) in enumerate(docs):
            result.occurrences.extend(Occurrence(name, lines.get(it.path), it.json_path, it, index)
                                      for it in iter_walk(doc))
    else:
        for var, value, line in load_env(text):
            for it in iter_walk(value):
                result.occurrences.append(Occurrence(name, line, var, it))


def scan(roots: list[FsPath], *, max_bytes: int = MAX_BYTES,
         progress: Callable[[int, int, str], None] | None = None) -> ScanResult:
    """Scan files and directories; ``progress(done, total, file)`` after each file."""
    result = ScanResult()
    files: list[FsPath] = []
    for root in roots:
        if not root.exists():
            result.notes.append({"file": str(root), "note": "skipped: no such file or directory"})
            continue
        files.extend(iter_files(root, result.notes))
    for n, path in enumerate(files, 1):
        scan_file(path, result, max_bytes=max_bytes)
        if progress is not None:
            progress(n, len(files), str(path))
    return result
