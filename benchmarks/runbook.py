"""A full token-compromise runbook against the doubles: time and operator input, four ways.

Scene (``tests/incident/scenario.py``): an AWS connection backed by a moto IAM user, a profile on the
Activepieces double, 5 failed runs in the last hour across 2 projects (plus one too old and one
that succeeded), a config tree that references the connection, the Slack token cached (so aptui
knows the AWS secret ``prod/slack``); for the Vault case also an AppRole connection ``vault-pay`` on
the Vault double (allowed to manage its secret ids).

- baseline: the AWS-key runbook by hand with aptui's single-purpose commands (14 commands: ``sm show``,
  ``platform projects list``, ``ref scan``, ``platform connections list`` ×2, ``rotation rotate``,
  ``cache clear``, ``platform secret-managers clear-cache --connection ID``, ``platform runs retry
  --dry-run`` ×2 and ``--yes`` ×2, ``sm test``, ``ref scan`` with tests); input counted as the
  characters typed (each command line + enter);
- ``aptui incident start ... --rotate --yes``: one command, same work;
- the console (Pilot, 80x24), from "token X leaked" to closed and exported, every default accepted
  (no free text): the AWS secret ``prod/slack`` (which AWS rotates: recorded rotated elsewhere) and
  the Vault AppRole secret id (rotated with aptui, one confirmation per step).

Wall time includes process start-up for the CLI variants. Each variant gets a fresh store, a reset
moto and a reset double; the result is checked (incident closed, 5 runs retried once, the platform
cache cleared once, the credential rotated or recorded, the timeline exported).

    python benchmarks/runbook.py [--repeat 3] [--console-only]
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
        from tests.doubles.vault import VaultDouble

        self.vault = VaultDouble().start()
        self.tmp = tempfile.TemporaryDirectory()
        os.environ.update({"AWS_ENDPOINT_URL": self.moto.endpoint, "AWS_ACCESS_KEY_ID": "AKIANOTFROMENV000000",
                           "AWS_SECRET_ACCESS_KEY": "not-from-env",
                           "AWS_CONFIG_FILE": str(Path(self.tmp.name) / "none"),
                           "AWS_SHARED_CREDENTIALS_FILE": str(Path(self.tmp.name) / "none")})
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "APTUI_CONFIG", "APTUI_PASSPHRASE",
                    "AP_API_KEY", "NO_COLOR"):
            os.environ.pop(var, None)
        self.n = 0

    def fresh(self, *, vault: bool = False):
        """A new APTUI_HOME with the scene built in it (plus a Vault AppRole connection ``vault-pay``
        on the Vault double); returns (ctx, scene)."""
        from aptui.services.context import Context
        from aptui.store import connections as store_conn
        from tests.incident import scenario

        self.moto.reset()
        self.ap.reset()
        self.n += 1
        home = Path(self.tmp.name) / f"home{self.n}"
        os.environ["APTUI_HOME"] = str(home)
        ctx = Context()
        scene = scenario.build(ctx, self.aws, self.ap, home / "work")
        if vault:
            role_id, secret_id = self.vault.add_approle(f"app{self.n}", manage_secret_ids=True)
            self.vault_old = secret_id
            store_conn.create(ctx.store, provider_id="hashicorp", name="vault-pay",
                              config=self.vault.config(role_id, secret_id), tested_ok=True)
            self.vault_role = f"app{self.n}"
        return ctx, scene

    def check(self, scene, rotated: str = "aws") -> None:
        retried = [r["runId"] for r in self.ap.retries]
        assert sorted(retried) == sorted(scene.recent_runs), f"retried {len(retried)} runs"
        if rotated == "aws":
            keys = self.aws.client("iam").list_access_keys(UserName=scene.user)["AccessKeyMetadata"]
            assert {k["AccessKeyId"]: k["Status"] for k in keys}[scene.key_id] == "Inactive"
        elif rotated == "vault":
            assert self.vault_old not in self.vault.role(self.vault_role).secret_ids  # the old secret id destroyed
        assert len(self.ap.cache_clears) == 1

    def close(self) -> None:
        self.vault.stop()
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
    from tests.incident.scenario import PROJECTS

    ctx, scene = env.fresh()
    ctx.close()
    refs = str(scene.refs_dir)
    runs = ("--status", "failed", "--status", "timeout", "--status", "internal_error", "--since", "24h",
            "--rate", RATE)
    commands = [("sm", "show", "prod-aws"), ("platform", "projects", "list"), ("ref", "scan", refs, "--no-test"),
                *[("platform", "connections", "list", "--project", p) for p in PROJECTS],
                ("rotation", "rotate", "sm:prod-aws", "--yes"), ("cache", "clear", "--connection", "prod-aws",
                                                                 "--yes")]
    started = time.perf_counter()
    typed = 0
    for cmd in commands:
        aptui(*cmd)
        typed += len("aptui " + shlex.join(cmd)) + 1
    # the platform cache by the connection id references carry (an API key cannot list secret managers)
    later = [("platform", "secret-managers", "clear-cache", "--connection", scene.connection_id, "--yes"),
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


CONSOLE_CASES = {"aws-secret": "aws-secret:prod-aws/prod/slack", "vault": "sm:vault-pay"}


def console(env: Env, case: str) -> tuple[float, int, int, dict[str, int]]:
    """Pane 6 at 80x24, from "token X leaked" to closed and exported, every default accepted (no free
    text): ``6`` ``n``, pick the credential, ``ctrl+s``; ``c`` runs scope, then asks how to contain;
    the AWS secret (which only AWS rotates) is recorded rotated elsewhere (``enter`` ``ctrl+s``), the
    Vault AppRole secret id is rotated with aptui (``enter`` + one ``y`` per step); one ``y`` for the
    retries; ``e`` ``ctrl+s`` exports. Returns (scripted seconds, 0 typed characters, keys, keys by kind)."""
    from aptui.services import incident
    from aptui.services.rotation import assisted
    from aptui.tui.app import AptuiApp
    from aptui.tui.screens.choice import ChoiceModal
    from aptui.tui.screens.confirm import ConfirmModal
    from aptui.tui.screens.form import FormScreen

    assisted.TEST_DELAY = 0.0
    ctx, scene = env.fresh(vault=case == "vault")
    credential = CONSOLE_CASES[case]
    keys: dict[str, int] = {}
    exported: list[Path] = []

    async def until(pilot, predicate, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError(f"stuck on {type(pilot.app.screen).__name__}")
            await pilot.pause(0.02)

    async def press(pilot, kind: str, *k: str) -> None:
        keys[kind] = keys.get(kind, 0) + len(k)
        await pilot.press(*k)

    async def run() -> float:
        app = AptuiApp(ctx, show_first_run=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            started = time.perf_counter()
            await press(pilot, "open", "6", "n")
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
            options = [k for k, _ in app.screen.options]
            await press(pilot, "pick", *(["down"] * options.index(credential)), "enter")
            await until(pilot, lambda: isinstance(app.screen, FormScreen))
            await press(pilot, "open", "ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, FormScreen) and bool(incident.list_incidents(ctx)))
            inc_id = incident.list_incidents(ctx)[0]["id"]
            await until(pilot, lambda: app.query_one("#incident").incidents)
            await press(pilot, "runbook", "c")  # scope runs and shows, then the contain question
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
            await press(pilot, "contain", "enter")  # the first choice: rotate (Vault) / rotated elsewhere (AWS)
            if case == "aws-secret":
                await until(pilot, lambda: isinstance(app.screen, FormScreen))
                await press(pilot, "contain", "ctrl+s")  # rotated now, the default note
            while incident.get(ctx, inc_id).state != "closed":
                await until(pilot, lambda: isinstance(app.screen, ConfirmModal)
                            or incident.get(ctx, inc_id).state == "closed")
                if isinstance(app.screen, ConfirmModal):
                    await press(pilot, "confirm", "y")
                    await pilot.pause(0.02)
            await until(pilot, lambda: not app.query_one("#incident").busy)
            await press(pilot, "export", "e")
            await until(pilot, lambda: isinstance(app.screen, FormScreen))
            from textual.widgets import Input

            exported.append(Path(app.screen.query_one("#f-path", Input).value))
            await press(pilot, "export", "ctrl+s")
            await until(pilot, lambda: exported[0].exists())
            elapsed = time.perf_counter() - started
            await pilot.pause(0.2)
        return elapsed

    elapsed = asyncio.run(run())
    ctx.close()
    env.check(scene, rotated=case if case == "vault" else "marked")
    assert "# Incident" in exported[0].read_text()
    return elapsed, 0, sum(keys.values()), keys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--console-only", action="store_true", help="only the console cases (no baseline ratio)")
    args = ap.parse_args()
    env = Env()
    results: dict[str, list[tuple]] = {"baseline": [], "incident": [], **{f"console:{c}": [] for c in CONSOLE_CASES}}
    try:
        for _ in range(args.repeat):
            if not args.console_only:
                results["baseline"].append(baseline(env))
                results["incident"].append(one_command(env))
            for case in CONSOLE_CASES:
                results[f"console:{case}"].append(console(env, case))
    finally:
        env.close()
    results = {k: v for k, v in results.items() if v}
    base = statistics.median(r[0] for r in results["baseline"]) if "baseline" in results else float("nan")
    print(f"runbook: full token-compromise runbook against moto + the Activepieces double (+ the Vault double), "
          f"5 failed runs in 2 projects, {RATE} retries/s; median of {args.repeat}")
    labels = {"baseline": "baseline: single-purpose aptui commands (AWS key)",
              "incident": "aptui incident start --rotate --yes (AWS key)",
              "console:aws-secret": "console, AWS secret (pane 6, 80x24)",
              "console:vault": "console, Vault AppRole (pane 6, 80x24)"}
    for name, rows in results.items():
        t = statistics.median(r[0] for r in rows)
        if name.startswith("console"):
            by_kind = ", ".join(f"{k} {v}" for k, v in rows[0][3].items())
            what = f"{rows[0][2]:4d} keystrokes, 0 typed characters ({by_kind})"
        else:
            what = f"{rows[0][1]:2d} command(s), {rows[0][2]:4d} keystrokes"
        print(f"  {labels[name]:<50} {t:6.2f} s  {what}   time ratio {t / base:.2f}x")


if __name__ == "__main__":
    main()
