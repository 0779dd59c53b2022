"""Rewrite a JSON/YAML source with references, keeping its formatting and key order.

Each replaced value is located as a token span in the text (JSON: the string token; YAML: the
scalar node's marks) and only that span changes: comments, indentation, quoting of other values
and key order stay byte for byte. The result is parsed again and must equal the original document
with the references in place; when it does not (anchors, odd block scalars), the document is
dumped again instead (key order kept, formatting normalised) and the method says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from json.decoder import scanstring
from typing import Any

from aptui.errors import AptuiError
from aptui.references.scan import load_yaml
from aptui.references.walk import Path

TEXTUAL, REDUMP = "textual", "re-dumped"
Span = tuple[int, int]
_WS = re.compile(r"[ \t\n\r]*")


def parse(text: str, fmt: str) -> list[Any]:
    """The documents of a source (one for JSON)."""
    if fmt == "json":
        return [json.loads(text)]
    return [doc for doc, _ in load_yaml(text)]


def json_spans(text: str) -> dict[Path, Span]:
    """The ``(start, end)`` of every string value token, by path."""
    spans: dict[Path, Span] = {}
    decoder = json.JSONDecoder()

    def ws(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    def value(i: int, path: Path) -> int:
        i = ws(i)
        c = text[i]
        if c == "{":
            i = ws(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                i = ws(i)
                key, i = scanstring(text, i + 1)
                i = ws(i) + 1
                i = ws(value(i, (*path, key)))
                if text[i] == "}":
                    return i + 1
                i += 1
        if c == "[":
            i = ws(i + 1)
            if text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = ws(value(i, (*path, n)))
                n += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        if c == '"':
            _, end = scanstring(text, i + 1)
            spans[path] = (i, end)
            return end
        return decoder.raw_decode(text, i)[1]

    value(0, ())
    return spans


def yaml_spans(text: str) -> list[dict[Path, tuple[int, int, str]]]:
    """Per document, the ``(start, end, style)`` of every scalar value node, by path."""
    import yaml

    out: list[dict[Path, tuple[int, int, str]]] = []

    def visit(node: Any, path: Path, spans: dict[Path, tuple[int, int, str]], depth: int) -> None:
        if depth > 200:
            return
        if isinstance(node, yaml.MappingNode):
            for knode, vnode in node.value:
                key = knode.value if isinstance(knode, yaml.ScalarNode) else str(knode.start_mark)
                visit(vnode, (*path, key), spans, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                visit(v, (*path, i), spans, depth + 1)
        elif isinstance(node, yaml.ScalarNode):
            spans[path] = (node.start_mark.index, node.end_mark.index, node.style or "")

    for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if node is None:
            continue
        spans: dict[Path, tuple[int, int, str]] = {}
        visit(node, (), spans, 0)
        out.append(spans)
    return out


def _yaml_quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def substitute(doc: Any, path: Path, new: Any) -> Any:
    """``doc`` with the value at ``path`` replaced (copies along the path only)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, Mapping):
        out = dict(doc)
        out[head] = substitute(doc[head], rest, new)
        return out
    if isinstance(doc, list):
        out_l = list(doc)
        out_l[head] = substitute(doc[head], rest, new)  # type: ignore[index]
        return out_l
    raise KeyError(path)


def get(doc: Any, path: Path) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _indent_of(text: str) -> int | None:
    m = re.search(r"\n( +)\S", text)
    return len(m.group(1)) if m else None


def _redump(docs: list[Any], fmt: str, original: str) -> str:
    if fmt == "json":
        out = json.dumps(docs[0], indent=_indent_of(original), ensure_ascii=False)
        return out + ("\n" if original.endswith("\n") else "")
    import yaml

    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, default_flow_style=False)


def rewrite(text: str, fmt: str, replacements: dict[tuple[int, Path], str]) -> tuple[str, str]:
    """``text`` with each ``(document, path)`` value replaced by its string; returns (text, method)."""
    docs = parse(text, fmt)
    expected = list(docs)
    for (d, path), new in replacements.items():
        expected[d] = substitute(expected[d], path, new)
    edits: list[tuple[int, int, str]] = []
    try:
        if fmt == "json":
            spans = json_spans(text)
            for (_d, path), new in replacements.items():
                start, end = spans[path]
                edits.append((start, end, json.dumps(new, ensure_ascii=False)))
        else:
            all_spans = yaml_spans(text)
            for (d, path), new in replacements.items():
                start, end, style = all_spans[d][path]
                tail = ""
                if style in ("|", ">"):
                    chunk = text[start:end]
                    tail = chunk[len(chunk.rstrip("\n")):]
                edits.append((start, end, _yaml_quoted(new) + tail))
    except (KeyError, IndexError, ValueError):
        edits = []
    if edits and len(edits) == len(replacements):
        out = text
        for start, end, new_text in sorted(edits, reverse=True):
            out = out[:start] + new_text + out[end:]
        try:
            if parse(out, fmt) == expected:
                return out, TEXTUAL
        except Exception:
            pass
    out = _redump(expected, fmt, text)
    if parse(out, fmt) != expected:
        raise AptuiError("MIGRATE_REWRITE_FAILED", "the rewritten document does not read back as expected; "
                                                   "the source was left unchanged")
    return out, REDUMP
