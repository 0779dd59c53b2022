"""``python -m tests.leaks.crashy MODE ARGS...``: the real ``aptui`` entry point with a bug injected.

The canary comes from ``$CRASH_CANARY``. Modes (the bug hits while aptui holds the canary):

- ``raise``: ``sm add`` validation raises a RuntimeError whose message quotes the credential, with
  the credential in a ``Secret`` local and in the config dict of the calling frames;
- ``raise-bare``: the same, but the only other copy is inside a ``Secret`` created elsewhere;
- ``segv``: the process dies of SIGSEGV there (``faulthandler`` enabled by PYTHONFAULTHANDLER=1);
- ``thread``: a worker thread dies with such an exception; the command then fails normally;
- ``excepthook``: an exception escapes to the interpreter's top level after ``crash.install()``.

Each mode first writes ``rlimit_core=<soft>`` on stderr (aptui turns core dumps off).
"""

from __future__ import annotations

import os
import sys
import threading


def _rlimit() -> None:
    import resource

    sys.stderr.write(f"rlimit_core={resource.getrlimit(resource.RLIMIT_CORE)[0]}\n")
    sys.stderr.flush()


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    canary = os.environ["CRASH_CANARY"]
    from aptui.masking import Secret
    from aptui.services import connections

    kept = Secret(canary)  # alive for the whole run, like a cached credential

    def bug(provider_id, config):
        _rlimit()
        secret = Secret(str(config.get("secretAccessKey", canary)))  # noqa: F841
        if mode == "segv":
            import faulthandler

            faulthandler._sigsegv()
        if mode == "thread":
            def work():
                raise RuntimeError(f"worker saw {canary}")

            t = threading.Thread(target=work, name="aptui-worker")
            t.start()
            t.join()
            raise connections.usage("stopped after the worker thread failed")
        raise RuntimeError(f"provider answered: invalid key {canary} for region us-east-1")

    def bug_bare(provider_id, config):
        _rlimit()
        raise RuntimeError("provider answered: invalid key " + kept.reveal())

    if mode == "excepthook":
        from aptui import crash

        crash.install()
        _rlimit()
        token = canary  # noqa: F841
        raise RuntimeError(f"escaped with {canary}")
    connections.validate_config = bug_bare if mode == "raise-bare" else bug
    sys.argv = ["aptui", *args]
    from aptui.__main__ import main as aptui_main

    aptui_main()


if __name__ == "__main__":
    main()
