"""Issue 18, runbook items at 80x24: contain offers only what can be done, a failed choice can be
chosen again, a mark in pane 5 unblocks it, "rotated elsewhere" takes a time and a note (item 1);
the flush uses the cache-flush call an API key may make (item 2); scope runs and shows before the
contain question (item 7)."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input

from aptui import clock
from aptui.services import incident, rotation
from aptui.store import connections as store_conn
from aptui.store import incidents as store_inc
from aptui.tui.screens.choice import ChoiceModal
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.error import ErrorModal
from aptui.tui.screens.form import FormScreen
from tests.incident.test_pane import choose, open_pane
from tests.rotation.pilot import settle, wait_for

SIZE = (80, 24)
SECRET_ITEM = "aws-secret:prod-aws/prod/slack"


def fast(ctx, inc_id: str) -> None:
    inc = incident.get(ctx, inc_id)
    inc.data["options"]["rate"] = 50
    store_inc.save(ctx.store, inc)


async def answer_until_closed(pilot, ctx, inc_id: str) -> int:
    presses = 0
    while True:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal | ErrorModal)
                       or incident.get(ctx, inc_id).state == "closed", timeout=30)
        if not isinstance(pilot.app.screen, ConfirmModal):
            break
        await pilot.press("y")
        presses += 1
        await pilot.pause(0.05)
    await settle(pilot)
    return presses


async def test_aws_secret_scope_first_no_rotate_offer_rotated_elsewhere_and_api_key_flush(ctx, scene, activepieces):
    from aptui.tui.app import AptuiApp

    # The real server refuses GET /v1/secret-managers to an API key (activepieces-api.md §1a).
    activepieces.fault("/v1/secret-managers", method="GET", status=403, times=None,
                       body={"code": "PERMISSION_DENIED", "params": {"message": "principal SERVICE not allowed"}})
    inc = incident.start(ctx, SECRET_ITEM)
    fast(ctx, inc.id)
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_pane(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal), timeout=30)
        # item 7: the scope step ran and is on screen before the question
        assert incident.get(ctx, inc.id).data["steps"]["scope"]["status"] == "done"
        assert "scope:" in app.screen.title_text and "project(s)" in app.screen.title_text
        # item 1: what aptui cannot do is not offered
        assert [k for k, _ in app.screen.options] == ["elsewhere", "skip"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#f-rotated_at", Input).value = "2h"
        await pilot.press("ctrl+s")
        await answer_until_closed(pilot, ctx, inc.id)
        done = incident.get(ctx, inc.id)
        assert done.state == "closed", done.data["steps"]
    contain = done.data["steps"]["contain"]
    rotated = clock.parse_iso(contain["result"]["rotatedAt"])
    assert abs((clock.utc_now() - timedelta(hours=2) - rotated).total_seconds()) < 120
    item = rotation.find_item(ctx, SECRET_ITEM)
    assert item.last_rotated is not None and abs((item.last_rotated - rotated).total_seconds()) < 1
    # item 2: the platform's cache was flushed for this connection by id, no listing was needed
    assert activepieces.cache_clears == [scene.connection_id]
    assert not activepieces.calls("GET", "/v1/secret-managers")
    assert done.data["steps"]["flush"]["result"]["remote"]["connectionId"] == scene.connection_id


async def test_a_failed_rotate_choice_can_be_chosen_again(ctx, aws_conn):
    from aptui.tui.app import AptuiApp

    conn = aws_conn("prod-aws")
    store_conn.update(ctx.store, conn.id, config={"accessKeyId": "AKIABROKEN0000000000", "secretAccessKey": "x",
                                                  "region": "us-east-1"})
    inc = incident.start(ctx, "sm:prod-aws")
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_pane(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal), timeout=30)
        await choose(pilot, "rotate")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert "c continues" in (app.errors[-1].hint or "") and "--" not in (app.errors[-1].hint or "")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("c")  # asks again, instead of repeating the failed choice
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal), timeout=10)
        assert "last try stopped" in app.screen.title_text
        assert app.screen.current == "rotate"
        await choose(pilot, "elsewhere")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert incident.get(ctx, inc.id).data["steps"]["contain"]["status"] == "done"


async def test_marking_the_credential_in_pane_5_unblocks_contain(ctx, aws_conn):
    from aptui.tui.app import AptuiApp

    aws_conn("prod-aws")
    rotation.mark(ctx, "sm:prod-aws", note="before the incident")
    inc = incident.start(ctx, "sm:prod-aws")
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_pane(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal), timeout=30)
        await pilot.press("escape")
        await settle(pilot)
        rotation.mark(ctx, "sm:prod-aws", note="rotated by the AWS team")  # what pane 5's m records
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceModal)
    contain = incident.get(ctx, inc.id).data["steps"]["contain"]
    assert contain["status"] == "done" and contain["result"]["mode"] == "recorded"


def test_a_mark_from_before_the_incident_does_not_count(ctx, aws_conn):
    aws_conn("prod-aws")
    rotation.mark(ctx, "sm:prod-aws")
    inc = incident.start(ctx, "sm:prod-aws")
    assert incident.contain_choices(ctx, inc.id)["markedAt"] is None
    rotation.mark(ctx, "sm:prod-aws")
    assert incident.contain_choices(ctx, inc.id)["markedAt"] is not None
    assert [k for k, _ in incident.contain_choices(ctx, inc.id)["choices"]] == ["rotate", "elsewhere", "skip"]


def test_rotated_at_parsing(ctx):
    import pytest

    from aptui.errors import AptuiError

    now = clock.utc_now()
    assert abs((incident.parse_rotated_at("now") - now).total_seconds()) < 5
    assert abs((now - incident.parse_rotated_at("30m")).total_seconds() - 1800) < 5
    assert incident.parse_rotated_at("2026-01-02T03:04:05Z").year == 2026
    for bad in ("yesterday-ish", "2999-01-01T00:00:00Z"):
        with pytest.raises(AptuiError):
            incident.parse_rotated_at(bad)


async def test_other_panes_open_on_the_incident_and_their_actions_join_its_timeline(ctx, aws_conn):
    """Item 8: panes 3 and 5 open on the incident's connection/item; a cache clear and a mark there go onto
    its timeline and into the export."""
    from aptui.store.cache import cache_for
    from aptui.tui.app import AptuiApp
    from aptui.tui.widgets.vtable import VirtualTable

    aws_conn("a-first-aws")
    conn = aws_conn("prod-aws")
    cache_for(ctx.store).put(conn.id, "prod/slack:token", "value-1", 300)
    cache_for(ctx.store).flush()
    inc = incident.start(ctx, "sm:prod-aws")
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert app.query_one("#cache-table", VirtualTable).current_key == conn.id
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert app.query_one("#rot-table", VirtualTable).current_key == "sm:prod-aws"
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+s")
        await settle(pilot)
    events = [(e["step"], e["action"]) for e in incident.view(ctx, inc.id)["timeline"]]
    assert ("flush", "local-cache (outside the runbook)") in events
    assert ("contain", "mark (outside the runbook)") in events
    assert "mark (outside the runbook)" in incident.export(ctx, inc.id, "md")
