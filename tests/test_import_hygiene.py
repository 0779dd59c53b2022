"""Layering: the CLI, services and lower layers never import Textual (or heavy SDKs at start-up)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "aptui"
LAYER = {"errors": 0, "masking": 0, "config": 0, "clock": 0, "ids": 0, "__init__": 0,
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
