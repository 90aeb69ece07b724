"""Who polls an account: a lease per account in the store, so at most one process polls it.

A process polls an account only while it holds the account's lease. The holder renews it every
`renew_every` seconds; a process that does not hold it tries to take it every `claim_every`
seconds, and wins once the holder has stopped renewing for `ttl` seconds (it died, its machine is
gone, or it is frozen). DESIGN §8 asks a dead holder to be replaced within max(3 poll intervals,
30 s): `ttl + claim_every` is that bound. Lease times are wall-clock seconds, as in the call
ledger: machines sharing a store must keep their clocks in step (NTP), as they must for the
ledger's 6 calls a minute.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

__all__ = ["LeaseTerms", "holder_name", "lease_terms"]

TAKEOVER_FLOOR = 30.0
"""A dead holder is replaced within max(3 poll intervals, this many seconds)."""
TAKEOVER_INTERVALS = 3


def holder_name() -> str:
    """How this process is named in the store and to viewers: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    ttl: float
    """Seconds a lease lasts after its last renewal."""
    renew_every: float
    """How often the holder renews it (well inside `ttl`, so a slow store or a long poll is no risk)."""
    claim_every: float
    """How often a process that does not hold it tries to take it."""

    @property
    def takeover_bound(self) -> float:
        """The longest a dead holder's account goes unpolled."""
        return self.ttl + self.claim_every


def lease_terms(poll_seconds: float) -> LeaseTerms:
    bound = max(TAKEOVER_INTERVALS * poll_seconds, TAKEOVER_FLOOR)
    claim_every = min(5.0, bound / 6)
    ttl = bound - claim_every
    return LeaseTerms(ttl=ttl, renew_every=ttl / 4, claim_every=claim_every)
