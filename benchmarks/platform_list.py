"""List 10,000 app connections from the Activepieces double: aptui's streamed listing vs a plain loop.

- baseline: a plain httpx loop that fetches every page in turn and collects all items in a list
  before using them (what a naive client does);
- aptui: ``connections.iter_connections`` (the path ``aptui platform connections list`` uses),
  which hands out items page by page and keeps one page in memory.

Both use the same keep-alive connection settings, page size 100 and the same consumer (count the
items, read one field). The double runs in a child process so its memory does not count. Time is
the median of ``--repeat`` runs without tracing; peak memory is measured in a separate traced run
(tracemalloc: Python allocations of this process). The end-to-end CLI time is printed too.

    python benchmarks/platform_list.py [--items 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVE = """
import sys, time
from tests.doubles.activepieces import ActivepiecesDouble, DEFAULT_PROJECT
d = ActivepiecesDouble()
d.start()
d.seed_connections(int(sys.argv[1]))
d.validate_responses = False
print(d.url, d.api_key, DEFAULT_PROJECT, flush=True)
sys.stdin.read()
d.stop()
"""


def start_double(items: int) -> tuple[subprocess.Popen, str, str, str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(items)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    url, key, project = proc.stdout.readline().split()
    return proc, url, key, project


async def baseline(url: str, key: str, project: str) -> int:
    """Fetch all pages sequentially into one list, then use the items."""
    import httpx

    items: list[dict] = []
    async with httpx.AsyncClient(base_url=url + "/api", headers={"Authorization": f"Bearer {key}"},
                                 timeout=30) as http:
        cursor = None
        while True:
            params = {"projectId": project, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = (await http.get("/v1/app-connections", params=params)).json()
            items.extend(page["data"])
            cursor = page["next"]
            if not cursor:
                break
    return sum(1 for item in items if item["id"])


async def streamed(url: str, key: str, project: str) -> int:
    """aptui: items handed out page by page."""
    from aptui.activepieces import connections
    from aptui.activepieces.client import ActivepiecesClient, ClientOptions
    from aptui.masking import Secret

    count = 0
    async with ActivepiecesClient(url, Secret(key), options=ClientOptions(timeout=30)) as client:
        async for item in connections.iter_connections(client, project, limit=100):
            if item["id"]:
                count += 1
    return count


def timed(fn, *args) -> tuple[float, int]:
    started = time.perf_counter()
    n = asyncio.run(fn(*args))
    return time.perf_counter() - started, n


def peak(fn, *args) -> float:
    tracemalloc.start()
    asyncio.run(fn(*args))
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top / 1e6


def cli_time(url: str, key: str, project: str) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "APTUI_HOME": home, "AP_API_KEY": key}
        subprocess.run([sys.executable, "-m", "aptui", "profile", "add", "bench", "--url", url, "--project", project,
                        "--no-key"], env=env, check=True, capture_output=True, cwd=ROOT)
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "aptui", "platform", "connections", "list", "--json"],
                             env=env, check=True, capture_output=True, cwd=ROOT)
        elapsed = time.perf_counter() - started
        assert b'"ok": true' in out.stdout
        return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    proc, url, key, project = start_double(args.items)
    try:
        asyncio.run(streamed(url, key, project))  # warm-up (imports, first connection)
        asyncio.run(baseline(url, key, project))
        base_t, aptui_t = [], []
        for _ in range(args.repeat):
            t, n = timed(baseline, url, key, project)
            assert n == args.items, n
            base_t.append(t)
            t, n = timed(streamed, url, key, project)
            assert n == args.items, n
            aptui_t.append(t)
        base_mem = peak(baseline, url, key, project)
        aptui_mem = peak(streamed, url, key, project)
        cli = cli_time(url, key, project)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    bt, at = statistics.median(base_t), statistics.median(aptui_t)
    print(f"platform_list: {args.items} app connections, page size 100, median of {args.repeat}")
    print(f"  baseline (plain loop, all pages into a list): {bt * 1000:8.0f} ms   peak {base_mem:6.1f} MB")
    print(f"  aptui streamed listing:                       {at * 1000:8.0f} ms   peak {aptui_mem:6.1f} MB")
    print(f"  time ratio aptui/baseline:   {at / bt:.2f}x")
    print(f"  memory ratio baseline/aptui: {base_mem / aptui_mem:.1f}x less memory streamed")
    print(f"  end to end `aptui platform connections list --json`: {cli * 1000:.0f} ms")


if __name__ == "__main__":
    main()
