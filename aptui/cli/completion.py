"""`aptui completion SHELL`: the shell completion script (click's own, for bash, zsh and fish)."""

from __future__ import annotations

import click

from aptui.cli.common import json_option

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@json_option
def completion_cmd(shell: str, as_json: bool) -> None:
    """Print the completion script for SHELL. Load it from the shell's start-up file:

    \b
      bash (~/.bashrc):  eval "$(aptui completion bash)"
      zsh  (~/.zshrc):   eval "$(aptui completion zsh)"
      fish:              aptui completion fish > ~/.config/fish/completions/aptui.fish

    The same script comes from `_APTUI_COMPLETE=bash_source aptui` (zsh_source, fish_source).
    """
    from click.shell_completion import get_completion_class

    from aptui.cli import cli

    completer = get_completion_class(shell)
    assert completer is not None  # every name in SHELLS is one of click's
    script = completer(cli, {}, "aptui", "_APTUI_COMPLETE").source()
    from aptui.cli.output import emit

    emit(as_json, {"ok": True, "shell": shell, "script": script}, lambda: click.echo(script, nl=False))
