"""Migration: 200 hard-coded secrets over 20 JSON documents into moto, aptui vs one secret at a time.

Starts ``moto_server`` on 127.0.0.1 (ephemeral port). Each run makes 20 fresh documents of 10
secrets each (Slack/GitHub token shapes, passwords, random API keys) beside plain settings, then:

- baseline: a by-hand boto3 script, one secret at a time, into one AWS secret per document (the
  same layout aptui produces): read the secret (merge), ``CreateSecret``/``PutSecretValue``, read it
  back to verify, then rewrite each document with ``json.dump``;
- aptui: ``migrate plan`` + ``migrate apply --yes`` in-process (``build_plan`` + ``Migration.run``):
  batched reads, one write per target secret, verification through the resolver, format-preserving
  rewrite with encrypted backups, re-verification of the rewritten documents, journal and audit.

Best of ``BENCH_REPEAT`` runs (default 3) per side; AWS calls are counted by wrapping botocore's
``BaseClient._make_api_call``. Checks: every value lands, and aptui's calls ≤ documents + secrets.
Usage: ``python benchmarks/migrate.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bulk_resolve import count_aws_calls, start_moto

DOCS = 20
PER_DOC = 10
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
_ALNUM = string.ascii_letters + string.digits


def rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def make_docs(root: Path) -> dict[Path, dict[str, str]]:
    """20 documents; returns each file's ``{key: value}`` of secrets."""
    root.mkdir(parents=True)
    out: dict[Path, dict[str, str]] = {}
    for d in range(DOCS):
        values = {}
        for k in range(PER_DOC):
            shape = k % 4
            values[f"secret{k}"] = ("xoxb-" + rand(10) + "-" + rand(24) if shape == 0 else "ghp_" + rand(36)
                                    if shape == 1 else rand(32) if shape == 2 else "sk-" + rand(40))
        doc = {"service": f"svc-{d}", "host": f"svc-{d}.internal", "port": 8000 + d, "enabled": True,
               "credentials": {(f"password{k}" if k % 4 == 2 else f"token{k}"): v
                               for k, v in enumerate(values.values())}}
        path = root / f"svc-{d:02d}.json"
        path.write_text(json.dumps(doc, indent=2) + "\n")
        out[path] = {(f"password{k}" if k % 4 == 2 else f"token{k}"): v for k, v in enumerate(values.values())}
    return out


def baseline(sm, docs: dict[Path, dict[str, str]], prefix: str, conn_id: str) -> None:
    from botocore.exceptions import ClientError

    for path, values in docs.items():
        name = f"{prefix}/{path.stem}"
        for key, value in values.items():
            try:
                current = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
                exists = True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                current, exists = {}, False
            current[key] = value
            if exists:
                sm.put_secret_value(SecretId=name, SecretString=json.dumps(current))
            else:
                sm.create_secret(Name=name, SecretString=json.dumps(current))
            assert json.loads(sm.get_secret_value(SecretId=name)["SecretString"])[key] == value
        doc = json.loads(path.read_text())
        for key in values:
            doc["credentials"][key] = "{{" + conn_id + f"|ap_sep_v1|{name}:{key}}}}}"
        path.write_text(json.dumps(doc, indent=2) + "\n")


def main() -> int:
    proc, endpoint, log = start_moto()
    home = tempfile.mkdtemp(prefix="aptui-bench-")
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "APTUI_HOME": home, "AWS_ACCESS_KEY_ID": "unused",
                       "AWS_SECRET_ACCESS_KEY": "unused", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    try:
        import boto3

        from aptui.services.context import Context
        from aptui.services.migrate.apply import Migration
        from aptui.services.migrate.plan import build_plan
        from aptui.store import connections as store_conn

        config = {"accessKeyId": "AKIABENCH00000000000", "secretAccessKey": "bench-secret-key-000",
                  "region": "us-east-1", "endpoint": endpoint}  # aptui uses only the stored endpoint
        ctx = Context()
        conn = store_conn.create(ctx.store, provider_id="aws", name="bench-aws", config=config)
        calls = count_aws_calls()
        work = Path(tempfile.mkdtemp(prefix="aptui-bench-docs-"))
        base_times, aptui_times = [], []
        base_calls = aptui_calls = 0
        op_counts: dict[str, int] = {}
        for run in range(REPEAT):
            docs = make_docs(work / f"base-{run}")
            calls.clear()
            t0 = time.perf_counter()
            sm = boto3.session.Session().client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                                                aws_access_key_id=config["accessKeyId"],
                                                aws_secret_access_key=config["secretAccessKey"])
            baseline(sm, docs, f"base{run}", conn.id)
            base_times.append(time.perf_counter() - t0)
            base_calls = sum(calls.values())

            docs = make_docs(work / f"aptui-{run}")
            calls.clear()
            t0 = time.perf_counter()
            plan = build_plan(ctx, list(docs), to=conn.name, secret=f"aptui{run}/{{stem}}")
            plan.file = work / f"plan-{run}.json"
            outcome = asyncio.run(Migration(ctx, plan).run())
            aptui_times.append(time.perf_counter() - t0)
            aptui_calls = sum(calls.values())
            op_counts = dict(calls)
            assert outcome.ok, outcome.error
            assert len(plan.items) == DOCS * PER_DOC, len(plan.items)
            for path, values in docs.items():
                got = json.loads(sm.get_secret_value(SecretId=f"aptui{run}/{path.stem}")["SecretString"])
                assert got == values
                assert all(v not in path.read_text() for v in values.values())
        total = DOCS * PER_DOC
        b, a = min(base_times), min(aptui_times)
        print(f"{total} secrets over {DOCS} documents into moto (best of {REPEAT})")
        print(f"baseline, one secret at a time with boto3: {b * 1000:.0f} ms, {base_calls} AWS calls")
        print(f"aptui migrate plan + apply --yes:          {a * 1000:.0f} ms, {aptui_calls} AWS calls "
              f"({', '.join(f'{k} {v}' for k, v in sorted(op_counts.items()))})")
        print(f"ratio: {b / a:.1f} x faster, {base_calls / max(aptui_calls, 1):.1f} x fewer calls; "
              f"calls {aptui_calls} <= documents + secrets {DOCS + total}: {aptui_calls <= DOCS + total}")
        return 0 if aptui_calls <= DOCS + total else 1
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
