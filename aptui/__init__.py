"""aptui: a terminal operator console for self-hosted Activepieces platforms."""

__version__ = "0.1.0"
