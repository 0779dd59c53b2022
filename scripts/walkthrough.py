"""The newcomer walkthrough: the README's quick start, top to bottom, in a fresh virtualenv.

1. ``python -m venv`` and ``pip install .`` from this checkout (README: "pip install . && aptui");
2. the README's moto block, line by line, as written there (only its port is replaced by a free one):
   ``pip install moto flask flask-cors``, ``python -m moto.server -p PORT &``, the ``python -c``
   that creates ``prod/api-keys``; the moto URL is typed into the form's endpoint override (aptui
   never reads ``AWS_ENDPOINT_URL``);
3. ``aptui`` in tmux at 80x24 with a fresh ``APTUI_HOME``, and the README's five console steps —
   first-run screen, add an AWS connection through the form, test a reference in the References
   pane (masked, then ``v``), see the entry in the Cache pane, clear it, quit — asserting on
   ``tmux capture-pane -p`` after each step;
4. afterwards: store and key file are 0600, the directory 0700, the audit log holds the steps, and
   neither the secret value nor the secret access key is in any file under ``APTUI_HOME``.

    python scripts/walkthrough.py [--venv DIR] [--keep]

``--venv DIR`` reuses an existing virtualenv that already has aptui (skips step 1, for quick
iterations); ``--keep`` leaves the work directory. Exit 0 when every check passed; on failure the
last screen is printed. Needs tmux.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
KEY_ID = "AKIAWALKTHROUGH00001"
SECRET_KEY = "walkthrough-secret-access-key-0000000001"
NAME = "prod-aws"


class Failed(Exception):
    """A check failed; carries the screen it failed on."""

    def __init__(self, what: str, screen: str = "") -> None:
        super().__init__(what)
        self.screen = screen


# -- the README --------------------------------------------------------------------------------------


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """(paragraph before, code) of every fenced sh block."""
    out = []
    for m in re.finditer(r"```sh\n(.*?)```", text, re.S):
        before = text[:m.start()].rstrip().rsplit("\n\n", 1)[-1]
        out.append((before, m.group(1)))
    return out


def strip_comment(line: str) -> str:
    """The line without its shell comment (a ``#`` after a blank, outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands(code: str) -> list[str]:
    """Shell commands of a block: continuation lines joined (as sh does), comments removed."""
    joined = code.replace("\\\n", "")
    return [c for c in (strip_comment(raw).strip() for raw in joined.splitlines()) if c]


def readme_plan(text: str) -> tuple[str, list[str]]:
    """The install command and the moto block's commands, as the README writes them."""
    blocks = readme_blocks(text)
    quick = next(code for before, code in blocks if "fresh machine" in before)
    install = next(c for c in commands(quick) if c.startswith("pip install .")).split("&&")[0].strip()
    moto = next(code for before, code in blocks if "moto" in before and "AWS account" in before)
    return install, commands(moto)


README_KEYS = ["`enter` closes the first-run screen", "`1` `a` `enter`", "`ctrl+s`", "`2`: type a reference",
               "`3`", "`c` then `y`", "`q` quits", "`esc` leaves it, then `v` shows", "\"Endpoint override"]


def check_readme(text: str) -> None:
    """The console steps this script performs are the ones the README tells a newcomer."""
    missing = [k for k in README_KEYS if k not in text]
    if missing:
        raise Failed(f"README no longer describes these steps: {missing}")


# -- processes ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise Failed(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


class Screen:
    """The console in a private tmux server, read with capture-pane."""

    def __init__(self, env: dict[str, str], command: str) -> None:
        self.socket = f"aptui-walk-{os.getpid()}"
        self.env = env
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "walk", "-x", "80", "-y", "24", command)
        self.tmux("set-option", "-t", "walk", "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=self.env,
                              timeout=20)
        if proc.returncode != 0 and args[0] not in ("kill-server", "has-session"):
            raise Failed(f"tmux {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "walk")

    def keys(self, *keys: str, pause: float = 0.35) -> None:
        """Special keys one at a time, with a human pause (a burst can reach the app as one paste)."""
        for key in keys:
            self.tmux("send-keys", "-t", "walk", key)
            time.sleep(pause)

    def type(self, text: str, pause: float = 0.35) -> None:
        self.tmux("send-keys", "-t", "walk", "-l", text)
        time.sleep(pause)

    def wait(self, check: str | Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        test = (lambda s: check in s) if isinstance(check, str) else check
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text()
            if test(screen):
                return screen
            time.sleep(0.1)
        raise Failed(f"timed out after {timeout:.0f}s waiting for: {what}", screen)

    def dead_status(self) -> int | None:
        out = self.tmux("display-message", "-p", "-t", "walk", "#{pane_dead} #{pane_dead_status}").split()
        return int(out[1]) if out and out[0] == "1" and len(out) > 1 else None

    def close(self) -> None:
        self.tmux("kill-server")


# -- the walk ----------------------------------------------------------------------------------------


class Walk:
    def __init__(self, work: Path, venv: Path | None) -> None:
        self.work = work
        self.venv = venv or work / "venv"
        self.reuse = venv is not None
        self.home = work / "aptui-home"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("APTUI_", "AWS_", "AP_", "VIRTUAL_ENV", "PYTHON")) and k != "NO_COLOR"}
        self.env.update({"PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                         "VIRTUAL_ENV": str(self.venv), "APTUI_HOME": str(self.home), "HOME": str(work / "home"),
                         "AWS_CONFIG_FILE": str(work / "no-aws-config"),
                         "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"), "TERM": "xterm-256color"})
        (work / "home").mkdir(parents=True, exist_ok=True)
        self.background: list[subprocess.Popen] = []
        self.screen: Screen | None = None
        self.times: list[tuple[str, float]] = []
        self.secret_value = ""

    def sh(self, command: str, *, timeout: float = 900) -> str:
        proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise Failed(f"`{command}` failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
        return proc.stdout

    def step(self, name: str, fn: Callable[[], None]) -> None:
        started = time.perf_counter()
        fn()
        self.times.append((name, time.perf_counter() - started))
        print(f"  ok  {name} ({self.times[-1][1]:.1f}s)", flush=True)

    # 1 -------------------------------------------------------------------------------------------
    def install(self, command: str) -> None:
        if self.reuse:
            if not (self.venv / "bin" / "aptui").exists():
                raise Failed(f"--venv {self.venv}: no aptui in it")
            return
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True, timeout=300)
        self.sh(command)  # "pip install ." in the checkout, with the fresh venv first on PATH
        version = self.sh("aptui --version").strip()
        if not version.startswith("aptui, version"):
            raise Failed(f"aptui --version printed {version!r}")

    # 2 -------------------------------------------------------------------------------------------
    def moto_block(self, lines: list[str]) -> None:
        port = free_port()
        for line in lines:
            line = line.replace("5000", str(port))
            if line.startswith("aptui"):
                continue  # the console: step 3
            if line.startswith("pip install") and self.reuse and self._has_moto():
                continue
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").partition("=")
                self.env[key.strip()] = value.strip()
            elif line.endswith("&"):
                argv = shlex.split(line[:-1])
                self.background.append(subprocess.Popen(argv, cwd=self.work, env=self.env, stdout=subprocess.DEVNULL,
                                                        stderr=subprocess.DEVNULL, start_new_session=True))
                wait_port(port)
            else:
                self.sh(line)
        self.endpoint = f"http://127.0.0.1:{port}"
        if not any(self.endpoint in line.replace("5000", str(port)) for line in lines):
            raise Failed("the README's moto block does not name the moto endpoint")
        m = re.search(r"slack_token\\?\"?: \\?\"([^\\\"]+)", " ".join(lines))
        self.secret_value = m.group(1) if m else ""
        if not self.secret_value:
            raise Failed("could not read the demo secret value from the README's moto block")

    def _has_moto(self) -> bool:
        return subprocess.run([str(self.venv / "bin" / "python"), "-c", "import moto.server, flask_cors"],
                              capture_output=True).returncode == 0

    # 3 -------------------------------------------------------------------------------------------
    def first_run(self) -> None:
        self.screen = Screen(self.env, "aptui")
        s = self.screen.wait("Press enter or esc to continue", "the first-run screen")
        if "$APTUI_HOME" in s:
            raise Failed("first-run screen: the store path is shown as $APTUI_HOME/… instead of the real path", s)
        for text in ("Welcome to aptui", "aptui.db", "unlocked by keyfile", "press 1, then a",
                     "--set-env accessKeyId=AWS_ACCESS_KEY_ID", "--key-env AP_API_KEY", "q quit"):
            if text not in s:
                raise Failed(f"first-run screen: {text!r} missing", s)
        if "aptui — v" not in s.splitlines()[0]:
            raise Failed("first-run screen: the header is not on the first line (the screen overflows 24 rows)", s)
        store, key = self.home / "aptui.db", self.home / "aptui.key"
        modes = {p.name: oct(p.stat().st_mode & 0o777) for p in (store, key)}
        if modes != {"aptui.db": "0o600", "aptui.key": "0o600"} or (self.home.stat().st_mode & 0o777) != 0o700:
            raise Failed(f"store files are not private: {modes}, dir {oct(self.home.stat().st_mode & 0o777)}")
        self.screen.keys("Enter")
        s = self.screen.wait("no connections yet — press a to add one", "the empty Secret managers pane")
        tabs = s.splitlines()[1]
        if not all(f"{n} " in tabs for n in "1234567"):
            raise Failed("the seven pane tabs do not fit in 80 columns", s)

    def add_connection(self) -> None:
        sc = self.screen
        assert sc is not None
        sc.keys("1", "a")
        sc.wait("New connection: which secret manager?", "the provider choice")
        sc.keys("Enter")
        sc.wait("New AWS Secrets Manager connection", "the AWS form")
        sc.type(NAME)
        sc.keys("Tab", "Tab", "Tab")
        sc.type(KEY_ID)
        sc.keys("Tab")
        sc.type(SECRET_KEY)
        sc.keys("Tab")
        sc.type("us-east-1")
        sc.keys("Tab")
        sc.type(self.endpoint)  # the README: "Endpoint override", stored with the connection
        s = sc.text()
        if SECRET_KEY in s or "•" * 20 not in s:
            raise Failed("the form shows the secret access key in clear", s)
        if KEY_ID not in s:  # the README: the access key id is typed in clear (it is not the secret)
            raise Failed("the form masks the access key id", s)
        sc.keys("C-s")
        s = sc.wait(lambda t: "● ok" in t and NAME in t and "references to it" in t,
                    "the connection saved, tested ok, with its id in the notification", timeout=30)
        m = re.search(r"\{\{([A-Za-z0-9]{21})\|ap_sep_v1\|", s)
        if not m:
            raise Failed("the notification does not show the connection id on one line", s)
        self.connection_id = m.group(1)

    def test_reference(self) -> None:
        sc = self.screen
        assert sc is not None
        sc.keys("2")
        sc.wait("Reference (project: any", "the References pane")
        reference = "{{" + self.connection_id + "|ap_sep_v1|prod/api-keys:slack_token}}"
        sc.type(reference)
        sc.wait("✓ valid", "the offline verdict while typing")
        sc.keys("Enter")
        s = sc.wait("● resolves", "the live verdict", timeout=30)
        if not re.search(r"value: \S*•+ \(\d+\+? chars\)", s) or self.secret_value in s:
            raise Failed("the resolved value is not masked", s)
        if "esc, then v reveal" not in s:
            raise Failed("the value line does not say that esc comes before v while typing", s)
        sc.keys("Escape")
        sc.wait(lambda t: "   v reveal · y copy" in t, "esc leaves the input: the value line names v")
        sc.keys("v")
        sc.wait(lambda t: self.secret_value in t and "revealed" in t, "v reveals the value")
        sc.keys("v")
        s = sc.wait(lambda t: self.secret_value not in t, "v again masks it")

    def cache(self) -> None:
        sc = self.screen
        assert sc is not None
        sc.keys("3")
        row = re.compile(rf"^{re.escape(NAME)}\s+aws\s+(\d+)\s", re.M)
        s = sc.wait(lambda t: bool(row.search(t)) and row.search(t).group(1) == "1",
                    "the Cache pane: one entry for the connection")
        sc.keys("c")
        sc.wait(f"Clear aptui's cache for {NAME}?", "the clear confirmation")
        sc.keys("y")
        s = sc.wait(lambda t: bool(row.search(t)) and row.search(t).group(1) == "0", "the entry cleared")
        if self.secret_value in s:
            raise Failed("the Cache pane shows the value", s)

    def quit(self) -> None:
        sc = self.screen
        assert sc is not None
        sc.keys("q")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status = sc.dead_status()
            if status is not None:
                if status != 0:
                    raise Failed(f"aptui exited with status {status}", sc.text())
                return
            time.sleep(0.1)
        raise Failed("q did not quit within 15s", sc.text())

    # 4 -------------------------------------------------------------------------------------------
    def afterwards(self) -> None:
        status = json.loads(self.sh("aptui cache status --json"))
        audit = self.sh("aptui audit log --json")
        for action in ("sm.add", "cache.clear"):
            if f'"{action}"' not in audit:
                raise Failed(f"the audit log has no {action}: {audit[:400]}")
        if self.secret_value in json.dumps(status) + audit:
            raise Failed("a value reached cache status or the audit log")
        for path in self.home.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in (self.secret_value, SECRET_KEY, KEY_ID):
                    if secret.encode() in data:
                        raise Failed(f"{path.name} holds a secret in clear")

    def cleanup(self) -> None:
        if self.screen is not None:
            self.screen.close()
        for proc in self.background:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def run(work: Path, venv: Path | None) -> int:
    text = README.read_text("utf-8")
    check_readme(text)
    install, moto_lines = readme_plan(text)
    walk = Walk(work, venv)
    started = time.perf_counter()
    print(f"walkthrough in {work}", flush=True)
    try:
        walk.step(f"fresh venv + `{install}`" if venv is None else f"reuse {venv}", lambda: walk.install(install))
        walk.step("README moto block (pip install moto, moto server, a secret)",
                  lambda: walk.moto_block(moto_lines))
        walk.step("aptui in tmux 80x24: first-run screen, enter", walk.first_run)
        walk.step("1 a enter: the AWS form, typed masked, ctrl+s: tested and saved", walk.add_connection)
        walk.step("2: reference valid offline, enter resolves (masked), v reveals, v masks", walk.test_reference)
        walk.step("3: one cache entry; c y clears it", walk.cache)
        walk.step("q quits with status 0", walk.quit)
        walk.step("store 0600, audit log, no secret in any file", walk.afterwards)
    except Failed as exc:
        print(f"FAILED: {exc}", flush=True)
        if exc.screen:
            print("---- screen (80x24) ----\n" + exc.screen + "\n------------------------", flush=True)
        return 1
    finally:
        walk.cleanup()
    print(f"walkthrough passed in {time.perf_counter() - started:.1f}s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, help="reuse this virtualenv (it must already have aptui)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        print("tmux is needed (apt-get install tmux)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="aptui-walkthrough-"))
    try:
        return run(work, args.venv)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
