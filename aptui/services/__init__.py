"""Use cases shared by the CLI and the TUI. No Textual, no printing."""
