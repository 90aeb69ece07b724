"""Every service faxtui speaks to, by its config name: a new service is one line here."""

from __future__ import annotations

from faxtui.services.adapter import ServiceAdapter
from faxtui.services.concord.adapter import CONCORD
from faxtui.services.interfax.adapter import INTERFAX

_ALL: tuple[ServiceAdapter, ...] = (INTERFAX, CONCORD)
ADAPTERS: dict[str, ServiceAdapter] = {adapter.service: adapter for adapter in _ALL}


def adapter_for(service: str) -> ServiceAdapter:
    """The adapter of a service named in a config or a store (KeyError names the unknown one)."""
    try:
        return ADAPTERS[service]
    except KeyError:
        raise KeyError(f"unknown service {service!r}") from None
