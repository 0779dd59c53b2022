"""The newcomer walkthrough (scripts/walkthrough.py): the README's quick start in a fresh virtualenv,
the console in tmux at 80x24.

The full run installs aptui and moto into a new virtualenv (about two minutes on the 2-core
machine kind), so it is marked ``slow`` and CI does not run it by default:
``pytest -m slow tests/walkthrough`` (or ``python scripts/walkthrough.py``). What runs in CI is the
check that the README still holds the steps and commands the walkthrough performs.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "walkthrough.py"


def load():
    spec = importlib.util.spec_from_file_location("walkthrough", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_the_readme_holds_the_walkthrough():
    walkthrough = load()
    text = (ROOT / "README.md").read_text("utf-8")
    walkthrough.check_readme(text)
    install, moto = walkthrough.readme_plan(text)
    assert install == "pip install ."
    assert moto[0].startswith("pip install moto") and moto[-1] == "aptui"
    assert any(line.startswith("python -m moto.server") and line.endswith("&") for line in moto)
    assert not any("AWS_ENDPOINT_URL" in line for line in moto)  # aptui never reads it: the endpoint is stored
    assert any("endpoint_url='http://127.0.0.1:5000'" in line for line in moto)
    assert "--set endpoint=http://127.0.0.1:5000" in text
    assert any("create_secret(Name='prod/api-keys'" in line and "slack_token" in line for line in moto)


def test_readme_parsing_strips_comments_and_joins_lines():
    walkthrough = load()
    code = "echo 'a # b' # comment\nexport X=1   # it's set\npython -c \"x\\\n  y\"\n\n"
    assert walkthrough.commands(code) == ["echo 'a # b'", "export X=1", 'python -c "x  y"']
    with pytest.raises(walkthrough.Failed):
        walkthrough.check_readme("# aptui\n\nnothing about the console\n")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_walkthrough_in_a_fresh_venv():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "walkthrough passed" in proc.stdout
