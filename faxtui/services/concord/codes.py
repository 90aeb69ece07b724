"""Concord FaxWS status and error codes (shared/protocols/concord.md §3) and the mapping of a
FaxJobStatusId to `JobState`."""

from __future__ import annotations

from faxtui.model import JobState

# --- Concord FaxJobStatusId (concord.md §3.1) --------------------------------------------------

CONCORD_STATUS_TEXT: dict[int, str] = {
    1: "Job Succeeded",
    2: "Job Failed",
    3: "Job is being processed",
    -5019: "Invalid Job ID",
}
CONCORD_DELIVERED = 1
CONCORD_FAILED = 2
CONCORD_PROCESSING = 3
CONCORD_INVALID_JOB_ID = -5019
CONCORD_ERROR_TEXT: dict[int, str] = {
    -5019: "Invalid Job ID",
    -5040: "ERROR: Scheduled DateTime specified exceeds maximum allowed defer time.",
}


def concord_state(status: int | None) -> JobState:
    """DESIGN §4: 1 delivered, 2 failed, 3 sending, -5019 not_found, anything else unknown."""
    return {
        CONCORD_DELIVERED: JobState.DELIVERED,
        CONCORD_FAILED: JobState.FAILED,
        CONCORD_PROCESSING: JobState.SENDING,
        CONCORD_INVALID_JOB_ID: JobState.NOT_FOUND,
    }.get(status if status is not None else 0, JobState.UNKNOWN)


def concord_status_text(status: int | None, description: str | None = None) -> str:
    """The server's own description when it sent one, else the documented text."""
    if description:
        return description
    if status is None:
        return "No status"
    return CONCORD_STATUS_TEXT.get(status, f"Status {status}")
