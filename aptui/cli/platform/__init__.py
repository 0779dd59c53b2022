"""`aptui platform <noun> <verb>` (the Activepieces API) and `aptui sync`, one module per noun.

Every leaf takes ``--profile NAME`` and ``--json``. Long lists stream page by page (text rows or
one JSON document written as it goes), so 10,000 connections never sit in memory at once.
Secret values come from ``--value-env VAR``/``--set-env FIELD=VAR``, stdin or a hidden prompt.
Which credential each command needs is the route table's business (``aptui.activepieces.routes``).
"""

from aptui.cli.platform import connections, mcp, pieces, projects, runs, secret_managers  # noqa: F401
from aptui.cli.platform.group import platform_group
from aptui.cli.platform.sync import sync_cmd

__all__ = ["platform_group", "sync_cmd"]
