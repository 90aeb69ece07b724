"""What every service's SOAP client shares: its account, its checked endpoint, the SOAP version,
a clock, and the poster over the HTTP client it was given (kept open) or made (closed with it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from faxtui.clock import utc_now
from faxtui.services.http import DEFAULT_TIMEOUT, HttpPoster, check_endpoint
from faxtui.services.soap import MAX_RESPONSE_BYTES, SoapVersion


class SoapClient:
    def __init__(
        self,
        account: str,
        endpoint: str,
        *,
        soap_version: SoapVersion = "1.1",
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = MAX_RESPONSE_BYTES,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if soap_version not in ("1.1", "1.2"):
            raise ValueError("soap_version must be '1.1' or '1.2'")
        self.account = account
        self.endpoint = check_endpoint(endpoint)
        self.soap_version: SoapVersion = soap_version
        self._clock = clock
        self._http = HttpPoster(http=http, timeout=timeout, max_bytes=max_bytes)

    @property
    def http(self) -> httpx.AsyncClient:
        """The AsyncClient this client posts with (kept for its whole life)."""
        return self._http.client

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        await self._http.aclose()
