"""Hypothesis: alias-heavy and deeply nested YAML/JSON through aptui's document limits.

Every generated document is either read (and walked) or refused with DocumentLimitError; never
another exception (RecursionError, MemoryError), and never slowly: each example stays well under
a second however many aliases it stacks."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from hypothesis import strategies as st

from aptui import docparse
from aptui.references import walk
from tests.fuzz.profiles import CI_EXAMPLES, SLOW_EXAMPLES, run

LEAF = st.sampled_from(["x", "{{c1|ap_sep_v1|p}}", "1", "true", "~", '"{{a|ap_sep_v1|b:c}}"'])


@st.composite
def alias_heavy(draw) -> str:
    """Anchors, each a sequence or mapping of aliases to earlier anchors (a bomb when wide and tall)."""
    levels = draw(st.integers(1, 14))
    width = draw(st.integers(1, 12))
    lines = [f"a0: &a0 [{', '.join(draw(st.lists(LEAF, min_size=1, max_size=width)))}]"]
    for i in range(1, levels):
        refs = [f"*a{draw(st.integers(0, i - 1))}" for _ in range(draw(st.integers(1, width)))]
        if draw(st.booleans()):
            body = "[" + ", ".join(refs) + "]"
        else:
            body = "{" + ", ".join(f"k{j}: {r}" for j, r in enumerate(refs)) + "}"
        lines.append(f"a{i}: &a{i} {body}")
    if draw(st.booleans()):  # a recursive alias, sometimes
        lines.append("loop: &loop [x, *loop]")
    return "\n".join(lines) + "\n"


@st.composite
def deeply_nested(draw) -> tuple[str, str]:
    depth = draw(st.integers(1, 3000))
    kind = draw(st.sampled_from(["json-list", "json-object", "yaml-flow", "yaml-block"]))
    if kind == "json-list":
        return "json", "[" * depth + "1" + "]" * depth
    if kind == "json-object":
        return "json", '{"k":' * depth + '"{{c|ap_sep_v1|p}}"' + "}" * depth
    if kind == "yaml-flow":
        return "yaml", "[" * depth + "x" + "]" * depth
    return "yaml", "".join("  " * i + "k:\n" for i in range(min(depth, 400))) + "  " * min(depth, 400) + "v\n"


def _read(kind: str, text: str) -> None:
    t0 = time.perf_counter()
    try:
        doc = docparse.loads_json(text) if kind == "json" else docparse.safe_load_yaml(text)
        walk.walk(doc)
    except docparse.DocumentLimitError:
        pass
    except (yaml.YAMLError, json.JSONDecodeError):
        pass
    assert time.perf_counter() - t0 < 2.0


def check_alias(text: str) -> None:
    _read("yaml", text)


def check_nested(case: tuple[str, str]) -> None:
    _read(*case)


def test_alias_heavy_yaml():
    assert run("alias-heavy YAML", alias_heavy(), check_alias, CI_EXAMPLES // 3) >= CI_EXAMPLES // 3


def test_deeply_nested_documents():
    assert run("deeply nested JSON/YAML", deeply_nested(), check_nested, CI_EXAMPLES // 3) >= CI_EXAMPLES // 3


@pytest.mark.slow
def test_alias_heavy_yaml_slow():
    assert run("alias-heavy YAML", alias_heavy(), check_alias, SLOW_EXAMPLES) >= SLOW_EXAMPLES
