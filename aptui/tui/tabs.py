"""The pane bar, known without importing a pane: all the console's first frame needs of them.

The pane classes (``aptui.tui.panes.PANES``) are imported after the first frame; this table must
match them (``tests/tui/test_startup.py`` checks it). To add a pane, add its row here as well.
"""

from __future__ import annotations

from typing import NamedTuple


class PaneTab(NamedTuple):
    pane_id: str
    number: str  # its key
    title: str
    tab: str = ""  # shorter label when the title is long (7 tabs fit in 80 columns)

    @property
    def label(self) -> str:
        return f"{self.number} {self.tab or self.title}"


TABS: tuple[PaneTab, ...] = (
    PaneTab("sm", "1", "Secret managers", "Managers"),
    PaneTab("refs", "2", "References"),
    PaneTab("cache", "3", "Cache"),
    PaneTab("platform", "4", "Platform"),
    PaneTab("rotation", "5", "Rotation"),
    PaneTab("incident", "6", "Incident"),
    PaneTab("audit", "7", "Audit"),
)
