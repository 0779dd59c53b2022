"""Secrets the run generated (not canaries): read back from aptui's store and from the doubles.

A rotation makes moto issue a new AWS key, Vault a new secret ID; logins make Vault and Conjur
issue tokens. They are secrets too: the scan looks for them exactly like for canaries.
"""

from __future__ import annotations

import json
from typing import Any

from tests.leaks.canary import Scanner


def from_store(scanner: Scanner, store: Any) -> list[str]:
    """Every secret field of every connection, every profile key, every cached value, staged rotations.

    Generated ones are added to the scan; returns every decrypted text (the caller checks that the
    canaries it typed in really reached the store)."""
    from aptui.providers.fields import PROVIDERS
    from aptui.store.schema import ENCRYPTED_COLUMNS

    texts: list[str] = []
    for table, columns in ENCRYPTED_COLUMNS.items():
        if not store.db[table].exists():
            continue
        for row in store.query(f"SELECT * FROM {table}"):
            for column in columns:
                blob = row.get(column)
                if not blob:
                    continue
                text = store.decrypt(table, str(row["id"]), column, blob)
                texts.append(text)
                label = f"store:{table}.{column}:{row['id']}"
                if table == "sm_connections":
                    secret_names = {f.name for f in PROVIDERS[row["provider_id"]].secret_fields}
                    for key, value in json.loads(text).items():
                        if key in secret_names:
                            scanner.harvest(f"{label}:{key}", value)
                elif table == "rotation_runs":
                    _harvest_json(scanner, label, text)
                else:
                    scanner.harvest(label, text)
    return texts


def _harvest_json(scanner: Scanner, label: str, text: str) -> None:
    try:
        doc = json.loads(text)
    except ValueError:
        scanner.harvest(label, text)
        return
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, str) and any(k in key.lower() for k in ("secret", "key", "token", "password")) \
                    and not key.lower().endswith(("keyid", "key_id", "accessor")):
                scanner.harvest(f"{label}:{key}", value)
    elif isinstance(doc, str):
        scanner.harvest(label, doc)


def from_doubles(scanner: Scanner, vault: Any = None, conjur: Any = None, activepieces: Any = None) -> None:
    """Vault client tokens and secret IDs, Conjur access-token signatures, Activepieces session
    tokens (and their signatures) the doubles issued."""
    if activepieces is not None:
        for token in list(activepieces.issued_tokens):
            scanner.harvest(f"activepieces:session:{token[-6:]}", token)
            scanner.harvest(f"activepieces:session-signature:{token[-6:]}", token.rsplit(".", 1)[-1])
    if vault is not None:
        with vault.state_lock:
            for token in list(vault.tokens):
                scanner.harvest(f"vault:token:{token[:6]}", token)
            for role in vault.roles.values():
                for secret_id in list(role.secret_ids):
                    scanner.harvest(f"vault:secret_id:{secret_id[:6]}", secret_id)
    if conjur is not None:
        with conjur.state_lock:
            for signature in list(conjur.tokens):
                scanner.harvest(f"conjur:token:{signature[:6]}", signature)
