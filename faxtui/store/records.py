"""How a job is kept in a store row, the same on every backend: its JSON record."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from faxtui.jsonio import job_from_json, job_to_record
from faxtui.model import FaxJob

__all__ = ["decoded_jobs", "record_text"]

log = logging.getLogger("faxtui.store")


def record_text(job: FaxJob) -> str:
    return json.dumps(job_to_record(job), separators=(",", ":"), ensure_ascii=False)


def decoded_jobs(rows: Iterable[tuple[Any, ...] | Any]) -> list[FaxJob]:
    """Jobs from (account, job_id, record) rows; a row that does not decode is skipped and logged."""
    jobs: list[FaxJob] = []
    for row_account, job_id, record in rows:
        try:
            jobs.append(job_from_json(json.loads(record)))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            log.warning("skipped stored job %s/%s that does not decode: %s", row_account, job_id, err)
    return jobs
