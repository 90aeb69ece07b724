"""The window planner on its own: the fewest FaxStatusEx calls that list every unfinished job."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faxtui.services.interfax.windows import SLACK, Window, plan_windows, settled


def listed_by(window: Window, account_ids: list[int]) -> list[int]:
    """What the service lists for a window: the account's newest ids below `last_id`."""
    return sorted((i for i in account_ids if i < window.last_id), reverse=True)[:window.max_items]


def test_a_block_of_unfinished_jobs_is_one_call_not_one_each() -> None:
    ids = list(range(1000, 1500))  # a broadcast: 500 consecutive transactions
    targets = ids[::8][:60]  # 60 of them retrying busy numbers
    windows = plan_windows(ids, targets)
    assert len(windows) == 5  # 500 ids / 100 per call, not 60 calls
    assert sorted(t for w in windows for t in w.targets) == sorted(targets)


def test_windows_count_the_accounts_own_transactions_not_integers() -> None:
    ids = list(range(10_000, 60_000, 50))  # other users' faxes take the ids between
    targets = [ids[0], ids[99], ids[100]]  # 10,000, 14,950, 15,000: 100 transactions span 4,950 ids
    windows = plan_windows(ids, targets)
    assert sorted(w.targets for w in windows) == [(10_000,), (15_000, 14_950)]
    for window in windows:
        assert set(window.targets) <= set(listed_by(window, ids))


def test_the_most_urgent_target_goes_first() -> None:
    ids = list(range(1, 1001))
    windows = plan_windows(ids, [5, 900, 500])
    assert [w.targets for w in windows] == [(5,), (900,), (500,)]
    assert windows[0].last_id == 6  # just above the target: it is the first item listed
    assert windows[0].max_items == 1 + SLACK  # a lone target needs no page of 100


def test_nothing_to_cover_is_no_call() -> None:
    assert plan_windows(range(100), []) == []


@given(st.data())
def test_every_target_is_covered_by_a_minimal_number_of_windows(data: st.DataObject) -> None:
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    ids = sorted(rng.sample(range(1, 100_000), data.draw(st.integers(1, 1500))))
    targets = rng.sample(ids, data.draw(st.integers(0, min(300, len(ids)))))
    windows = plan_windows(ids, targets)
    for window in windows:  # each lists what it was planned for, when the service has just these ids
        assert set(window.targets) <= set(listed_by(window, ids))
    assert sorted(t for w in windows for t in w.targets) == sorted(targets)
    # The lower bound: any call lists at most 100 consecutive ids of the account, so the targets'
    # positions need at least this many calls; greedy from the top meets it.
    position = {tid: n for n, tid in enumerate(sorted(ids, reverse=True))}
    marks = sorted(position[t] for t in targets)
    needed, reach = 0, -1
    for mark in marks:
        if mark > reach:
            needed, reach = needed + 1, mark + 99
    assert len(windows) == needed


@pytest.mark.parametrize(
    ("listed", "items", "max_items", "found", "gone"),
    [
        ([110, 105, 100, 95], 4, 100, {105, 100}, {108}),  # a short page lists all: 108 is gone
        ([110, 109, 107], 3, 3, set(), {108}),  # a full page listed below it: 108 is gone
        ([110, 109, 108], 3, 3, {108}, set()),  # fell short above 105 and 100: they wait
        ([110, 109, 95], 4, 100, set(), set()),  # one item unreadable: it may be any of them, none is gone
    ],
)
def test_after_a_call_a_target_is_found_gone_or_still_to_see(
    listed: list[int], items: int, max_items: int, found: set[int], gone: set[int]
) -> None:
    window = Window(111, max_items, (108, 105, 100))
    assert settled(window, listed, items) == (found, gone)
