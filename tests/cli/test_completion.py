"""Shell completion (click's own): `aptui completion SHELL` prints the script that
`_APTUI_COMPLETE=<shell>_source aptui` gives, and a real bash completes commands with it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHELLS = ("bash", "zsh", "fish")


def aptui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "aptui", *args], capture_output=True, text=True, env=full,
                          timeout=60)


def aptui_executable() -> str:
    """Completion scripts call `aptui` by name: the console script next to this interpreter."""
    script = Path(sys.executable).with_name("aptui")
    if not script.exists():
        pytest.skip("the aptui console script is not installed next to this interpreter")
    return str(script.parent)


@pytest.mark.parametrize("shell", SHELLS)
def test_the_completion_command_prints_clicks_script(shell, aptui_home):
    ours = aptui("completion", shell)
    theirs = aptui(env={"_APTUI_COMPLETE": f"{shell}_source"})
    assert ours.returncode == 0 and theirs.returncode == 0, ours.stderr + theirs.stderr
    # click >= 8.4 echoes its own source with one more trailing newline; the script is the same
    assert ours.stdout.rstrip("\n") == theirs.stdout.rstrip("\n") and ours.stdout.endswith("\n")
    assert "_APTUI_COMPLETE" in ours.stdout and "_aptui_completion" in ours.stdout
    doc = json.loads(aptui("completion", shell, "--json").stdout)
    assert doc == {"ok": True, "shell": shell, "script": ours.stdout}


def test_an_unknown_shell_is_a_usage_error(aptui_home):
    out = aptui("completion", "tcsh")
    assert out.returncode == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in out.stderr


def bash_complete(line: str, aptui_home: Path) -> list[str]:
    """COMPREPLY after sourcing `aptui completion bash` in a real bash and pressing tab after ``line``."""
    words = line.split(" ")
    script = (f'eval "$(aptui completion bash)"\n'
              f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              "_aptui_completion aptui\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": aptui_executable() + os.pathsep + os.environ["PATH"], "APTUI_HOME": str(aptui_home)}
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return [w for w in out.stdout.split("\n") if w]


@pytest.mark.skipif(not shutil.which("bash"), reason="bash is not installed")
def test_bash_completes_commands_subcommands_and_options(aptui_home):
    assert {"sm", "profile", "platform", "completion", "store"} <= set(bash_complete("aptui ", aptui_home))
    assert bash_complete("aptui pro", aptui_home) == ["profile"]
    assert {"add", "list", "remove", "test"} <= set(bash_complete("aptui sm ", aptui_home))
    assert "--provider" in bash_complete("aptui sm add --", aptui_home)
    assert set(bash_complete("aptui completion ", aptui_home)) == set(SHELLS)
    assert bash_complete("aptui sm add --provider ", aptui_home) == ["aws", "hashicorp", "cyberark-conjur",
                                                                     "onepassword"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_get_what_their_scripts_parse(shell, aptui_home):
    """zsh and fish are not installed here: check click's answers in the form their scripts read
    (zsh: type, value, help per line; fish: type,value<TAB>help)."""
    env = {"_APTUI_COMPLETE": f"{shell}_complete", "COMP_WORDS": "aptui sm ",
           "COMP_CWORD": "2" if shell == "zsh" else ""}
    out = aptui(env=env)
    assert out.returncode == 0, out.stderr
    if shell == "zsh":
        lines = out.stdout.split("\n")
        values = {lines[i + 1] for i in range(0, len(lines) - 2, 3) if lines[i] == "plain"}
    else:
        values = {line.split("\t")[0].removeprefix("plain,") for line in out.stdout.splitlines()}
    assert {"add", "list", "remove", "show", "test", "update"} <= values
