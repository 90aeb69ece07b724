"""What team mode asks of every store backend (SQLite and a real PostgreSQL): leases that one
process at a time can hold, what a viewer reads of an account, the jobs changed since a change
number, and the cheap "did anyone commit?" a viewer asks several times a second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from factories import interfax_job

from faxtui.model import JobState
from faxtui.store import StateStore, open_store

T0 = 1_800_000_000.0
AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(any_store: StateStore) -> StateStore:
    return any_store


@pytest.fixture
def other(store_url: str, store: StateStore) -> Iterator[StateStore]:
    """A second connection to the same store: another process, or another machine."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


def test_a_lease_has_one_holder_until_it_expires(store: StateStore, other: StateStore) -> None:
    assert store.claim_lease("ifx", "a:1", T0, 30.0) is None
    assert other.claim_lease("ifx", "b:2", T0 + 1, 30.0) == "a:1"  # held: b stands by
    assert store.claim_lease("ifx", "a:1", T0 + 20, 30.0) is None  # renewed until T0 + 50
    assert other.claim_lease("ifx", "b:2", T0 + 40, 30.0) == "a:1"
    # a stops renewing (killed): at T0 + 50 the lease is free, and b has it.
    assert other.claim_lease("ifx", "b:2", T0 + 50, 30.0) is None
    assert store.claim_lease("ifx", "a:1", T0 + 51, 30.0) == "b:2"  # the old holder learns it lost
    assert other.claim_lease("other-account", "b:2", T0, 30.0) is None  # leases are per account


def test_a_released_lease_is_free_at_once(store: StateStore, other: StateStore) -> None:
    assert store.claim_lease("ifx", "a:1", T0, 30.0) is None
    other.release_lease("ifx", "b:2")  # not b's to release
    assert other.claim_lease("ifx", "b:2", T0 + 1, 30.0) == "a:1"
    store.release_lease("ifx", "a:1")
    assert other.claim_lease("ifx", "b:2", T0 + 1, 30.0) is None


def test_viewers_read_what_the_poller_wrote_of_an_account(store: StateStore, other: StateStore) -> None:
    assert other.account_records(T0) == []
    store.save_account_state("ifx", AT, None, AT)
    store.save_account_status("ifx", service="interfax", health="ok", poll_seconds=10.0, at=AT)
    store.claim_lease("ifx", "desk-1:4242", T0, 30.0)
    store.save_account_state("cc", None, "HTTP 503 from api.concord.net", AT)
    store.save_account_status("cc", service="concord", health="error", poll_seconds=15.0, at=AT)
    records = {r.account: r for r in other.account_records(T0 + 5)}
    ifx, cc = records["ifx"], records["cc"]
    assert (ifx.service, ifx.health, ifx.poll_seconds, ifx.last_good_poll) == ("interfax", "ok", 10.0, AT)
    assert (ifx.holder, ifx.lease_expires) == ("desk-1:4242", T0 + 30)
    assert (cc.service, cc.health, cc.last_error, cc.holder) == ("concord", "error",
                                                                 "HTTP 503 from api.concord.net", None)
    assert other.account_records(T0 + 31)[1].holder is None  # the lease ran out: nobody polls it


def test_a_viewer_reads_only_the_jobs_changed_since_its_last_read(
    store: StateStore, other: StateStore
) -> None:
    jobs, seq = other.jobs_since("ifx", 0)
    assert (jobs, seq) == ([], 0)
    first = [interfax_job(1000 + i, JobState.SENDING, account="ifx") for i in range(3)]
    store.save_jobs(first, AT)
    jobs, seq = other.jobs_since("ifx", 0)
    assert sorted(j.job_id for j in jobs) == [str(700_001_000 + i) for i in range(3)] and seq == 1
    moved = interfax_job(1001, JobState.DELIVERED, account="ifx")
    store.save_jobs([first[0], moved], AT + timedelta(seconds=10))  # 1000 unchanged, 1001 delivered
    store.save_jobs([interfax_job(7, account="cc")], AT)  # another account's change numbers
    jobs, seq2 = other.jobs_since("ifx", seq)
    assert [(j.job_id, j.state) for j in jobs] == [("700001001", JobState.DELIVERED)] and seq2 == 2
    assert other.jobs_since("ifx", seq2) == ([], 2)


def test_changed_says_when_another_process_committed(store: StateStore, other: StateStore) -> None:
    other.changed()  # the first call sets the viewer's starting point
    deadline = time.monotonic() + 5
    while other.changed() and time.monotonic() < deadline:
        pass  # drain anything the set-up wrote
    assert not other.changed()
    store.add_watch("ifx", "1000")
    deadline = time.monotonic() + 5  # NOTIFY is delivered asynchronously, well within a second
    seen = False
    while not seen and time.monotonic() < deadline:
        seen = other.changed()
    assert seen
    assert not other.changed()  # once per change


def test_a_poll_is_saved_whole_or_not_at_all(store: StateStore) -> None:
    from faxtui.store import Transition

    job = interfax_job(5, JobState.DELIVERED, account="ifx")
    good = Transition("ifx", job.job_id, AT, "sending", "delivered", -3, 0, "OK")
    bad = Transition("ifx", job.job_id, datetime(2026, 11, 22, 9, 0), "sending", "delivered", -3, 0, "OK")
    with pytest.raises(ValueError, match="naive"):  # the second write of the poll fails ...
        store.save_poll("ifx", [job], [bad], at=AT, service="interfax", poll_seconds=10.0)
    assert store.load_jobs("ifx") == [] and store.history("ifx", job.job_id) == []  # ... none of it stays
    store.save_poll("ifx", [job], [good], at=AT, service="interfax", poll_seconds=10.0)
    assert store.load_jobs("ifx") == [job] and len(store.history("ifx", job.job_id)) == 1
    (record,) = store.account_records(T0)
    assert (record.health, record.last_good_poll, record.poll_seconds) == ("ok", AT, 10.0)
