"""Which FaxStatusEx calls see the most unfinished jobs: a pure plan, no I/O.

One call (`LastTransactionID` = L, `MaxItems` = 100) lists the account's 100 newest transactions
below L. The account's ids are not consecutive integers (other users' faxes take the ids between),
so a window is planned over the ids this account was seen to have: one starting just above a
target job covers it and the next 99 of the account's known ids below it. Covering every target
with the fewest windows is then covering points on a line with intervals of fixed length, which
the greedy sweep from the top solves exactly. Ids the account has that were never seen only make
a window reach less far; what it leaves uncovered is planned again the next round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from faxtui.services.interfax.codes import INTERFAX_ALL_TRANSACTIONS, INTERFAX_MAX_ITEMS

SLACK = 5
"""Items asked beyond the last target's known position: room for ids of the account never seen
between the targets, so that a few of them do not push the last target out of the answer."""


@dataclass(frozen=True, slots=True)
class Window:
    """One call: `last_id` to send as LastTransactionID, `max_items` as MaxItems (just enough to
    reach the last target, with some slack: a smaller answer is cheaper to read), and the target
    ids it is planned to list."""

    last_id: int
    max_items: int
    targets: tuple[int, ...]


def plan_windows(
    known_ids: Iterable[int], targets: Sequence[int], max_items: int = INTERFAX_MAX_ITEMS
) -> list[Window]:
    """The fewest windows covering every target, most urgent first.

    `known_ids`: the account's transaction ids seen so far; `targets`: the ids to see, most urgent
    first (they need not be among `known_ids`). A window is as urgent as its most urgent target.
    """
    if not targets:
        return []
    ids = sorted(set(known_ids).union(targets), reverse=True)
    position = {tid: n for n, tid in enumerate(ids)}
    urgency = {tid: n for n, tid in reversed(list(enumerate(targets)))}
    pending = sorted(urgency, reverse=True)
    windows: list[Window] = []
    n = 0
    while n < len(pending):
        top = pending[n]
        reach = position[top] + max_items
        covered: list[int] = []
        while n < len(pending) and position[pending[n]] < reach:
            covered.append(pending[n])
            n += 1
        span = position[covered[-1]] - position[top] + 1
        windows.append(Window(min(top + 1, INTERFAX_ALL_TRANSACTIONS), min(max_items, span + SLACK),
                              tuple(covered)))
    windows.sort(key=lambda window: min(urgency[tid] for tid in window.targets))
    return windows


def settled(
    window: Window, listed: Iterable[int], items: int, max_items: int = INTERFAX_MAX_ITEMS
) -> tuple[set[int], set[int]]:
    """After a window's call: (targets it listed, targets it shows the service no longer has).

    A target not listed is gone when the answer reached below it (an id listed under it, or a
    short page: everything below `last_id` was listed) and every item of it could be read;
    otherwise the window fell short of it (unseen ids of the account came first) or one of its
    unreadable items may be it, and it waits for the next plan.
    """
    seen = set(listed)
    found = {tid for tid in window.targets if tid in seen}
    if items > len(seen):  # an item it could not read may be any target: none is gone
        return found, set()
    lowest = min(seen, default=window.last_id)
    complete = items < window.max_items
    gone = {tid for tid in window.targets if tid not in seen and (complete or lowest < tid)}
    return found, gone
