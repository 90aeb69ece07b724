"""What changed between the last picture of the jobs and what a poll saw: pure functions, no I/O.

The poller applies the result (to its picture, the store and the events); the UI applies the
events' changed jobs instead of comparing every job again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from faxtui.events import StateChange
from faxtui.model import FaxJob

JobKey = tuple[str, str]
"""(account, job id)."""


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One poll against the picture: `seen` is every job the poll returned as it is now to be kept
    (a look-up's id carried over), `changed` those whose record differs (to save), `changes` the
    new jobs and the changes of state or status code (to record and show), `resolved` the look-up
    ids (watched `JRI-` references) and the job ids they turned out to name."""

    seen: tuple[FaxJob, ...]
    changed: tuple[FaxJob, ...]
    changes: tuple[StateChange, ...]
    new_jobs: int
    resolved: Mapping[tuple[str, str], str]


def reconcile(known: Mapping[JobKey, FaxJob], seen: Sequence[FaxJob], at: datetime) -> Reconciliation:
    """Compare a poll's jobs with the known ones. A job answered without its look-up id keeps the
    one it was first found by; a job equal to the known one (only tracking headers may differ) is
    not changed; a new job, or one whose state or status code moved, is a `StateChange` at `at`.
    A job returned twice is compared the second time with what the first made of it."""
    kept: list[FaxJob] = []
    changed: list[FaxJob] = []
    changes: list[StateChange] = []
    resolved: dict[tuple[str, str], str] = {}
    new_jobs = 0
    latest: dict[JobKey, FaxJob] = {}  # a job the poll returned twice (by id and by reference)
    for job in seen:
        old = latest.get(job.key) or known.get(job.key)
        if job.lookup_id:
            resolved[(job.account, job.lookup_id)] = job.job_id
        if old is not None and job.lookup_id is None and old.lookup_id is not None:
            job = job.with_lookup(old.lookup_id)
        kept.append(job)
        latest[job.key] = job
        if old == job:
            continue
        changed.append(job)
        new_jobs += old is None
        if old is None or not old.same_status(job):
            changes.append(StateChange(job, old, at))
    return Reconciliation(tuple(kept), tuple(changed), tuple(changes), new_jobs, resolved)


def jobs_to_forget(jobs: Iterable[FaxJob], keep: set[str], cap: int, keep_share: float = 0.9) -> list[JobKey]:
    """Which of one account's jobs (oldest first: the order they were seen) to drop when there are
    more than `cap`: down to `keep_share` of it, finished ones first, then those not heard of for
    longest, never one whose job id is in `keep` (watched, or just reported by the service)."""
    listed = list(jobs)
    excess = len(listed) - int(cap * keep_share)
    if len(listed) <= cap or excess <= 0:
        return []
    dropped: list[JobKey] = []
    taken: set[JobKey] = set()
    for finished_only in (True, False):
        for job in listed:
            if excess <= 0:
                return dropped
            if job.key in taken or job.job_id in keep or (finished_only and not job.state.is_final):
                continue
            dropped.append(job.key)
            taken.add(job.key)
            excess -= 1
    return dropped
