"""Store figures for the README.

- write, then read+decrypt, 10,000 encrypted values (target < 0.5 s each on 2 cores);
- the same through sealed rows (profiles: every write sealed by the triggers, every decrypt
  verified first; aptui.store.integrity), as a ratio to the plain figure of the same run;
- unlock time of a passphrase store with the chosen Argon2id parameters (target 50–250 ms);
- `aptui --version` process time vs `python -c pass`, measured in the same run.

Run: python benchmarks/store.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aptui.config import Paths
from aptui.store import crypto
from aptui.store.db import Store

N = 10_000


def timed(fn, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def bench_values(home: Path, *, sealed: bool = False) -> tuple[float, float]:
    store = Store.open(Paths(config_dir=home, data_dir=home))
    values = [os.urandom(50).hex() for _ in range(N)]  # 100-char secrets
    if not sealed:
        with store.transaction() as conn:
            conn.execute("INSERT INTO sm_connections (id, provider_id, name, scope, auth, created, updated) "
                         "VALUES ('c', 'aws', 'c', 'PLATFORM', x'00', 't', 't')")

    def write() -> None:
        with store.transaction() as conn:
            if sealed:
                conn.execute("DELETE FROM profiles")
                conn.executemany(
                    "INSERT INTO profiles (id, name, base_url, api_key, created, updated) VALUES (?,?,?,?,?,?)",
                    ((f"p{i}", f"p{i}", "https://x", store.encrypt("profiles", f"p{i}", "api_key", v), "t", "t")
                     for i, v in enumerate(values)),
                )
            else:
                conn.execute("DELETE FROM cache_entries")
                conn.executemany(
                    "INSERT INTO cache_entries (id, connection_id, path, value, created, expires) VALUES (?,?,?,?,0,0)",
                    ((f"e{i}", "c", f"p{i}", store.encrypt("cache_entries", f"e{i}", "value", v))
                     for i, v in enumerate(values)),
                )

    def read() -> None:
        table, column = ("profiles", "api_key") if sealed else ("cache_entries", "value")
        rows = store.conn.execute(f"SELECT id, {column} FROM {table}").fetchall()
        out = [store.decrypt(table, rid, column, blob) for rid, blob in rows]
        assert len(out) == N

    w = timed(write, 3)
    r = timed(read, 5)
    store.close()
    return w, r


def bench_unlock(home: Path) -> tuple[float, dict]:
    paths = Paths(config_dir=home, data_dir=home)
    Store.create(paths, passphrase="benchmark passphrase").close()
    os.environ["APTUI_PASSPHRASE"] = "benchmark passphrase"
    try:
        t = timed(lambda: Store.open(paths).close(), 5)
    finally:
        del os.environ["APTUI_PASSPHRASE"]
    return t, crypto.DEFAULT_KDF


def bench_process(cmd: list[str], runs: int = 15) -> float:
    def once() -> None:
        subprocess.run(cmd, check=True, capture_output=True)

    once()
    return timed(once, runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        w, r = bench_values(Path(tmp) / "values")
        sw, sr = bench_values(Path(tmp) / "sealed", sealed=True)
        unlock, kdf = bench_unlock(Path(tmp) / "unlock")
    aptui = [sys.executable, "-m", "aptui", "--version"]
    base = bench_process([sys.executable, "-c", "pass"])
    version = bench_process(aptui)
    print(f"write {N:,} encrypted values : {w * 1000:7.1f} ms  (target < 500 ms)")
    print(f"read  {N:,} encrypted values : {r * 1000:7.1f} ms  (target < 500 ms)")
    print(f"write {N:,} sealed rows      : {sw * 1000:7.1f} ms  ({sw / w:.1f}x plain)")
    print(f"read  {N:,} verified secrets : {sr * 1000:7.1f} ms  ({sr / r:.1f}x plain)")
    print(f"unlock (argon2id m={kdf['memory_kib'] // 1024} MiB t={kdf['iterations']} p={kdf['lanes']}) : "
          f"{unlock * 1000:7.1f} ms  (target 50–250 ms)")
    print(f"python -c pass               : {base * 1000:7.1f} ms")
    print(f"aptui --version              : {version * 1000:7.1f} ms  ({version / base:.2f}x python -c pass)")


if __name__ == "__main__":
    main()
