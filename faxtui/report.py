"""`faxtui status` output: the JSON object of DESIGN §2 and a plain aligned table.

The table is written for narrow SSH terminals and pipes: no colour unless stdout is a
terminal and NO_COLOR is unset, every server string cut to one inert line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from faxtui.errors import one_line
from faxtui.jsonio import job_to_json
from faxtui.model import STATE_SYMBOL, AccountStatus, FaxJob, Health, JobState

if TYPE_CHECKING:
    from faxtui.store.interface import AccountRecord

STATE_COLOUR = {
    JobState.QUEUED: "36",
    JobState.SENDING: "34",
    JobState.RETRYING: "33",
    JobState.DELIVERED: "32",
    JobState.FAILED: "31",
    JobState.CANCELLED: "35",
}


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def status_json(
    statuses: Sequence[AccountStatus], jobs: Sequence[FaxJob], watched: set[tuple[str, str]],
    generated_at: datetime,
) -> dict[str, Any]:
    """DESIGN §2: generated_at, accounts[], jobs[] (each with the 27 fields and Concord natives)."""

    def is_watched(job: FaxJob) -> bool:
        return (job.account, job.job_id) in watched or (job.account, job.lookup_id or "") in watched

    return {
        "generated_at": iso(generated_at),
        "accounts": [
            {
                "name": s.name,
                "service": s.service,
                "ok": s.health in (Health.OK, Health.IDLE),
                "error": s.last_error,
                "warning": s.warning if s.last_error is None else None,
                "polled_at": iso(s.last_good_poll) if s.health in (Health.OK, Health.IDLE) else None,
                "latency_ms": None if s.latency_ms is None else round(s.latency_ms, 1),
                "jobs": sum(1 for j in jobs if j.account == s.name),
                "poller": s.polled_by,
            }
            for s in statuses
        ],
        "jobs": [job_to_json(j, watched=is_watched(j)) for j in jobs],
    }


STALE_AFTER_INTERVALS = 3
"""`status --no-poll`: an account whose last good poll is older than this many poll intervals fails."""


@dataclass(frozen=True, slots=True)
class StoreView:
    """One account as the store shows it (`faxtui status --no-poll`), judged at one moment: what
    its poller last wrote, who polls it, and how old its last good poll is."""

    status: AccountStatus
    polled_by: str | None
    """"host:pid" of the live lease holder, None when nobody polls it."""
    poll_seconds: float | None
    """Its poll interval, as its poller last wrote it; None when the store does not say."""
    age_seconds: float | None
    """Seconds since its last good poll; None when it never had one."""

    @property
    def stale(self) -> bool | None:
        """Whether the last good poll is older than STALE_AFTER_INTERVALS intervals (True when there
        never was one); None when the interval is unknown, so freshness cannot be judged."""
        if self.age_seconds is None:
            return True
        if self.poll_seconds is None or self.poll_seconds <= 0:
            return None
        return self.age_seconds > STALE_AFTER_INTERVALS * self.poll_seconds

    @property
    def failing(self) -> bool:
        """What makes `status --no-poll` exit 1: the last poll failed, or the last good one is old."""
        return self.status.last_error is not None or self.stale is True


def _health(record: AccountRecord) -> Health:
    """The health its poller wrote; a store written before health was kept: from the last poll."""
    if not record.health:
        if record.last_error is not None:
            return Health.ERROR
        return Health.OK if record.last_good_poll is not None else Health.PENDING
    try:
        return Health(record.health)
    except ValueError:
        return Health.ERROR


def store_view(record: AccountRecord, jobs: int, now: datetime) -> StoreView:
    """How `status --no-poll` sees an account record of the store at `now` (aware)."""
    good = record.last_good_poll
    status = AccountStatus(
        name=record.account, service=record.service or "unknown", health=_health(record),
        last_good_poll=good, last_error=record.last_error, jobs=jobs,
    )
    age = None if good is None else max(0.0, (now - good).total_seconds())
    return StoreView(status, record.holder, record.poll_seconds, age)


def store_status_json(
    views: Sequence[StoreView], jobs: Sequence[FaxJob], watched: set[tuple[str, str]], generated_at: datetime,
) -> dict[str, Any]:
    """`status --no-poll --json`: the object of `status_json`, each account with, besides, `poller`
    (DESIGN §2: the lease holder, or null), `last_good_poll_age_seconds`,
    `poll_seconds` and `stale` (null: the interval is unknown); `ok` is false when it is stale."""
    data = status_json([v.status for v in views], jobs, watched, generated_at)
    for entry, view in zip(data["accounts"], views, strict=True):
        entry["ok"] = bool(entry["ok"]) and not view.failing
        entry["poller"] = view.polled_by
        entry["last_good_poll_age_seconds"] = None if view.age_seconds is None else round(view.age_seconds, 1)
        entry["poll_seconds"] = view.poll_seconds
        entry["stale"] = view.stale
    return data


def ago(seconds: float) -> str:
    """A short age: 42s, 5m03s, 2h05m, 3d04h."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _store_line(view: StoreView, count: int) -> str:
    """An account's line of `status --no-poll`: its verdict, then who polls it, how old its last
    good poll is and how many jobs the store holds of it."""
    s = view.status
    good = None if view.age_seconds is None else f"last good poll {ago(view.age_seconds)} ago"
    if s.last_error is not None:
        verdict = f"FAILED: {s.last_error}"
    elif good is None:
        verdict = "NO GOOD POLL YET"
    elif view.stale:
        assert view.poll_seconds is not None
        verdict = (f"STALE: {good}, more than {STALE_AFTER_INTERVALS} poll intervals "
                   f"({view.poll_seconds:g} s)")
        good = None
    elif s.health is Health.IDLE:
        verdict = "OK (nothing to watch)"
    elif s.health is Health.OK:
        verdict = "OK"
    else:
        verdict = s.health.value.replace("_", " ")
    if good is not None and view.stale is None:
        good += " (poll interval unknown: freshness not judged)"
    who = f"polled by {view.polled_by}" if view.polled_by else "nobody polls it"
    details = ", ".join(part for part in (who, good, f"{count} jobs") if part)
    service = s.service if s.service != "unknown" else "service unknown"
    return f"{s.name} ({service}): {verdict}; {details}"


_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def dumps_json(data: Any) -> str:
    """JSON for a terminal or a pipe: UTF-8 text kept readable, but every character a terminal could
    act on escaped (json escapes C0 itself; this adds DEL, the C1 controls such as CSI U+009B, and
    the bidirectional overrides), so a server string can never drive the terminal that shows it."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _fit(rows: list[list[str]], width: int, shrinkable: Sequence[tuple[int, int]]) -> list[int]:
    """Column widths: natural widths, then shrink columns (index, minimum), in order, to fit `width`."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for column, minimum in shrinkable:
        excess = sum(widths) + 2 * (len(widths) - 1) - width
        if excess <= 0:
            break
        widths[column] = max(minimum, widths[column] - excess)
    return widths


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def write_table(
    statuses: Sequence[AccountStatus], jobs: Sequence[FaxJob], out: TextIO, *, width: int | None = None,
    views: Mapping[str, StoreView] | None = None,
) -> None:
    """The account lines, then the jobs table. With `views` (`status --no-poll`), an account's line
    says instead who polls it and how old its last good poll is."""
    colour = use_colour(out)
    width = width or shutil.get_terminal_size((100, 24)).columns
    for s in statuses:
        view = views.get(s.name) if views is not None else None
        failed = s.health not in (Health.OK, Health.IDLE)
        if view is not None:
            line = _store_line(view, sum(1 for j in jobs if j.account == s.name))
            failed = view.failing
        elif s.health in (Health.OK, Health.IDLE):
            latency = f"{s.latency_ms:.0f} ms" if s.latency_ms is not None else "-"
            verdict = "OK" if s.health is Health.OK else "OK (nothing to watch)"
            count = sum(1 for j in jobs if j.account == s.name)
            line = f"{s.name} ({s.service}): {verdict}, {latency}, {count} jobs"
            if s.warning:
                line += f"; warning: {s.warning}"
        else:
            line = f"{s.name} ({s.service}): FAILED: {s.last_error or s.health.value}"
        line = one_line(line, 10_000)  # inert before any colour of ours is added
        if colour and failed:
            line = f"\x1b[31m{line}\x1b[0m"
        out.write(line)
        out.write("\n")
    if not jobs:
        return
    out.write("\n")
    header = ["ACCOUNT", "ID", "STATE", "STATUS", "PAGES", "TRIES", "DESTINATION", "SUBJECT"]
    rows = [header]
    for job in jobs:
        item = job.item
        pages = f"{_num(item.PagesSent)}/{_num(item.PagesSubmitted)}"
        tries = f"{_num(item.TrialsPerformed)}/{_num(item.RetriesToPerform)}"
        subject = item.Subject or item.Contact or (job.lookup_id or "")
        rows.append([
            one_line(job.account, 40), one_line(job.job_id, 40),
            f"{STATE_SYMBOL[job.state]} {job.state.value}", one_line(job.status_text, 60), pages, tries,
            one_line(item.DestinationFax or "", 24), one_line(subject, 60),
        ])
    widths = _fit(rows, width, shrinkable=[(7, 8), (3, 12), (6, 8), (0, 8)])
    # Still too wide for the terminal: drop the attempts, then the pages column, rather than wrap.
    for drop in (5, 4):
        if sum(widths) + 2 * (len(widths) - 1) <= width:
            break
        widths[drop] = -1
    for n, row in enumerate(rows):
        cells = [_cell(text, widths[i]).ljust(widths[i]) for i, text in enumerate(row) if widths[i] >= 0]
        if colour and n > 0:
            code = STATE_COLOUR.get(jobs[n - 1].state)
            if code:
                cells[2] = f"\x1b[{code}m{cells[2]}\x1b[0m"
        out.write("  ".join(cells).rstrip() + "\n")
