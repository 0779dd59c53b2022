"""The one object every use case receives: paths, settings, the (lazily opened) store, audit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property

from aptui.config import Paths, Settings, load_settings
from aptui.store import audit as audit_log
from aptui.store.db import Store


class Context:
    """Paths, settings and the store for one process. The store opens on first use."""

    def __init__(
        self,
        paths: Paths | None = None,
        settings: Settings | None = None,
        *,
        passphrase: Callable[[], str] | None = None,
        read_only: bool | None = None,
    ) -> None:
        self.paths = paths or Paths.resolve()
        self.settings = settings or load_settings(self.paths)
        if read_only is not None:
            self.settings.read_only = read_only or self.settings.read_only
        self._passphrase = passphrase
        self._lock = threading.Lock()
        self._store: Store | None = None
        self.warnings: list[str] = []
        self.on_warning: Callable[[str], None] | None = None
        self._warned: set[str] = set()

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store.open(self.paths, passphrase=self._passphrase)
            return self._store

    @property
    def store_exists(self) -> bool:
        return self.paths.store_file.exists()

    def warn(self, message: str, *, once: str | None = None, hint: str | None = None) -> None:
        """A warning for the user (the CLI prints it on stderr; the console may show it). ``once``:
        a key that makes a repeat of the same warning silent for this Context."""
        if once is not None:
            if once in self._warned:
                return
            self._warned.add(once)
        text = f"{message} ({hint})" if hint else message
        self.warnings.append(text)
        if self.on_warning is not None:
            self.on_warning(text)

    def audit(self, action: str, target: str, outcome: str, detail: str | None = None) -> None:
        audit_log.append(self.store, action, target, outcome, detail)

    def require_writable(self, action: str) -> None:
        """Refuse a mutating action in read-only mode (exit 2)."""
        if self.settings.read_only:
            from aptui.errors import usage

            raise usage(f"{action} is disabled in read-only mode", code="READ_ONLY",
                        hint="restart without --read-only (or set general.read_only = false)")

    @cached_property
    def timeout(self) -> float:
        return self.settings.timeout

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
