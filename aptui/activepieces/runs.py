"""Flow runs: list with filters; retry in bulk (``POST /v1/flow-runs/retry``) or one run
(``POST /v1/flow-runs/:id/retry``). Retries are never resent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aptui.activepieces.client import PAGE_MAX, ActivepiecesClient

PATH = "/v1/flow-runs"
STRATEGIES = ("FROM_FAILED_STEP", "ON_LATEST_VERSION")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "CANCELED", "QUOTA_EXCEEDED", "MEMORY_LIMIT_EXCEEDED",
                      "INTERNAL_ERROR", "LOG_SIZE_EXCEEDED"})
STATUSES = ("FAILED", "QUOTA_EXCEEDED", "INTERNAL_ERROR", "PAUSED", "QUEUED", "RUNNING", "SUCCEEDED",
            "MEMORY_LIMIT_EXCEEDED", "TIMEOUT", "CANCELED", "LOG_SIZE_EXCEEDED")
FAILED_STATES = ("FAILED", "TIMEOUT", "INTERNAL_ERROR", "QUOTA_EXCEEDED", "MEMORY_LIMIT_EXCEEDED",
                 "LOG_SIZE_EXCEEDED")


def list_params(project_id: str, *, status: list[str] | None = None, flow_ids: list[str] | None = None,
                created_after: str | None = None, created_before: str | None = None,
                failed_step_name: str | None = None) -> dict[str, Any]:
    return {"projectId": project_id, "status": list(status or []), "flowId": list(flow_ids or []),
            "createdAfter": created_after, "createdBefore": created_before, "failedStepName": failed_step_name}


def iter_runs(client: ActivepiecesClient, project_id: str, *, limit: int = PAGE_MAX,
              **filters: Any) -> AsyncIterator[dict[str, Any]]:
    return client.items(PATH, list_params(project_id, **filters), limit=limit)


async def retry(client: ActivepiecesClient, run_id: str, *, project_id: str, strategy: str) -> dict[str, Any]:
    """Retry one run. Not idempotent (a resent retry reruns the flow twice): never retried blindly."""
    return await client.post(f"{PATH}/{run_id}/retry", {"projectId": project_id, "strategy": strategy}) or {}


async def bulk_retry(client: ActivepiecesClient, run_ids: list[str], *, project_id: str,
                     strategy: str) -> dict[str, dict[str, Any]]:
    """``POST /v1/flow-runs/retry`` with an explicit ``flowRunIds`` list (never a filter: a resend or
    a filter could rerun runs nobody chose). Never resent. The answer is an array of ``FlowRun``
    (nulls where a run was not retried): the retried runs by id."""
    body = {"projectId": project_id, "strategy": strategy, "flowRunIds": list(run_ids)}
    answer = await client.post(f"{PATH}/retry", body)
    if not isinstance(answer, list):
        from aptui.activepieces.client import ApiError

        raise ApiError("PLATFORM_BAD_RESPONSE", f"POST {PATH}/retry did not answer a list of runs",
                       outcome_unknown=True, hint="check the runs on the platform before retrying again")
    return {str(r["id"]): r for r in answer if isinstance(r, dict) and r.get("id") in run_ids}
