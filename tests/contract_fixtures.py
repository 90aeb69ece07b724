"""Helpers for the contract tests: simulated worlds on a fake clock, running simulators, the real
clients wired to them, and what the world itself says (its truth log) to hold the clients against.

Nothing here speaks HTTP on its own: the clients under test do, over real loopback sockets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from faxtui.errors import ProviderError
from faxtui.model import FaxItemEx
from faxtui.services.concord.auth import OAuthTokenProvider
from faxtui.services.concord.client import ConcordClient
from faxtui.services.interfax.client import InterFaxClient
from faxtui.sim import FakeClock, SimOptions, SimServer, TruthRecord, World

START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
RELAXED_RATE_LIMIT = 10_000
"""Status calls a minute that no contract test reaches (the rate-limit test sets its own)."""

# Accounts of the contract worlds. The secrets are distinctive (and the password needs XML
# escaping) so a test can tell for sure that none of them ever shows in an error.
IFX_USER = "ops-ifx"
IFX_PASSWORD = "p&ss<W0rd>-ifx-71"
CCD_USER = "mbx0000000777"
CCD_PIN = "Pin-7391-Zq"
CCD_TOKEN = "tok-Static-0x5e9d"
OAUTH_ID = "contract-client"
OAUTH_SECRET = "Cl-Secret-8f3a2b"
SECRETS = (IFX_PASSWORD, CCD_PIN, CCD_TOKEN, OAUTH_SECRET)

XSD_PYTHON_TYPE: dict[str, type] = {
    "int": int,
    "short": int,
    "decimal": Decimal,
    "dateTime": datetime,
    "string": str,
}


def make_world(
    clock: FakeClock | None = None,
    *,
    interfax_jobs: int | None = None,
    concord_jobs: int | None = None,
    arrivals: bool = False,
    **options: Any,
) -> World:
    """A world on a fake clock (10:00 UTC, 22 Nov 2026) with the demo accounts, and the contract
    accounts when a job count is given. Rate limits are relaxed unless `rate_limit_calls` is given."""
    options.setdefault("rate_limit_calls", RELAXED_RATE_LIMIT)
    world = World(SimOptions(**options), clock if clock is not None else FakeClock(START))
    if interfax_jobs is not None:
        world.add_interfax_account(IFX_USER, IFX_PASSWORD, interfax_jobs, arrivals=arrivals)
    if concord_jobs is not None:
        world.add_concord_account(
            CCD_USER, CCD_PIN, concord_jobs, token=CCD_TOKEN, client_id=OAUTH_ID, client_secret=OAUTH_SECRET,
            arrivals=arrivals,
        )
    return world


@contextmanager
def running(world: World, faults: str = "") -> Iterator[SimServer]:
    """The simulator serving `world` on a free loopback port, stopped afterwards."""
    with SimServer(world=world, faults=faults) as server:
        yield server


def interfax_client(
    server: SimServer,
    http: httpx.AsyncClient,
    username: str = IFX_USER,
    password: str = IFX_PASSWORD,
    **kwargs: Any,
) -> InterFaxClient:
    return InterFaxClient("ops-interfax", server.interfax_url, username, password, http=http, **kwargs)


def concord_client(
    server: SimServer, http: httpx.AsyncClient, user_id: str = CCD_USER, **auth: Any
) -> ConcordClient:
    """A Concord client; PIN authentication unless `token=`, `pin=` or `token_provider=` is given."""
    if not {"token", "pin", "token_provider"} & auth.keys():
        auth["pin"] = CCD_PIN
    return ConcordClient("ops-concord", server.concord_url, user_id, http=http, **auth)


def token_provider(server: SimServer, http: httpx.AsyncClient, **kwargs: Any) -> OAuthTokenProvider:
    return OAuthTokenProvider(server.token_url, OAUTH_ID, OAUTH_SECRET, http=http, **kwargs)


def fake_seconds(clock: FakeClock) -> float:
    """The fake clock as a monotonic-style number of seconds (what OAuthTokenProvider reads)."""
    return clock.now().timestamp()


# --- what the clients hand back ------------------------------------------------------------------


def type_problems(item: FaxItemEx) -> list[str]:
    """Every FaxItemEx field whose value is not of its XSD's Python type (None allowed only for
    strings and dateTimes, which InterFax may leave out or send as "not set")."""
    problems: list[str] = []
    for spec, value in item.values():
        if value is None:
            if spec.xsd not in ("string", "dateTime"):
                problems.append(f"{spec.name} is missing")
            continue
        expected = XSD_PYTHON_TYPE[spec.xsd]
        if type(value) is not expected:
            problems.append(f"{spec.name} is {type(value).__name__}, not {expected.__name__}")
        elif isinstance(value, datetime) and value.utcoffset() is None:
            problems.append(f"{spec.name} is a naive datetime")
        elif isinstance(value, str) and not value:
            problems.append(f"{spec.name} is an empty string instead of None")
    return problems


def assert_safe_message(error: ProviderError) -> None:
    """A one-line message that shows no secret of the contract accounts."""
    shown = " ".join((str(error), repr(error), *map(str, error.args)))
    assert "\n" not in str(error)
    for secret in SECRETS:
        assert secret not in shown, f"secret leaked in {type(error).__name__}: {error}"


# --- what the world says -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """A job's status and state as the world recorded them last."""

    status: int
    state: str


def latest_truth(world: World, service: str, account: str) -> dict[str, TruthRecord]:
    """The last state change the world recorded for every job of one account, by job id."""
    latest: dict[str, TruthRecord] = {}
    for record in world.truth():
        if record.service == service and record.account == account:
            latest[record.job_id] = record
    return latest


def truth_between(world: World, start: datetime, service: str, account: str) -> dict[str, list[TruthRecord]]:
    """The changes recorded after `start` (up to the world's now), per job id, in time order."""
    changes: dict[str, list[TruthRecord]] = {}
    for record in world.truth(since=start):
        if record.service == service and record.account == account:
            changes.setdefault(record.job_id, []).append(record)
    return changes


def at_utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


ZERO = timedelta(0)
