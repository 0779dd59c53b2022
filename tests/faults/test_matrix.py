"""The fault matrix: every fault mode × every target, through the real CLI (a subprocess per case).

For each case: the documented exit code; one line on stderr with an ``AptuiError`` code (or, for the
commands that report a verdict, the code in their ``--json`` document and nothing on stderr); no
traceback; a bounded number of attempts seen at the proxy (≤ retries + 1 per operation, and a
non-idempotent POST never resent once it was sent); a bounded wall time; ``Retry-After`` honoured;
and a store that changed only when the operation completed.

The CI profile runs, concurrently, the primary command of each target for every mode (``ref test``
for the secret managers, ``platform connections list`` and ``platform runs retry`` for Activepieces)
plus ``sm add`` / ``platform connections upsert`` for two burst modes; the ``slow`` profile runs those
two commands for the other seven modes.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.faults.harness import PROVIDERS, RETRIES, SECRET_VALUE, Case, Outcome, run_case

MODES = ("delay", "reset_mid_body", "burst_5xx@1", "burst_5xx", "rate_limit@1", "rate_limit", "truncated",
         "non_json", "tls_failure")
TARGETS = ("aws", "hashicorp", "cyberark-conjur", "onepassword", "activepieces")
PRIMARY = {"aws": ("ref test",), "hashicorp": ("ref test",), "cyberark-conjur": ("ref test",),
           "onepassword": ("ref test",), "activepieces": ("connections list", "runs retry")}
EXTRA = {"aws": ("sm add",), "hashicorp": ("sm add",), "cyberark-conjur": ("sm add",), "onepassword": ("sm add",),
         "activepieces": ("connections upsert",)}
WALL_MAX = 20.0  # seconds for one CLI run, start-up included, on a loaded 2-core machine
WORKERS = 6
CONNECTION_FAILED = "SECRET_MANAGER_CONNECTION_FAILED"
GET_SECRET_FAILED = "SECRET_MANAGER_GET_SECRET_FAILED"


@dataclass(frozen=True)
class Expect:
    exit: int
    code: str | None = None  # the AptuiError code (None when the command succeeds)
    outcome: str | None = None  # runs retry: the run's outcome


def _provider_expect(mode: str, target: str, command: str) -> Expect:
    """Secret managers. Transport failures (timeout, reset, cut-short body, TLS) are CONNECTION_FAILED,
    exit 4. An answer that is still an error after the retries (5xx, 429, non-JSON) fails the check,
    exit 1, with upstream's code: CONNECTION_FAILED for ``sm add`` and for Vault/Conjur fetches (upstream
    checks the connection before reading), GET_SECRET_FAILED for AWS/1Password fetches (upstream reads
    inside its try)."""
    if target == "onepassword":
        # No wire: the SDK reports wire faults as errors; aptui retries only its rate-limit errors.
        table = {"delay": 4, "reset_mid_body": 4, "burst_5xx@1": 1, "burst_5xx": 1, "rate_limit@1": 0,
                 "rate_limit": 1, "truncated": 1, "non_json": 1, "tls_failure": 4}
    else:
        table = {"delay": 4, "reset_mid_body": 4, "burst_5xx@1": 0, "burst_5xx": 1, "rate_limit@1": 0,
                 "rate_limit": 1, "truncated": 4, "non_json": 1, "tls_failure": 4}
    code = table[mode]
    if code == 0:
        return Expect(0)
    if code == 1 and command == "ref test" and target in ("aws", "onepassword"):
        return Expect(1, GET_SECRET_FAILED)
    return Expect(code, CONNECTION_FAILED)


PLATFORM_IDEMPOTENT = {  # GET and the idempotent upsert POST: retried, then exit 4 / 1
    "delay": Expect(4, "PLATFORM_TIMEOUT"),
    "reset_mid_body": Expect(4, "PLATFORM_CONNECTION_FAILED"),
    "burst_5xx@1": Expect(0),
    "burst_5xx": Expect(4, "PLATFORM_UNAVAILABLE"),
    "rate_limit@1": Expect(0),
    "rate_limit": Expect(4, "RATE_LIMITED"),
    "truncated": Expect(4, "PLATFORM_CONNECTION_FAILED"),
    "non_json": Expect(1, "PLATFORM_BAD_RESPONSE"),
    "tls_failure": Expect(4, "PLATFORM_UNREACHABLE"),
}
PLATFORM_RETRY_RUN = {  # a non-idempotent POST: resent only when it provably was not processed
    "delay": Expect(1, "PLATFORM_OUTCOME_UNKNOWN", "unknown"),
    "reset_mid_body": Expect(1, "PLATFORM_OUTCOME_UNKNOWN", "unknown"),
    "burst_5xx@1": Expect(1, "PLATFORM_UNAVAILABLE", "failed"),
    "burst_5xx": Expect(1, "PLATFORM_UNAVAILABLE", "failed"),
    "rate_limit@1": Expect(0, None, "retried"),
    "rate_limit": Expect(1, "RATE_LIMITED", "failed"),
    "truncated": Expect(1, "PLATFORM_OUTCOME_UNKNOWN", "unknown"),
    "non_json": Expect(1, "PLATFORM_BAD_RESPONSE", "unknown"),
    "tls_failure": Expect(1, "PLATFORM_UNREACHABLE", "failed"),
}


def expected(case: Case) -> Expect:
    mode = case.mode + ("" if case.times is None else f"@{case.times}")
    if case.target in PROVIDERS:
        return _provider_expect(mode, case.target, case.command)
    return PLATFORM_RETRY_RUN[mode] if case.command == "runs retry" else PLATFORM_IDEMPOTENT[mode]


def make_cases(commands: dict[str, tuple[str, ...]], modes: tuple[str, ...] = MODES) -> list[Case]:
    cases = []
    for spec in modes:
        mode, _, times = spec.partition("@")
        for target in TARGETS:
            for command in commands[target]:
                cases.append(Case(mode, target, command, int(times) if times else None))
    return cases


# In CI the extra commands run for one burst the retries absorb (the operation completes and is
# saved) and one they do not (nothing saved); the slow profile runs them for every mode.
EXTRA_CI_MODES = ("burst_5xx@1", "burst_5xx")
CI_CASES = make_cases(PRIMARY) + make_cases(EXTRA, EXTRA_CI_MODES)
SLOW_CASES = make_cases(EXTRA, tuple(m for m in MODES if m not in EXTRA_CI_MODES))


def run_all(cases: list[Case], workdir, up) -> dict[str, Outcome]:
    with ThreadPoolExecutor(WORKERS) as pool:
        return {o.case.id: o for o in pool.map(lambda c: run_case(c, workdir, up), cases)}


@pytest.fixture(scope="module")
def ci_outcomes(upstreams, tmp_path_factory):
    return run_all(CI_CASES, tmp_path_factory.mktemp("faults-ci"), upstreams)


@pytest.fixture(scope="module")
def slow_outcomes(upstreams, tmp_path_factory):
    return run_all(SLOW_CASES, tmp_path_factory.mktemp("faults-slow"), upstreams)


# -- the checks ------------------------------------------------------------------------------------

ERROR_LINE = re.compile(r"^aptui: ([A-Z][A-Z0-9_]+): \S.*$")


def check(o: Outcome) -> None:
    want = expected(o.case)
    info = o.describe()
    assert o.code == want.exit, info
    assert "Traceback" not in o.err + o.out and "INTERNAL" not in o.err, info
    assert o.wall < WALL_MAX, info
    _check_output(o, want, info)
    _check_attempts(o, info)
    _check_store(o, info)


def _check_output(o: Outcome, want: Expect, info: str) -> None:
    command = o.case.command
    if command == "ref test":
        assert o.err == "", info
        doc = o.json
        if want.exit == 0:
            assert doc["verdict"] == "resolves" and doc["value"] and SECRET_VALUE not in o.out, info  # masked
        else:
            assert doc["verdict"] == "error" and doc["error"]["code"] == want.code, info
            assert "\n" not in doc["error"]["message"] and doc["error"]["message"], info
    elif command == "runs retry":
        assert o.err == "", info
        run = o.json["runs"][0]
        assert run["outcome"] == want.outcome and run.get("code") == want.code, info
        assert "\n" not in run.get("message", ""), info
    elif want.exit == 0:
        assert o.err == "", info
    else:
        lines = o.err.splitlines()
        assert len(lines) == 1, info
        m = ERROR_LINE.match(lines[0])
        assert m and m.group(1) == want.code, info


def _check_attempts(o: Outcome, info: str) -> None:
    case = o.case
    if case.target == "onepassword":
        assert o.op_calls, info
        assert max(v for k, v in o.op_calls.items() if k != "authentications") <= RETRIES + 1, info
        return
    if case.mode == "tls_failure":
        assert o.requests == {} and 1 <= o.connections <= RETRIES + 1, info
        return
    assert o.requests and max(o.requests.values()) <= RETRIES + 1, info
    if case.command == "runs retry":
        posts = sum(v for k, v in o.requests.items() if k.startswith("POST "))
        # sent once and never again, unless the rate limiter said it was not processed (429)
        assert posts == (2 if case.mode == "rate_limit" else 1), info


def _check_store(o: Outcome, info: str) -> None:
    completed = o.code == 0
    if completed and o.case.command == "sm add":
        assert o.rows_after["sm_connections"] == 1, info
    elif completed and o.case.command == "ref test":
        assert o.rows_after["cache_entries"] == 1, info
    else:
        assert o.store_unchanged, info  # failed, or a platform command (nothing local to change)


def check_retry_after(o: Outcome, info: str) -> None:
    """429 + Retry-After: 1 → the second attempt came at least ~1 s after the first."""
    assert o.code == 0, info
    assert len(o.times) >= 2, info
    assert o.times[1] - o.times[0] >= 0.9, info


# -- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CI_CASES, ids=[c.id for c in CI_CASES])
def test_fault_matrix(case, ci_outcomes):
    check(ci_outcomes[case.id])


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=[c.id for c in SLOW_CASES])
def test_fault_matrix_more_commands(case, slow_outcomes):
    check(slow_outcomes[case.id])


@pytest.mark.parametrize("target", ["hashicorp", "cyberark-conjur", "activepieces"])
def test_retry_after_is_honoured(target, ci_outcomes):
    command = PRIMARY[target][0]
    o = ci_outcomes[Case("rate_limit", target, command, 1).id]
    check_retry_after(o, o.describe())


def test_matrix_figures(ci_outcomes):
    """Every CI case ran; the count is what docs/faults.md quotes."""
    assert len(ci_outcomes) == len(CI_CASES) == 9 * 6 + 2 * 5 == 64
    assert len(CI_CASES) + len(SLOW_CASES) == 9 * 11
    assert {c.target for c in CI_CASES} == set(TARGETS)
