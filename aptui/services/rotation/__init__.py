"""Credential rotation: due dates for every credential aptui knows (``items``) and assisted,
resumable rotation (``assisted``). See docs/rotation.md."""

from __future__ import annotations

from aptui.services.rotation.assisted import (
    abort,
    abort_options,
    accepts_secret,
    advance,
    describe,
    history,
    needs_secret,
    pending,
    rotate,
    start,
)
from aptui.services.rotation.items import (
    DUE_SOON,
    HIGH,
    KINDS,
    LOW,
    MEDIUM,
    OK,
    OVERDUE,
    STATES,
    UNKNOWN,
    Item,
    RotationReport,
    find_item,
    known_aws_secrets,
    list_items,
    mark,
    relative,
    short_source,
)
from aptui.services.rotation.run_state import PLANS, Rotation, RotationStopped, StepResult, state_text

__all__ = ["DUE_SOON", "HIGH", "KINDS", "LOW", "MEDIUM", "OK", "OVERDUE", "PLANS", "STATES", "UNKNOWN", "Item",
           "Rotation", "RotationReport", "RotationStopped", "StepResult", "abort", "abort_options", "accepts_secret",
           "advance",
           "describe", "find_item", "history", "known_aws_secrets", "list_items", "mark", "needs_secret", "pending",
           "relative", "rotate", "short_source", "start", "state_text"]
