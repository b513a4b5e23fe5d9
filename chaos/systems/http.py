"""A remote HTTP service as the system under test.

Each operation of the workload is one request, described by a template of the ``http``
adapter (the store with role ``api``): ``read`` runs the ``read`` template, ``write`` the
``write`` template, and so on. The service does the work; the history records what it
answered. This is how an experiment points at a service deployed in staging::

    stores:
      api:
        adapter: http
        settings:
          base_url: ${PROFILE_URL}
          operations:
            read:  {method: GET, path: "/profiles/{raw_key}", result: json}
            write: {method: PUT, path: "/profiles/{raw_key}", json: "{value}", result: none, fail: [409]}
    system: http
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..system import Env


class Remote:
    """Every operation ``f`` is ``api.request(f, key, value)``; a write-like operation whose
    template returns nothing is recorded with the value it sent."""

    roles = ("api",)

    def __init__(self, env: Env) -> None:
        self.api: Any = env.stores["api"]  # an Endpoint (the http adapter), not a key-value store

    @staticmethod
    def operation_names(settings_by_role: dict[str, dict[str, Any]]) -> set[str]:
        """The operations are the ``api`` store's request templates."""
        return set(settings_by_role.get("api", {}).get("operations") or {})

    def __getattr__(self, f: str) -> Callable[[Any, Any], Awaitable[Any]]:
        if f.startswith("_"):
            raise AttributeError(f)
        templates = getattr(self.api, "templates", {})
        if f not in templates:
            raise AttributeError(f"the api store has no operation template {f!r}")

        async def call(key: Any, value: Any) -> Any:
            result = await self.api.request(f, key, value)
            return value if result is None and value is not None else result

        return call
