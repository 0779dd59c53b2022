"""Helpers for the platform tests: a client on the Activepieces double with instant backoff."""

from __future__ import annotations

import pytest

from aptui.activepieces.client import ActivepiecesClient, ClientOptions
from aptui.masking import Secret


class SleepLog:
    """A replacement for asyncio.sleep that records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
def make_client(activepieces, sleeps):
    """``make_client(**options)`` → a client on the double holding the API key and an admin's
    session (``key=False`` / ``session=False`` leave one out); use it as ``async with``."""

    def make(*, key: str | bool | None = None, session: str | bool = True, url: str | None = None,
             **options) -> ActivepiecesClient:
        opts = ClientOptions(**{"timeout": 2.0, "retries": 3, **options})
        api_key = None if key is False else Secret(key or activepieces.api_key)
        token = activepieces.session_token() if session is True else (session or None)
        return ActivepiecesClient(url or activepieces.url, api_key, session=Secret(token) if token else None,
                                  profile="ap-test", options=opts, sleep=sleeps)

    return make
