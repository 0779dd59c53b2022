"""The pane registry. ``PANES`` lists every pane class; the app sorts them by ``NUMBER``.

To add a pane (Rotation is 5, Incident is 6): subclass ``Pane`` in a new module here, give it
``PANE_ID``, ``TITLE`` (``TAB`` if long), ``NOUN``, ``NUMBER``, ``HELP`` and ``BINDINGS`` with ids,
and append it below. docs/tui.md has the checklist.
"""

from __future__ import annotations

from aptui.tui.panes.audit import AuditPane
from aptui.tui.panes.base import Pane, mutating
from aptui.tui.panes.cache import CachePane
from aptui.tui.panes.incident import IncidentPane
from aptui.tui.panes.platform import PlatformPane
from aptui.tui.panes.references import ReferencesPane
from aptui.tui.panes.rotation import RotationPane
from aptui.tui.panes.secret_managers import SecretManagersPane

PANES: list[type[Pane]] = [SecretManagersPane, ReferencesPane, CachePane, PlatformPane, RotationPane, IncidentPane,
                           AuditPane]

__all__ = ["PANES", "Pane", "mutating"]
