"""What every provider client offers, and the error taxonomy it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from faxtui.errors import (
    AuthError,
    ProtocolError,
    ProviderError,
    RateLimited,
    ServiceError,
    SoapFault,
    TransportError,
)
from faxtui.model import FaxJob, Service

__all__ = [
    "AuthError",
    "PollResult",
    "ProtocolError",
    "Provider",
    "ProviderError",
    "RateLimited",
    "ServiceError",
    "SoapFault",
    "TransportError",
]


@dataclass(slots=True)
class PollResult:
    """What one provider call (or a run of paged calls) brought back."""

    jobs: list[FaxJob]
    polled_at: datetime
    latency_ms: float
    calls: int = 1
    total_count: int | None = None
    not_found: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What the answers said went wrong without costing the poll (a partial failure), one line each."""


class Provider(Protocol):
    """A client of one account on one service."""

    service: Service
    account: str

    async def aclose(self) -> None: ...
