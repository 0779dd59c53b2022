"""Reusable widgets: the virtual table, the revealable secret, the job status line."""
