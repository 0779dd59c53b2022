"""Generate screenshots/*.svg from the real console driven against the test doubles.

moto (AWS Secrets Manager) and the Activepieces double are started on 127.0.0.1, a scene of fake
connections, cache entries and audit entries is seeded into a throwaway store
(``tests/tui/scenes.py``, the same scene the snapshot tests use), and each pane is driven with
Textual's Pilot and saved as SVG at 80x24 (the bastion-host size). The clock is pinned so a
re-run gives the same files. Every fake secret value is checked to be absent from every SVG.

    python scripts/screenshots.py [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHOTS = [  # file name, pane, extra keys after the pane is in its typical state, size
    ("1-secret-managers", "sm", (), (80, 24)),
    ("2-references", "refs", (), (80, 24)),
    ("3-cache", "cache", (), (80, 24)),
    ("4-platform-connections", "platform", (), (80, 24)),
    ("4-platform-mcp", "platform", ("m",), (80, 24)),
    ("4-platform-failed-runs", "platform", ("f",), (80, 24)),
    ("5-rotation", "rotation", (), (80, 24)),
    ("6-incident", "incident", (), (80, 24)),
    ("7-audit", "audit", (), (80, 24)),
    ("help", "sm", ("question_mark",), (80, 24)),
    ("command-palette", "sm", ("colon", *"cache"), (80, 24)),
    ("platform-120x40", "platform", (), (120, 40)),
]


def freeze() -> None:
    """Pin the wall clock and the audit actor (stable output across runs and machines)."""
    import aptui.clock
    import aptui.store.audit
    import aptui.store.cache
    import aptui.tui.format
    from tests.tui.conftest import FIXED_NOW, _FrozenTime

    aptui.clock.utc_now = lambda: FIXED_NOW
    aptui.tui.format.utc_now = lambda: FIXED_NOW
    aptui.store.audit.os_actor = lambda: "ops@bastion"
    aptui.store.cache.time = _FrozenTime


def seed_incident(ctx) -> None:
    """An incident stopped after Flush, so pane 6 shows a timeline (fixed id: stable output)."""
    import aptui.store.incidents
    from aptui.clock import utc_now
    from aptui.services import incident

    aptui.store.incidents.new_id = lambda: "incDemo00000000000001"
    inc = incident.start(ctx, "sm:prod-aws", title="Slack token pasted in a public channel", since="2h")
    decisions = incident.Decisions(contain="elsewhere", rotated_at=utc_now(), note="rotated in the AWS console",
                                   until="flush")
    asyncio.run(incident.run(ctx, inc.id, decisions))


async def shoot(ctx, pane: str, keys: tuple[str, ...], size: tuple[int, int], *, first_run: bool = False) -> str:
    from aptui.tui.app import AptuiApp
    from tests.tui.conftest import settle
    from tests.tui.scenes import drive

    app = AptuiApp(ctx, show_first_run=first_run)
    async with app.run_test(size=size) as pilot:
        if first_run:
            await settle(pilot)
        else:
            await drive(pilot, pane)
            if keys:
                await pilot.press(*keys)
                await settle(pilot)
                await pilot.pause(0.3)  # the palette searches asynchronously
        app.remask_all()
        await pilot.pause()
        return app.export_screenshot()


MIGRATE_VALUES = ("xoxb-demo0000000000-migrateDemoToken000000", "ghp_demoMigrate000000000000000000000000",
                  "demo-db-password-0001")


async def shoot_migrate(ctx, work: Path) -> str:
    """The migration flow (pane 2, m): two demo sources planned into the demo AWS connection."""
    import json

    import aptui.services.migrate.plan as planner
    from aptui.tui.app import AptuiApp
    from aptui.tui.screens.migrate import MigrateScreen
    from tests.tui.conftest import settle
    from tests.tui.scenes import drive

    deploy = work / "deploy"
    deploy.mkdir(exist_ok=True)
    slack, github, db = MIGRATE_VALUES
    (deploy / "values.json").write_text(json.dumps({"slack": {"token": slack, "channel": "#ops"},
                                                    "db": {"host": "db.internal", "password": db}}, indent=2))
    (deploy / "inputs.yaml").write_text(f"github:\n  auth: {github}\n  org: acme\n")
    planner.new_id = lambda: "planDemo0000000000001"
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await drive(pilot, "refs")
        await app.push_screen(MigrateScreen(sources=[str(deploy / "values.json"), str(deploy / "inputs.yaml")]))
        await settle(pilot)
        app.screen.query_one("#f-secret").value = "prod/{stem}"
        app.screen.query_one("#f-to").value = "prod-aws"
        await pilot.press("ctrl+s")
        await settle(pilot)
        app.remask_all()
        await pilot.pause()
        return app.export_screenshot().replace(str(work), "$TMP")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    os.environ.pop("NO_COLOR", None)
    work = Path(tempfile.mkdtemp(prefix="aptui-shots-"))
    os.environ["HOME"] = str(work / "operator")  # the real store path, shown as ~/.local/share/aptui/…
    os.environ["APTUI_HOME"] = str(work / "operator" / ".local" / "share" / "aptui")
    os.environ.pop("APTUI_CONFIG", None)

    from tests.doubles.activepieces import DEFAULT_PROJECT, ActivepiecesDouble
    from tests.doubles.aws_moto import MotoAws, MotoServer
    from tests.tui import scenes

    freeze()
    moto = MotoServer()
    ap = ActivepiecesDouble().start()
    saved = dict(os.environ)
    os.environ["AWS_ENDPOINT_URL"] = moto.endpoint
    os.environ["AWS_CONFIG_FILE"] = str(work / "no-aws-config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(work / "no-aws-credentials")
    try:
        from aptui.services.context import Context

        aws = MotoAws(moto, moto.endpoint)
        for i in range(3):
            ap.add_run(status="FAILED", run_id=f"demoRun{i:014d}", created="2026-11-26T17:42:00.000Z")
        args.out.mkdir(parents=True, exist_ok=True)
        fresh = Context()
        svg = asyncio.run(shoot(fresh, "sm", (), (80, 24), first_run=True))
        fresh.close()
        outputs = {"0-first-run": svg.replace(str(work), "$TMP")}
        ctx = Context()
        scenes.seed(ctx, aws_config=aws.config(), ap_url=ap.url, ap_key=ap.api_key, project=DEFAULT_PROJECT,
                    moto_secrets=aws.create_secret, ap_session=ap.session_token())
        from aptui.tui.panes import PANES

        registered = {p.PANE_ID for p in PANES}
        for name, pane, keys, size in SHOTS:
            if pane == "incident":  # seeded late: its Flush step empties the cache shown in pane 3
                seed_incident(ctx)
            if pane in registered:
                outputs[name] = asyncio.run(shoot(ctx, pane, keys, size))
        outputs["2-migrate"] = asyncio.run(shoot_migrate(ctx, work))
        ctx.close()
        canaries = [scenes.SLACK_TOKEN, "sk_test_demo_0000", "demo-pw", "demo-vault-value", "demo-secret-id",
                    "demo-conjur-key", aws.config()["secretAccessKey"], ap.api_key, *MIGRATE_VALUES]
        for name, svg in outputs.items():
            leaked = [c for c in canaries if c in svg]
            if leaked:
                raise SystemExit(f"{name}: a secret value is visible in the screenshot; nothing written")
        for name, svg in outputs.items():
            (args.out / f"{name}.svg").write_text(svg, encoding="utf-8")
            print(f"wrote {args.out / (name + '.svg')}")
    finally:
        os.environ.clear()
        os.environ.update(saved)
        ap.stop()
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
