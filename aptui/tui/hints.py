"""Error hints in the console's own terms: the services' hints name CLI commands and flags
(``aptui rotation rotate X --abort``, ``--no-test``); the console shows its keys and form fields."""

from __future__ import annotations

import re

# (pattern, console way), first match wins per clause; clauses are split at "; " and ", or ".
RULES: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.I), r) for p, r in [
    (r"aptui rotation rotate \S+ --abort.*|.*\(--abort\).*|.*add --abort to undo.*|.*--abort.* deletes it.*",
     "A in pane 5 aborts the stopped rotation"),
    (r".*rerun `?aptui rotation rotate \S+`? to continue.*|rerun without a new value to resume.*",
     "x in pane 5 continues the rotation from this step"),
    (r".*aptui rotation mark.*", "m in pane 5 records the rotation"),
    (r".*aptui incident resume.*|.*aptui incident start.*", "c in pane 6 continues the runbook · s skips a step"),
    (r".*aptui incident (show|list).*", "pane 6 lists the incidents"),
    (r".*--secret-env.*|.*hidden prompt.*", "type the new value in the form's hidden field"),
    (r".*pass --no-test.*|.*--no-test.*", "set 'Test the connection before saving' to no in the form"),
    (r".*aptui profile add.*", "n in pane 4 adds a profile"),
    (r".*--profile NAME.*|.*aptui profile use.*", "P in pane 4 picks the profile"),
    (r".*aptui profile (set-key|update).*|.*--project ID.*", "p in pane 4 picks the project; n adds a profile"),
    (r".*aptui sm (update|list).*", "e in pane 1 edits the connection"),
    (r".*--scope PROJECT.*", "choose PROJECT scope in the form"),
    (r".*another --name.*", "pick another name"),
]]


def for_console(hint: str | None) -> str | None:
    """``hint`` with every clause that names a CLI command or flag replaced by the console's way."""
    if not hint:
        return hint
    out: list[str] = []
    for clause in re.split(r";\s+|,\s+or\s+|\s+\(or\s+", hint):
        text = clause.strip().rstrip(")")
        if "aptui " in text or re.search(r"(^|\s)--[a-z]", text):
            text = next((way for pattern, way in RULES if pattern.fullmatch(text)), text)
        if text and text not in out:
            out.append(text)
    return "; ".join(out)
