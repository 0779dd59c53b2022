"""Bulk reference resolution: naive sequential GetSecretValue vs aptui's bulk resolve, on moto.

Starts ``moto_server`` on 127.0.0.1 (ephemeral port), seeds 100 JSON secrets with 10 keys each and
builds 1,000 references (every key of every secret). In one run it measures:

- baseline: one boto3 ``GetSecretValue`` per reference, sequentially (what Activepieces does for
  uncached references), then JSON parse and key lookup;
- aptui, cold cache: ``services.references.resolve_document`` over a JSON document holding the
  1,000 references (what ``aptui ref resolve FILE`` runs): parse, scope, validation, one
  ``fetch_many`` per connection, encrypted cache writes, audit rows;
- aptui, warm cache: the same call again (every value from the cache);
- each side is run ``BENCH_REPEAT`` times (default 3) and the best run is reported;
- cache-hit lookups: p50/p99 of ``SecretCache.get`` over 20,000 lookups from the memory layer.

AWS calls are counted by wrapping botocore's ``BaseClient._make_api_call`` (every client in the
process), independently of aptui's own counters. Usage: ``python benchmarks/bulk_resolve.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SECRETS = 100
KEYS = 10
LOOKUPS = 20_000
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
BATCH_LIMIT = 20


def start_moto() -> tuple[subprocess.Popen, str, Path]:
    log = Path(tempfile.mkstemp(prefix="moto-bench-", suffix=".log")[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"Running on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if m:
            return proc, m.group(1), log
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("moto server did not start: " + log.read_text(errors="replace")[-500:])


def count_aws_calls() -> Counter:
    """Count every botocore API call made in this process, by operation name."""
    from botocore.client import BaseClient

    calls: Counter = Counter()
    original = BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        calls[operation_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting
    return calls


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    proc, endpoint, log = start_moto()
    home = tempfile.mkdtemp(prefix="aptui-bench-")
    os.environ.update({"APTUI_HOME": home, "AWS_ACCESS_KEY_ID": "unused",
                       "AWS_SECRET_ACCESS_KEY": "unused", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    try:
        import boto3

        from aptui.references.grammar import build, parse
        from aptui.services import references as refs
        from aptui.services.context import Context
        from aptui.store import connections as store_conn
        from aptui.store.cache import SecretCache, cache_for

        config = {"accessKeyId": "AKIABENCH00000000000", "secretAccessKey": "bench-secret-key-000",
                  "region": "us-east-1", "endpoint": endpoint}  # the stored endpoint override (moto)
        sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=config["accessKeyId"], aws_secret_access_key=config["secretAccessKey"])
        for s in range(SECRETS):
            sm.create_secret(Name=f"bench/app-{s:03d}",
                             SecretString=json.dumps({f"key{k}": f"value-{s}-{k}" for k in range(KEYS)}))

        ctx = Context()
        conn = store_conn.create(ctx.store, provider_id="aws", name="bench-aws", config=config)
        references = [build(conn.id, f"bench/app-{s:03d}:key{k}") for s in range(SECRETS) for k in range(KEYS)]
        expected = {build(conn.id, f"bench/app-{s:03d}:key{k}"): f"value-{s}-{k}"
                    for s in range(SECRETS) for k in range(KEYS)}
        calls = count_aws_calls()

        # -- baseline: naive, sequential, one GetSecretValue per reference ----------------------------
        # Best of REPEAT runs for each side (shared machines are noisy). Both sides start from nothing:
        # the baseline pays for its boto3 client as aptui's provider does, and every aptui cold run
        # starts with an empty cache and a new provider client.
        baseline_runs, cold_runs, warm_runs = [], [], []
        baseline_calls = cold_total = warm_calls = 0
        cold_calls: Counter = Counter()
        doc = {f"ref{i:04d}": text for i, text in enumerate(references)}
        for _ in range(REPEAT):
            calls.clear()
            t0 = time.perf_counter()
            base_client = boto3.session.Session().client(
                "secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id=config["accessKeyId"], aws_secret_access_key=config["secretAccessKey"])
            baseline_values = {}
            for text in references:
                ref = parse(text)
                name, _, key = ref.path.partition(":")
                secret = json.loads(base_client.get_secret_value(SecretId=name)["SecretString"])
                baseline_values[text] = secret[key]
            baseline_runs.append(time.perf_counter() - t0)
            baseline_calls = sum(calls.values())
            assert baseline_values == expected

            # aptui: bulk resolve of a JSON document (what `aptui ref resolve FILE` runs)
            cache_for(ctx.store).invalidate(conn.id, reset_stats=True)
            calls.clear()
            t0 = time.perf_counter()
            report = asyncio.run(refs.resolve_document(ctx, doc))
            cold_runs.append(time.perf_counter() - t0)
            cold_calls = Counter(calls)
            cold_total = sum(cold_calls.values())
            got = {r.input: r.value.reveal() for r in report.items if r.value is not None}
            assert got == expected and all(r.verdict == refs.RESOLVES for r in report.items), report.counts()

            calls.clear()
            t0 = time.perf_counter()
            warm = asyncio.run(refs.resolve_document(ctx, doc))
            warm_runs.append(time.perf_counter() - t0)
            warm_calls = sum(calls.values())
            assert all(r.cached for r in warm.items)
        baseline_s, cold_s, warm_s = min(baseline_runs), min(cold_runs), min(warm_runs)

        # -- cache-hit lookups (memory layer, with the cross-process coherence check) -----------------
        cache = cache_for(ctx.store)
        paths = [parse(t).path for t in references]
        samples = []
        for i in range(LOOKUPS):
            p = paths[i % len(paths)]
            t = time.perf_counter_ns()
            value = cache.get(conn.id, p)
            samples.append((time.perf_counter_ns() - t) / 1000)
            assert value is not None
        cache.flush()
        fresh = SecretCache(ctx.store)  # a new process: the first lookup of each path reads SQLite
        sql_samples = []
        for p in paths:
            t = time.perf_counter_ns()
            assert fresh.get(conn.id, p) is not None
            sql_samples.append((time.perf_counter_ns() - t) / 1000)

        minimum_batch = -(-SECRETS // BATCH_LIMIT)
        cold_total = sum(cold_calls.values())
        print(f"references: {len(references)} over {SECRETS} secrets x {KEYS} keys (moto {endpoint}); "
              f"best of {REPEAT} runs")
        print(f"baseline  naive sequential GetSecretValue: {baseline_s * 1000:9.1f} ms   AWS calls: {baseline_calls}")
        print(f"aptui     bulk resolve, cold cache:        {cold_s * 1000:9.1f} ms   AWS calls: {cold_total} "
              f"({', '.join(f'{k} {v}' for k, v in sorted(cold_calls.items()))})")
        print(f"aptui     bulk resolve, warm cache:        {warm_s * 1000:9.1f} ms   AWS calls: {warm_calls}")
        print(f"speed-up  cold: {baseline_s / cold_s:6.1f}x   warm: {baseline_s / warm_s:6.1f}x   (target >= 20x)")
        print(f"calls     minimum possible: {minimum_batch} (BatchGetSecretValue, 20 ids a call; {SECRETS} with "
              f"GetSecretValue only); aptui made {cold_total} = {cold_total / minimum_batch:.1f}x the minimum "
              f"(target <= 2x)")
        print(f"cache hit lookup (memory), {LOOKUPS} lookups: p50 {statistics.median(samples):.1f} us  "
              f"p99 {pct(samples, 0.99):.1f} us  max {max(samples):.1f} us   (target p99 < 50 us)")
        print(f"cache hit lookup (SQLite + decrypt, first read in a new process), {len(sql_samples)} lookups: "
              f"p50 {statistics.median(sql_samples):.1f} us  p99 {pct(sql_samples, 0.99):.1f} us")
        ok = baseline_s / cold_s >= 20 and cold_total <= 2 * minimum_batch and pct(samples, 0.99) < 50
        print("result    " + ("all targets met" if ok else "TARGET MISSED"))
        ctx.close()
        return 0 if ok else 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
