"""Writing secrets (``aptui migrate``): one writer per provider, built like the readers.

Writers reuse the reading clients' config parsing, transport, retries and error mapping by
subclassing them; they need more rights than Activepieces' read-only policies (docs/migrate.md).
"""

from __future__ import annotations

import importlib
from typing import Any

from aptui.errors import usage
from aptui.providers.base import ProviderOptions
from aptui.providers.writers.base import SecretWriter

_CLASSES: dict[str, tuple[str, str]] = {
    "aws": ("aptui.providers.writers.aws", "AwsWriter"),
    "hashicorp": ("aptui.providers.writers.vault", "VaultWriter"),
    "cyberark-conjur": ("aptui.providers.writers.conjur", "ConjurWriter"),
    "onepassword": ("aptui.providers.writers.onepassword", "OnePasswordWriter"),
}


def make_writer(provider_id: str, config: dict[str, str], options: ProviderOptions | None = None, *,
                connection_id: str | None = None, **kwargs: Any) -> SecretWriter:
    """A writer for a decrypted connection config."""
    if provider_id not in _CLASSES:
        raise usage(f"aptui cannot write secrets to provider {provider_id!r}")
    module, name = _CLASSES[provider_id]
    cls = getattr(importlib.import_module(module), name)
    return cls(dict(config), options or ProviderOptions(), connection_id=connection_id, **kwargs)
