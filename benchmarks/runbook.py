"""A full token-compromise runbook against the doubles: time and operator input, three ways.

Scene (``tests/incident/scenario.py``): an AWS connection backed by a moto IAM user, a profile on the
Activepieces double, 5 failed runs in the last hour across 2 projects (plus one too old and one
that succeeded), a config tree that references the connection. Every variant does the same work:
scope (connection, projects, references in the tree, app connections), rotate the AWS key (create,
test, store, publish to the platform, deactivate the old one), clear aptui's and the platform's
cache, dry-run then retry the 5 runs, re-test the connection and the references.

- baseline: the same runbook by hand with aptui's single-purpose commands (15 commands: ``sm show``,
  ``platform projects list``, ``ref scan``, ``platform connections list`` ×2, ``rotation rotate``,
  ``cache clear``, ``platform secret-managers list`` + ``clear-cache``, ``platform runs retry
  --dry-run`` ×2 and ``--yes`` ×2, ``sm test``, ``ref scan`` with tests); input counted as the
  characters typed (each command line + enter);
- ``aptui incident start ... --rotate --yes``: one command;
- the console (Pilot, 80x24): the keys an operator presses in pane 6, from ``6`` to the last ``y``.

Wall time includes process start-up for the CLI variants. Each variant gets a fresh store, a reset
moto and a reset double; the result is checked (incident closed, 5 runs retried once, key rotated).

    python benchmarks/runbook.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE = "2"  # retries per second, the default of both `platform runs retry` and `incident start`


class Env:
    """moto + the Activepieces double, and a fresh scene per variant."""

    def __init__(self) -> None:
        from tests.doubles.activepieces import ActivepiecesDouble
        from tests.doubles.aws_moto import MotoAws, MotoServer

        self.moto = MotoServer()
        self.aws = MotoAws(self.moto, self.moto.endpoint)
        self.ap = ActivepiecesDouble().start()
        self.tmp = tempfile.TemporaryDirectory()
        os.environ.update({"AWS_ENDPOINT_URL": self.moto.endpoint, "AWS_ACCESS_KEY_ID": "AKIANOTFROMENV000000",
                           "AWS_SECRET_ACCESS_KEY": "not-from-env",
                           "AWS_CONFIG_FILE": str(Path(self.tmp.name) / "none"),
                           "AWS_SHARED_CREDENTIALS_FILE": str(Path(self.tmp.name) / "none")})
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "APTUI_CONFIG", "APTUI_PASSPHRASE",
                    "AP_API_KEY", "NO_COLOR"):
            os.environ.pop(var, None)
        self.n = 0

    def fresh(self):
        """A new APTUI_HOME with the scene built in it; returns (ctx, scene)."""
        from aptui.services.context import Context
        from tests.incident import scenario

        self.moto.reset()
        self.ap.reset()
        self.n += 1
        home = Path(self.tmp.name) / f"home{self.n}"
        os.environ["APTUI_HOME"] = str(home)
        ctx = Context()
        scene = scenario.build(ctx, self.aws, self.ap, home / "work")
        return ctx, scene

    def check(self, scene) -> None:
        retried = [r["runId"] for r in self.ap.retries]
        assert sorted(retried) == sorted(scene.recent_runs), f"retried {len(retried)} runs"
        keys = self.aws.client("iam").list_access_keys(UserName=scene.user)["AccessKeyMetadata"]
        assert {k["AccessKeyId"]: k["Status"] for k in keys}[scene.key_id] == "Inactive"
        assert len(self.ap.cache_clears) == 1

    def close(self) -> None:
        self.ap.stop()
        self.moto.stop()
        self.tmp.cleanup()


def aptui(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "aptui", *args], capture_output=True, text=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "120"})
    # `ref scan` exits 1 because the tree also holds a reference to another, unknown connection
    if proc.returncode != 0 and not (args[:2] == ("ref", "scan") and proc.returncode == 1):
        raise RuntimeError(f"aptui {' '.join(args)} → {proc.returncode}: {proc.stderr.strip()[:300]}")
    return proc


def baseline(env: Env) -> tuple[float, int, int]:
    import json

    from tests.incident.scenario import PROJECTS

    ctx, scene = env.fresh()
    ctx.close()
    refs = str(scene.refs_dir)
    runs = ("--status", "failed", "--status", "timeout", "--status", "internal_error", "--since", "24h",
            "--rate", RATE)
    commands = [("sm", "show", "prod-aws"), ("platform", "projects", "list"), ("ref", "scan", refs, "--no-test"),
                *[("platform", "connections", "list", "--project", p) for p in PROJECTS],
                ("rotation", "rotate", "sm:prod-aws", "--yes"), ("cache", "clear", "--connection", "prod-aws",
                                                                 "--yes"),
                ("platform", "secret-managers", "list", "--json")]
    started = time.perf_counter()
    typed = 0
    for cmd in commands:
        out = aptui(*cmd)
        typed += len("aptui " + shlex.join(cmd)) + 1
    remote = next(s["id"] for s in json.loads(out.stdout)["connections"] if s["name"] == "prod-aws")
    later = [("platform", "secret-managers", "clear-cache", "--connection", remote, "--yes"),
             *[("platform", "runs", "retry", "--project", p, *runs, "--dry-run") for p in PROJECTS],
             *[("platform", "runs", "retry", "--project", p, *runs, "--yes") for p in PROJECTS],
             ("sm", "test", "prod-aws"), ("ref", "scan", refs)]
    for cmd in later:
        aptui(*cmd)
        typed += len("aptui " + shlex.join(cmd)) + 1
    elapsed = time.perf_counter() - started
    env.check(scene)
    return elapsed, len(commands) + len(later), typed


def one_command(env: Env) -> tuple[float, int, int]:
    ctx, scene = env.fresh()
    ctx.close()
    cmd = ("incident", "start", "--credential", "sm:prod-aws", "--scan", str(scene.refs_dir), "--rotate", "--yes",
           "--rate", RATE)
    started = time.perf_counter()
    aptui(*cmd)
    elapsed = time.perf_counter() - started
    env.check(scene)
    return elapsed, 1, len("aptui " + shlex.join(cmd)) + 1


def console(env: Env) -> tuple[float, int, int]:
    from aptui.services import incident
    from aptui.services.rotation import assisted
    from aptui.tui.app import AptuiApp
    from aptui.tui.screens.choice import ChoiceModal
    from aptui.tui.screens.confirm import ConfirmModal
    from aptui.tui.screens.form import FormScreen

    assisted.TEST_DELAY = 0.0
    ctx, scene = env.fresh()
    keys = 0
    typed_path: list[int] = []

    async def until(pilot, predicate, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError(f"stuck on {type(pilot.app.screen).__name__}")
            await pilot.pause(0.02)

    async def press(pilot, *k: str) -> None:
        nonlocal keys
        keys += len(k)
        await pilot.press(*k)

    async def run() -> float:
        app = AptuiApp(ctx, show_first_run=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            started = time.perf_counter()
            await press(pilot, "6")
            await press(pilot, "n")
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
            options = [k for k, _ in app.screen.options]
            await press(pilot, *(["down"] * options.index("sm:prod-aws")), "enter")
            await until(pilot, lambda: isinstance(app.screen, FormScreen))
            await press(pilot, "tab", "tab", *str(scene.refs_dir), "ctrl+s")
            typed_path.append(len(str(scene.refs_dir)))
            await until(pilot, lambda: not isinstance(app.screen, FormScreen) and bool(incident.list_incidents(ctx)))
            inc_id = incident.list_incidents(ctx)[0]["id"]
            await until(pilot, lambda: app.query_one("#incident").incidents)
            await press(pilot, "c")
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
            await press(pilot, "enter")  # contain: rotate (the first choice)
            while incident.get(ctx, inc_id).state != "closed":
                await until(pilot, lambda: isinstance(app.screen, ConfirmModal)
                            or incident.get(ctx, inc_id).state == "closed")
                if isinstance(app.screen, ConfirmModal):
                    await press(pilot, "y")
                    await pilot.pause(0.02)
            elapsed = time.perf_counter() - started
            await pilot.pause(0.2)
        return elapsed

    elapsed = asyncio.run(run())
    ctx.close()
    env.check(scene)
    return elapsed, typed_path[0], keys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = Env()
    results: dict[str, list[tuple[float, int, int]]] = {"baseline": [], "incident": [], "console": []}
    try:
        for _ in range(args.repeat):
            results["baseline"].append(baseline(env))
            results["incident"].append(one_command(env))
            results["console"].append(console(env))
    finally:
        env.close()
    base = statistics.median(t for t, _, _ in results["baseline"])
    print(f"runbook: full token-compromise runbook against moto + the Activepieces double, 5 failed runs in 2 "
          f"projects, {RATE} retries/s; median of {args.repeat}")
    labels = {"baseline": "baseline: single-purpose aptui commands",
              "incident": "aptui incident start --rotate --yes",
              "console": "console (pane 6, 80x24, Pilot)"}
    for name, rows in results.items():
        t = statistics.median(r[0] for r in rows)
        commands, typed = rows[0][1], rows[0][2]
        what = f"{commands:2d} command(s), {typed:4d} keystrokes" if name != "console" else \
            f"{typed:4d} keystrokes ({commands} type the scan path)"
        print(f"  {labels[name]:<42} {t:6.2f} s  {what}   time ratio {t / base:.2f}x")


if __name__ == "__main__":
    main()
