"""One module per pane. ``PANES`` lists them in tab order; the number key is the position."""

from __future__ import annotations

from aptui.tui.panes.audit import AuditPane
from aptui.tui.panes.base import Pane

PANES: list[type[Pane]] = [AuditPane]

__all__ = ["PANES", "Pane"]
