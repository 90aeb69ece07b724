"""Reconciliation on its own: what a poll changed against the last picture, with no I/O."""

from __future__ import annotations

from factories import NOW, concord_job, interfax_job

from faxtui.model import JobState
from faxtui.reconcile import jobs_to_forget, reconcile


def test_a_first_poll_makes_every_job_new() -> None:
    jobs = [interfax_job(1), interfax_job(2, JobState.SENDING)]
    result = reconcile({}, jobs, NOW)
    assert result.new_jobs == 2
    assert [c.job for c in result.changes] == jobs
    assert all(c.old is None and c.at == NOW for c in result.changes)
    assert result.changed == tuple(jobs)


def test_an_unchanged_job_is_neither_saved_nor_logged() -> None:
    job = interfax_job(1, JobState.SENDING)
    result = reconcile({job.key: job}, [job], NOW)
    assert (result.changed, result.changes, result.new_jobs) == ((), (), 0)
    assert result.seen == (job,)


def test_a_moved_state_is_one_change_from_the_old_job() -> None:
    old = interfax_job(1, JobState.SENDING)
    new = interfax_job(1, JobState.DELIVERED)
    result = reconcile({old.key: old}, [new], NOW)
    (change,) = result.changes
    assert (change.old, change.job, result.new_jobs) == (old, new, 0)


def test_a_changed_record_with_the_same_status_is_saved_but_not_logged() -> None:
    old = interfax_job(1, JobState.SENDING, pages=1)
    new = interfax_job(1, JobState.SENDING, pages=2)
    result = reconcile({old.key: old}, [new], NOW)
    assert result.changed == (new,) and result.changes == ()


def test_a_job_found_by_reference_keeps_its_reference_and_resolves_it() -> None:
    found = concord_job("br7", JobState.SENDING, lookup_id="JRI-inv-7")
    first = reconcile({}, [found], NOW)
    assert first.resolved == {("ops-concord", "JRI-inv-7"): "br7"}
    later = concord_job("br7", JobState.DELIVERED)  # answered under its own id, no reference
    second = reconcile({found.key: found}, [later], NOW)
    assert second.seen[0].lookup_id == "JRI-inv-7"
    assert second.changes[0].job.lookup_id == "JRI-inv-7"


def test_a_job_returned_twice_in_one_poll_changes_once() -> None:
    by_id = concord_job("br7", JobState.DELIVERED)
    by_reference = concord_job("br7", JobState.DELIVERED, lookup_id="JRI-inv-7")
    result = reconcile({}, [by_id, by_reference], NOW)
    assert len(result.changes) == 1 and result.new_jobs == 1


def test_forgetting_takes_finished_jobs_first_and_spares_kept_ones() -> None:
    jobs = [interfax_job(n, JobState.SENDING if n % 2 else JobState.DELIVERED) for n in range(12)]
    keep = {jobs[0].job_id}
    dropped = jobs_to_forget(jobs, keep, cap=10)  # down to 9 of 12: three go
    assert len(dropped) == 3
    assert jobs[0].key not in dropped
    assert dropped == [jobs[2].key, jobs[4].key, jobs[6].key]  # the oldest finished ones, in order


def test_forgetting_takes_unfinished_jobs_when_too_few_are_finished() -> None:
    jobs = [interfax_job(n, JobState.SENDING) for n in range(11)] + [interfax_job(99)]
    dropped = jobs_to_forget(jobs, set(), cap=10)
    assert dropped[0] == jobs[-1].key and len(dropped) == 3


def test_nothing_is_forgotten_under_the_cap() -> None:
    assert jobs_to_forget([interfax_job(n) for n in range(10)], set(), cap=10) == []
