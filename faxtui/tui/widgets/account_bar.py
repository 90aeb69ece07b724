"""The account bar: a summary line, then one line per account with its health in words.

It is the only widget whose text changes with the clock ("polled 12s ago"), so the once-a-second
tick redraws this bar and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget

from faxtui.model import STATE_SYMBOL, AccountStatus, Health, JobState
from faxtui.tui.formatting import STATE_STYLE, ago, clean, latency, until

FAILING = frozenset({Health.AUTH_FAILED, Health.UNREACHABLE, Health.ERROR})


@dataclass(frozen=True, slots=True)
class HealthLook:
    symbol: str
    words: str
    style: str


HEALTH_LOOK: dict[Health, HealthLook] = {
    Health.PENDING: HealthLook("…", "waiting", "dim"),
    Health.IDLE: HealthLook("–", "idle", ""),
    Health.OK: HealthLook("✓", "OK", "green"),
    Health.STALE: HealthLook("!", "stale", "yellow"),
    Health.RATE_LIMITED: HealthLook("⏳", "rate-limited", "yellow"),
    Health.AUTH_FAILED: HealthLook("✗", "auth failed", "bold red"),
    Health.UNREACHABLE: HealthLook("✗", "unreachable", "bold red"),
    Health.ERROR: HealthLook("✗", "error", "bold red"),
    Health.PAUSED: HealthLook("⏸", "PAUSED", "reverse"),
}
SUMMARY_STATES = (JobState.FAILED, JobState.RETRYING, JobState.SENDING, JobState.QUEUED)


def account_line(status: AccountStatus, now: datetime, *, stale: bool, name_width: int) -> list[Text]:
    """One account: name, service, state in words, retry, last good poll, latency; then the reason
    of a failure (or what a good poll left out) on a line of its own, so it is never the part that
    gets cut off."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(clean(status.name, 40).ljust(name_width), style="bold")
    line.append(f" {status.service:<8} ")
    health = status.health
    if health is Health.OK and stale:
        health = Health.STALE
    look = HEALTH_LOOK[health]
    if status.paused:
        line.append("⏸ PAUSED", style="reverse bold")
        line.append(" ")
    line.append(f"{look.symbol} {look.words}", style=look.style)
    if health is Health.RATE_LIMITED:
        line.append(f", retry {until(status.retry_at, now)}", style="yellow")
    elif health in FAILING and not status.paused:
        line.append(f", retry {until(status.retry_at, now)}")
    if status.last_good_poll is not None:
        line.append(f"  polled {ago(status.last_good_poll, now)}", style="yellow" if stale else "")
    elif health not in (Health.PENDING, Health.IDLE):
        line.append("  never polled OK", style="yellow")
    if status.following:  # team mode: another process polls it (or, following only, nobody does)
        if status.polled_by:
            line.append(f" by {clean(status.polled_by, 60)}", style="dim")
        else:
            line.append("  nobody polls it", style="yellow")
    if status.latency_ms is not None and health is Health.OK:
        line.append(f"  {latency(status.latency_ms)}", style="dim")
    if health is Health.OK or health is Health.IDLE:
        line.append(f"  {status.jobs} jobs", style="dim")
    lines = [line]
    if status.last_error and health not in (Health.OK, Health.IDLE, Health.PENDING):
        reason = Text(no_wrap=True, overflow="ellipsis")
        reason.append(" " * (name_width + 1) + "↳ ", style="dim")
        reason.append(clean(status.last_error, 200), style="red" if health in FAILING else "yellow")
        lines.append(reason)
    elif status.warning and health in (Health.OK, Health.STALE):
        # Polled, but the answer left something out (a partial failure, unreadable items).
        reason = Text(no_wrap=True, overflow="ellipsis")
        reason.append(" " * (name_width + 1) + "↳ ", style="dim")
        reason.append("warning: " + clean(status.warning, 200), style="yellow")
        lines.append(reason)
    return lines


def changed_until(before: Text, after: Text) -> int:
    """The cell just past the last one that differs between two versions of a line.

    Textual writes a changed line from its start up to the end of the region asked for, so when
    nothing moved ("polled 12s ago  42ms" -> "polled 13s ago  42ms") the unchanged tail is not
    sent again.
    """
    width = max(before.cell_len, after.cell_len)
    old, new = before.plain, after.plain
    if before.spans != after.spans or before.style != after.style or len(old) != len(new):
        return width  # the tail moved or restyled: resend it
    same = 0
    for a, b in zip(reversed(old), reversed(new), strict=True):
        if a != b:
            break
        same += 1
    return cell_len(new[: len(new) - same])


class AccountBar(Widget):
    """Per-account health above the job table; redrawn on poller events and the 1 s tick."""

    DEFAULT_CSS = """
    AccountBar { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.statuses: list[AccountStatus] = []
        self.stale: frozenset[str] = frozenset()
        self.counts: Mapping[JobState, int] = {}
        self.paused = False
        self.zone_name = ""
        self.filter_text = ""
        self.sort_text = ""
        self.now: Callable[[], datetime] = datetime.now
        self._last: Text | None = None

    def show(
        self,
        statuses: Iterable[AccountStatus],
        *,
        stale: frozenset[str],
        counts: Mapping[JobState, int],
        paused: bool,
        zone_name: str,
        filter_text: str,
        sort_text: str,
    ) -> None:
        self.statuses = list(statuses)
        self.stale = stale
        self.counts = dict(counts)
        self.paused = paused
        self.zone_name = zone_name
        self.filter_text = filter_text
        self.sort_text = sort_text
        self.tick()

    def tick(self) -> None:
        """Redraw what changed, if anything (ages move in whole seconds): only the changed lines, each
        up to the end of its text, so a once-a-second age costs a few hundred bytes on the wire.
        The layout is redone only when the number of lines changed."""
        text = self._build()
        last = self._last
        if last is not None and text.plain == last.plain and text.spans == last.spans:
            return
        self._last = text
        if last is None:
            self.refresh(layout=True)
            return
        old, new = last.split("\n"), text.split("\n")
        if len(old) != len(new):
            self.refresh(layout=True)
            return
        changed = [
            Region(0, y, changed_until(before, after), 1)
            for y, (before, after) in enumerate(zip(old, new, strict=True))
            if before.plain != after.plain or before.spans != after.spans
        ]
        if changed:
            self.refresh(*changed)

    def _build(self) -> Text:
        now = self.now()
        lines: list[Text] = [self._summary()]
        width = max((len(clean(s.name, 40)) for s in self.statuses), default=0)
        for status in self.statuses:
            lines.extend(account_line(status, now, stale=status.name in self.stale, name_width=width))
        if not self.statuses:
            lines.append(Text("No accounts configured: press a to add one.", style="yellow"))
        return Text("\n").join(lines)

    def _summary(self) -> Text:
        """Badge, PAUSED and the job counts always; filter, zone and sort only where they fit whole."""
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" faxtui ", style="reverse bold")
        if self.paused:
            line.append(" ")
            line.append(" ⏸ PAUSED — p resumes ", style="reverse bold yellow")
        counts = self.counts
        line.append(f"  {sum(counts.values())} jobs")
        for state in SUMMARY_STATES:
            if counts.get(state):
                line.append("  ")
                line.append(f"{STATE_SYMBOL[state]} {counts[state]} {state.value}", style=STATE_STYLE[state])
        optional: list[Text] = []
        if self.filter_text:
            optional.append(Text.assemble(("  filter ", "dim"), (self.filter_text, "bold")))
        optional.append(Text(f"  · {self.zone_name}", style="dim"))
        if self.sort_text:
            optional.append(Text(f" · sort {self.sort_text}", style="dim"))
        width = self.size.width - 2 if self.size.width else 10_000
        for part in optional:
            if line.cell_len + part.cell_len <= width:
                line.append_text(part)
        return line

    def on_resize(self) -> None:
        self.tick()

    def render(self) -> Text:
        if self._last is None:
            self._last = self._build()
        return self._last
