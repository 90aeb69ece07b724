"""FaxJob <-> JSON, in the shape DESIGN §2 fixes for `faxtui status --json`.

The same encoding is what the state store keeps, so a job read back is the job written.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

from faxtui.model import FAXITEM_FIELDS, FAXITEM_NAMES, ConcordStatus, FaxItemEx, FaxJob, FieldValue, JobState

CONCORD_NATIVE = (
    "FaxJobId",
    "FaxJobStatusId",
    "StatusDescription",
    "RecipientState",
    "RecipientCurrentPageCount",
    "RecipientTotalPageCount",
    "FaxDeliveryDateTime",
    "FaxDeliveryDuration",
    "RemoteFaxCSID",
)


def field_to_json(value: FieldValue) -> int | str | None:
    """Integers stay numbers, decimals become decimal strings, times ISO 8601 with offset."""
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat()


_ALL_FIELDS = attrgetter(*FAXITEM_NAMES)
_AS_IS = frozenset({int, str, type(None)})


def fields_to_json(item: FaxItemEx) -> dict[str, int | str | None]:
    """All 27 fields by name (every job written to the store goes through here: kept cheap)."""
    values: tuple[FieldValue, ...] = _ALL_FIELDS(item)
    converted: list[Any] = [v if type(v) in _AS_IS else field_to_json(v) for v in values]
    return dict(zip(FAXITEM_NAMES, converted, strict=True))


def native_to_json(status: ConcordStatus | None) -> dict[str, Any]:
    if status is None:
        return {}
    out: dict[str, Any] = {name: getattr(status, name) for name in CONCORD_NATIVE}
    out["Error"] = {"ErrorCode": status.ErrorCode, "ErrorString": status.ErrorString}
    return out


def job_to_json(job: FaxJob, *, watched: bool = False) -> dict[str, Any]:
    return {
        "account": job.account,
        "service": job.service,
        "id": job.job_id,
        "state": job.state.value,
        "status_code": job.status_code,
        "status_text": job.status_text,
        "watched": watched,
        "reference": job.lookup_id,
        "fields": fields_to_json(job.item),
        "native": native_to_json(job.concord),
    }


def _field_from_json(xsd: str, value: Any) -> FieldValue:
    if value is None:
        return None
    if xsd in ("int", "short"):
        return value if isinstance(value, int | str) else None
    if xsd == "decimal":
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if xsd == "dateTime":
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return str(value)


def job_from_json(data: dict[str, Any], *, concord_headers: dict[str, str] | None = None) -> FaxJob:
    """The inverse of `job_to_json` (plus the extra keys the store keeps)."""
    raw_fields = data.get("fields") or {}
    values = {spec.name: _field_from_json(spec.xsd, raw_fields.get(spec.name)) for spec in FAXITEM_FIELDS}
    item = FaxItemEx(**values)  # type: ignore[arg-type]
    native = data.get("native") or {}
    concord: ConcordStatus | None = None
    if native:
        error = native.get("Error") or {}
        headers = concord_headers or {}
        concord = ConcordStatus(
            **{name: native.get(name) for name in CONCORD_NATIVE},  # type: ignore[arg-type]
            ErrorCode=error.get("ErrorCode"),
            ErrorString=error.get("ErrorString"),
            activity_id=data.get("activity_id", headers.get("x-ch-activity-id")),
            execution_time_ms=data.get("execution_time_ms", headers.get("x-ch-execution-time")),
        )
    return FaxJob(
        account=data["account"],
        service=data["service"],
        job_id=data["id"],
        item=item,
        state=JobState(data["state"]),
        status_code=data.get("status_code"),
        status_text=data.get("status_text") or "",
        concord=concord,
        lookup_id=data.get("lookup_id", data.get("reference")),
        unreadable=_unreadable_from_json(data.get("unreadable")),
    )


def _unreadable_from_json(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple((str(name), str(text)) for name, text in value.items() if name in FAXITEM_NAMES)


def job_to_record(job: FaxJob) -> dict[str, Any]:
    """What the store keeps: the JSON contract plus the lookup id and Concord tracking headers."""
    record = job_to_json(job)
    record["lookup_id"] = job.lookup_id
    if job.unreadable:
        record["unreadable"] = dict(job.unreadable)
    if job.concord is not None:
        record["activity_id"] = job.concord.activity_id
        record["execution_time_ms"] = job.concord.execution_time_ms
    return record
