"""Job lives: the whole future of one fax, planned at submission as a list of timed frames.

A life is fixed when the job is created (from the job's own RNG), so the state at any moment is
a pure function of the time: `frames[bisect(offsets, now - submit) - 1]`. That is what makes a
seeded world reproducible however often, or rarely, it is read.

InterFax: pre-processing (-11/-1) -> ready (-2) [-> held for credit (-22)] -> sending (-3,
PagesSent rising) -> 0 delivered or a final failure code. Busy / no answer attempts keep -3
with TrialsPerformed rising until RetriesToPerform attempts are used up (interfax.md §4.1).
Concord: 3 (processing, RecipientCurrentPageCount rising) -> 1 succeeded or 2 failed.
"""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

Outcome = Literal[
    "delivered",
    "delivered_after_retry",
    "busy",
    "no_answer",
    "incompatible",
    "not_operational",
    "cancelled",
    "held_then_sent",
    "held_expired",
    "render_error",
]

OUTCOME_WEIGHTS: dict[Outcome, int] = {
    "delivered": 62,
    "delivered_after_retry": 10,
    "busy": 6,
    "no_answer": 6,
    "incompatible": 4,
    "not_operational": 3,
    "cancelled": 3,
    "held_then_sent": 2,
    "held_expired": 1,
    "render_error": 3,
}

Attempt = Literal["ok", "busy", "no_answer", "incompatible", "not_operational"]

_MISSES: tuple[Attempt, ...] = ("busy", "no_answer")
BUSY_CODES = (6017, 3931, 263, 8025)
NO_ANSWER_CODES = (8021, 6018, 3935)
INCOMPATIBLE_CODES = (3211, 3220, 3268)
NOT_OPERATIONAL_CODES = (3912, 6001, 3938)
RENDER_CODES = (204000, 204001)
HELD_EXPIRED = 205000
CANCELLED = 403
HELD_HOURS = 24

CONCORD_REASONS: dict[str, str] = {
    "busy": "Busy",
    "no_answer": "No answer",
    "incompatible": "Fax machine incompatibility",
    "not_operational": "Phone number not operational",
    "cancelled": "Cancelled",
    "render_error": "Document conversion failed",
    "held_expired": "Job expired",
}


class IfxFrame(NamedTuple):
    """An InterFax job's dynamic fields from `at` seconds after submission on."""

    at: int
    status: int
    pages: int
    trials: int
    duration: int
    connected: bool
    final: bool


class CcdFrame(NamedTuple):
    """A Concord job's dynamic fields from `at` seconds after submission on."""

    at: int
    status: int
    pages: int
    duration: int
    connected: bool
    final: bool
    reason: str | None


def pick_outcome(rng: random.Random) -> Outcome:
    names = list(OUTCOME_WEIGHTS)
    return rng.choices(names, weights=[OUTCOME_WEIGHTS[n] for n in names])[0]


def attempt_plan(rng: random.Random, outcome: Outcome, attempts_allowed: int) -> list[Attempt]:
    """The result of every transmission attempt the job will make."""
    if outcome in ("delivered", "held_then_sent"):
        return ["ok"]
    if outcome == "delivered_after_retry":
        misses = rng.randint(1, max(1, attempts_allowed - 1))
        return [rng.choice(_MISSES) for _ in range(misses)] + ["ok"]
    if outcome == "busy":
        return ["busy"] * attempts_allowed
    if outcome == "no_answer":
        return ["no_answer"] * attempts_allowed
    if outcome == "incompatible":
        plan: list[Attempt] = ["busy"] * rng.randint(0, min(1, attempts_allowed - 1))
        return [*plan, "incompatible"]
    if outcome == "not_operational":
        return ["not_operational"]
    return []


class _Timeline:
    """Accumulates frames while a life is planned."""

    def __init__(self) -> None:
        self.t = 0
        self.ifx: list[IfxFrame] = []

    def add(self, status: int, pages: int = 0, trials: int = 0, duration: int = 0,
            connected: bool = False, final: bool = False) -> None:
        self.ifx.append(IfxFrame(self.t, status, pages, trials, duration, connected, final))


def interfax_life(
    rng: random.Random,
    outcome: Outcome,
    pages_total: int,
    attempts_allowed: int,
    fine: bool,
    postpone_after: int | None = None,
    preprocess: tuple[int, int] | None = None,
    retry_wait: tuple[int, int] = (120, 420),
) -> list[IfxFrame]:
    """Plan one InterFax job. `preprocess` = (seconds at -11, seconds at -1), shared by a broadcast;
    `retry_wait` = the range of seconds before each retry."""
    tl = _Timeline()
    pre11, pre1 = preprocess if preprocess is not None else preprocessing_times(rng)
    if pre11:
        tl.add(-11)
        tl.t += pre11
    tl.add(-1)
    tl.t += pre1
    if outcome == "render_error":
        tl.add(rng.choice(RENDER_CODES), final=True)
        return tl.ifx
    if outcome in ("held_then_sent", "held_expired"):
        tl.add(-22)
        if outcome == "held_expired":
            tl.t += HELD_HOURS * 3600
            tl.add(HELD_EXPIRED, final=True)
            return tl.ifx
        tl.t += rng.randint(300, 2400)
    tl.add(-2)
    if postpone_after is not None and postpone_after > tl.t:
        tl.t = postpone_after
    else:
        tl.t += rng.randint(2, 20)
    if outcome == "cancelled":
        tl.t += rng.randint(30, 600)
        tl.add(CANCELLED, final=True)
        return tl.ifx
    trials = 0
    plan = attempt_plan(rng, outcome, attempts_allowed)
    page_seconds = (25, 55) if fine else (12, 32)
    for index, result in enumerate(plan):
        last = index == len(plan) - 1
        tl.add(-3, trials=trials)
        if result in ("busy", "no_answer"):
            tl.t += rng.randint(4, 12) if result == "busy" else rng.randint(40, 65)
            trials += 1
            codes = BUSY_CODES if result == "busy" else NO_ANSWER_CODES
            if last:
                tl.add(rng.choice(codes), trials=trials, final=True)
            else:
                tl.add(-3, trials=trials)
                tl.t += rng.randint(*retry_wait)
            continue
        if result == "not_operational":
            tl.t += rng.randint(3, 9)
            tl.add(rng.choice(NOT_OPERATIONAL_CODES), trials=trials + 1, final=True)
            return tl.ifx
        call_start = tl.t
        tl.t += rng.randint(8, 20)
        tl.add(-3, trials=trials, connected=True)
        stop_after = pages_total if result == "ok" else rng.randint(0, max(0, pages_total - 1))
        for page in range(1, stop_after + 1):
            tl.t += rng.randint(*page_seconds)
            tl.add(-3, pages=page, trials=trials, connected=True)
        tl.t += rng.randint(2, 6)
        trials += 1
        if result == "ok":
            code = 0
        else:  # 3268 is "after page break": only once a page went through
            code = rng.choice(INCOMPATIBLE_CODES if stop_after else INCOMPATIBLE_CODES[:2])
        tl.add(code, pages=stop_after, trials=trials, duration=tl.t - call_start, connected=True, final=True)
        return tl.ifx
    return tl.ifx


def preprocessing_times(rng: random.Random) -> tuple[int, int]:
    """Seconds spent at -11 (often none) and at -1."""
    return (rng.randint(1, 4) if rng.random() < 0.4 else 0, rng.randint(3, 12))


def concord_life(
    rng: random.Random, outcome: Outcome, pages_total: int, attempts_allowed: int = 3
) -> list[CcdFrame]:
    """Plan one Concord job: 3 while queued and sending, then 1 or 2."""
    frames: list[CcdFrame] = []
    t = 0

    def add(status: int, pages: int = 0, duration: int = 0, connected: bool = False,
            final: bool = False, reason: str | None = None) -> None:
        frames.append(CcdFrame(t, status, pages, duration, connected, final, reason))

    add(3)
    t += rng.randint(5, 40)
    if outcome in ("render_error", "cancelled", "held_expired"):
        t += rng.randint(0, 300)
        add(2, final=True, reason=CONCORD_REASONS[outcome])
        return frames
    plan = attempt_plan(rng, outcome, attempts_allowed)
    for index, result in enumerate(plan):
        if result in ("busy", "no_answer"):
            t += rng.randint(4, 12) if result == "busy" else rng.randint(40, 65)
            if index == len(plan) - 1:
                add(2, final=True, reason=CONCORD_REASONS[result])
                return frames
            t += rng.randint(120, 420)
            continue
        if result == "not_operational":
            t += rng.randint(3, 9)
            add(2, final=True, reason=CONCORD_REASONS[result])
            return frames
        call_start = t
        t += rng.randint(8, 20)
        add(3, connected=True)
        stop_after = pages_total if result == "ok" else rng.randint(0, max(0, pages_total - 1))
        for page in range(1, stop_after + 1):
            t += rng.randint(12, 32)
            add(3, pages=page, connected=True)
        t += rng.randint(2, 6)
        if result == "ok":
            add(1, pages=stop_after, duration=t - call_start, connected=True, final=True)
        else:
            add(2, pages=stop_after, duration=t - call_start, connected=True, final=True,
                reason=CONCORD_REASONS[result])
        return frames
    return frames
