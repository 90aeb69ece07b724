"""Builders of test data (jobs, items) shared by the tests: one place, plain values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from faxtui.model import ConcordStatus, FaxItemEx, FaxJob, JobState
from faxtui.store import Transition

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EST = timezone(timedelta(hours=-5))
INTERFAX_STATUS = {JobState.DELIVERED: 0, JobState.FAILED: 263, JobState.SENDING: -3, JobState.QUEUED: -2,
                   JobState.RETRYING: -3, JobState.CANCELLED: 403}
CONCORD_STATUS = {JobState.DELIVERED: 1, JobState.FAILED: 2, JobState.SENDING: 3, JobState.NOT_FOUND: -5019}


def interfax_job(n: int, state: JobState = JobState.DELIVERED, *, account: str = "ops", pages: int = 1,
                 lookup_id: str | None = None) -> FaxJob:
    """InterFax job number `n` (TransactionID 700,000,000 + n), submitted `n` seconds before NOW."""
    status = INTERFAX_STATUS[state]
    tid = 700_000_000 + n
    item = FaxItemEx(TransactionID=tid, Status=status, SubmitTime=NOW - timedelta(seconds=n),
                     PagesSent=pages, PagesSubmitted=3, DestinationFax=f"555{n:07d}", Subject=f"Invoice {n}",
                     TrialsPerformed=2 if state is JobState.RETRYING else None)
    return FaxJob(account, "interfax", str(tid), item, state, status, "status text", lookup_id=lookup_id)


def concord_job(job_id: str = "br001h0000000001", state: JobState = JobState.FAILED, *,
                account: str = "ops-concord", lookup_id: str | None = None) -> FaxJob:
    status = CONCORD_STATUS[state]
    native = ConcordStatus(job_id, status, f"status {status}", 4, 0, 2, None, 0, None, None, None)
    item = FaxItemEx(TransactionID=job_id, Status=status, PagesSent=0, PagesSubmitted=2, Duration=0)
    return FaxJob(account, "concord", job_id, item, state, status, f"status {status}", concord=native,
                  lookup_id=lookup_id)


def complete_interfax_job(
    transaction: int = 812345678, *, account: str = "ops-interfax", status: int = 6017
) -> FaxJob:
    """An InterFax job with every one of the 27 FaxItemEx fields set (what a store must keep)."""
    item = FaxItemEx(
        ParentTransactionID=812345600,
        TransactionID=transaction,
        SubmitTime=datetime(2026, 11, 22, 4, 58, 1, tzinfo=EST),
        PostponeTime=datetime(2026, 11, 22, 5, 0, 0, tzinfo=EST),
        CompletionTime=datetime(2026, 11, 22, 5, 3, 12, 500000, tzinfo=EST),
        UserID="ops",
        Contact="Dr. Ada — Clinic",
        JobID="job-7",
        DestinationFax="0012125550100",
        ReplyEmail="ops@example.com",
        RemoteCSID="+1 212 555 0100",
        PagesSent=2,
        Status=status,
        Duration=95,
        Subject="Referral [urgent]",
        PagesSubmitted=3,
        SenderCSID="OPS",
        Priority=1,
        Units=Decimal("3.00"),
        CostPerUnit=Decimal("0.0650"),
        PageSize="Letter",
        PageOrientation="Portrait",
        PageResolution="Fine",
        RenderingQuality="High",
        PageHeader="To: {To} From: {From}",
        RetriesToPerform=3,
        TrialsPerformed=2,
    )
    assert all(value is not None for _, value in item.values())
    return FaxJob(account, "interfax", str(transaction), item, JobState.FAILED, status, "Busy")


def complete_concord_job(job_id: str = "br0a1b2c3d4e5f", *, account: str = "ops-concord") -> FaxJob:
    native = ConcordStatus(
        FaxJobId=job_id,
        FaxJobStatusId=2,
        StatusDescription="Failed",
        RecipientState=5,
        RecipientCurrentPageCount=1,
        RecipientTotalPageCount=4,
        FaxDeliveryDateTime="2026-11-22T10:02:03Z",
        FaxDeliveryDuration=61,
        RemoteFaxCSID="REMOTE",
        ErrorCode=-5006,
        ErrorString="No answer",
        activity_id="act-123",
        execution_time_ms="12",
    )
    item = FaxItemEx(
        TransactionID=job_id,
        Status=2,
        PagesSent=1,
        PagesSubmitted=4,
        CompletionTime=datetime(2026, 11, 22, 10, 2, 3, tzinfo=UTC),
        Duration=61,
        RemoteCSID="REMOTE",
    )
    return FaxJob(
        account,
        "concord",
        job_id,
        item,
        JobState.FAILED,
        2,
        "Failed",
        concord=native,
        lookup_id="JRI-order-42",
    )


def transition(job_id: str, at: datetime, new: str, old: str | None = None, account: str = "a") -> Transition:
    return Transition(account, job_id, at, old, new, None, 0 if new == "delivered" else -3, new.title())


def zoned_interfax_job() -> FaxJob:
    """A failed InterFax job with every field but PostponeTime set, completed in UTC+1."""
    job = complete_interfax_job(812345679)
    completed = datetime(2026, 11, 22, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    item = dataclasses.replace(job.item, PostponeTime=None, Units=Decimal("3.0000"), CompletionTime=completed)
    return dataclasses.replace(job, item=item)


def busy_interfax_job(status: int = 6017, state: JobState = JobState.FAILED, **fields: object) -> FaxJob:
    """An InterFax job five minutes old, failed busy on its second of three tries (fields overridable)."""
    item = FaxItemEx(TransactionID=812345678, Status=status, SubmitTime=NOW - timedelta(minutes=5),
                     DestinationFax="0012125550171", Subject="Invoice 7", PagesSent=1, PagesSubmitted=3,
                     TrialsPerformed=2, RetriesToPerform=3, Units=Decimal("2"), CostPerUnit=Decimal("0.12"),
                     **fields)  # type: ignore[arg-type]
    return FaxJob("ops-interfax", "interfax", "812345678", item, state, status, "Busy")


def busy_concord_job() -> FaxJob:
    """A Concord job failed busy, with its native status."""
    native = ConcordStatus("br001h0000000001", 2, "Job Failed: Busy", 4, 0, 2, None, 0, None, 2, "Busy")
    item = FaxItemEx(TransactionID="br001h0000000001", Status=2, PagesSent=0, PagesSubmitted=2, Duration=0)
    return FaxJob("ops-concord", "concord", "br001h0000000001", item, JobState.FAILED, 2, "Job Failed: Busy",
                  concord=native)
