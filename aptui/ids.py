"""Identifiers shaped like Activepieces' (21 alphanumeric characters) and the audit actor."""

from __future__ import annotations

import getpass
import re
import secrets
import socket
import string

ALPHABET = string.ascii_letters + string.digits
ID_RE = re.compile(r"^[0-9a-zA-Z]{21}$")


def new_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(21))


def is_ap_id(text: str) -> bool:
    return bool(ID_RE.match(text))


def actor() -> str:
    """``user@host`` of the OS user running aptui, for the audit log."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
