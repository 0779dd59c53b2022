"""Unit checks of the fixes the fault matrix led to (each also exercised end to end by the matrix)."""

from __future__ import annotations

import base64
import errno
import json
import os
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aptui.errors import AptuiError
from aptui.providers.retry import RetryPolicy, retry_after_seconds, retry_async


async def test_retry_waits_at_least_what_the_server_asks_and_gives_up_above_the_cap():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    answers = iter([(429, "2"), (429, "2"), (200, None)])

    async def op():
        return next(answers)

    policy = RetryPolicy(attempts=3, base=0.0, max_server_delay=30.0)
    result = await retry_async(op, policy, retry_on_result=lambda r: r[0] == 429, sleep=sleep,
                               server_delay=lambda r: retry_after_seconds(r[1]))
    assert result == (200, None) and slept == [2.0, 2.0]

    slept.clear()
    answers = iter([(429, "120"), (200, None)])
    result = await retry_async(op, policy, retry_on_result=lambda r: r[0] == 429, sleep=sleep,
                               server_delay=lambda r: retry_after_seconds(r[1]))
    assert result == (429, "120") and slept == []  # a 2-minute pause is not waited for in a terminal


@pytest.mark.parametrize(("header", "seconds"), [
    ("3", 3.0), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0), ("soon", None), ("", None), (None, None),
    ("nan", None), ("inf", float("inf")),
])
def test_retry_after_header(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_retry_after_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 <= retry_after_seconds(when) <= 91


def test_conjur_token_shape():
    from aptui.providers.conjur import looks_like_token

    token = json.dumps({"protected": "p", "payload": "x", "signature": "s"})
    assert looks_like_token(token)
    assert looks_like_token(base64.b64encode(token.encode()).decode())
    for bad in ("<!DOCTYPE html><html></html>", "[]", "\"text\"", "bm90IGpzb24=", "ok"):
        assert not looks_like_token(bad), bad


def test_aws_answers_must_be_complete_json():
    from aptui.providers.aws import NOT_AWS_CODE, _AwsCallError, check_answer

    check_answer({"status_code": 200, "body": b'{"SecretList": []}', "headers": {}})
    check_answer({"status_code": 200, "body": b"", "headers": {}})
    check_answer({"status_code": 400, "body": b"<html>", "headers": {}})  # errors: botocore's path
    with pytest.raises(_AwsCallError) as info:
        check_answer({"status_code": 200, "body": b"<html>sign in</html>", "headers": {"content-type": "text/html"}})
    assert info.value.code == NOT_AWS_CODE and "text/html" in info.value.message
    with pytest.raises(ConnectionError, match="incomplete answer: 11 of 30 bytes"):
        check_answer({"status_code": 200, "body": b'{"Name": "x', "headers": {"content-length": "30"}})


@pytest.mark.parametrize(("exc", "text"), [
    (OSError("('Connection broken: IncompleteRead(10 bytes read, 20 more expected)')"),
     "connection closed by the remote"),
    (OSError("client error (Connect): invalid peer certificate: UnknownIssuer"),
     "TLS error: certificate verify failed"),
])
def test_describe_transport_names_cut_short_answers_and_untrusted_certificates(exc, text):
    from aptui.providers.errors import describe_transport

    assert describe_transport(exc, 2) == text


def test_key_file_write_failure_leaves_nothing(tmp_path, monkeypatch):
    from aptui.store import crypto

    real_write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(crypto.os, "write", full)
    with pytest.raises(AptuiError) as info:
        crypto.write_key_file(tmp_path / "aptui.key")
    monkeypatch.setattr(crypto.os, "write", real_write)
    assert info.value.code == "STORE_DISK_FULL" and info.value.exit_code == 3
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("err", "code"), [
    (errno.ENOSPC, "STORE_DISK_FULL"), (errno.EDQUOT, "STORE_DISK_FULL"), (errno.EROFS, "STORE_READ_ONLY"),
    (errno.EACCES, "STORE_READ_ONLY"), (errno.EIO, "STORE_ERROR"),
])
def test_os_errors_while_creating_the_store(err, code):
    from aptui.store.crypto import os_error

    e = os_error(OSError(err, os.strerror(err)), "store /x/aptui.db")
    assert e.code == code and e.exit_code == 3 and "\n" not in e.one_line()


async def test_unreadable_answer_to_a_non_idempotent_post_leaves_the_outcome_unknown(activepieces):
    from aptui.activepieces.client import ActivepiecesClient, ApiError, ClientOptions
    from aptui.masking import Secret

    activepieces.fault("/v1/flow-runs/.*/retry", method="POST", status=200, malformed=True)
    activepieces.fault("/v1/projects", method="GET", status=200, malformed=True)
    async with ActivepiecesClient(activepieces.url, Secret(activepieces.api_key),
                                  options=ClientOptions(retries=0)) as client:
        with pytest.raises(ApiError) as info:
            await client.post("/v1/flow-runs/run1/retry", {"projectId": "p", "strategy": "FROM_FAILED_STEP"})
        assert info.value.code == "PLATFORM_BAD_RESPONSE" and info.value.outcome_unknown
        assert "may or may not have been applied" in (info.value.hint or "")
        with pytest.raises(ApiError) as info:
            await client.get("/v1/projects")
        assert info.value.code == "PLATFORM_BAD_RESPONSE" and not info.value.outcome_unknown
