"""The simulated fax world: accounts, jobs placed in time, arrivals, and the ground-truth log.

The world evolves lazily: every read first calls `advance_to_now()`, which replays, in time
order, every event due up to `clock.now()` (job state changes and new arrivals) from one heap.
Jobs' lives are planned at creation, so what a read sees depends only on the time it is read at.
All access goes through one lock.
"""

from __future__ import annotations

import heapq
import hmac
import itertools
import math
import random
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from faxtui.sim import catalog
from faxtui.sim.clock import FakeClock, RealClock, SimClock
from faxtui.sim.demo import Script, add_demo_accounts
from faxtui.sim.jobs import ConcordJob, InterfaxJob, draft_concord_job, draft_interfax_group
from faxtui.sim.lives import CcdFrame, IfxFrame, Outcome
from faxtui.sim.options import FIXED_AFTER_START, LastIdMode, SimOptions
from faxtui.sim.status_tables import concord_text, interfax_text

JRI_PREFIX = "JRI-"
PRUNE_EVERY = 256
"""Arrivals between two sweeps for jobs past `SimOptions.retention_days`."""
Service = Literal["interfax", "concord"]


@dataclass(frozen=True, slots=True)
class TruthRecord:
    """One state change the world made: a job appeared (old_status None) or its status/state moved."""

    at: datetime
    service: Service
    account: str
    job_id: str
    old_status: int | None
    new_status: int
    old_state: str | None
    new_state: str
    trials: int | None
    pages: int
    old_phase: str | None = None
    """The simulator's finer reading of the status (status_tables.Phase): e.g. "held" for -22."""
    new_phase: str = ""
    new_text: str = ""
    """The status text by the simulator's own table (Concord: without the failure reason)."""
    reason: str | None = None
    """Concord: why a job failed (what "Job Failed: <reason>" adds); None otherwise."""

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.at.isoformat().replace("+00:00", "Z"),
            "service": self.service,
            "account": self.account,
            "job_id": self.job_id,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "old_state": self.old_state,
            "new_state": self.new_state,
            "trials": self.trials,
            "pages": self.pages,
            "old_phase": self.old_phase,
            "new_phase": self.new_phase,
            "new_text": self.new_text,
            "reason": self.reason,
        }


@dataclass(eq=False)
class InterfaxAccount:
    username: str
    password: str = field(repr=False)
    sender_csid: str
    rng: random.Random = field(repr=False)
    arrivals: bool = True
    jobs: dict[int, InterfaxJob] = field(default_factory=dict, repr=False)
    ids: list[int] = field(default_factory=list, repr=False)
    """Transaction ids, ascending (ids only ever grow, so arrivals append)."""


@dataclass(eq=False)
class ConcordAccount:
    user_id: str
    pin: str = field(repr=False)
    rng: random.Random = field(repr=False)
    arrivals: bool = True
    jobs: dict[str, ConcordJob] = field(default_factory=dict, repr=False)
    order: list[str] = field(default_factory=list, repr=False)
    """Job ids, oldest first."""
    by_reference: dict[str, list[ConcordJob]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, eq=False)
class OAuthClient:
    client_id: str
    secret: str = field(repr=False)
    user_ids: frozenset[str]


class _JobEvent:
    __slots__ = ("job", "pos")

    def __init__(self, job: InterfaxJob | ConcordJob, pos: int) -> None:
        self.job = job
        self.pos = pos


class _Arrival:
    __slots__ = ("account",)

    def __init__(self, account: InterfaxAccount | ConcordAccount) -> None:
        self.account = account


def _stable_rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def concord_job_id(number: int) -> str:
    return f"br001h{number:010x}"


class World:
    """Accounts and their jobs, evolving with `clock`. Same seed + same clock steps -> same world."""

    def __init__(self, options: SimOptions | None = None, clock: SimClock | None = None) -> None:
        self.options = options if options is not None else SimOptions()
        self.clock: SimClock = clock if clock is not None else RealClock(self.options.speed)
        self._lock = threading.RLock()
        self._now: float = math.floor(self.clock.now().timestamp())
        self._heap: list[tuple[int, int, _JobEvent | _Arrival]] = []
        self._seq = itertools.count()
        self._rng = _stable_rng("faxtui-sim", self.options.seed)
        self._ifx_low = self.options.interfax_id_base  # next id for backfill, counting down
        self._ifx_high = self.options.interfax_id_base  # last id given to an arrival, counting up
        self._started_with = self.options
        self._ccd_high = self._rng.randrange(0x2000000000, 0x6000000000)
        self._ccd_low = self._ccd_high
        self._interfax: dict[str, InterfaxAccount] = {}
        self._concord: dict[str, ConcordAccount] = {}
        self._clients: dict[str, OAuthClient] = {}
        self._static_tokens: dict[str, str] = {}
        self._arrivals = itertools.count(1)
        self._truth: list[TruthRecord] = []
        self._truth_times: list[float] = []
        if self.options.demo_accounts:
            add_demo_accounts(self)

    def __repr__(self) -> str:
        return f"World(seed={self.options.seed}, clock={self.clock!r})"

    # --- options ------------------------------------------------------------------------

    def set_options(self, changes: dict[str, Any] | None = None, /, **more: Any) -> SimOptions:
        """Change options of the running world (and of its server's services, which read
        `world.options` on every request): JSON or text values, as `SimOptions.with_changes`.
        `ValueError` for a bad value; `PermissionError` for one of `FIXED_AFTER_START`."""
        wanted = {**(changes or {}), **more}
        with self._lock:
            new = self.options.with_changes(wanted)
            fixed = sorted(n for n in FIXED_AFTER_START if getattr(new, n) != getattr(self.options, n))
            if fixed:
                raise PermissionError(f"{', '.join(fixed)} cannot change once the world exists")
            self.options = new
            return new

    def reset_options(self) -> SimOptions:
        """Back to the options the world was created with."""
        with self._lock:
            self.options = self._started_with
            return self.options

    # --- time ---------------------------------------------------------------------------

    def advance_to_now(self) -> datetime:
        """Apply every event due up to `clock.now()`; return the world's time."""
        with self._lock:
            self._advance()
            return self.now

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    @property
    def fake_clock(self) -> FakeClock | None:
        return self.clock if isinstance(self.clock, FakeClock) else None

    def _advance(self) -> None:
        now = max(self._now, self.clock.now().timestamp())
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, event = heapq.heappop(heap)
            if isinstance(event, _Arrival):
                self._arrive(event.account, at)
            else:
                self._job_event(event, at)
        self._now = now

    def _push(self, at: int, event: _JobEvent | _Arrival) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), event))

    # --- truth --------------------------------------------------------------------------

    def _record(self, at: float, job: InterfaxJob | ConcordJob, old_index: int | None,
                new_index: int) -> None:
        new = job.frames[new_index]
        old = job.frames[old_index] if old_index is not None else None
        reason: str | None = None
        if isinstance(job, InterfaxJob):
            service: Service = "interfax"
            job_id = str(job.transaction_id)
            trials: int | None = job.frames[new_index].trials
            text = interfax_text(new.status)
        else:
            service = "concord"
            job_id = job.job_id
            trials = None
            text = concord_text(new.status)
            reason = job.frames[new_index].reason
        record = TruthRecord(
            at=datetime.fromtimestamp(at, UTC),
            service=service,
            account=job.account,
            job_id=job_id,
            old_status=old.status if old is not None else None,
            new_status=new.status,
            old_state=job.state_of(old_index) if old_index is not None else None,
            new_state=job.state_of(new_index),
            trials=trials,
            pages=new.pages,
            old_phase=job.phase_of(old_index) if old_index is not None else None,
            new_phase=job.phase_of(new_index),
            new_text=text,
            reason=reason,
        )
        self._truth.append(record)
        self._truth_times.append(at)
        limit = self.options.truth_limit
        if len(self._truth) > limit + limit // 10:
            del self._truth[: len(self._truth) - limit]
            del self._truth_times[: len(self._truth_times) - limit]

    def truth(self, since: datetime | None = None) -> list[TruthRecord]:
        """Every recorded state change, in time order; with `since`, only those strictly after it."""
        with self._lock:
            self._advance()
            if since is None:
                return list(self._truth)
            start = bisect_right(self._truth_times, since.timestamp())
            return self._truth[start:]

    def _job_event(self, event: _JobEvent, at: int) -> None:
        job = event.job
        index = job.significant[event.pos]
        self._record(at, job, index - 1 if index > 0 else None, index)
        self._schedule_next(job, event.pos + 1)

    def _schedule_next(self, job: InterfaxJob | ConcordJob, pos: int) -> None:
        if pos < len(job.significant):
            self._push(job.submit + job.offsets[job.significant[pos]], _JobEvent(job, pos))

    def _appear(self, job: InterfaxJob | ConcordJob, at: int) -> None:
        """Record a job's first sighting at `at` and schedule its next change after it."""
        index = job.index_at(at)
        self._record(at, job, None, index)
        pos = bisect_right([job.offsets[s] for s in job.significant], at - job.submit)
        self._schedule_next(job, pos)

    # --- accounts -----------------------------------------------------------------------

    def add_interfax_account(
        self,
        username: str,
        password: str,
        jobs: int = 0,
        *,
        sender_csid: str | None = None,
        arrivals: bool = True,
        scripts: Sequence[Script] = (),
    ) -> None:
        """An InterFax user with `jobs` past jobs (at least `len(scripts)` of them placed by script)."""
        if not username:
            raise ValueError("an InterFax account needs a username")
        if jobs < 0:
            raise ValueError("jobs must be >= 0")
        with self._lock:
            self._advance()
            if username in self._interfax:
                raise ValueError(f"InterFax account {username!r} already exists")
            rng = _stable_rng(self.options.seed, "interfax", username)
            csid = sender_csid or f"+1 646 555 01{rng.randrange(0, 100):02d}"
            account = InterfaxAccount(username, password, csid, rng, arrivals)
            self._interfax[username] = account
            self._backfill_interfax(account, jobs, scripts)
            self._schedule_arrival(account, math.floor(self._now))

    def add_concord_account(
        self,
        user_id: str,
        pin: str,
        jobs: int = 0,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        arrivals: bool = True,
        scripts: Sequence[Script] = (),
    ) -> None:
        """A Concord user; `token` is a static bearer token for it, `client_id`/`client_secret` an
        OAuth client whose tokens are valid for it."""
        if not user_id:
            raise ValueError("a Concord account needs a UserID")
        if jobs < 0:
            raise ValueError("jobs must be >= 0")
        if (client_id is None) != (client_secret is None):
            raise ValueError("client_id and client_secret go together")
        with self._lock:
            self._advance()
            if user_id in self._concord:
                raise ValueError(f"Concord account {user_id!r} already exists")
            rng = _stable_rng(self.options.seed, "concord", user_id)
            account = ConcordAccount(user_id, pin, rng, arrivals)
            self._concord[user_id] = account
            if token:
                self._static_tokens[token] = user_id
            if client_id is not None and client_secret is not None:
                existing = self._clients.get(client_id)
                users = (existing.user_ids if existing else frozenset()) | {user_id}
                self._clients[client_id] = OAuthClient(client_id, client_secret, users)
            self._backfill_concord(account, jobs, scripts)
            self._schedule_arrival(account, math.floor(self._now))

    def _schedule_arrival(self, account: InterfaxAccount | ConcordAccount, after: int) -> None:
        mean = self.options.arrival_mean_seconds
        if account.arrivals and mean > 0:
            gap = max(1, round(account.rng.expovariate(1.0 / mean)))
            self._push(after + gap, _Arrival(account))

    def _backfill_gap(self, rng: random.Random) -> int:
        mean = self.options.arrival_mean_seconds or 30.0
        return max(1, round(rng.expovariate(1.0 / mean)))

    # --- InterFax jobs ------------------------------------------------------------------

    def _draft_group(
        self, account: InterfaxAccount, size: int, year: int, outcome: Outcome | None = None,
        postpone_after: int | None = None, every: bool = False,
    ) -> list[InterfaxJob]:
        options = self.options
        return draft_interfax_group(
            account.rng, account.username, account.sender_csid, size, year, outcome, postpone_after,
            every=every, retry_wait=(options.interfax_retry_wait_min, options.interfax_retry_wait_max),
        )

    def _random_group(self, account: InterfaxAccount, remaining: int, year: int) -> list[InterfaxJob]:
        rng = account.rng
        size = min(remaining, rng.randint(3, 6)) if rng.random() < 0.08 else 1
        postpone = rng.randint(600, 7200) if rng.random() < 0.05 else None
        return self._draft_group(account, size, year, postpone_after=postpone)

    def _backfill_interfax(self, account: InterfaxAccount, count: int, scripts: Sequence[Script]) -> None:
        now = math.floor(self._now)
        year = self.now.year
        rng = account.rng
        groups: list[list[InterfaxJob]] = []
        remaining = count
        for script in scripts:
            if remaining <= 0:
                break
            size = min(script.size, remaining)

            def draft(s: Script, size: int = size) -> list[InterfaxJob]:
                return self._draft_group(account, size, year, s.outcome, s.postpone_after, s.every)

            group = self._place(rng, now, script, draft)
            groups.append(group)
            remaining -= len(group)
        t = now - rng.randint(20, 240)
        while remaining > 0:
            group = self._random_group(account, remaining, year)
            for job in group:
                job.submit = t
            groups.append(group)
            remaining -= len(group)
            t -= self._backfill_gap(rng)
        groups.sort(key=lambda g: g[0].submit, reverse=True)
        if self._ifx_low - 4 * count < 1:
            del self._interfax[account.username]
            raise ValueError(f"{count} more InterFax jobs do not fit below TransactionID {self._ifx_low}: "
                             "raise interfax_id_base")
        for group in groups:
            first = self._ifx_low - len(group) + 1
            for offset, job in enumerate(group):
                job.transaction_id = first + offset
                job.parent_id = first
            self._ifx_low = first - 1 - self._rng.randint(0, 3)
        for group in reversed(groups):
            for job in group:
                self._add_interfax_job(account, job)
                self._appear(job, now)

    def _add_interfax_job(self, account: InterfaxAccount, job: InterfaxJob) -> None:
        account.jobs[job.transaction_id] = job
        ids = account.ids
        if not ids or job.transaction_id > ids[-1]:
            ids.append(job.transaction_id)
        else:
            ids.insert(bisect_left(ids, job.transaction_id), job.transaction_id)

    def _place(
        self,
        rng: random.Random,
        now: int,
        script: Script,
        draft: Callable[[Script], list[Any]],
    ) -> list[Any]:
        """Draft a job until its lead's life has the scripted phase, then set its submit time so
        that `now` falls inside that phase."""
        group: list[Any] = []
        for _ in range(40):
            group = draft(script)
            lead = group[0]
            frames = lead.frames
            if script.phase is None:
                submit = now - frames[-1].at - rng.randint(*script.ago)
                break
            spans = [
                i for i in range(len(frames) - 1)
                if script.phase(frames[i]) and frames[i + 1].at > frames[i].at
            ]
            if spans:
                i = rng.choice(spans)
                submit = now - frames[i].at - rng.randrange(0, frames[i + 1].at - frames[i].at)
                break
        else:
            submit = now - rng.randint(3600, 7200)
        for job in group:
            job.submit = submit
        return group

    def _arrive(self, account: InterfaxAccount | ConcordAccount, at: int) -> None:
        year = datetime.fromtimestamp(at, UTC).year
        if isinstance(account, InterfaxAccount):
            group = self._random_group(account, 6, year)
            first = self._ifx_high + 1 + self._rng.randint(0, 3)
            if first + len(group) - 1 > self.options.interfax_id_max:
                return  # TransactionIDs are used up (xs:int): no more InterFax arrivals
            for offset, job in enumerate(group):
                job.submit = at
                job.transaction_id = first + offset
                job.parent_id = first
                self._add_interfax_job(account, job)
                self._appear(job, at)
            self._ifx_high = first + len(group) - 1
        else:
            cjob = draft_concord_job(account.rng, account.user_id, self._next_reference(account, year))
            cjob.submit = at
            self._ccd_high += 1 + self._rng.randint(0, 40)
            self._add_concord_job(account, cjob, self._ccd_high)
            self._appear(cjob, at)
        self._schedule_arrival(account, at)
        if self.options.retention_days > 0 and next(self._arrivals) % PRUNE_EVERY == 0:
            self._prune(at, at - self.options.retention_days * 86400)

    def _prune(self, now: int, cutoff: float) -> None:
        """Drop jobs submitted before `cutoff` and finished by `now`, in every account. Ids grow
        with submit time, so the scan stops at the first job young enough to keep."""
        for ifx in self._interfax.values():
            gone: set[int] = set()
            for txid in ifx.ids:
                job = ifx.jobs[txid]
                if job.submit >= cutoff:
                    break
                if job.frames[job.index_at(now)].final:
                    gone.add(txid)
                    del ifx.jobs[txid]
            if gone:
                ifx.ids = [i for i in ifx.ids if i not in gone]
        for ccd in self._concord.values():
            dropped: set[str] = set()
            for job_id in ccd.order:
                cjob = ccd.jobs[job_id]
                if cjob.submit >= cutoff:
                    break
                if cjob.frames[cjob.index_at(now)].final:
                    dropped.add(job_id)
                    del ccd.jobs[job_id]
                    same_ref = ccd.by_reference[cjob.reference]
                    same_ref.remove(cjob)
                    if not same_ref:
                        del ccd.by_reference[cjob.reference]
            if dropped:
                ccd.order = [j for j in ccd.order if j not in dropped]

    # --- Concord jobs -------------------------------------------------------------------

    def _next_reference(self, account: ConcordAccount, year: int) -> str:
        rng = account.rng
        recent = account.order[-10:]
        if recent and rng.random() < 0.15:
            return account.jobs[rng.choice(recent)].reference
        return catalog.random_reference(rng, year)

    def _backfill_concord(self, account: ConcordAccount, count: int, scripts: Sequence[Script]) -> None:
        now = math.floor(self._now)
        year = self.now.year
        rng = account.rng
        jobs: list[ConcordJob] = []
        for script in scripts[:count]:
            reference = script.reference or catalog.random_reference(rng, year)

            def draft(s: Script, reference: str = reference) -> list[ConcordJob]:
                return [draft_concord_job(rng, account.user_id, reference, s.outcome)]

            jobs.extend(self._place(rng, now, script, draft))
        t = now - rng.randint(20, 240)
        references: list[str] = [job.reference for job in jobs]
        while len(jobs) < count:
            if references and rng.random() < 0.15:
                reference = rng.choice(references[-10:])
            else:
                reference = catalog.random_reference(rng, year)
            references.append(reference)
            job = draft_concord_job(rng, account.user_id, reference)
            job.submit = t
            jobs.append(job)
            t -= self._backfill_gap(rng)
        jobs.sort(key=lambda j: j.submit, reverse=True)
        numbers = []
        for _ in jobs:
            numbers.append(self._ccd_low)
            self._ccd_low -= 1 + self._rng.randint(0, 40)
        for job, number in reversed(list(zip(jobs, numbers, strict=True))):
            self._add_concord_job(account, job, number)
            self._appear(job, now)

    def _add_concord_job(self, account: ConcordAccount, job: ConcordJob, number: int) -> None:
        job.number = number
        job.job_id = concord_job_id(number)
        account.jobs[job.job_id] = job
        account.order.append(job.job_id)
        account.by_reference.setdefault(job.reference, []).append(job)

    # --- reads for the services ---------------------------------------------------------

    def interfax_authenticate(self, username: str, password: str) -> bool:
        with self._lock:
            account = self._interfax.get(username)
        return account is not None and hmac.compare_digest(account.password.encode(), password.encode())

    def interfax_page(
        self, username: str, last_id: int, limit: int, mode: LastIdMode = "strict"
    ) -> tuple[list[tuple[InterfaxJob, IfxFrame]], int]:
        """Up to `limit` of the user's jobs with TransactionID < last_id, newest first, and the
        user's total job count. `mode` "inclusive" takes <= last_id; "ignore" the newest jobs."""
        with self._lock:
            self._advance()
            account = self._interfax[username]
            ids = account.ids
            if mode == "ignore":
                high = len(ids)
            elif mode == "inclusive":
                high = bisect_right(ids, last_id)
            else:
                high = bisect_left(ids, last_id)
            low = max(0, high - max(0, limit))
            now = self._now
            items = [(account.jobs[i], account.jobs[i].frame_at(now)) for i in reversed(ids[low:high])]
            return items, len(ids)

    def concord_check_pin(self, user_id: str, pin: str) -> bool:
        with self._lock:
            account = self._concord.get(user_id)
        if account is None or not account.pin:
            return False
        return hmac.compare_digest(account.pin.encode(), pin.encode())

    def concord_has_user(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._concord

    def static_token_user(self, token: str) -> str | None:
        with self._lock:
            tokens = list(self._static_tokens.items())
        for known, user in tokens:
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        return None

    def oauth_client_users(self, client_id: str, secret: str) -> frozenset[str] | None:
        with self._lock:
            client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return None
        return client.user_ids

    def concord_lookup(
        self, user_id: str, requested: Sequence[str]
    ) -> list[tuple[str, ConcordJob | None, CcdFrame | None]]:
        """Each requested id with the job it names (a br… id, or JRI-<ref>: the most recent job
        with that ReferenceId) and its current frame; None for an unknown id."""
        with self._lock:
            self._advance()
            account = self._concord[user_id]
            now = self._now
            out: list[tuple[str, ConcordJob | None, CcdFrame | None]] = []
            for wanted in requested:
                job: ConcordJob | None
                if wanted.startswith(JRI_PREFIX):
                    candidates = account.by_reference.get(wanted[len(JRI_PREFIX):], [])
                    job = max(candidates, key=lambda j: (j.submit, j.number)) if candidates else None
                else:
                    job = account.jobs.get(wanted)
                out.append((wanted, job, job.frame_at(now) if job is not None else None))
            return out

    # --- reads for tests and the control endpoint ---------------------------------------

    def interfax_transaction_ids(self, username: str) -> list[int]:
        """The user's TransactionIDs, newest (highest) first."""
        with self._lock:
            self._advance()
            return list(reversed(self._interfax[username].ids))

    def interfax_jobs(self, username: str) -> list[tuple[InterfaxJob, IfxFrame]]:
        """The user's jobs with their current frames, newest first."""
        with self._lock:
            self._advance()
            account = self._interfax[username]
            return [(account.jobs[i], account.jobs[i].frame_at(self._now)) for i in reversed(account.ids)]

    def concord_job_ids(self, user_id: str) -> list[str]:
        """The user's br… job ids, newest first."""
        with self._lock:
            self._advance()
            return list(reversed(self._concord[user_id].order))

    def concord_jobs(self, user_id: str) -> list[tuple[ConcordJob, CcdFrame]]:
        with self._lock:
            self._advance()
            account = self._concord[user_id]
            return [(account.jobs[j], account.jobs[j].frame_at(self._now)) for j in reversed(account.order)]

    def concord_references(self, user_id: str) -> list[str]:
        """The user's distinct ReferenceIds, most recently used first."""
        with self._lock:
            self._advance()
            seen: dict[str, None] = {}
            account = self._concord[user_id]
            for job_id in reversed(account.order):
                seen.setdefault(account.jobs[job_id].reference, None)
            return list(seen)

    def summary(self) -> dict[str, Any]:
        """What GET /_sim/state reports: time, clock, accounts and job counts by state."""
        with self._lock:
            self._advance()
            now = self._now
            accounts: list[dict[str, Any]] = []
            for ifx in self._interfax.values():
                states: dict[str, int] = {}
                for job in ifx.jobs.values():
                    state = job.state_of(job.index_at(now))
                    states[state] = states.get(state, 0) + 1
                accounts.append({"service": "interfax", "name": ifx.username, "jobs": len(ifx.ids),
                                 "states": dict(sorted(states.items()))})
            for ccd in self._concord.values():
                states = {}
                for cjob in ccd.jobs.values():
                    state = cjob.state_of(cjob.index_at(now))
                    states[state] = states.get(state, 0) + 1
                accounts.append({"service": "concord", "name": ccd.user_id, "jobs": len(ccd.order),
                                 "states": dict(sorted(states.items()))})
            return {
                "time": self.now.isoformat().replace("+00:00", "Z"),
                "clock": "fake" if isinstance(self.clock, FakeClock) else "real",
                "speed": self.options.speed,
                "seed": self.options.seed,
                "accounts": accounts,
                "jobs": sum(a["jobs"] for a in accounts),
                "truth_records": len(self._truth),
            }
