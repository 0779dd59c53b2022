"""The resolve walk, exactly as ``resolveUnknownValue``/``resolveObject`` (providers.md §1.3).

Activepieces recurses into plain objects (values only, never keys), resolves whole strings, and
returns everything else unchanged, arrays included. ``walk`` lists every string Activepieces
resolves as a reference, plus what it silently skips: references inside arrays, inside longer
strings, in object keys, and malformed lookalikes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aptui.docparse import MAX_DEPTH, Budget, too_deep
from aptui.references.grammar import Reference, classify_passthrough, parse

PathKey = str | int
Path = tuple[PathKey, ...]

REFERENCE = "reference"        # Activepieces resolves it
NOT_RESOLVED = "not-resolved"  # reference-shaped, but Activepieces never looks at it
BROKEN = "broken"              # malformed lookalike, passed through unchanged

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class WalkItem:
    path: Path
    value: str
    kind: str
    reason: str | None = None
    reference: Reference | None = None
    is_key: bool = False

    @property
    def json_path(self) -> str:
        return json_path(self.path)


def json_path(path: Path) -> str:
    """``$.a.b[0]['odd key']``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append("." + part)
        else:
            out.append("['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']")
    return "".join(out)


def _string_item(path: Path, value: str, in_array: bool, is_key: bool) -> WalkItem | None:
    parsed = parse(value)
    if isinstance(parsed, Reference):
        if is_key:
            return WalkItem(path, value, NOT_RESOLVED, "object key: Activepieces never resolves keys",
                            parsed, True)
        if in_array:
            return WalkItem(path, value, NOT_RESOLVED,
                            "inside an array: Activepieces does not resolve references in arrays", parsed)
        return WalkItem(path, value, REFERENCE, None, parsed)
    found = classify_passthrough(value)
    if found is None:
        return None
    kind, reason = found
    if is_key:
        return WalkItem(path, value, NOT_RESOLVED, f"object key: Activepieces never resolves keys ({reason})",
                        None, True)
    if in_array:
        return WalkItem(path, value, NOT_RESOLVED,
                        f"inside an array: Activepieces does not resolve references in arrays ({reason})")
    return WalkItem(path, value, NOT_RESOLVED if kind == "partial" else BROKEN, reason)


def iter_walk(doc: Any, path: Path = (), *, in_array: bool = False, budget: Budget | None = None,
              _depth: int = 0) -> Iterator[WalkItem]:
    """Yield the items of ``doc`` in document order.

    The walk visits at most ``MAX_NODES`` values ``MAX_DEPTH`` levels deep (aptui.docparse), counted
    with shared objects (YAML aliases) expanded; past that it raises DocumentLimitError (exit 2)."""
    if budget is None:
        budget = Budget()
    budget.visit(_depth)
    if isinstance(doc, str):
        item = _string_item(path, doc, in_array, False)
        if item is not None:
            yield item
    elif isinstance(doc, Mapping):
        for key, value in doc.items():
            child = (*path, key if isinstance(key, str | int) else str(key))
            if isinstance(key, str):
                item = _string_item(child, key, in_array, True)
                if item is not None:
                    yield item
            yield from iter_walk(value, child, in_array=in_array, budget=budget, _depth=_depth + 1)
    elif isinstance(doc, list | tuple):
        for i, value in enumerate(doc):
            yield from iter_walk(value, (*path, i), in_array=True, budget=budget, _depth=_depth + 1)


def walk(doc: Any) -> list[WalkItem]:
    return list(iter_walk(doc))


def substitute(doc: Any, values: Mapping[Path, Any], path: Path = ()) -> Any:
    """Rebuild ``doc`` as Activepieces would return it, with ``values`` at resolved paths.

    Only plain objects are rebuilt; arrays and other values come back as they were.
    """
    if path in values:
        return values[path]
    if isinstance(doc, Mapping):
        if len(path) > MAX_DEPTH:
            raise too_deep()
        return {k: substitute(v, values, (*path, k if isinstance(k, str | int) else str(k)))
                for k, v in doc.items()}
    return doc
