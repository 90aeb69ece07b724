"""`SimOptions`: every simulator behaviour the protocol docs leave open, as a named, documented choice.

Each field that settles something `shared/protocols/` marks UNCONFIRMED says so in its comment;
the default is the choice the simulator makes when nobody asks otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

DateTimeStyle = Literal["dotnet", "Z", "+00:00"]
EmptyResult = Literal["absent", "empty"]
OverCap = Literal["cap", "uncapped", "error"]
NotFoundPlacement = Literal["item", "item_error", "call"]

DATETIME_STYLES: tuple[str, ...] = ("dotnet", "Z", "+00:00")
EMPTY_RESULTS: tuple[str, ...] = ("absent", "empty")
OVER_CAP: tuple[str, ...] = ("cap", "uncapped", "error")
NOT_FOUND_PLACEMENTS: tuple[str, ...] = ("item", "item_error", "call")


@dataclass(frozen=True, slots=True)
class SimOptions:
    """The simulator's knobs. Frozen: a world and its server read them without locking."""

    seed: int = 1
    """Seeds every random choice: same seed + same clock steps -> the same world, byte for byte."""
    speed: float = 1.0
    """How much faster than real time a `RealClock` world runs (ignored by a `FakeClock`)."""
    demo_accounts: bool = True
    """Create the contract demo accounts (InterFax demo/demo, Concord mbx0000000001/demo)."""
    arrival_mean_seconds: float = 30.0
    """Mean simulated seconds between new jobs of one account (0 = no new jobs arrive)."""
    truth_limit: int = 200_000
    """Most ground-truth records kept (oldest dropped first)."""
    retention_days: float = 35.0
    """Finished jobs older than this leave the world, as InterFax keeps fax records ~30-35 days
    (interfax.md §7); keeps long, fast runs bounded. 0 = keep every job."""

    # --- InterFax -------------------------------------------------------------------------
    datetime_style: DateTimeStyle = "dotnet"
    """UNCONFIRMED lexical form of xs:dateTime: "dotnet" = no offset (.NET style, meaning UTC),
    e.g. 2026-11-22T10:00:00; "Z" = 2026-11-22T10:00:00Z; "+00:00" = 2026-11-22T10:00:00+00:00."""
    not_postponed: str = "0001-01-01T00:00:00"
    """UNCONFIRMED PostponeTime of a fax that was not postponed (.NET DateTime.MinValue by default;
    the docs' '0000-00-00' is not a valid xs:dateTime). Sent verbatim."""
    not_completed: str = "0001-01-01T00:00:00"
    """UNCONFIRMED CompletionTime of a fax still in progress. Sent verbatim."""
    rate_limit_calls: int = 6
    """Status calls allowed per user within `rate_limit_window` seconds; the next one gets -1011."""
    rate_limit_window: float = 60.0
    """UNCONFIRMED window semantics: a sliding window of this many simulated seconds per username.
    Limited calls are counted too, so a client that keeps hammering stays limited."""
    max_items_cap: int = 100
    """Most FaxItemEx items per call (documented limit)."""
    max_items_over_cap: OverCap = "cap"
    """UNCONFIRMED MaxItems > cap: "cap" = silently return at most the cap; "uncapped" = return
    MaxItems items; "error" = ResultCode `max_items_error_code` and no items."""
    max_items_error_code: int = -150
    error_result: EmptyResult = "absent"
    """UNCONFIRMED shape of FaxStatusExResult when ResultCode < 0: "absent" (element left out,
    TotalCount and ListSize 0) or "empty" (`<FaxStatusExResult />`)."""
    empty_result: EmptyResult = "empty"
    """UNCONFIRMED shape of FaxStatusExResult for a successful call that returns no items."""

    # --- Concord --------------------------------------------------------------------------
    concord_not_found: NotFoundPlacement = "item"
    """UNCONFIRMED placement of -5019 for an unknown job id: "item" = an item with
    FaxJobStatusId=-5019, StatusDescription "Invalid Job ID" and Error.ErrorCode=-5019;
    "item_error" = an item whose FaxJobStatusId is 0 and only Error carries -5019;
    "call" = no item, return=false and WSError -5019 for the whole call."""
    concord_jri_echo: bool = False
    """UNCONFIRMED FaxJobId of a `JRI-<ref>` answer: False = the real br… id; True = "JRI-<ref>"."""
    concord_auth_error_code: int = -1
    """UNCONFIRMED WSError.ErrorCode of a failed authentication (no public code table)."""
    concord_auth_error_text: str = "Authentication failed"
    concord_auth_http_status: int = 200
    """UNCONFIRMED HTTP status of a failed authentication (200 with return=false, or e.g. 401)."""
    concord_pending_datetime: str = ""
    """UNCONFIRMED FaxDeliveryDateTime before delivery."""
    concord_pending_duration: int = 0
    """UNCONFIRMED FaxDeliveryDuration before delivery."""
    concord_utc_offset_minutes: int = 0
    """Offset the Concord date strings are written in (D6 format YYYY-MM-DDTHH:MM:SS±HH:MM)."""
    concord_failure_reasons: bool = True
    """UNCONFIRMED StatusDescription vocabulary: True = a failed job says "Job Failed: Busy" (the
    documented text plus the reason); False = exactly the documented "Job Failed"."""
    concord_strict_soapaction: bool = True
    """The WSDL gives SOAPAction "" to every operation: True = any other SOAPAction gets a Fault."""
    token_expires_in: int = 3600
    """Lifetime in simulated seconds of tokens issued by the token endpoint."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.speed > 0:
            problems.append("speed must be > 0")
        if self.retention_days < 0:
            problems.append("retention_days must be >= 0")
        if self.arrival_mean_seconds < 0:
            problems.append("arrival_mean_seconds must be >= 0")
        if self.rate_limit_calls < 1 or self.rate_limit_window <= 0:
            problems.append("rate_limit_calls must be >= 1 and rate_limit_window > 0")
        if self.max_items_cap < 1:
            problems.append("max_items_cap must be >= 1")
        if self.token_expires_in < 1:
            problems.append("token_expires_in must be >= 1")
        if not 100 <= self.concord_auth_http_status <= 599:
            problems.append("concord_auth_http_status must be an HTTP status")
        for name, allowed in (
            ("datetime_style", DATETIME_STYLES),
            ("max_items_over_cap", OVER_CAP),
            ("error_result", EMPTY_RESULTS),
            ("empty_result", EMPTY_RESULTS),
            ("concord_not_found", NOT_FOUND_PLACEMENTS),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
