"""Secret-manager references: pure parsing, per-provider path rules, the resolve walk, file scans.

Nothing here does network or store I/O; the rules follow Activepieces' server code exactly
(``tests/reference/providers.md`` §1–5).
"""
