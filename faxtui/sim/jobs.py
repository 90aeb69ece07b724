"""Simulated jobs of both services: static fields drawn once, a planned life, and the state at a time.

Jobs are drafted with lives relative to submission (`submit` = 0); the world then places them in
time and gives them ids.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal

from faxtui.sim import catalog
from faxtui.sim.lives import (
    CcdFrame,
    IfxFrame,
    Outcome,
    concord_life,
    interfax_life,
    pick_outcome,
    preprocessing_times,
)
from faxtui.sim.status_tables import concord_phase, concord_state, interfax_phase, interfax_state

PAGE_COUNTS = (1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 12, 20)


@dataclass(slots=True, eq=False)
class InterfaxJob:
    """One FaxItemEx's worth of job: static fields plus its planned frames."""

    account: str
    frames: tuple[IfxFrame, ...]
    destination: catalog.Destination
    contact: str
    subject: str
    reply_email: str | None
    sender_csid: str
    remote_csid: str
    priority: int
    pages_submitted: int
    orientation: str
    resolution: str
    rendering: str
    page_header: str | None
    retries: int
    postpone_after: int | None = None
    submit: int = 0
    transaction_id: int = 0
    parent_id: int = 0
    offsets: tuple[int, ...] = field(init=False)
    significant: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.offsets = tuple(f.at for f in self.frames)
        self.significant = _significant(
            [(f.status, interfax_state(f.status, f.trials)) for f in self.frames]
        )

    def index_at(self, now: float) -> int:
        return max(0, bisect_right(self.offsets, now - self.submit) - 1)

    def frame_at(self, now: float) -> IfxFrame:
        return self.frames[self.index_at(now)]

    def state_of(self, index: int) -> str:
        """The job's state at frame `index`, by the simulator's own table (status_tables)."""
        frame = self.frames[index]
        return interfax_state(frame.status, frame.trials)

    def phase_of(self, index: int) -> str:
        frame = self.frames[index]
        return interfax_phase(frame.status, frame.trials)

    @property
    def cost_per_unit(self) -> Decimal:
        return self.destination.cost_per_unit

    @property
    def postpone(self) -> int | None:
        return None if self.postpone_after is None else self.submit + self.postpone_after


@dataclass(slots=True, eq=False)
class ConcordJob:
    """One Concord job (one recipient): its reference, page count and planned frames."""

    account: str
    frames: tuple[CcdFrame, ...]
    reference: str
    pages_total: int
    remote_csid: str
    submit: int = 0
    number: int = 0
    job_id: str = ""
    offsets: tuple[int, ...] = field(init=False)
    significant: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.offsets = tuple(f.at for f in self.frames)
        self.significant = _significant([(f.status, concord_state(f.status)) for f in self.frames])

    def index_at(self, now: float) -> int:
        return max(0, bisect_right(self.offsets, now - self.submit) - 1)

    def frame_at(self, now: float) -> CcdFrame:
        return self.frames[self.index_at(now)]

    def state_of(self, index: int) -> str:
        """The job's state at frame `index`, by the simulator's own table (status_tables)."""
        return concord_state(self.frames[index].status)

    def phase_of(self, index: int) -> str:
        return concord_phase(self.frames[index].status)


def _significant(keys: list[tuple[int, str]]) -> tuple[int, ...]:
    """Indexes of frames whose (status, state) differs from the frame before: the truth events."""
    return tuple(i for i, key in enumerate(keys) if i == 0 or key != keys[i - 1])


def draft_interfax_group(
    rng: random.Random,
    account: str,
    sender_csid: str,
    size: int,
    year: int,
    outcome: Outcome | None = None,
    postpone_after: int | None = None,
    *,
    every: bool = False,
    retry_wait: tuple[int, int] = (120, 420),
) -> list[InterfaxJob]:
    """One submission: a single fax (`size` 1) or a broadcast sharing document and pre-processing.

    `outcome` fixes the first recipient's outcome (every recipient's with `every`); the others draw
    their own. `retry_wait`: see `interfax_life`.
    """
    reference = catalog.random_reference(rng, year) if rng.random() < 0.6 else None
    subject = catalog.subject_for(rng, reference)
    pages = rng.choice(PAGE_COUNTS)
    fine = rng.random() < 0.3
    preprocess = preprocessing_times(rng)
    reply_email = rng.choice(catalog.REPLY_EMAILS)
    priority = rng.choice((0, 0, 0, 0, 1, 2))
    orientation = "Landscape" if rng.random() < 0.15 else "Portrait"
    rendering = "Fine" if rng.random() < 0.2 else "Standard"
    page_header = rng.choice(catalog.PAGE_HEADERS)
    retries = rng.choice((3, 3, 3, 2, 4, 5))
    jobs: list[InterfaxJob] = []
    for index in range(size):
        job_rng = random.Random(rng.getrandbits(64))
        this_outcome = outcome if (outcome is not None and (index == 0 or every)) else pick_outcome(job_rng)
        if size > 1 and this_outcome in ("held_then_sent", "held_expired", "render_error"):
            this_outcome = "delivered"  # credit and rendering concern the whole submission
        destination = catalog.random_destination(job_rng)
        contact = job_rng.choice(catalog.CONTACTS)
        frames = interfax_life(
            job_rng, this_outcome, pages, retries, fine, postpone_after=postpone_after, preprocess=preprocess,
            retry_wait=retry_wait,
        )
        jobs.append(
            InterfaxJob(
                account=account,
                frames=tuple(frames),
                destination=destination,
                contact=contact,
                subject=subject,
                reply_email=reply_email,
                sender_csid=sender_csid,
                remote_csid=catalog.remote_csid(job_rng, contact, destination),
                priority=priority,
                pages_submitted=pages,
                orientation=orientation,
                resolution="Fine" if fine else "Standard",
                rendering=rendering,
                page_header=page_header,
                retries=retries,
                postpone_after=postpone_after,
            )
        )
    return jobs


def draft_concord_job(
    rng: random.Random, account: str, reference: str, outcome: Outcome | None = None
) -> ConcordJob:
    job_rng = random.Random(rng.getrandbits(64))
    this_outcome = outcome if outcome is not None else pick_outcome(job_rng)
    pages = job_rng.choice(PAGE_COUNTS)
    destination = catalog.random_destination(job_rng)
    contact = job_rng.choice(catalog.CONTACTS)
    return ConcordJob(
        account=account,
        frames=tuple(concord_life(job_rng, this_outcome, pages)),
        reference=reference,
        pages_total=pages,
        remote_csid=catalog.remote_csid(job_rng, contact, destination),
    )
