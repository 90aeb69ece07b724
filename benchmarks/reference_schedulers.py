"""The InterFax schedulers faxtui's is compared with, plugged in through the service adapter seam.

- `naive`: only the newest page, every poll (polled every 10 s: the whole budget on page one).
- `lookups`: faxtui's scheduler before the windows (to 1e9bcd6): the newest page, then each
  watched or unfinished job that fell off it looked up one call each (LastTransactionID = id + 1,
  MaxItems = 1), from the share of the budget the scheduled pages leave, longest unasked first.

Each is an adapter registered under a name of its own (`register()`), so a config account with
`service = "interfax-naive"` or `"interfax-lookups"` polls with it; everything else (the client,
the budget, the poller, the store) is faxtui's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx

from faxtui.budget import CallBudget
from faxtui.config.model import AccountConfig
from faxtui.errors import ProviderError, RateLimited
from faxtui.model import FaxJob
from faxtui.services.adapter import PollContext, PollOutcome, ResolveSecret
from faxtui.services.interfax.adapter import InterFaxAdapter, InterFaxSession
from faxtui.services.interfax.codes import INTERFAX_MAX_ITEMS
from faxtui.services.registry import ADAPTERS

NAIVE = "interfax-naive"
LOOKUPS = "interfax-lookups"


class NaiveSession(InterFaxSession):
    async def poll(self, context: PollContext) -> PollOutcome:
        pages = await self.client.recent(1, INTERFAX_MAX_ITEMS, gate=context.budget)
        return PollOutcome(list(pages.jobs), pages.calls, warnings=pages.warnings)


class LookupSession(InterFaxSession):
    """The look-up scheduler as it was: its share of the budget is the limit less the pages this
    account's poll interval schedules in one window (at least one)."""

    def __init__(
        self, session: InterFaxSession, poll_seconds: float, clock: Callable[[], float], sleep: Any
    ) -> None:
        super().__init__(session.client, session.page_depth)
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._sleep_fn = sleep
        self._share: CallBudget | None = None
        self._lookups = 0
        self._asked: dict[str, float] = {}

    def _spare(self, budget: CallBudget) -> CallBudget:
        if self._share is None:
            pages = math.ceil(budget.window / self._poll_seconds) * self.page_depth
            self._share = CallBudget(
                max(1, budget.limit - pages), budget.window, clock=self._clock, sleep=self._sleep_fn
            )
        return self._share

    async def poll(self, context: PollContext) -> PollOutcome:
        pages = await self.client.recent(
            self.page_depth, INTERFAX_MAX_ITEMS, gate=context.budget
        )
        jobs: dict[str, FaxJob] = {job.job_id: job for job in pages.jobs}
        calls = pages.calls
        confirmed = self._confirmed
        watched = [i for i in context.watched_ids() if i not in jobs and i not in confirmed]
        stale = sorted(
            (
                job.job_id
                for job in context.known_jobs()
                if job.state.is_active
                and job.job_id not in jobs
                and job.job_id not in confirmed
                and job.job_id not in watched
            ),
            key=int,
            reverse=True,
        )
        asked = self._asked
        for gone in set(asked) - set(watched) - set(stale):
            del asked[gone]
        if watched or stale:
            share = self._spare(context.budget)
            order = [(tid, True) for tid in sorted(watched, key=lambda t: asked.get(t, -1.0))]
            order += [(tid, False) for tid in sorted(stale, key=lambda t: asked.get(t, -1.0))]
            for tid, is_watched in order:
                if share.available() <= 0 or not context.budget.try_acquire():
                    break
                share.try_acquire()
                calls += 1
                self._lookups += 1
                asked[tid] = float(self._lookups)
                try:
                    found = await self.client.lookup(int(tid))
                except RateLimited as exc:
                    context.budget.exhaust(exc.retry_after)
                    break
                except ProviderError:
                    break
                if found is not None:
                    jobs[found.job_id] = found
                    if found.state.is_final:
                        confirmed.add(tid)
                elif not is_watched:
                    confirmed.add(tid)
        return PollOutcome(list(jobs.values()), calls, warnings=pages.warnings)


class _Variant(InterFaxAdapter):
    def __init__(
        self, service: str, make: Callable[[InterFaxSession, AccountConfig], InterFaxSession]
    ) -> None:
        self.service = service
        self._make = make

    async def connect(
        self, acc: AccountConfig, http: httpx.AsyncClient, secret: ResolveSecret
    ) -> InterFaxSession:
        return self._make(await super().connect(acc, http, secret), acc)


def register(clock: Callable[[], float], sleep: Any) -> None:
    """Make `interfax-naive` and `interfax-lookups` services of this process (rate budgets on
    `clock` and `sleep`, as the poller's)."""
    ADAPTERS[NAIVE] = _Variant(NAIVE, lambda session, acc: NaiveSession(session.client, 1))
    ADAPTERS[LOOKUPS] = _Variant(
        LOOKUPS, lambda session, acc: LookupSession(session, acc.poll_seconds, clock, sleep)
    )
