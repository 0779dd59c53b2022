"""Worst case for hostile documents: the 450-byte YAML alias bomb and 100,000-deep JSON.

Prints wall time and peak memory (tracemalloc, in-process) for parsing each through aptui's
limits, and the peak RSS of a whole ``aptui ref scan`` / ``aptui ref resolve`` process.
Run: ``python benchmarks/alias_bomb.py``. Figures go in docs/security.md.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from aptui import docparse
from aptui.references import scan
from tests.hostile.test_documents import BOMB, DEEP_JSON


def in_process(label: str, fn) -> None:
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<40} {elapsed * 1000:8.1f} ms  peak {peak / 1e6:6.2f} MB")


def process_rss(args: list[str], env: dict[str, str]) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "aptui", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"aptui {' '.join(a.rsplit('/', 1)[-1] for a in args):<34} {elapsed * 1000:8.1f} ms  "
          f"max RSS {max(rss, before) / 1024:6.1f} MB  exit {proc.returncode}")


def main() -> None:
    print(f"bomb: {len(BOMB.encode())} bytes, 9^9 = {9 ** 9:,} leaves if expanded")

    def refuse(fn):
        def run():
            with contextlib.suppress(docparse.DocumentLimitError):
                fn()
        return run

    in_process("compose_yaml(bomb) -> refused", refuse(lambda: docparse.compose_yaml(BOMB)))
    in_process("loads_json(100k-deep) -> refused", refuse(lambda: docparse.loads_json(DEEP_JSON)))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bomb.yaml").write_text(BOMB)
        (root / "deep.json").write_text(DEEP_JSON)
        in_process("scan_file(bomb.yaml) -> refused note",
                   lambda: scan.scan_file(root / "bomb.yaml", scan.ScanResult()))
        env = {**os.environ, "APTUI_HOME": str(root / "home")}
        process_rss(["--version"], env)
        process_rss(["ref", "scan", "--no-test", str(root / "bomb.yaml")], env)
        process_rss(["ref", "resolve", str(root / "bomb.yaml")], env)
        process_rss(["ref", "resolve", str(root / "deep.json")], env)


if __name__ == "__main__":
    main()
