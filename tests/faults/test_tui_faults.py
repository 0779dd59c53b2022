"""The console under faults: a job runs against a faulty target (behind the fault proxy) while the
operator keeps pressing keys. Every key takes effect within a bound while the fault is still active,
the job ends with its error code (a notification, a modal or the verdict line), attempts stay
bounded, and quitting while a request hangs does not hang the exit."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input, Static

from aptui.tui.messages import JobFinished
from aptui.tui.screens.error import ErrorModal
from aptui.tui.screens.help import HelpScreen
from tests.faults.proxy import Fault, FaultProxy
from tests.tui.conftest import settle

KEY_BOUND = 1.5  # seconds for one key to take visible effect (Pilot's own pauses, a loaded 2-core runner)
CONNECTION_FAILED = "SECRET_MANAGER_CONNECTION_FAILED"


@pytest.fixture
def proxies():
    started: list[FaultProxy] = []

    def make(upstream: str | None, fault: Fault, target: str = "generic") -> FaultProxy:
        proxy = FaultProxy(upstream, fault, target=target).start()
        started.append(proxy)
        return proxy

    yield make
    for p in started:
        p.stop()


async def keys_still_work(pilot, app, back_to: str) -> list[float]:
    """Switch panes, filter, open and close help, come back; each step timed. Returns the times."""
    steps: list[float] = []

    async def step(*keys: str, check) -> None:
        started = time.perf_counter()
        await pilot.press(*keys)
        for _ in range(100):
            if check():
                break
            await pilot.pause(0.01)
        assert check(), f"keys {keys} had no effect"
        steps.append(time.perf_counter() - started)

    await step("7", check=lambda: app.current_pane().PANE_ID == "audit")
    await step("slash", *"sm.", check=lambda: app.query_one("#audit-filter", Input).value == "sm.")
    await step("escape", "question_mark", check=lambda: isinstance(app.screen, HelpScreen))
    await step("escape", check=lambda: not isinstance(app.screen, HelpScreen))
    await step(back_to, check=lambda: back_to == app.current_pane().NUMBER)
    assert max(steps) < KEY_BOUND, steps
    return steps


def finished(messages: list, label_part: str) -> JobFinished | None:
    return next((m for m in messages if isinstance(m, JobFinished) and label_part in m.label), None)


async def test_sm_test_against_a_hanging_vault(make_app, ctx, vault_double, proxies):
    """delay: Vault holds the login past the timeout; the console stays usable, then a modal says why."""
    from aptui.store import connections as store_conn

    role_id, secret_id = vault_double.add_approle("app")
    proxy = proxies(vault_double.url, Fault("delay", delay=30.0), "hashicorp")
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault-slow",
                      config={"url": proxy.url, "roleId": role_id, "secretId": secret_id})
    # The timeout leaves the keys below ample time on a loaded 2-core machine.
    ctx.settings.timeout, ctx.settings.retries = 6.0, 0
    messages: list = []
    app = make_app()
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("1", "t")
        await pilot.pause(0.2)
        pane = app.pane("sm")
        assert pane.busy and "testing vault-slow" in str(pane.status.render())
        started = time.perf_counter()
        await keys_still_work(pilot, app, "1")
        assert pane.busy and proxy.count() == 1  # all of that while Vault was still silent
        await settle(pilot)
        assert time.perf_counter() - started < 6.0 + 2.0  # the provider timeout, not the proxy's 30 s
        assert isinstance(app.screen, ErrorModal) and app.screen.code == CONNECTION_FAILED
        assert app.errors[-1].exit_code == 4 and "timed out after 6s" in app.errors[-1].message
        assert finished(messages, "testing vault-slow").ok  # the test ran; its verdict is the failure
    assert proxy.count() == 1  # a timeout is not retried
    assert ctx.store.query("SELECT last_test_ok FROM sm_connections")[0]["last_test_ok"] == 0


async def test_reference_test_against_a_conjur_that_resets(make_app, ctx, conjur_double, proxies):
    """reset mid-body (after a pause): keys work meanwhile; the verdict carries the code; no cache."""
    from aptui.store import connections as store_conn

    key = conjur_double.add_host("host/ci")
    conjur_double.set_variable("prod/db/password", "s3cr3t-conjur-value")
    proxy = proxies(conjur_double.url, Fault("reset_mid_body", hold=5.0), "cyberark-conjur")
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur-resets",
                      connection_id="conjurReset0000000001",
                      config=conjur_double.config("host/ci", key) | {"url": proxy.url})
    ctx.settings.timeout, ctx.settings.retries = 8.0, 1
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        app.query_one("#ref-input", Input).value = "{{conjurReset0000000001|ap_sep_v1|prod/db/password}}"
        await settle(pilot)
        await pilot.press("escape", "t")  # leave the input (esc during a job would cancel it), test live
        await pilot.pause(0.1)
        pane = app.pane("refs")
        assert pane.busy
        await keys_still_work(pilot, app, "2")
        assert pane.busy and proxy.count() == 1
        await settle(pilot)
        verdict = str(app.query_one("#ref-verdict", Static).render())
        assert verdict.startswith(f"✗ {CONNECTION_FAILED}: connection closed by the remote"), verdict
        assert "s3cr3t-conjur-value" not in app.export_screenshot()
    assert proxy.count() == 1  # a reset after the request was sent is not resent
    assert ctx.store.query("SELECT COUNT(*) AS n FROM cache_entries")[0]["n"] == 0


async def test_platform_load_during_a_5xx_burst(make_app, ctx, activepieces, proxies):
    """5xx burst longer than the retries: bounded attempts, keys work, a notification with the code."""
    from aptui.masking import Secret
    from aptui.store import profiles
    from tests.doubles.activepieces import DEFAULT_PROJECT

    proxy = proxies(activepieces.url, Fault("burst_5xx", hold=1.5, method="GET", path="/app-connections"),
                    "activepieces")
    profiles.create(ctx.store, "burst", proxy.url, api_key=Secret(activepieces.api_key),
                    default_project=DEFAULT_PROJECT, make_default=True)
    ctx.settings.timeout, ctx.settings.retries = 3.0, 2
    messages: list = []
    app = make_app()
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await pilot.pause(0.1)
        pane = app.pane("platform")
        assert pane.busy
        await keys_still_work(pilot, app, "4")
        assert pane.busy  # the burst is still going on
        await settle(pilot)
        err = app.errors[-1]
        assert err.code == "PLATFORM_UNAVAILABLE" and err.exit_code == 4
        job = finished(messages, "loading app connections")
        assert job is not None and not job.ok and job.code == "PLATFORM_UNAVAILABLE"
    assert proxy.count("GET", "/app-connections") == 3  # retries + 1, then it stops


async def test_quitting_while_a_request_hangs_does_not_hang(make_app, ctx, vault_double, proxies):
    """q while a provider call hangs (the proxy holds it for 60 s): the console exits at once."""
    from aptui.store import connections as store_conn

    role_id, secret_id = vault_double.add_approle("app")
    proxy = proxies(vault_double.url, Fault("delay", delay=60.0), "hashicorp")
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault-hangs",
                      config={"url": proxy.url, "roleId": role_id, "secretId": secret_id})
    ctx.settings.timeout, ctx.settings.retries = 30.0, 0
    app = make_app()
    started = None
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("1", "t")
        await pilot.pause(0.3)
        assert app.pane("sm").busy and proxy.count() == 1
        started = time.perf_counter()
        await pilot.press("q")
    assert time.perf_counter() - started < 3.0
    assert app.return_code in (0, None)
