"""Two hypothesis profiles for the fuzz targets: a CI run (300 examples) and a slow run (10,000).

``run(name, strategy, check, examples)`` draws ``examples`` values, calls ``check`` on each (any
exception other than the ones ``check`` accepts is a crash, shrunk and reported by hypothesis) and
returns how many examples ran; the slow tests assert the full count and print it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CI_EXAMPLES = 300
SLOW_EXAMPLES = 10_000


def run(name: str, strategy: st.SearchStrategy, check: Callable[[Any], None], examples: int) -> int:
    count = 0

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def inner(value: Any) -> None:
        nonlocal count
        count += 1
        check(value)

    inner()
    print(f"fuzz {name}: {count} examples, 0 crashes")
    return count
