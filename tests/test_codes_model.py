"""Status codes -> JobState (DESIGN §4), texts, and the JSON shape of jobs (DESIGN §2)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from factories import zoned_interfax_job

from faxtui.jsonio import job_from_json, job_to_json, job_to_record
from faxtui.model import FAXITEM_NAMES, ConcordStatus, FaxItemEx, FaxJob, JobState
from faxtui.services.concord.codes import concord_state, concord_status_text
from faxtui.services.interfax.codes import interfax_result_text, interfax_state, interfax_status_text


@pytest.mark.parametrize(
    ("status", "trials", "state"),
    [
        (-1, 0, JobState.QUEUED),
        (-11, 0, JobState.QUEUED),
        (-2, 0, JobState.QUEUED),
        (-22, 0, JobState.QUEUED),
        (-4, 0, JobState.QUEUED),
        (-3, 0, JobState.SENDING),
        (-3, None, JobState.SENDING),
        (-3, 1, JobState.RETRYING),
        (-3, 2, JobState.RETRYING),
        (0, 1, JobState.DELIVERED),
        (403, 0, JobState.CANCELLED),
        (6017, 3, JobState.FAILED),
        (205000, 0, JobState.FAILED),
        (1, 1, JobState.FAILED),
    ],
)
def test_interfax_state(status: int, trials: int | None, state: JobState) -> None:
    assert interfax_state(status, trials) is state


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (-3, "Sending (or pending retry)"),
        (-22, "Out of credit, awaiting Top-Up"),
        (-777, "Fax is being handled"),
        (0, "OK (Fax successfully sent)"),
        (6017, "Busy"),
        (6088, "Incompatible destination"),
        (6041, "Telephony error"),
        (424242, "Error 424242"),
    ],
)
def test_interfax_status_text(status: int, text: str) -> None:
    assert interfax_status_text(status) == text


def test_interfax_result_text() -> None:
    assert interfax_result_text(-1003) == "Authentication error"
    assert interfax_result_text(-1011) == "Too many data requests"
    assert interfax_result_text(-9999) == "Web service error -9999"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (1, JobState.DELIVERED),
        (2, JobState.FAILED),
        (3, JobState.SENDING),
        (-5019, JobState.NOT_FOUND),
        (7, JobState.UNKNOWN),
        (0, JobState.UNKNOWN),
        (None, JobState.UNKNOWN),
    ],
)
def test_concord_state(status: int | None, state: JobState) -> None:
    assert concord_state(status) is state


def test_concord_status_text_prefers_the_servers_description() -> None:
    assert concord_status_text(2, "Busy, 3 attempts") == "Busy, 3 attempts"
    assert concord_status_text(2) == "Job Failed"
    assert concord_status_text(2, "") == "Job Failed"
    assert concord_status_text(9) == "Status 9"
    assert concord_status_text(None) == "No status"


def test_final_and_active_states() -> None:
    assert {s for s in JobState if s.is_final} == {JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED}
    assert {s for s in JobState if s.is_active} == {JobState.QUEUED, JobState.SENDING, JobState.RETRYING}


def test_interfax_job_json_round_trip() -> None:
    job = zoned_interfax_job()
    data = job_to_json(job, watched=True)
    text = json.dumps(data)
    assert list(data["fields"]) == list(FAXITEM_NAMES)
    assert len(data["fields"]) == 27
    assert data["fields"]["Units"] == "3.0000"
    assert data["fields"]["TransactionID"] == 812345679
    assert data["fields"]["PostponeTime"] is None
    assert data["fields"]["CompletionTime"] == "2026-11-22T10:00:00+01:00"
    assert data["state"] == "failed" and data["watched"] is True and data["native"] == {}
    back = job_from_json(json.loads(text))
    assert back == job


def test_concord_job_json_round_trip() -> None:
    native = ConcordStatus(
        FaxJobId="br001h7r17j0000001",
        FaxJobStatusId=1,
        StatusDescription="Job Succeeded",
        RecipientState=4,
        RecipientCurrentPageCount=3,
        RecipientTotalPageCount=3,
        FaxDeliveryDateTime="2007-11-30T06:03:15-08:00",
        FaxDeliveryDuration=95,
        RemoteFaxCSID="ACME LAB",
        ErrorCode=0,
        ErrorString="",
        activity_id="act-1",
        execution_time_ms="12",
    )
    item = FaxItemEx(
        TransactionID="br001h7r17j0000001",
        Status=1,
        PagesSent=3,
        PagesSubmitted=3,
        CompletionTime=datetime(2007, 11, 30, 6, 3, 15, tzinfo=timezone(timedelta(hours=-8))),
        Duration=95,
        RemoteCSID="ACME LAB",
    )
    job = FaxJob(
        "ops-concord",
        "concord",
        "br001h7r17j0000001",
        item,
        JobState.DELIVERED,
        1,
        "Job Succeeded",
        concord=native,
        lookup_id="JRI-REF1",
    )
    data = job_to_json(job)
    text = json.dumps(data)
    assert list(data["fields"]) == list(FAXITEM_NAMES)
    assert data["fields"]["TransactionID"] == "br001h7r17j0000001"
    assert data["native"]["Error"] == {"ErrorCode": 0, "ErrorString": ""}
    assert sum(v is not None for v in data["fields"].values()) == 7
    record = json.loads(json.dumps(job_to_record(job)))
    assert job_from_json(record) == job
    assert job_from_json(json.loads(text)).concord is not None
