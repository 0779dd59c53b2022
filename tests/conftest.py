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


# Ambient credentials, destinations and trust that aptui must never use (issue 14). Removed for every
# test; tests/hermetic/test_hostile_env.py sets them on purpose to prove they are ignored.
AMBIENT_PREFIXES = ("VAULT_", "BAO_", "AWS_", "OP_", "CONJUR_", "APTUI_")
AMBIENT_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                 "SSL_CERT_FILE", "SSL_CERT_DIR", "AP_API_KEY", "BOTO_CONFIG")


def ambient_names(environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [k for k in env if k.upper().startswith(AMBIENT_PREFIXES) or k.upper() in AMBIENT_NAMES]


@pytest.fixture(scope="session", autouse=True)
def _hermetic_session(tmp_path_factory):
    """Session fixtures (moto, OpenBao, doubles) start before any test's own fixture: scrub for them too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path_factory.mktemp("session-home")))
        for name in ambient_names():
            mp.delenv(name, raising=False)
        yield


@pytest.fixture(autouse=True)
def _hermetic(tmp_path_factory, monkeypatch):
    """Every test gets its own HOME (no ~/.vault-token, ~/.aws) and no ambient credentials or proxies."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name in ambient_names():
        monkeypatch.delenv(name, raising=False)
    vault = sys.modules.get("aptui.providers.vault")
    if vault is not None:
        vault.forget_refusals()
    clock = sys.modules.get("aptui.clock")
    if clock is not None:
        clock.set_clock(None)
    yield home


@pytest.fixture(autouse=True)
def _forget_live_provider_clients():
    """Each test starts with no live provider client left by another test's event loop."""
    yield
    registry = sys.modules.get("aptui.providers.registry")
    if registry is not None:
        for cid in registry.live_connections():
            registry.forget(cid)
