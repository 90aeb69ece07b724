"""The job model: plain, immutable data shared by the providers, the store, the poller and the UI.

A `FaxJob` keeps the service's own fields verbatim (`FaxItemEx`, and for Concord the ten
`RealTimeFaxStatusEx` elements in `ConcordStatus`) and a normalised view on top (`state`,
`status_code`, `status_text`). No I/O here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

Service = str
"""A service's name, as in the config file and JSON: a key of `faxtui.services.registry.ADAPTERS`."""

FieldValue = int | str | Decimal | datetime | None


class JobState(StrEnum):
    """The normalised state of a fax job (DESIGN §4); the values are the JSON contract."""

    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATES


FINAL_STATES = frozenset({JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED})
# A symbol beside every state, so it reads on a monochrome terminal and in a pipe.
STATE_SYMBOL: dict[JobState, str] = {
    JobState.QUEUED: "…",
    JobState.SENDING: "▶",
    JobState.RETRYING: "↻",
    JobState.DELIVERED: "✓",
    JobState.FAILED: "✗",
    JobState.CANCELLED: "⊘",
    JobState.NOT_FOUND: "?",
    JobState.UNKNOWN: "?",
}
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.SENDING, JobState.RETRYING})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One FaxItemEx element: its XML name, XSD type, and a human label and unit for display."""

    name: str
    xsd: Literal["int", "short", "string", "dateTime", "decimal"]
    label: str
    unit: str = ""


# The 27 FaxItemEx elements, in WSDL order (shared/protocols/interfax.md §3).
FAXITEM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ParentTransactionID", "int", "Parent transaction"),
    FieldSpec("TransactionID", "int", "Transaction"),
    FieldSpec("SubmitTime", "dateTime", "Submitted"),
    FieldSpec("PostponeTime", "dateTime", "Postponed to"),
    FieldSpec("CompletionTime", "dateTime", "Completed"),
    FieldSpec("UserID", "string", "User"),
    FieldSpec("Contact", "string", "Contact"),
    FieldSpec("JobID", "string", "Job ID"),
    FieldSpec("DestinationFax", "string", "Destination fax"),
    FieldSpec("ReplyEmail", "string", "Reply e-mail"),
    FieldSpec("RemoteCSID", "string", "Remote CSID"),
    FieldSpec("PagesSent", "short", "Pages sent", "pages"),
    FieldSpec("Status", "int", "Status"),
    FieldSpec("Duration", "int", "Duration", "s"),
    FieldSpec("Subject", "string", "Subject"),
    FieldSpec("PagesSubmitted", "short", "Pages submitted", "pages"),
    FieldSpec("SenderCSID", "string", "Sender CSID"),
    FieldSpec("Priority", "short", "Priority"),
    FieldSpec("Units", "decimal", "Units", "units"),
    FieldSpec("CostPerUnit", "decimal", "Cost per unit"),
    FieldSpec("PageSize", "string", "Page size"),
    FieldSpec("PageOrientation", "string", "Orientation"),
    FieldSpec("PageResolution", "string", "Resolution"),
    FieldSpec("RenderingQuality", "string", "Rendering"),
    FieldSpec("PageHeader", "string", "Page header"),
    FieldSpec("RetriesToPerform", "short", "Attempts allowed"),
    FieldSpec("TrialsPerformed", "short", "Attempts made"),
)
FAXITEM_NAMES: tuple[str, ...] = tuple(spec.name for spec in FAXITEM_FIELDS)

# FaxItemEx fields that Concord's RealTimeFaxStatusEx fills (DESIGN §4); the rest it does not report.
CONCORD_MAPPED: dict[str, str] = {
    "TransactionID": "FaxJobId",
    "Status": "FaxJobStatusId",
    "PagesSent": "RecipientCurrentPageCount",
    "PagesSubmitted": "RecipientTotalPageCount",
    "CompletionTime": "FaxDeliveryDateTime",
    "Duration": "FaxDeliveryDuration",
    "RemoteCSID": "RemoteFaxCSID",
}


@dataclass(frozen=True, slots=True)
class FaxItemEx:
    """The 27 FaxItemEx fields, typed. None means "absent" or "not reported by this service".

    `TransactionID` is an int for InterFax and Concord's `FaxJobId` string for Concord jobs.
    `PostponeTime` is None when the fax was not postponed.
    """

    ParentTransactionID: int | None = None
    TransactionID: int | str | None = None
    SubmitTime: datetime | None = None
    PostponeTime: datetime | None = None
    CompletionTime: datetime | None = None
    UserID: str | None = None
    Contact: str | None = None
    JobID: str | None = None
    DestinationFax: str | None = None
    ReplyEmail: str | None = None
    RemoteCSID: str | None = None
    PagesSent: int | None = None
    Status: int | None = None
    Duration: int | None = None
    Subject: str | None = None
    PagesSubmitted: int | None = None
    SenderCSID: str | None = None
    Priority: int | None = None
    Units: Decimal | None = None
    CostPerUnit: Decimal | None = None
    PageSize: str | None = None
    PageOrientation: str | None = None
    PageResolution: str | None = None
    RenderingQuality: str | None = None
    PageHeader: str | None = None
    RetriesToPerform: int | None = None
    TrialsPerformed: int | None = None

    def values(self) -> list[tuple[FieldSpec, FieldValue]]:
        """All 27 fields with their specs, in WSDL order."""
        return [(spec, getattr(self, spec.name)) for spec in FAXITEM_FIELDS]

    @property
    def cost(self) -> Decimal | None:
        if self.Units is None or self.CostPerUnit is None:
            return None
        return self.Units * self.CostPerUnit


@dataclass(frozen=True, slots=True)
class ConcordStatus:
    """The ten RealTimeFaxStatusEx elements as Concord sent them, plus the tracking headers."""

    FaxJobId: str
    FaxJobStatusId: int | None = None
    StatusDescription: str | None = None
    RecipientState: int | None = None
    RecipientCurrentPageCount: int | None = None
    RecipientTotalPageCount: int | None = None
    FaxDeliveryDateTime: str | None = None
    FaxDeliveryDuration: int | None = None
    RemoteFaxCSID: str | None = None
    ErrorCode: int | None = None
    ErrorString: str | None = None
    # Tracking headers differ on every answer; they are kept, but a job whose answer differs only
    # in them has not changed (so it is not rewritten to the store on every poll).
    activity_id: str | None = field(default=None, compare=False)
    execution_time_ms: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class FaxJob:
    """One job of one account: the service's fields verbatim plus the normalised state.

    `job_id` is the key within the account: the InterFax TransactionID as text, or the Concord
    `br…` job id. `lookup_id` is what the user asked for when that differs (a `JRI-<ref>`).
    `unreadable` holds (field name, raw text) for each field the service sent in a form that could
    not be read: such a field is None in `item`, and the raw text is what the detail pane shows.
    """

    account: str
    service: Service
    job_id: str
    item: FaxItemEx
    state: JobState
    status_code: int | None
    status_text: str
    concord: ConcordStatus | None = None
    lookup_id: str | None = None
    unreadable: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.job_id)

    def same_status(self, other: FaxJob) -> bool:
        """True when nothing a user would call a state change differs."""
        return self.state == other.state and self.status_code == other.status_code

    def with_lookup(self, lookup_id: str | None) -> FaxJob:
        return dataclasses.replace(self, lookup_id=lookup_id)


class Health(StrEnum):
    """What an account's bar entry says."""

    PENDING = "pending"
    IDLE = "idle"
    OK = "ok"
    STALE = "stale"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    UNREACHABLE = "unreachable"
    ERROR = "error"
    PAUSED = "paused"


@dataclass(slots=True)
class AccountStatus:
    """An account's polling health, as the poller last saw it."""

    name: str
    service: Service
    health: Health = Health.PENDING
    last_good_poll: datetime | None = None
    last_attempt: datetime | None = None
    latency_ms: float | None = None
    last_error: str | None = None
    retry_at: datetime | None = None
    consecutive_failures: int = 0
    jobs: int = 0
    paused: bool = False
    calls_made: int = field(default=0)
    warning: str | None = None
    """What the last good poll could not read or was told (one line), e.g. items left out of a page,
    a partial failure's error, more faxes on the service than its pages listed; None when nothing."""
    polled_by: str | None = None
    """Team mode: the process (`host:pid`) that polls this account, this one included; None when
    nobody does (or outside team mode)."""
    following: bool = False
    """Team mode: another process polls this account and this one shows what it stored."""
