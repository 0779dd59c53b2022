"""Start-up time to the first painted screen, in a real terminal, against a floor and posting.

Every app runs in a fresh tmux pane of 80x24; the clock starts when the pane is created and stops
when its bottom line (the footer) holds text; the next start waits until that process has exited.
Apps, interleaved (the order rotates every round), one warm-up run each, then ``--runs`` (default
7) runs each, medians reported, all in one run:

- ``bare``: the floor, a bare Textual app (Header, Static, Footer) on this interpreter;
- ``aptui welcome``: ``aptui`` on an empty store (the welcome screen);
- ``aptui populated``: ``aptui`` on a store holding one connection and one profile;
- ``posting``: posting, from a throwaway venv outside the repository, named by ``--posting`` or
  ``APTUI_BENCH_POSTING`` (its executable); skipped with a note when absent::

      python -m venv /tmp/posting-venv && /tmp/posting-venv/bin/pip install posting "tree-sitter==0.25.2"
      APTUI_BENCH_POSTING=/tmp/posting-venv/bin/posting python benchmarks/startup.py

  (tree-sitter 0.26 makes posting 2.11 crash at start.)

The budget: aptui and the floor mark their phases (``aptui/timing.py``: ``APTUI_STARTUP_TRACE``);
each phase is printed as the median time from the pane's creation: ``main`` (interpreter up, entry
point reached), ``imports``, ``app`` (built), ``frame`` (first frame written), ``footer`` (seen by
tmux), ``data`` (first pane's rows, or the welcome screen). Targets: aptui <= 1.5x the floor and
<= 0.5x posting, both scenarios. Print ``uptime`` with the figures: on a loaded machine they mean
little.

    python benchmarks/startup.py [--runs 7] [--posting PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR_TARGET = 1.5  # aptui <= 1.5 x the bare Textual app
POSTING_TARGET = 0.5  # aptui <= 0.5 x posting
PHASES = ("main", "imports", "app", "frame", "footer", "data")
SOCKET = f"aptui-bench-{os.getpid()}"  # a private tmux server: other sessions are never touched
BARE_APP = """\
import os, time
def mark(phase):
    if os.environ.get("APTUI_STARTUP_TRACE"):
        with open(os.environ["APTUI_STARTUP_TRACE"], "a") as fh:
            fh.write(f"{phase} {time.monotonic():.6f}\\n")
mark("main")
from textual.app import App
from textual.widgets import Footer, Header, Static
mark("imports")
class Bare(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Header()
        yield Static("hello")
        yield Footer()
    def on_ready(self):
        mark("frame")
        mark("data")
app = Bare()
mark("app")
app.run()
"""


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True).stdout


def read_trace(path: Path) -> dict[str, float]:
    marks: dict[str, float] = {}
    try:
        for line in path.read_text().splitlines():
            phase, _, at = line.partition(" ")
            marks.setdefault(phase, float(at))
    except (OSError, ValueError):
        pass
    return marks


def time_once(command: list[str], env: dict[str, str], session: str, trace: Path | None,
              timeout: float = 30.0) -> dict[str, float]:
    """One start in an 80x24 pane: seconds from its creation to each phase (``footer`` from tmux)."""
    tmux("kill-session", "-t", session)
    env = dict(env)
    if trace is not None:
        trace.unlink(missing_ok=True)
        env["APTUI_STARTUP_TRACE"] = str(trace)
    env_args: list[str] = []
    for key in ("APTUI_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "HOME", "TERM", "COLORTERM",
                "APTUI_STARTUP_TRACE"):
        if key in env:
            env_args += ["-e", f"{key}={env[key]}"]
    shell = " ".join(shlex.quote(c) for c in command)
    start = time.monotonic()
    subprocess.run(["tmux", "-L", SOCKET, "new-session", "-d", "-s", session, "-x", "80", "-y", "24", *env_args,
                    shell], check=True, env=env)
    result: dict[str, float] = {}
    pid = tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip()
    try:
        while "footer" not in result:
            lines = (tmux("capture-pane", "-p", "-t", session).split("\n") + [""] * 24)[:24]
            if lines[23].strip():
                result["footer"] = time.monotonic() - start
                break
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"{command[0]}: no footer after {timeout:.0f}s; screen:\n" + "\n".join(lines))
            time.sleep(0.003)
        if trace is not None:  # the rest of the budget: wait for the first data
            while "data" not in read_trace(trace) and time.monotonic() - start < timeout:
                time.sleep(0.005)
            result.update({k: v - start for k, v in read_trace(trace).items()})
    finally:
        tmux("kill-session", "-t", session)
        wait_gone(pid)
    return result


def wait_gone(pid: str, timeout: float = 10.0) -> None:
    """Until the killed app's process has exited: its teardown must not eat into the next start."""
    deadline = time.monotonic() + timeout
    while pid.isdigit() and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # and the terminal has settled


def aptui_command() -> list[str]:
    """The console script next to this interpreter (what users run), else ``python -m aptui``."""
    script = Path(sys.executable).with_name("aptui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aptui"]


def prepare_stores(work: Path, base_env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Two APTUI_HOMEs: an empty store (welcome screen) and one with a connection and a profile."""
    envs = []
    for name in ("welcome", "populated"):
        env = {**base_env, "APTUI_HOME": str(work / name)}
        aptui = [sys.executable, "-m", "aptui"]
        subprocess.run([*aptui, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        if name == "populated":
            secret_env = {**env, "BENCH_AK": "AKIA" + "EXAMPLE" * 2 + "00", "BENCH_SK": "s" * 40,
                          "BENCH_AP_KEY": "sk-" + "k" * 40}
            subprocess.run([*aptui, "sm", "add", "--provider", "aws", "--name", "prod-aws", "--no-test",
                            "--set", "region=us-east-1", "--set-env", "accessKeyId=BENCH_AK",
                            "--set-env", "secretAccessKey=BENCH_SK"], env=secret_env, check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run([*aptui, "profile", "add", "prod", "--url", "https://ap.example.com",
                            "--key-env", "BENCH_AP_KEY"], env=secret_env, check=True, stdout=subprocess.DEVNULL)
        envs.append(env)
    return envs[0], envs[1]


def find_posting(flag: str | None) -> tuple[str | None, str]:
    candidate = flag or os.environ.get("APTUI_BENCH_POSTING")
    if not candidate:
        return None, "posting skipped: pass --posting PATH or set APTUI_BENCH_POSTING (see this script's docstring)"
    path = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
    if path is None:
        return None, f"posting skipped: {candidate} not found"
    return path, ""


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load: unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--posting", help="posting's executable (default: $APTUI_BENCH_POSTING)")
    parser.add_argument("--also", action="append", default=[], metavar="LABEL=COMMAND",
                        help="another command to time on the populated store (an older aptui, say: "
                             "'before=sh -c \"cd /tmp/aptui-old && exec python -m aptui\"')")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not shutil.which("tmux"):
        print("tmux is required", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="aptui-bench-"))
    base = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "HOME": str(work / "home"),
            "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work / "data"),
            "XDG_CACHE_HOME": str(work / "cache")}
    base.pop("NO_COLOR", None)
    (work / "home").mkdir()
    bare_file = work / "bare_app.py"
    bare_file.write_text(BARE_APP)
    welcome, populated = prepare_stores(work, base)
    apps: dict[str, tuple[list[str], dict[str, str], bool]] = {
        "bare": ([sys.executable, str(bare_file)], base, True),
        "aptui welcome": (aptui_command(), welcome, True),
        "aptui populated": (aptui_command(), populated, True),
    }
    for extra in args.also:
        label, _, command = extra.partition("=")
        apps[label] = (shlex.split(command), populated, False)
    posting, note = find_posting(args.posting)
    if posting:
        apps["posting"] = ([posting], base, False)
    load_before = load()
    samples: dict[str, list[dict[str, float]]] = {n: [] for n in apps}
    subprocess.run(["tmux", "-L", SOCKET, "new-session", "-d", "-s", "keepalive", "-x", "80", "-y", "24",
                    "sleep 86400"], check=True)  # keeps the private server alive between runs
    try:
        order = list(enumerate(apps.items()))
        for run in range(args.runs + 1):  # run 0 warms up: byte-compile, page cache
            for i, (name, (command, env, traced)) in order[run % len(order):] + order[:run % len(order)]:
                trace = work / f"trace-{i}" if traced else None
                sample = time_once(command, env, f"bench-{i}", trace)
                if run:
                    samples[name].append(sample)
    finally:
        tmux("kill-server")
        shutil.rmtree(work, ignore_errors=True)
    load_after = load()
    medians = {name: {p: statistics.median(s[p] for s in runs) for p in PHASES if all(p in s for s in runs)}
               for name, runs in samples.items()}
    ratios: dict[str, float] = {}
    for scenario in ("aptui welcome", "aptui populated"):
        ratios[f"{scenario} / bare"] = medians[scenario]["footer"] / medians["bare"]["footer"]
        if "posting" in medians:
            ratios[f"{scenario} / posting"] = medians[scenario]["footer"] / medians["posting"]["footer"]
    met = all(r <= (FLOOR_TARGET if k.endswith("bare") else POSTING_TARGET) for k, r in ratios.items())
    for label in args.also:  # for comparison only: no target
        name = label.partition("=")[0]
        ratios[f"{name} / bare"] = medians[name]["footer"] / medians["bare"]["footer"]
    result = {"runs": args.runs, "terminal": "tmux 80x24", "python": sys.version.split()[0],
              "load_before": load_before, "load_after": load_after, "median_s": medians, "ratios": ratios,
              "targets": {"bare": FLOOR_TARGET, "posting": POSTING_TARGET}, "targets_met": met,
              "samples_s": samples, "note": note}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"start-up to footer drawn, tmux 80x24, median of {args.runs} (Python {result['python']})")
    print(f"load before: {load_before}\nload after:  {load_after}")
    print("\nbudget, ms from pane creation (median per phase):")
    print(f"{'app':16}" + "".join(f"{p:>9}" for p in PHASES))
    for name, med in medians.items():
        print(f"{name:16}" + "".join(f"{med[p] * 1000:9.0f}" if p in med else f"{'-':>9}" for p in PHASES))
    print()
    for label, ratio in ratios.items():
        if not label.startswith("aptui "):
            print(f"{label:28} {ratio:5.2f}x")
            continue
        target = FLOOR_TARGET if label.endswith("bare") else POSTING_TARGET
        print(f"{label:28} {ratio:5.2f}x  (target <= {target}: {'met' if ratio <= target else 'NOT met'})")
    if note:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
