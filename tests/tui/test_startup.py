"""Start-up stays lean: painting the console loads no provider SDK and no HTTP client."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio, sys
from aptui.services.context import Context
from aptui.store import connections
from aptui.tui.app import AptuiApp

async def main():
    ctx = Context()
    connections.create(ctx.store, provider_id="aws", name="prod-aws", config={
        "accessKeyId": "AKIAEXAMPLE000000000", "secretAccessKey": "x" * 40, "region": "us-east-1"})
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.query_one("#sm-table").total == 1
    ctx.close()

asyncio.run(main())
print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_painting_the_console_imports_no_heavy_sdk(aptui_home):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(out.stdout.split())
    assert "textual" in loaded
    for heavy in ("boto3", "botocore", "hvac", "onepassword", "httpx"):
        assert heavy not in loaded, heavy
