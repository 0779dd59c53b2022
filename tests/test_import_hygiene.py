"""Layering: the CLI, services and lower layers never import Textual (or heavy SDKs at start-up)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "aptui"
LAYER = {"errors": 0, "masking": 0, "config": 0, "clock": 0, "ids": 0, "__init__": 0, "passphrase": 0, "timing": 0,
         "store": 1, "references": 1, "providers": 1, "activepieces": 1,
         "services": 2, "cli": 3, "tui": 3, "__main__": 4}


def _modules_loaded(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_cli_and_services_do_not_load_textual():
    mods = _modules_loaded("import aptui.cli, aptui.services.context, aptui.store.db")
    assert not any(m == "textual" or m.startswith("textual.") for m in mods)


def test_version_does_not_load_heavy_sdks():
    code = ("import sys; sys.argv=['aptui','--version']\n"
            "from aptui.cli import main\ntry: main()\nexcept SystemExit: pass")
    mods = _modules_loaded(code)
    for heavy in ("boto3", "botocore", "hvac", "onepassword", "httpx", "textual", "cryptography"):
        assert heavy not in mods, heavy


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "aptui":
        return None
    return LAYER.get(parts[1], 0) if len(parts) > 1 else 0


def test_imports_point_downward():
    problems = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        here = ".".join(rel.parts)
        mine = _layer_of(here)
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] == "textual" and not here.startswith("aptui.tui"):
                    problems.append(f"{here} imports {name}")
                theirs = _layer_of(name)
                # cli may start the console (aptui.tui.run) — the one allowed sideways edge.
                allowed = here.startswith("aptui.cli") and name == "aptui.tui.run"
                if theirs is not None and mine is not None and theirs > mine and not allowed:
                    problems.append(f"{here} (layer {mine}) imports {name} (layer {theirs})")
    assert problems == []


def _import_graph() -> dict[str, set[str]]:
    """Module -> the aptui modules it imports, anywhere in the file (TYPE_CHECKING and function-level
    imports included). ``from pkg import sub`` points at ``pkg.sub``; a module's own packages are left out."""
    modules: dict[str, Path] = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for here, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(modules)
                deps |= subs or {node.module}
        graph[here] = {d for d in deps if d in modules and d != here and not here.startswith(d + ".")}
    return graph


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    todo, seen = [(start, [start])], set()
    while todo:
        node, trail = todo.pop()
        for nxt in graph[node]:
            if nxt == start:
                return [*trail, start]
            if nxt not in seen:
                seen.add(nxt)
                todo.append((nxt, [*trail, nxt]))
    return None


def test_no_import_cycles_in_the_front_ends():
    """tui/app.py, tui/commands.py and tui/screens/help.py once imported each other in a circle."""
    graph = _import_graph()
    cycles = [c for m in sorted(graph) if m.startswith(("aptui.tui", "aptui.cli")) and (c := _cycle_through(graph, m))]
    assert cycles == []


def test_the_console_does_not_reach_into_the_cli():
    """The passphrase prompt lives below both front ends (aptui.passphrase)."""
    graph = _import_graph()
    reach = {m: sorted(d for d in deps if d.startswith("aptui.cli")) for m, deps in graph.items()
             if m.startswith("aptui.tui")}
    assert {m: d for m, d in reach.items() if d} == {}
    assert "aptui.passphrase" in graph["aptui.tui.run"] and "aptui.passphrase" in graph["aptui.cli.common"]


HEAVY = ("boto3", "botocore", "hvac", "onepassword", "httpx", "sqlite_utils", "click")
LATER = ("aptui.services", "aptui.store", "aptui.providers", "aptui.activepieces", "aptui.cli", "aptui.tui.panes")
START_UP = """
import sys
from aptui.tui.run import build_console

def loaded():
    return sorted(sys.modules)

app = build_console()
print("built", *loaded())
seen = {}

def hook(message):
    from textual import events
    if isinstance(message, events.Ready) and not seen:
        seen["ready"] = loaded()

async def main():
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.panes() and len(app.panes()) == 7
    app.close_context()

import asyncio
asyncio.run(main())
print("ready", *seen["ready"])
print("after", *loaded())
"""


def _offenders(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(LATER)]


def test_console_start_up_loads_nothing_it_does_not_paint(aptui_home):
    """Building the console as `aptui` does, and up to its first frame, loads no provider SDK, HTTP
    client, CLI framework, store, services or pane: all of that comes after the first paint."""
    subprocess.run([sys.executable, "-m", "aptui", "init"], check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-c", START_UP], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    phases = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()}
    assert _offenders(phases["built"]) == []
    assert _offenders(phases["ready"]) == []
    after = set(phases["after"])
    assert {"aptui.services.context", "aptui.store.db", "sqlite_utils", "aptui.tui.panes"} <= after  # it did start
    for heavy in ("boto3", "botocore", "hvac", "onepassword", "httpx"):
        assert heavy not in after, heavy


def test_the_console_entry_point_skips_the_cli_framework():
    code = ("import sys; sys.argv = ['aptui', '--read-only']\n"
            "import aptui.tui.run\n"
            "aptui.tui.run.run_console = lambda **kw: print('console', sorted(kw.items())) or 0\n"
            "from aptui.__main__ import main\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print('click' in sys.modules, 'aptui.cli' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "console [('high_contrast', False), ('mouse', True), ('read_only', True)]"
    assert out[1] == "False False"
