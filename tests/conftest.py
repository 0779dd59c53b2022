"""Fixtures shared by every test: an isolated APTUI_HOME, a Context, and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every module in tests/doubles/ is a fixture plugin (moto, Vault, Conjur, Activepieces doubles).
pytest_plugins = sorted(
    f"tests.doubles.{m.stem}"
    for m in (Path(__file__).parent / "doubles").glob("*.py")
    if not m.name.startswith("_")
)

# NO_COLOR in the environment makes every snapshot differ (toolchain.md).
os.environ.pop("NO_COLOR", None)
os.environ.pop("APTUI_PASSPHRASE", None)
os.environ.pop("AP_API_KEY", None)

ROOT = Path(__file__).resolve().parent.parent
# The contract (../shared/reference) vendored, so a clean checkout tests against it too.
REFERENCE = ROOT / "tests" / "reference"


@pytest.fixture
def aptui_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "aptui-home"
    monkeypatch.setenv("APTUI_HOME", str(home))
    monkeypatch.delenv("APTUI_CONFIG", raising=False)
    monkeypatch.delenv("APTUI_PASSPHRASE", raising=False)
    return home


@pytest.fixture
def ctx(aptui_home):
    from aptui.services.context import Context

    c = Context()
    yield c
    c.close()


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def run_cli(aptui_home):
    """Run ``aptui ARGS`` as a real subprocess with the test's APTUI_HOME."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> CliResult:
        full_env = {**os.environ, "APTUI_HOME": str(aptui_home), "COLUMNS": "200", **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "aptui", *args],
            input=input if input is not None else "",
            capture_output=True, text=True, env=full_env, timeout=timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(autouse=True)
def _forget_live_provider_clients():
    """Each test starts with no live provider client left by another test's event loop."""
    yield
    registry = sys.modules.get("aptui.providers.registry")
    if registry is not None:
        for cid in registry.live_connections():
            registry.forget(cid)
