"""Issue 18 item 17 on the panes 1-4, seeded: every key a pane's footer or text names does something
(the check is in ``tests/tui/advertised.py``; the cases are split over files so xdist's loadfile
spreads them over the workers)."""

from __future__ import annotations

from tests.tui.advertised import PANES_A, check_pane_keys, count_jobs

__all__ = ["count_jobs"]  # the autouse fixture, imported to apply here


async def test_every_key_panes_1_to_4_advertise_works_when_seeded(make_app, ctx, request):
    await check_pane_keys(make_app, ctx, request, read_only=False, seeded=True, panes=PANES_A)
