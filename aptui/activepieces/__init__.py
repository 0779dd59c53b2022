"""The Activepieces REST client: one ``httpx.AsyncClient`` per profile, one module per resource.

``client.py`` holds transport concerns (base URL, auth, timeouts, retries, error mapping,
SeekPage pagination); ``projects``, ``connections``, ``mcp``, ``secret_managers``, ``runs``,
``pieces`` and ``flags`` map routes of ``tests/reference/activepieces-api.md`` to functions.
"""

from aptui.activepieces.client import ActivepiecesClient, SeekPage, api_base_url, check_site_url

__all__ = ["ActivepiecesClient", "SeekPage", "api_base_url", "check_site_url"]
