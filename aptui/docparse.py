"""Reading JSON and YAML from files with limits: what a document may cost, not only its size.

A file's size says little about what it expands to: a 450-byte YAML "billion laughs" (anchors
whose aliases nest ten deep) describes 10^9 nodes, and deeply nested JSON or YAML overflows
Python's stack. Every document aptui reads from a file goes through here:

- YAML is composed by a loader that counts alias uses (``MAX_ALIASES``), refuses recursive
  aliases and nesting deeper than ``MAX_DEPTH``, and measures the document as it would be walked,
  aliases expanded (``MAX_NODES``), before anything is built from it;
- JSON nesting deeper than ``MAX_DEPTH`` is refused before ``json.loads`` recurses;
- each walk of a document (``Budget``) counts the nodes it visits and the depth it reaches.

Each refusal is a one-line ``DOCUMENT_TOO_COMPLEX`` usage error (exit 2), never a RecursionError
or a machine out of memory.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import re
from typing import Any

from aptui.errors import AptuiError, Exit

MAX_BYTES = 5 * 1024 * 1024   # the largest file read as a document
MAX_DEPTH = 200               # nesting levels (objects and arrays)
MAX_NODES = 1_000_000         # values in a document, aliases expanded (about what a 5 MiB file holds)
MAX_ALIASES = 10_000          # alias uses (*name) in one YAML stream
CODE = "DOCUMENT_TOO_COMPLEX"


class DocumentLimitError(AptuiError):
    """A document over one of the limits (exit 2)."""

    def __init__(self, message: str, **_: Any) -> None:
        super().__init__(CODE, message, exit_code=Exit.USAGE, hint="aptui reads documents of at most "
                         f"{MAX_NODES:,} values, {MAX_DEPTH} levels deep, {MAX_ALIASES:,} YAML aliases")

    def __reduce__(self):
        return (DocumentLimitError, (self.message,))


def too_deep(what: str = "document") -> DocumentLimitError:
    return DocumentLimitError(f"{what} is nested more than {MAX_DEPTH} levels deep; not read")


def too_big(what: str = "document") -> DocumentLimitError:
    return DocumentLimitError(f"{what} holds more than {MAX_NODES:,} values (YAML aliases expanded); not read")


class Budget:
    """What one walk of a document may visit: ``MAX_NODES`` nodes, ``MAX_DEPTH`` levels."""

    __slots__ = ("depth", "nodes", "remaining", "what")

    def __init__(self, what: str = "document", *, nodes: int = MAX_NODES, depth: int = MAX_DEPTH) -> None:
        self.what, self.remaining, self.depth, self.nodes = what, nodes, depth, 0

    def visit(self, depth: int) -> None:
        """Count one node at ``depth``; raises DocumentLimitError when over budget."""
        self.nodes += 1
        if self.nodes > self.remaining:
            raise too_big(self.what)
        if depth > self.depth:
            raise too_deep(self.what)


# -- JSON ---------------------------------------------------------------------------------------

def loads_json(text: str, what: str = "document") -> Any:
    """``json.loads`` without a RecursionError (raises ValueError on bad JSON, as json.loads does).

    Nesting past Python's recursion limit is refused here; past ``MAX_DEPTH``, by the walk's Budget."""
    try:
        return json.loads(text)
    except RecursionError:
        raise too_deep(what) from None


# -- YAML ---------------------------------------------------------------------------------------

@functools.cache
def _loader_class():
    import yaml

    class LimitedLoader(yaml.SafeLoader):
        """SafeLoader that counts aliases and nesting while composing."""

        def __init__(self, stream: Any, what: str = "document") -> None:
            super().__init__(stream)
            self._what, self._depth, self._aliases = what, 0, 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    raise DocumentLimitError(f"{self._what} uses more than {MAX_ALIASES:,} YAML aliases; not read")
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise too_deep(self._what)
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return LimitedLoader


def expanded_size(node: Any, what: str = "document") -> int:
    """How many nodes a walk of ``node`` visits with aliases expanded (memoised: linear in the file)."""
    import yaml

    seen: dict[int, tuple[int, int]] = {}  # id → (size, height) of the subtree
    active: set[int] = set()

    def size(n: Any, depth: int) -> tuple[int, int]:
        key = id(n)
        if key in seen:
            total, height = seen[key]
            if depth + height > MAX_DEPTH:  # an alias reused deeper than where it was defined
                raise too_deep(what)
            return total, height
        if key in active:
            raise DocumentLimitError(f"{what} has a recursive YAML alias; not read")
        if depth > MAX_DEPTH:
            raise too_deep(what)
        total, height = 1, 0
        if isinstance(n, yaml.SequenceNode | yaml.MappingNode):
            active.add(key)
            children = n.value if isinstance(n, yaml.SequenceNode) else [c for kv in n.value for c in kv]
            for child in children:
                child_size, child_height = size(child, depth + 1)
                total, height = total + child_size, max(height, child_height + 1)
                if total > MAX_NODES:
                    raise too_big(what)
            active.discard(key)
        seen[key] = (total, height)
        return total, height

    return size(node, 0)[0]


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = str.maketrans({"[": "\x02", "{": "\x02", "]": "\x00", "}": "\x00"})


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in ``text`` (quotes and comments not excluded: an upper
    bound of a YAML flow collection's depth), at C speed."""
    steps = _NOT_BRACKET.sub("", text).translate(_DEPTH_STEP).encode("latin-1")
    return max(itertools.accumulate(map(operator.sub, steps, itertools.repeat(1))), default=0)


def compose_yaml(text: str, what: str = "document") -> list[Any]:
    """Every document of a YAML stream as composed nodes, within the limits (raises yaml.YAMLError
    on bad YAML, DocumentLimitError over a limit).

    Flow collections are measured first: PyYAML's scanner looks ahead to the end of a nested flow
    collection (any ``[`` may open a key) in quadratic time, before the depth limit can apply."""
    if bracket_depth(text) > MAX_DEPTH:
        raise too_deep(what)
    loader = _loader_class()(text, what)
    nodes: list[Any] = []
    total = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            total += expanded_size(node, what)
            if total > MAX_NODES:
                raise too_big(what)
            nodes.append(node)
    except RecursionError:
        raise too_deep(what) from None
    finally:
        loader.dispose()
    return nodes


def construct_yaml(node: Any) -> Any:
    """Plain data from a composed (already measured) node, as ``yaml.safe_load`` builds it."""
    import yaml

    return yaml.SafeLoader("").construct_document(node)


def safe_load_yaml(text: str, what: str = "document") -> Any:
    """``yaml.safe_load`` within the limits: the first document, or None for an empty stream."""
    nodes = compose_yaml(text, what)
    return construct_yaml(nodes[0]) if nodes else None
