"""Turning jobs, times and server strings into display text. No widgets here.

Every string that came from a server goes through `clean()` and ends up in a `rich.text.Text`
(never a markup string), so a Subject like ``"\\x1b[31m[bold]X"`` shows as the characters it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text

from faxtui.model import STATE_SYMBOL, FaxJob, FieldSpec, FieldValue, JobState
from faxtui.services.registry import adapter_for

MAX_FIELD = 200
"""Longest server string shown anywhere; longer ones end in an ellipsis."""

# ESC-introduced sequences (CSI, OSC, DCS/PM/APC strings, two-character escapes): dropped whole.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC / DCS / SOS / PM / APC ... terminator
    r"|\x1b[@-Z\\-_]"  # two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
# Bidirectional overrides and isolates can reorder what the user reads.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def clean(value: object, limit: int = MAX_FIELD) -> str:
    """One inert line from a server string: escape sequences and C0/C1 controls removed.

    Whitespace controls (tab, newline) become single spaces; the result is at most `limit`
    characters, ending in "…" when cut.
    """
    text = str(value)
    if text.isascii() and text.isprintable():  # the usual case: nothing to remove
        line = text if "  " not in text and text.strip() == text else " ".join(text.split())
        return line if len(line) <= limit else line[: max(limit - 1, 0)] + "…"
    text = _ESCAPES.sub("", text)
    out: list[str] = []
    for ch in text:
        if ch in "\t\n\r\v\f":
            out.append(" ")
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            continue
        else:
            out.append(ch)
    line = " ".join("".join(out).split())
    if len(line) > limit:
        line = line[: max(limit - 1, 0)] + "…"
    return line


def inert(value: object, style: str = "", limit: int = MAX_FIELD) -> Text:
    """A server string as a Text that no markup or escape in it can restyle."""
    return Text(clean(value, limit), style=style, no_wrap=False, overflow="fold")


# --- states -------------------------------------------------------------------------------------

# Plain ANSI colour names: they follow the terminal palette in the ansi themes and 16 colours.
STATE_STYLE: dict[JobState, str] = {
    JobState.QUEUED: "",
    JobState.SENDING: "cyan",
    JobState.RETRYING: "yellow",
    JobState.DELIVERED: "green",
    JobState.FAILED: "bold red",
    JobState.CANCELLED: "magenta",
    JobState.NOT_FOUND: "yellow",
    JobState.UNKNOWN: "yellow",
}
STATE_LABEL: dict[JobState, str] = {state: state.value.replace("_", " ") for state in JobState}
STATE_ORDER: dict[JobState, int] = {
    JobState.FAILED: 0,
    JobState.RETRYING: 1,
    JobState.SENDING: 2,
    JobState.QUEUED: 3,
    JobState.NOT_FOUND: 4,
    JobState.UNKNOWN: 5,
    JobState.CANCELLED: 6,
    JobState.DELIVERED: 7,
}


def state_label(state: JobState) -> str:
    """Symbol plus word, e.g. "✗ failed": readable without colour."""
    return f"{STATE_SYMBOL[state]} {STATE_LABEL[state]}"


def state_text(state: JobState) -> Text:
    return Text(state_label(state), style=STATE_STYLE[state])


def parse_state(word: str) -> JobState | None:
    """A state from what a user types in a filter: "failed", "not_found", "not found", "fail"."""
    word = word.strip().lower().replace(" ", "_").replace("-", "_")
    if not word:
        return None
    for state in JobState:
        if state.value == word:
            return state
    matches = [state for state in JobState if state.value.startswith(word)]
    return matches[0] if len(matches) == 1 else None


# --- time zones and times -----------------------------------------------------------------------


def resolve_zone(name: str) -> tzinfo | None:
    """"local" -> None (the system zone), "UTC" -> UTC, else an IANA zone; unknown names -> UTC."""
    if not name or name.lower() == "local":
        return None
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_label(name: str, now: datetime) -> str:
    """What the header says about the zone times are shown in, e.g. "UTC" or "CET"."""
    zone = resolve_zone(name)
    local = now.astimezone(zone)
    return local.tzname() or (name or "local")


def to_zone(when: datetime, zone: tzinfo | None) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(zone)


def short_time(when: datetime | None, zone: tzinfo | None, now: datetime) -> str:
    """Table form: "14:02:05" today, "11-21 14:02" on other days."""
    if when is None:
        return ""
    local = to_zone(when, zone)
    if local.date() == to_zone(now, zone).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%m-%d %H:%M")


def full_time(when: datetime | None, zone: tzinfo | None) -> str:
    """Detail form: "2026-11-22 14:02:05 UTC"."""
    if when is None:
        return ""
    local = to_zone(when, zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".rstrip()


def age(seconds: float) -> str:
    """ "12s", "3m", "2h05m", "4d"; coarse on purpose so the bar changes at most once a second."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    return f"{age((now - when).total_seconds())} ago"


def until(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "soon"
    seconds = (when - now).total_seconds()
    return "now" if seconds < 1 else f"in {age(seconds)}"


def duration(seconds: int | None) -> str:
    """A fax call's length: "45s", "1m05s", "1h02m"."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def money(value: Decimal | None) -> str:
    """A cost for the table, to the cent; the detail pane shows the exact units and rate."""
    return "" if value is None else f"{value:.2f}"


def latency(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms / 1000:.1f}s" if ms >= 1000 else f"{ms:.0f}ms"


# --- job table cells ----------------------------------------------------------------------------


def fraction(done: int | None, total: int | None) -> str:
    if done is None and total is None:
        return ""
    return f"{'' if done is None else done}/{'' if total is None else total}"


def status_line(job: FaxJob) -> str:
    """The status text as the table shows it (InterFax: the code's text; Concord: its description)."""
    return clean(job.status_text, 120)


def subject_of(job: FaxJob) -> str:
    """Subject, else the Concord JRI reference, else the InterFax JobID/Contact."""
    item = job.item
    for value in (item.Subject, job.lookup_id if job.lookup_id and job.lookup_id != job.job_id else None,
                  item.JobID, item.Contact):
        if value:
            return clean(value, 120)
    return ""


def _sort_time(value: datetime | None) -> float | None:
    if value is None:
        return None
    return value.timestamp() if value.tzinfo else value.replace(tzinfo=UTC).timestamp()


SORT_VALUES: dict[str, Callable[[FaxJob], object]] = {
    "account": lambda job: job.account.lower(),
    "id": lambda job: (len(job.job_id), job.job_id),
    "state": lambda job: STATE_ORDER[job.state],
    "status": lambda job: status_line(job).lower(),
    "destination": lambda job: job.item.DestinationFax or None,
    "subject": lambda job: subject_of(job).lower() or None,
    "pages": lambda job: job.item.PagesSent,
    "attempts": lambda job: job.item.TrialsPerformed,
    "submitted": lambda job: _sort_time(job.item.SubmitTime),
    "completed": lambda job: _sort_time(job.item.CompletionTime),
    "duration": lambda job: job.item.Duration,
    "cost": lambda job: job.item.cost,
}
"""Per column, what the table sorts a job by (None: the value is missing)."""


# --- detail pane values -------------------------------------------------------------------------

NOT_POSTPONED = "not postponed"
NOT_REPORTED = "not reported by {label}"
"""A FaxItemEx field the job's service does not fill (its label goes in)."""


def field_value(job: FaxJob, spec: FieldSpec, value: FieldValue, zone: tzinfo | None) -> Text:
    """One FaxItemEx field as the detail pane shows it: units, status text, zone, inert strings."""
    adapter = adapter_for(job.service)
    reported = adapter.reported_fields
    if reported is not None and spec.name not in reported:
        return Text(NOT_REPORTED.format(label=adapter.label), style="dim italic")
    if value is None and job.unreadable:
        raw = dict(job.unreadable).get(spec.name)
        if raw is not None:
            return Text(f"not readable: {clean(raw, 60)}", style="italic")
    if spec.name == "PostponeTime" and value is None:
        return Text(NOT_POSTPONED, style="dim")
    if value is None:
        return Text("—", style="dim")
    if spec.name == "Status" and isinstance(value, int):
        description = job.concord.StatusDescription if job.concord else None
        text = adapter.status_text(value, description)
        return Text(f"{value} {clean(text, 160)}", style=STATE_STYLE[job.state])
    if isinstance(value, datetime):
        return Text(full_time(value, zone))
    if isinstance(value, Decimal):
        shown = str(value)
        return Text(f"{shown} {spec.unit}".rstrip())
    if isinstance(value, int):
        if spec.name == "Duration":
            return Text(f"{value} s" + (f" ({duration(value)})" if value >= 60 else ""))
        unit = spec.unit[:-1] if value == 1 and spec.unit.endswith("s") and spec.unit != "s" else spec.unit
        return Text(f"{value} {unit}".rstrip())
    return inert(value)
