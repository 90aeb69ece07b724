"""Each service's default endpoint and poll interval, by service name (from its adapter)."""

from __future__ import annotations

from faxtui.services.registry import ADAPTERS

DEFAULT_ENDPOINTS: dict[str, str] = {name: a.default_endpoint for name, a in ADAPTERS.items()}
DEFAULT_POLL_SECONDS: dict[str, float] = {name: a.default_poll_seconds for name, a in ADAPTERS.items()}
