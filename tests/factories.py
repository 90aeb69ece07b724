"""Builders of test data (jobs, items) shared by the tests: one place, plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faxtui.model import ConcordStatus, FaxItemEx, FaxJob, JobState

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
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
                     TrialsPerformed=2 if state is JobState.RETRYING else 1)
    return FaxJob(account, "interfax", str(tid), item, state, status, f"status {status}", lookup_id=lookup_id)


def concord_job(job_id: str = "br001h0000000001", state: JobState = JobState.FAILED, *,
                account: str = "ops-concord", lookup_id: str | None = None) -> FaxJob:
    status = CONCORD_STATUS[state]
    native = ConcordStatus(job_id, status, f"status {status}", 4, 0, 2, None, 0, None, None, None)
    item = FaxItemEx(TransactionID=job_id, Status=status, PagesSent=0, PagesSubmitted=2, Duration=0)
    return FaxJob(account, "concord", job_id, item, state, status, f"status {status}", concord=native,
                  lookup_id=lookup_id)
