"""Issue 18 item 17 on the panes: an empty store, and read-only: every key a pane's footer or text names does something
(the check is in ``tests/tui/advertised.py``; the cases are split over files so xdist's loadfile
spreads them over the workers)."""

from __future__ import annotations

import pytest

from tests.tui.advertised import check_pane_keys, count_jobs

__all__ = ["count_jobs"]  # the autouse fixture, imported to apply here


@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
async def test_every_key_a_pane_advertises_works_on_an_empty_store(make_app, ctx, request, read_only):
    await check_pane_keys(make_app, ctx, request, read_only=read_only, seeded=False)


async def test_every_key_a_read_only_pane_advertises_works_when_seeded(make_app, ctx, request):
    await check_pane_keys(make_app, ctx, request, read_only=True, seeded=True)
