"""Request counters: per service, account and operation, plus connections accepted (to prove
keep-alive), rate-limited calls and faults fired."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._connections = 0
            self._requests: Counter[str] = Counter()
            self._accounts: dict[str, Counter[str]] = {}
            self._operations: dict[str, Counter[str]] = {}
            self._rate_limited = 0
            self._faults: Counter[str] = Counter()
            self._control = 0

    def connection(self) -> None:
        with self._lock:
            self._connections += 1

    def request(self, service: str, account: str | None, operation: str) -> None:
        with self._lock:
            self._requests[service] += 1
            self._accounts.setdefault(service, Counter())[account or ""] += 1
            self._operations.setdefault(service, Counter())[operation] += 1

    def control(self) -> None:
        with self._lock:
            self._control += 1

    def rate_limited(self) -> None:
        with self._lock:
            self._rate_limited += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def requests(self, service: str, account: str | None = None) -> int:
        with self._lock:
            if account is None:
                return self._requests[service]
            return self._accounts.get(service, Counter())[account]

    def snapshot(self) -> dict[str, Any]:
        """What GET /_sim/stats returns."""
        with self._lock:
            return {
                "connections": self._connections,
                "requests": sum(self._requests.values()),
                "services": {
                    service: {
                        "requests": count,
                        "accounts": dict(self._accounts.get(service, {})),
                        "operations": dict(self._operations.get(service, {})),
                    }
                    for service, count in sorted(self._requests.items())
                },
                "rate_limited": self._rate_limited,
                "faults_fired": sum(self._faults.values()),
                "faults": dict(self._faults),
                "control_requests": self._control,
            }
