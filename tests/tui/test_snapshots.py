"""Snapshots of every pane at 80x24 and 120x40, against moto and the Activepieces double.

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs in ``__snapshots__/`` before committing them.
"""

from __future__ import annotations

import pytest

from tests.doubles.activepieces import DEFAULT_PROJECT
from tests.tui.scenes import drive, seed

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
PANES = ["sm", "refs", "cache", "platform", "audit"]


@pytest.fixture
def scene(ctx, frozen, moto_aws, activepieces):
    seed(ctx, aws_config=moto_aws.config(), ap_url=activepieces.url, ap_key=activepieces.api_key,
         project=DEFAULT_PROJECT, moto_secrets=moto_aws.create_secret)
    return ctx


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("pane", PANES)
def test_pane(snap_compare, scene, pane, size):
    from aptui.tui.app import AptuiApp

    app = AptuiApp(scene, show_first_run=False)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=lambda pilot: drive(pilot, pane))


def test_first_run_80x24(snap_compare, ctx, frozen, aptui_home, monkeypatch):
    from aptui.tui.app import AptuiApp

    monkeypatch.setenv("HOME", str(aptui_home.parent))  # the real path, shown as a stable ~/aptui-home/aptui.db

    async def settle(pilot):
        from tests.tui.conftest import settle

        await settle(pilot)

    assert snap_compare(AptuiApp(ctx), terminal_size=(80, 24), run_before=settle)


def test_help_80x24(snap_compare, scene):
    from aptui.tui.app import AptuiApp

    async def run(pilot):
        await drive(pilot, "sm")
        await pilot.press("question_mark")

    assert snap_compare(AptuiApp(scene, show_first_run=False), terminal_size=(80, 24), run_before=run)


def test_read_only_high_contrast_80x24(snap_compare, scene):
    from aptui.tui.app import AptuiApp

    scene.settings.read_only = True
    app = AptuiApp(scene, show_first_run=False, high_contrast=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: drive(pilot, "sm"))
