"""A virtual table: renders only the visible lines, filters 10,000+ rows as you type.

DataTable measures every cell when rows are added (1.5-1.9 s first paint at 10k rows), so big
lists live here instead: rows are plain tuples, the filter is an in-memory substring match over
a precomputed lower-case haystack, and ``render_line`` draws the ~20 visible lines only.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from aptui.untrusted import has_control, visible

Cell = str | Text


@dataclass(frozen=True)
class Column:
    label: str
    width: int | None = None  # None: fit the content (capped), the last column takes the rest
    max_width: int = 40
    wide: int = 0  # shown only when the table is at least this many cells wide (0: always)
    narrow: int = 0  # shown only when the table is narrower than this (0: always): a short form of a wide one


@dataclass(frozen=True)
class Row:
    key: Hashable
    cells: tuple[Cell, ...]


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


class VirtualTable(ScrollView, can_focus=True):
    """Rows with a cursor; ``set_filter`` narrows them; ``Selected`` is posted on enter."""

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; background: $surface; overflow-x: hidden; }
    VirtualTable > .vtable--header { text-style: bold; background: $panel; color: $foreground; }
    VirtualTable > .vtable--cursor { background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground; }
    VirtualTable:focus > .vtable--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; text-style: $block-cursor-text-style; }
    VirtualTable > .vtable--empty { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"vtable--header", "vtable--cursor", "vtable--empty"}
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Details", show=False),
    ]

    cursor = reactive(0, repaint=False, init=False)

    class Selected(Message):
        """Enter was pressed on a row."""

        def __init__(self, table: VirtualTable, row: Row) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Highlighted(Message):
        """The cursor moved to another row (or the rows changed)."""

        def __init__(self, table: VirtualTable, row: Row | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, VirtualTable.Highlighted) and message.table is self.table

    def __init__(self, columns: Sequence[Column | str], *, empty_text: str = "nothing to show",
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = [c if isinstance(c, Column) else Column(c) for c in columns]
        self.empty_text = empty_text
        self._rows: list[Row] = []
        self._hay: list[str] = []
        self._view: list[int] = []
        self._filter = ""
        self._widths: list[int] = [len(c.label) for c in self.columns]
        self._natural: list[int] = list(self._widths)

    # -- data ---------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return len(self._rows)

    @property
    def shown(self) -> int:
        return len(self._view)

    @property
    def filter_text(self) -> str:
        return self._filter

    def set_rows(self, rows: Iterable[Row | tuple]) -> None:
        """Replace every row (keeping the filter and, where it still exists, the cursor row)."""
        keep, old = self.current_key, {r.key for r in self._rows}
        self._rows = [r if isinstance(r, Row) else Row(r[0], tuple(r[1:])) for r in rows]
        self._hay = [" ".join(_plain(c) for c in r.cells).lower() for r in self._rows]
        self._measure()
        # a refresh that dropped the cursor's item keeps the place; a new list starts at the top
        refreshed = any(r.key in old for r in self._rows)
        self._apply(keep, fallback=self.cursor if refreshed else 0)

    def append_rows(self, rows: Iterable[Row | tuple]) -> None:
        """Add rows at the end (a page arriving while the rest still loads)."""
        new = [r if isinstance(r, Row) else Row(r[0], tuple(r[1:])) for r in rows]
        self._rows.extend(new)
        self._hay.extend(" ".join(_plain(c) for c in r.cells).lower() for r in new)
        if len(self._rows) <= 1000 or len(self._rows) == len(new):
            self._measure()
        self._apply(self.current_key)

    def set_filter(self, text: str) -> None:
        """Show only rows containing every space-separated word of ``text`` (case-insensitive)."""
        self._filter = text
        self._apply(self.current_key)

    def _apply(self, keep: Hashable | None, fallback: int = 0) -> None:
        words = self._filter.lower().split()
        if not words:
            self._view = list(range(len(self._rows)))
        elif len(words) == 1:
            w = words[0]
            self._view = [i for i, h in enumerate(self._hay) if w in h]
        else:
            self._view = [i for i, h in enumerate(self._hay) if all(w in h for w in words)]
        pos = fallback
        if keep is not None:
            for n, i in enumerate(self._view):
                if self._rows[i].key == keep:
                    pos = n
                    break
        self.virtual_size = Size(self.size.width, len(self._view) + 1)
        self.set_reactive(VirtualTable.cursor, min(pos, max(0, len(self._view) - 1)))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row))

    def _measure(self) -> None:
        sample = self._rows[:1000]
        widths, natural = [], []
        for n, col in enumerate(self.columns):
            if col.width is not None:
                widths.append(col.width)
                natural.append(col.width)
                continue
            longest = max(len(col.label), max((len(_plain(r.cells[n])) for r in sample if n < len(r.cells)),
                                              default=0))
            widths.append(min(col.max_width, longest))
            natural.append(longest)
        self._widths, self._natural = widths, natural

    @property
    def current_row(self) -> Row | None:
        if not self._view:
            return None
        return self._rows[self._view[min(self.cursor, len(self._view) - 1)]]

    @property
    def current_key(self) -> Hashable | None:
        row = self.current_row
        return row.key if row else None

    def shown_keys(self) -> list[Hashable]:
        """The keys of every row the filter lets through, in order."""
        return [self._rows[i].key for i in self._view]

    def visible_rows(self) -> list[Row]:
        """The rows currently drawn (for tests and screenshots)."""
        top = int(self.scroll_offset.y)
        return [self._rows[i] for i in self._view[top : top + max(0, self.size.height - 1)]]

    def move_to_key(self, key: Hashable) -> bool:
        for n, i in enumerate(self._view):
            if self._rows[i].key == key:
                self.cursor = n
                return True
        return False

    # -- cursor -------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        clamped = max(0, min(new, len(self._view) - 1)) if self._view else 0
        if clamped != new:
            self.cursor = clamped
            return
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row))

    def _page_rows(self) -> int:
        return max(1, self.size.height - 2)

    def _scroll_to_cursor(self) -> None:
        room = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + room:
            self.scroll_to(y=self.cursor - room + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.cursor = max(0, min(self.cursor + delta, len(self._view) - 1))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * self._page_rows())

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self._view) - 1)

    def action_select(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.Selected(self, row))
        else:  # enter on an empty list: say so rather than nothing
            self.notify(f"nothing selected: {self.shown_empty_text()}", severity="warning", markup=False)

    def shown_empty_text(self) -> str:
        """What an empty view says: the list's own text, or, when rows exist but the filter hides them
        all, that the filter matched nothing (not "no connections yet — press a")."""
        if self._rows and self._filter.strip():
            return f"no match for {visible(self._filter.strip())!r} among {len(self._rows)} — esc clears the filter"
        return self.empty_text

    # -- rendering ----------------------------------------------------------------------
    def shown_columns(self) -> list[int]:
        """Indexes of the columns drawn at the current width (``wide`` ones need the room)."""
        width = self.size.width
        return [n for n, c in enumerate(self.columns) if c.wide <= width and not (c.narrow and width >= c.narrow)]

    def _layout_widths(self, shown: list[int]) -> list[int]:
        """Fit the terminal: spare room first shows capped columns in full (the last one first),
        then goes to the last column; too wide, the widest fitted columns shrink first (never below 6), so
        nothing scrolls sideways."""
        widths = [self._widths[n] for n in shown]
        if not widths:
            return widths
        natural = [self._natural[n] for n in shown]
        room = self.size.width - (sum(widths) + len(widths))
        if room > 0:
            for n in (len(widths) - 1, *range(len(widths) - 1)):
                grow = min(room, max(0, natural[n] - widths[n]))
                widths[n] += grow
                room -= grow
            widths[-1] += room
            return widths
        flexible = [k for k, n in enumerate(shown) if self.columns[n].width is None]
        while room < 0 and flexible:
            n = max(flexible, key=lambda i: widths[i])
            if widths[n] <= 6:
                break
            widths[n] -= 1
            room += 1
        return widths

    def _line(self, cells: Sequence[Cell], shown: list[int], widths: list[int], base: Style) -> list[Segment]:
        segs: list[Segment] = []
        for n, width in zip(shown, widths, strict=True):
            cell = cells[n] if n < len(cells) else ""
            if isinstance(cell, Text):
                text = cell.copy()
                if has_control(text.plain):
                    text = Text(visible(text.plain.replace("\n", " ")), style=text.style)
                text.truncate(width, overflow="ellipsis", pad=True)
                for seg in text.render(self.app.console):
                    if seg.text:
                        segs.append(Segment(seg.text, base + seg.style if seg.style else base))
            else:
                s = visible(str(cell).replace("\n", " "))
                if len(s) > width:
                    s = s[: max(0, width - 1)] + "…"
                segs.append(Segment(s.ljust(width), base))
            segs.append(Segment(" ", base))
        return segs

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        shown = self.shown_columns()
        widths = self._layout_widths(shown)
        scroll_x = int(self.scroll_offset.x)
        if y == 0:
            header = base + self.get_component_rich_style("vtable--header")
            strip = Strip(self._line([c.label for c in self.columns], shown, widths, header))
            strip = strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, header)
            if self._filter.strip():  # "7 of 25" at the header's right end while a filter narrows the rows
                tag = f" {len(self._view)} of {len(self._rows)} "
                if width > len(tag) + 10:
                    strip = Strip.join([strip.crop(0, width - len(tag)), Strip([Segment(tag, header)])])
            return strip
        index = int(self.scroll_offset.y) + y - 1
        if not self._view:
            if y == 1:
                style = base + self.get_component_rich_style("vtable--empty")
                return Strip([Segment(" " + self.shown_empty_text(), style)]).extend_cell_length(width, base)
            return Strip.blank(width, base)
        if index >= len(self._view):
            return Strip.blank(width, base)
        row = self._rows[self._view[index]]
        style = base + self.get_component_rich_style("vtable--cursor") if index == self.cursor else base
        strip = Strip(self._line(row.cells, shown, widths, style))
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, style)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._view) + 1)
        self._scroll_to_cursor()
