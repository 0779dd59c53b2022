"""Run the aptui CLI with the fake 1Password backend and an injected fault (1Password has no wire).

    FAULT_OP='{"mode": "rate_limit", "times": 1}' FAULT_OP_LOG=calls.json python -m tests.faults.op_cli ARGS

The fault is raised as the SDK raises it: a plain ``Exception`` with the SDK-style text, classified by
``aptui.providers.onepassword.classify`` exactly as a real SDK error would be. ``delay`` makes every
backend call slower than the client timeout. The backend's call counts go to ``FAULT_OP_LOG`` at exit.
"""

from __future__ import annotations

import atexit
import json
import os
import sys

SECRET_VALUE = "fault-matrix-value-0001"
# What the SDK says for each wire fault (its Rust core reports reqwest/serde errors as text).
MESSAGES = {
    "reset_mid_body": "error sending request for url (https://my.1password.com/api/v2/vault): connection reset by peer",
    "burst_5xx": "an internal server error occurred (503 Service Unavailable)",
    "rate_limit": "rate limit exceeded, please retry later",
    "truncated": "error decoding response body: unexpected end of file",
    "non_json": "error decoding response body: expected value at line 1 column 1",
    "tls_failure": ("error sending request for url (https://my.1password.com/api/v2/vault): client error (Connect): "
                    "invalid peer certificate: UnknownIssuer"),
}


def install() -> object:
    import aptui.providers.onepassword as op
    from tests.doubles.onepassword_fake import FakeOnePassword

    fake = FakeOnePassword()
    fake.add("fault", "matrix", "value", SECRET_VALUE)
    spec = json.loads(os.environ.get("FAULT_OP") or "{}")
    mode, times = spec.get("mode"), spec.get("times")
    if mode == "delay":
        fake.delay = float(spec.get("delay", 4.0))
    elif mode in MESSAGES:
        err = op.classify(Exception(MESSAGES[mode]))
        fake.fail_next(10**6 if times is None else int(times), err.kind, err.message)
    op.SdkBackend = lambda: fake  # type: ignore[assignment,misc]
    log = os.environ.get("FAULT_OP_LOG")
    if log:
        def dump() -> None:
            with open(log, "w") as fh:
                json.dump({**fake.calls, "authentications": fake.authentications}, fh)

        atexit.register(dump)
    return fake


if __name__ == "__main__":
    install()
    sys.argv = ["aptui", *sys.argv[1:]]
    from aptui.cli import main

    main()
