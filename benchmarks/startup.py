"""Start-up time to first painted screen, in a real terminal, against two admired Textual apps.

Each app runs in a fresh tmux pane of 80x24; the clock stops when the pane's bottom line (the
footer) holds text. 10 runs each (interleaved, after one warm-up run), median reported, with the
ratios aptui/posting and aptui/harlequin measured in the same run.

posting (2.11, with tree-sitter 0.25.2 beside it, or it starts on an error screen) and harlequin
are installed by this script into throwaway venvs under ``--cache`` (default
``~/.cache/aptui-bench``), with this interpreter and pip. aptui runs from this interpreter
against a store created once in a temporary APTUI_HOME.

    python benchmarks/startup.py [--runs 10] [--cache DIR] [--only aptui] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.7  # aptui <= 0.7 x posting
VENVS = {
    "posting": ["posting==2.11.*", "tree-sitter==0.25.2"],
    "harlequin": ["harlequin"],
}


def ensure_venv(cache: Path, name: str) -> Path:
    """A venv with ``name`` installed (created once, reused)."""
    venv = cache / name
    exe = venv / "bin" / name
    if exe.exists():
        return exe
    cache.mkdir(parents=True, exist_ok=True)
    print(f"installing {name} into {venv} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *VENVS[name]],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return exe


SOCKET = f"aptui-bench-{os.getpid()}"  # a private tmux server: other users' sessions are never touched


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True).stdout


def time_once(command: list[str], env: dict[str, str], session: str, timeout: float = 30.0) -> float:
    """Seconds from starting the process in an 80x24 tmux pane until its bottom line has text."""
    tmux("kill-session", "-t", session)
    shell = " ".join(_quote(c) for c in command)
    env_args: list[str] = []
    for key in ("APTUI_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "HOME", "TERM",
                "COLORTERM"):
        if key in env:
            env_args += ["-e", f"{key}={env[key]}"]
    start = time.perf_counter()
    subprocess.run(["tmux", "-L", SOCKET, "new-session", "-d", "-s", session, "-x", "80", "-y", "24", *env_args,
                    shell], check=True, env=env)
    try:
        while True:
            lines = tmux("capture-pane", "-p", "-t", session).split("\n")
            lines = (lines + [""] * 24)[:24]
            if lines[23].strip():
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"{command[0]}: no footer after {timeout:.0f}s; screen:\n" + "\n".join(lines))
            time.sleep(0.003)
    finally:
        tmux("kill-session", "-t", session)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "aptui-bench")
    parser.add_argument("--only", choices=["aptui", "posting", "harlequin"], action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not shutil.which("tmux"):
        print("tmux is required", file=sys.stderr)
        return 2
    names = args.only or ["aptui", "posting", "harlequin"]
    work = Path(tempfile.mkdtemp(prefix="aptui-bench-"))
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor",
           "APTUI_HOME": str(work / "aptui-home"),
           "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work / "data"),
           "XDG_CACHE_HOME": str(work / "cache")}
    env.pop("NO_COLOR", None)
    # aptui: a store that exists already (first-run creation is not start-up).
    subprocess.run([sys.executable, "-m", "aptui", "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    commands: dict[str, list[str]] = {}
    for name in names:
        if name == "aptui":
            commands[name] = [sys.executable, "-m", "aptui"]
        else:
            commands[name] = [str(ensure_venv(args.cache, name))]
    times: dict[str, list[float]] = {n: [] for n in names}
    # keep the private server alive between runs (it exits with its last session)
    subprocess.run(["tmux", "-L", SOCKET, "new-session", "-d", "-s", "keepalive", "-x", "80", "-y", "24",
                    "sleep 86400"], check=True)
    try:
        for name in names:  # warm-up: byte-compile, fill the page cache
            time_once(commands[name], env, f"aptui-bench-{name}")
        for _ in range(args.runs):
            for name in names:
                times[name].append(time_once(commands[name], env, f"aptui-bench-{name}"))
    finally:
        tmux("kill-server")
        shutil.rmtree(work, ignore_errors=True)
    medians = {n: statistics.median(t) for n, t in times.items()}
    result = {"runs": args.runs, "terminal": "tmux 80x24", "median_s": medians,
              "samples_s": times, "ratios": {}}
    if "aptui" in medians:
        for other in ("posting", "harlequin"):
            if other in medians:
                result["ratios"][f"aptui/{other}"] = medians["aptui"] / medians[other]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, med in medians.items():
            spread = f"min {min(times[name]):.3f} max {max(times[name]):.3f}"
            print(f"{name:10} median {med:.3f} s  ({spread}, {args.runs} runs)")
        for label, ratio in result["ratios"].items():
            mark = ""
            if label == "aptui/posting":
                mark = "  (target <= {:.1f}: {})".format(TARGET, "met" if ratio <= TARGET else "NOT met")
            print(f"{label:18} {ratio:.2f}x{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
