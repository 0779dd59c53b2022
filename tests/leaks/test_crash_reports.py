"""Crash reports never hold a secret: the CLI's one-line report, APTUI_DEBUG=1 tracebacks, the
console's exit report (Textual's default would print every frame's locals), sys.excepthook,
threading.excepthook, faulthandler, and no core dumps."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console

from aptui import crash
from aptui.masking import Secret
from tests.conftest import ROOT
from tests.leaks.canary import CanarySet


@pytest.fixture
def canary() -> str:
    return CanarySet().make("crash", "aws-secret")


def crashy(mode: str, canary: str, home, *args: str, debug: bool = False, extra_env=None):
    env = {**os.environ, "APTUI_HOME": str(home), "CRASH_CANARY": canary, "CAN_SECRET": canary,
           "PYTHONPATH": str(ROOT), **(extra_env or {})}
    env.pop("APTUI_DEBUG", None)
    if debug:
        env["APTUI_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-m", "tests.leaks.crashy", mode, *args], capture_output=True,
                          text=True, env=env, timeout=60, cwd=home.parent, preexec_fn=_allow_core_dumps)


def _allow_core_dumps() -> None:
    """Start the child with core dumps on (soft limit 16 MiB), so turning them off is aptui's doing."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    want = 16 << 20
    resource.setrlimit(resource.RLIMIT_CORE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))


SM_ADD = ("sm", "add", "--provider", "aws", "--name", "x", "--set", "region=us-east-1",
          "--set-env", "accessKeyId=CAN_SECRET", "--set-env", "secretAccessKey=CAN_SECRET")


@pytest.mark.parametrize("as_json", [False, True])
def test_a_crash_is_one_line_without_the_value(aptui_home, canary, as_json):
    proc = crashy("raise", canary, aptui_home, *SM_ADD, *(["--json"] if as_json else []))
    assert proc.returncode == 1
    assert canary not in proc.stdout + proc.stderr
    assert "rlimit_core=0" in proc.stderr  # no core dump: it would hold the decrypted credentials
    report = proc.stdout if as_json else proc.stderr
    assert "INTERNAL" in report and "unexpected RuntimeError" in report and "APTUI_DEBUG=1" in report
    assert "Traceback" not in proc.stderr and "invalid key" not in proc.stdout + proc.stderr
    if not as_json:
        assert proc.stderr.splitlines()[-1].startswith("aptui: INTERNAL: unexpected RuntimeError")


@pytest.mark.parametrize("mode", ["raise", "raise-bare"])
def test_debug_mode_prints_a_scrubbed_traceback(aptui_home, canary, mode):
    proc = crashy(mode, canary, aptui_home, *SM_ADD, debug=True)
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr and "RuntimeError: provider answered" in proc.stderr
    assert canary not in proc.stdout + proc.stderr
    assert "••••••" in proc.stderr  # the value was there, and was masked
    assert f"rlimit_core={16 << 20}" in proc.stderr  # debugging keeps core dumps as configured


def test_faulthandler_dump_holds_no_value(aptui_home, canary):
    proc = crashy("segv", canary, aptui_home, *SM_ADD, extra_env={"PYTHONFAULTHANDLER": "1"})
    assert proc.returncode != 0
    assert "Fatal Python error: Segmentation fault" in proc.stderr and "rlimit_core=0" in proc.stderr
    assert canary not in proc.stdout + proc.stderr


def test_thread_and_top_level_exceptions_go_through_the_crash_report(aptui_home, canary):
    proc = crashy("thread", canary, aptui_home, *SM_ADD)
    assert proc.returncode == 2
    assert "aptui: in thread aptui-worker: INTERNAL: unexpected RuntimeError" in proc.stderr
    assert canary not in proc.stdout + proc.stderr
    top = crashy("excepthook", canary, aptui_home)
    assert top.returncode == 1 and "aptui: INTERNAL: unexpected RuntimeError" in top.stderr
    assert canary not in top.stdout + top.stderr and "Traceback" not in top.stderr
    debug = crashy("excepthook", canary, aptui_home, debug=True)
    assert "Traceback" in debug.stderr and canary not in debug.stderr  # `token` local: scrubbed


def test_traceback_text_scrubs_secret_locals_and_live_secrets(canary, monkeypatch):
    other = CanarySet().make("elsewhere")
    kept = Secret(other)

    def fail(config):
        api_key = config["apiKey"]  # noqa: F841  (a secret-looking local)
        raise ValueError(f"bad {config['apiKey']} / {kept.reveal()}")

    url = "https://" + "vault.example"
    try:
        fail({"apiKey": canary, "url": url})
    except ValueError as exc:
        text = crash.traceback_text(exc)
        monkeypatch.delenv("APTUI_DEBUG", raising=False)
        assert crash.report(exc) == "aptui: INTERNAL: unexpected ValueError; rerun with APTUI_DEBUG=1 for details\n"
    assert "ValueError: bad" in text and canary not in text and other not in text
    assert "https://vault.example" not in text  # locals are never printed at all


def test_cli_report_crash_in_process(capsys, canary, monkeypatch):
    from aptui.cli.common import report_crash

    def boom():
        secret = Secret(canary)
        raise KeyError(f"missing {secret.reveal()}")

    for debug in (False, True):
        if debug:
            monkeypatch.setenv("APTUI_DEBUG", "1")
        else:
            monkeypatch.delenv("APTUI_DEBUG", raising=False)
        try:
            boom()
        except KeyError as exc:
            assert report_crash(exc, as_json=False) == 1
        out = capsys.readouterr()
        assert canary not in out.out + out.err and "unexpected KeyError" in out.err
        assert ("Traceback" in out.err) is debug


async def test_console_crash_prints_no_locals(ctx, canary, monkeypatch, capfd):
    """Textual's own crash report renders every frame's locals; the console's must not."""
    from textual.binding import Binding

    from aptui.tui.app import AptuiApp

    class CrashingApp(AptuiApp):
        BINDINGS = [*AptuiApp.BINDINGS, Binding("f9", "crash", "Crash")]

        def action_crash(self) -> None:
            token = canary  # noqa: F841
            held = Secret(canary)  # noqa: F841
            raise RuntimeError("provider answered: invalid key")

    for debug in (False, True):
        if debug:
            monkeypatch.setenv("APTUI_DEBUG", "1")
        else:
            monkeypatch.delenv("APTUI_DEBUG", raising=False)
        app = CrashingApp(ctx, show_first_run=False)
        capfd.readouterr()
        with pytest.raises(RuntimeError):
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.press("f9")
                await pilot.pause()
        out = capfd.readouterr()  # Textual prints its exit renderables on stderr
        text = out.out + out.err
        assert "INTERNAL: unexpected RuntimeError" in text and canary not in text
        assert ("Traceback" in text) is debug
        assert app.return_code == 1
    # the control: the traceback Textual prints by default shows the local
    from rich.traceback import Traceback

    try:
        CrashingApp.action_crash(None)  # type: ignore[arg-type]
    except RuntimeError:
        buf = io.StringIO()
        Console(file=buf, width=200, color_system=None).print(Traceback(show_locals=True, width=None))
    assert canary in buf.getvalue()


def test_core_dumps_are_disabled_by_install(monkeypatch):
    import resource

    before = resource.getrlimit(resource.RLIMIT_CORE)
    try:
        monkeypatch.delenv("APTUI_DEBUG", raising=False)
        assert crash.disable_core_dumps()
        assert resource.getrlimit(resource.RLIMIT_CORE)[0] == 0
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, before)
