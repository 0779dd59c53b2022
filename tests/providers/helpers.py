"""Shared helpers for the provider tests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aptui.errors import AptuiError
from aptui.providers.base import FetchResult, ProviderOptions

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "reference-cases.public.json"


def fast(timeout: float = 5.0, retries: int = 3, **extra) -> ProviderOptions:
    """Options with instant backoff, so retry tests stay fast."""
    return ProviderOptions(timeout=timeout, retries=retries, extra={"backoff_base": 0, **extra})


def cases_with_values(provider: str) -> list[dict]:
    cases = json.loads(REFERENCE.read_text())
    return [c for c in cases if c.get("provider") == provider and "fixture" in c and "value" in c]


def assert_clean(err: AptuiError | None, *secrets: str) -> None:
    """The error is one line and none of ``secrets`` appears in any rendering of it."""
    assert err is not None
    texts = [str(err), repr(err), err.message, err.one_line(), json.dumps(err.to_dict())]
    for text in texts:
        assert "\n" not in err.message
        for s in secrets:
            assert s not in text, f"secret leaked into {text!r}"


def value(result: FetchResult) -> str:
    assert result.error is None, result.error
    assert result.value is not None
    return result.value.reveal()


def reason(result: FetchResult) -> str:
    assert result.error is not None, f"expected an error, got a value for {result.path}"
    return result.error.message


async def ticks_during(coro, interval: float = 0.02):
    """Run ``coro`` while a ticker runs on the same loop; returns (result or exception, ticks)."""
    count = 0
    done = asyncio.Event()

    async def ticker():
        nonlocal count
        while not done.is_set():
            await asyncio.sleep(interval)
            count += 1

    task = asyncio.create_task(ticker())
    try:
        result = await coro
    except Exception as exc:
        result = exc
    finally:
        done.set()
        await task
    return result, count
