"""Pane 3: per-connection figures, clear one or all locally (confirmed), clear on the platform."""

from __future__ import annotations

import pytest

from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.widgets.vtable import VirtualTable
from tests.tui.conftest import settle


@pytest.fixture
def cached(ctx):
    from aptui.store import connections as store_conn
    from aptui.store.cache import cache_for

    a = store_conn.create(ctx.store, provider_id="aws", name="prod-aws", connection_id="awsConn00000000000001",
                          config={"accessKeyId": "AKIAEXAMPLE000000000", "secretAccessKey": "x" * 40,
                                  "region": "us-east-1"})
    b = store_conn.create(ctx.store, provider_id="hashicorp", name="vault", connection_id="vaultConn000000000001",
                          config={"url": "http://127.0.0.1:1", "roleId": "r", "secretId": "s"})
    cache = cache_for(ctx.store)
    cache.put_many(a.id, {"prod/a:k": "v1", "prod/b:k": "v2"}, 300)
    cache.put(b.id, "secret/data/x/y", "v3", 300)
    cache.get(a.id, "prod/a:k")
    cache.get(a.id, "prod/zzz:k")
    cache.flush()
    return a, b


def cells(app, key):
    table = app.query_one("#cache-table", VirtualTable)
    return next(r.cells for r in table._rows if r.key == key)


async def test_figures_and_local_clear_one_then_all(make_app, ctx, cached):
    a, b = cached
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        name, _provider, entries, hits, misses, *_ = cells(app, a.id)
        assert (name, entries, hits, misses) == ("prod-aws", "2", "1", "1")
        assert cells(app, b.id)[2] == "1"
        app.query_one("#cache-table", VirtualTable).move_to_key(a.id)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "prod-aws" in app.screen.title_text
        await pilot.press("y")
        await settle(pilot)
        assert cells(app, a.id)[2] == "0" and cells(app, b.id)[2] == "1"
        await pilot.press("C")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # cancelled: nothing changes
        await settle(pilot)
        assert cells(app, b.id)[2] == "1"
        await pilot.press("C", "y")
        await settle(pilot)
        assert cells(app, b.id)[2] == "0"
    assert [r["target"] for r in ctx.store.query("SELECT target FROM audit_log WHERE action='cache.clear'")] == [
        a.id, "*"]


async def test_clear_on_the_platform(make_app, ctx, cached, activepieces, ap_profile):
    a, _ = cached
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        app.query_one("#cache-table", VirtualTable).move_to_key(a.id)
        await pilot.press("x")
        await pilot.pause()
        assert "DELETE /v1/secret-managers/cache" in app.screen.body
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("X", "y")
        await settle(pilot)
        assert activepieces.cache_clears == [a.id, None]
        activepieces.platform_admin = False
        await pilot.press("X", "y")
        await settle(pilot)
        assert app.errors[-1].code == "PERMISSION_DENIED"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_expired_entries_are_counted_apart_never_negative(make_app, ctx, cached, size):
    """Issue 18 item 5: 0 live + 1 expired reads `0 +1 old` (as `aptui cache status`), not `-1+1x`."""
    from aptui.services import cache

    a, b = cached
    with ctx.store.transaction() as conn:
        conn.execute("DELETE FROM cache_entries WHERE connection_id = ? AND path = 'prod/b:k'", (a.id,))
        conn.execute("UPDATE cache_entries SET expires = 1 WHERE connection_id = ?", (a.id,))
    figures = next(c for c in cache.status(ctx)["connections"] if c["id"] == a.id)
    assert (figures["entries"], figures["expired"]) == (0, 1)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert cells(app, a.id)[2] == "0 +1 old"
        assert cells(app, b.id)[2] == "1"
        from tests.tui.hostile import screen_text

        assert "0 +1 old" in screen_text(app)
