"""Store faults through the real CLI: disk full, read-only file and directory, a lock held by another
aptui process, and concurrent CLI and console writers. Each gives one line with its code and exit 3;
afterwards `aptui store check` passes and no committed row is lost.

Disk full uses a small tmpfs (needs mount rights: skipped otherwise) plus, everywhere,
``PRAGMA max_page_count``. Read-only cases run the CLI without CAP_DAC_OVERRIDE when the tests run
as root (root ignores file modes), and as they are otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aptui.errors import AptuiError
from tests.conftest import CliResult
from tests.faults.harness import ROOT

ADD = ("sm", "add", "--no-test", "--provider", "onepassword", "--set-env", "serviceAccountToken=FAULT_TOKEN",
       "--name")
TOKEN = "ops_store-fault-token-0123456789"
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_dac() -> None:
    """preexec_fn: without these capabilities root obeys file modes like any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def aptui(home: Path, *args: str, modes_apply: bool = False, timeout: float = 60) -> CliResult:
    env = {**os.environ, "APTUI_HOME": str(home), "FAULT_TOKEN": TOKEN, "COLUMNS": "200"}
    env.pop("APTUI_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "aptui", *args], input="", capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout,
                          preexec_fn=_drop_dac if modes_apply and os.geteuid() == 0 else None)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def one_line_error(r: CliResult, code: str) -> None:
    assert r.code == 3, (r.code, r.out, r.err)
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"aptui: {code}: "), r.err
    assert "Traceback" not in r.err + r.out


def names(home: Path) -> list[str]:
    r = aptui(home, "sm", "list", "--json")
    assert r.code == 0, r.err
    return sorted(c["name"] for c in r.json["data"])


def store_check_passes(home: Path) -> dict:
    r = aptui(home, "store", "check", "--json")
    assert r.code == 0 and r.json["ok"] and r.json["integrity"] == "ok", (r.out, r.err)
    return r.json


def fill(directory: Path) -> Path:
    """Write a file until the file system is full; returns it."""
    path = directory / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 65536)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 512)
    finally:
        os.close(fd)
    return path


@pytest.fixture
def small_fs(tmp_path):
    """A size-capped tmpfs (skipped where mounting is not allowed, e.g. as a normal CI user)."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(point)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); "
                        "the PRAGMA max_page_count test covers the code path")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def modes_can_be_tested() -> None:
    if os.geteuid() != 0:
        return
    r = subprocess.run([sys.executable, "-c", "open('/proc/self/status').read()"], preexec_fn=_drop_dac,
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("running as root without CAP_SETPCAP: file modes cannot be enforced")


# -- disk full ---------------------------------------------------------------------------------------


def test_disk_full_refuses_writes_with_one_line_and_loses_nothing(small_fs):
    home = small_fs("1m") / "home"
    for name in ("kept-1", "kept-2"):
        assert aptui(home, *ADD, name).code == 0
    filler = fill(home.parent)
    one_line_error(aptui(home, *ADD, "refused"), "STORE_DISK_FULL")
    # even reading needs room for SQLite's WAL index (-shm): the same clear error, not a traceback
    one_line_error(aptui(home, "sm", "list"), "STORE_DISK_FULL")
    filler.unlink()
    assert store_check_passes(home)["checked"] == 2
    assert names(home) == ["kept-1", "kept-2"]
    assert aptui(home, *ADD, "after").code == 0


def test_first_run_on_a_full_disk_leaves_no_broken_store(small_fs):
    """Regression: a store created with too little room used to lose its WAL at close and be linked
    into place malformed ("database disk image is malformed" on every later run)."""
    point = small_fs("256k")
    filler = fill(point)
    one_line_error(aptui(point / "a", "sm", "list"), "STORE_DISK_FULL")
    assert sorted(p.name for p in (point / "a").iterdir()) == []  # no half-written key or temp file
    # room for the key file but not for the store: the key stays, no store is linked
    os.truncate(filler, max(0, filler.stat().st_size - 8192))
    one_line_error(aptui(point / "b", "sm", "list"), "STORE_DISK_FULL")
    assert sorted(p.name for p in (point / "b").iterdir()) == ["aptui.key"]
    # a little more room, still not enough for store + WAL + index at once: never a malformed store
    os.truncate(filler, max(0, filler.stat().st_size - 150_000))
    r = aptui(point / "b", "sm", "list")
    assert r.code in (0, 3) and "INTERNAL" not in r.err and "malformed" not in r.err, r.err
    filler.unlink()
    assert aptui(point / "b", *ADD, "first").code == 0
    assert store_check_passes(point / "b")["checked"] == 1


def test_disk_filling_under_an_open_store(small_fs, tmp_path):
    """The console keeps the store open (WAL index already mapped) while the disk fills up."""
    import asyncio

    from aptui.config import Paths, Settings
    from aptui.services import connections
    from aptui.services.context import Context

    home = small_fs("1m") / "home"
    ctx = Context(paths=Paths(home, home), settings=Settings())
    try:
        asyncio.run(connections.add(ctx, provider_id="onepassword", name="before",
                                    config={"serviceAccountToken": TOKEN}, test_first=False))
        filler = fill(home.parent)
        with pytest.raises(AptuiError) as info:
            asyncio.run(connections.add(ctx, provider_id="onepassword", name="x" * 10,
                                        config={"serviceAccountToken": TOKEN * 20_000}, test_first=False))
        assert info.value.code == "STORE_DISK_FULL" and info.value.exit_code == 3
        assert [r["name"] for r in ctx.store.query("SELECT name FROM sm_connections")] == ["before"]
        filler.unlink()
        asyncio.run(connections.add(ctx, provider_id="onepassword", name="after",
                                    config={"serviceAccountToken": TOKEN}, test_first=False))
        report = ctx.store.check()
        assert report.ok and report.checked == 2
    finally:
        ctx.close()


def test_sqlite_full_is_store_disk_full_and_rolls_back(ctx):
    """Portable disk-full (no mount needed): cap the database size with PRAGMA max_page_count."""
    import asyncio

    from aptui.services import connections

    asyncio.run(connections.add(ctx, provider_id="onepassword", name="small", config={"serviceAccountToken": TOKEN},
                                test_first=False))
    pages = ctx.store.conn.execute("PRAGMA page_count").fetchone()[0]
    ctx.store.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(AptuiError) as info:
        asyncio.run(connections.add(ctx, provider_id="onepassword", name="big",
                                    config={"serviceAccountToken": "ops_" + "x" * 200_000}, test_first=False))
    assert info.value.code == "STORE_DISK_FULL" and info.value.exit_code == 3
    assert "\n" not in info.value.one_line() and "xxxx" not in info.value.one_line()
    ctx.store.conn.execute("PRAGMA max_page_count = 1073741823")
    assert [r["name"] for r in ctx.store.query("SELECT name FROM sm_connections")] == ["small"]
    assert ctx.store.check().ok


# -- read-only -----------------------------------------------------------------------------------------


def test_read_only_store_file(tmp_path):
    modes_can_be_tested()
    home = tmp_path / "home"
    assert aptui(home, *ADD, "kept").code == 0
    os.chmod(home / "aptui.db", 0o400)
    try:
        one_line_error(aptui(home, *ADD, "refused", modes_apply=True), "STORE_READ_ONLY")
        r = aptui(home, "sm", "list", "--json", modes_apply=True)  # reading still works
        assert r.code == 0 and [c["name"] for c in r.json["data"]] == ["kept"]
        r = aptui(home, "store", "check", "--json", modes_apply=True)  # and so does checking it
        assert r.code == 0 and r.json["ok"] and "read-only" in r.json["note"], (r.out, r.err)
    finally:
        os.chmod(home / "aptui.db", 0o600)
    store_check_passes(home)
    assert names(home) == ["kept"]


def test_read_only_store_directory(tmp_path):
    modes_can_be_tested()
    home = tmp_path / "home"
    assert aptui(home, *ADD, "kept").code == 0
    os.chmod(home, 0o500)
    try:
        one_line_error(aptui(home, *ADD, "refused", modes_apply=True), "STORE_READ_ONLY")
        # WAL mode needs to create -wal/-shm next to the store: reads fail the same clear way
        one_line_error(aptui(home, "sm", "list", modes_apply=True), "STORE_READ_ONLY")
    finally:
        os.chmod(home, 0o700)
    store_check_passes(home)
    assert names(home) == ["kept"]


def test_first_run_under_a_read_only_directory(tmp_path):
    modes_can_be_tested()
    parent = tmp_path / "locked-parent"
    parent.mkdir(mode=0o500)
    try:
        one_line_error(aptui(parent / "home", "sm", "list", modes_apply=True), "STORE_READ_ONLY")
    finally:
        os.chmod(parent, 0o700)
    assert not (parent / "home").exists()


# -- lock held by another aptui process ------------------------------------------------------------------

HOLDER = """
import sys
from pathlib import Path
from aptui.config import Paths
from aptui.store.db import Store

home = Path(sys.argv[1])
store = Store.open(Paths(config_dir=home, data_dir=home))
with store.transaction() as conn:
    conn.execute("INSERT INTO rotation_records VALUES ('held-row','item','aws','set','t','recorded',NULL)")
    print("locked", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
store.close()
"""


def test_lock_held_by_another_aptui_process(tmp_path):
    home = tmp_path / "home"
    assert aptui(home, *ADD, "kept").code == 0
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        r = aptui(home, *ADD, "refused")
        waited = time.perf_counter() - started
        one_line_error(r, "STORE_LOCKED")
        assert 2.5 < waited < 15  # the 3 s busy timeout, then a clear error; never a hang
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "committed"
        assert holder.wait(timeout=10) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    store_check_passes(home)
    assert names(home) == ["kept"]
    from aptui.config import Paths
    from aptui.store.db import Store

    with Store.open(Paths(home, home)) as store:  # the holder's committed row is there
        assert store.query("SELECT id FROM rotation_records WHERE id = 'held-row'") == [{"id": "held-row"}]


# -- concurrent writers: CLI processes and the console ----------------------------------------------------


async def test_concurrent_cli_and_console_writers(make_app, ctx, aptui_home):
    """A CLI loop adds and removes connections while the console saves its own: every write lands
    (or the CLI says STORE_LOCKED in one line), nothing is corrupted, nothing committed is lost."""
    from aptui.services import connections
    from aptui.tui.messages import JobFinished
    from tests.tui.conftest import settle

    ctx.store  # noqa: B018 - the console has the store open before the CLI starts
    cli_results: list[tuple[str, CliResult]] = []
    expected_cli: set[str] = set()

    def cli_loop() -> None:
        for i in range(6):
            name = f"cli-{i}"
            r = aptui(aptui_home, *ADD, name)
            cli_results.append((name, r))
            if r.code == 0:
                expected_cli.add(name)
            if i % 2 == 1 and f"cli-{i - 1}" in expected_cli:
                r = aptui(aptui_home, "sm", "remove", f"cli-{i - 1}", "--yes")
                cli_results.append((f"remove cli-{i - 1}", r))
                if r.code == 0:
                    expected_cli.discard(f"cli-{i - 1}")

    finished: list[JobFinished] = []
    app = make_app()
    async with app.run_test(size=(80, 24), message_hook=lambda m: isinstance(m, JobFinished)
                            and finished.append(m)) as pilot:
        await settle(pilot)
        worker = threading.Thread(target=cli_loop, name="cli-writer")
        worker.start()
        pane = app.pane("sm")
        k = 0
        while worker.is_alive() or k < 6:
            pane.run_job(f"saving tui-{k}", connections.add, ctx, provider_id="onepassword", name=f"tui-{k}",
                         config={"serviceAccountToken": TOKEN}, test_first=False, cancellable=False)
            app.audit_event("fault.concurrency", f"tui-{k}", "ok")
            await settle(pilot)
            k += 1
            if k > 60:
                break
        worker.join(timeout=120)
        assert not worker.is_alive()
        await pilot.press("r")
        await settle(pilot)
    saves = list({id(m): m for m in finished if m.label.startswith("saving tui-")}.values())  # hook sees a
    # bubbling message at each node
    assert len(saves) == k and all(m.ok for m in saves), [(m.label, m.code) for m in saves if not m.ok]
    for label, r in cli_results:
        if r.code != 0:  # contention beyond the busy timeout is allowed only as a clean STORE_LOCKED
            one_line_error(r, "STORE_LOCKED")
        assert "Traceback" not in r.err, (label, r.err)
    assert sum(1 for _, r in cli_results if r.code == 0) >= len(cli_results) - 1
    assert set(names(aptui_home)) == {f"tui-{i}" for i in range(k)} | expected_cli
    report = store_check_passes(aptui_home)
    assert report["checked"] == k + len(expected_cli)
    r = aptui(aptui_home, "audit", "log", "--json", "--filter", "fault.concurrency", "--limit", "1000")
    assert r.code == 0 and len(r.json["entries"]) == k  # the console's audit writes landed too
