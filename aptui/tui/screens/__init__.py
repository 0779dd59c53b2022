"""Modal screens: help, first run, confirmation."""
