"""A keyboard-only form: labelled inputs (secret ones masked), enter/ctrl+s saves, esc cancels."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from aptui.tui.early_keys import release_keys
from aptui.tui.toasts import clear_toasts
from aptui.tui.widgets.footer import ModalFooter
from aptui.tui.widgets.inputs import TextInput
from aptui.tui.widgets.safe import SafeStatic
from aptui.untrusted import visible


def refilled(fields: list[FormField], values: dict[str, str], *, secrets: bool = True) -> list[FormField]:
    """The same fields holding what was typed (a failed save reopens the form with them); with
    ``secrets=False`` secret fields come back empty (a refused password or one-time code)."""
    return [replace(f, value=values[f.name]) if values.get(f.name) and (secrets or not f.secret) else f
            for f in fields]


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    placeholder: str = ""
    secret: bool = False
    optional: bool = False
    value: str = ""
    choices: tuple[str, ...] = ()
    note: str = ""


class FormScreen(ModalScreen[dict[str, str] | None]):
    """Returns ``{name: value}`` (strings; secret values only in this dict) or None when cancelled."""

    HOLDS_EARLY_KEYS = True

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical { width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    FormScreen VerticalScroll { height: auto; max-height: 18; }
    FormScreen .form-title { text-style: bold; color: $primary; }
    FormScreen Label { margin-top: 0; color: $text-muted; }
    FormScreen Input, FormScreen Select { margin: 0; }
    FormScreen .form-error { color: $error; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(self, title: str, fields: list[FormField], *, about: str = "", error: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.about = about
        self.error = error  # shown at once: a form reopened after its save failed says why

    def compose(self):
        with Vertical():
            yield SafeStatic(self.title_text, classes="form-title", markup=False)
            if self.about:
                yield SafeStatic(self.about, markup=False)
            with VerticalScroll():
                for f in self.fields:
                    suffix = " (optional)" if f.optional else ""
                    yield Label(visible(f"{f.label}{suffix}" + (f" — {f.note}" if f.note else "")), markup=False)
                    if f.choices:
                        yield Select([(visible(c), c) for c in f.choices], value=f.value or f.choices[0],
                                     allow_blank=False, id=f"f-{f.name}")
                    else:
                        yield TextInput(value=visible(f.value), placeholder=f.placeholder, password=f.secret,
                                    id=f"f-{f.name}")
            yield SafeStatic(self.error, classes="form-error", id="form-error", markup=False)
            yield SafeStatic("tab next field · enter on the last field or ctrl+s saves · esc cancels",
                         classes="status", markup=False)
        yield ModalFooter()

    def on_mount(self) -> None:
        clear_toasts(self.app)  # old toasts would sit over the form's fields
        fields = self.query("Input, Select")
        if fields:
            self.first_to_fill().focus()
        release_keys(self.app)  # what was typed while the form opened goes into its first field

    def first_to_fill(self) -> Input | Select:
        """The first required field still empty (a prefilled e-mail is passed over, so the password
        typed next never lands in it), else the first field."""
        for f in self.fields:
            if not f.optional and not f.value and not f.choices:
                return self.query_one(f"#f-{f.name}", Input)
        return self.query("Input, Select").first()

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in self.fields:
            widget = self.query_one(f"#f-{f.name}")
            value = widget.value if isinstance(widget, Input) else str(widget.value)
            out[f.name] = value if f.secret else value.strip()
        return out

    def action_save(self) -> None:
        values = self.values()
        missing = [f.label for f in self.fields if not f.optional and not values.get(f.name)]
        if missing:
            self.query_one("#form-error", SafeStatic).update(
                f"required: {', '.join(missing)} (grey text in a field is only an example)")
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if inputs and event.input is inputs[-1]:
            self.action_save()
        else:
            self.focus_next()
