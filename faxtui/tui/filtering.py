"""The job filter: free text plus `state:` / `account:` tokens, and the active/failed toggles."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from faxtui.model import ACTIVE_STATES, FaxJob, JobState
from faxtui.tui.formatting import clean, parse_state, subject_of


@dataclass(frozen=True, slots=True)
class JobFilter:
    """What the job table shows. Every part must match; an empty filter shows everything.

    Text words match anywhere in the id, lookup id, destination, subject, account or status
    text (case-insensitive). `state:failed` (repeatable: any of them) and `account:ops`
    (substring) narrow further; `active_only` and `failed_only` are the quick toggles.
    """

    text: str = ""
    words: tuple[str, ...] = ()
    states: frozenset[JobState] = frozenset()
    accounts: tuple[str, ...] = ()
    active_only: bool = False
    failed_only: bool = False
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, text: str, *, active_only: bool = False, failed_only: bool = False) -> JobFilter:
        words: list[str] = []
        states: set[JobState] = set()
        accounts: list[str] = []
        problems: list[str] = []
        for token in text.split():
            key, sep, value = token.partition(":")
            key = key.lower()
            if sep and key in ("state", "s", "is"):
                state = parse_state(value)
                if state is None:
                    problems.append(f"unknown state {clean(value, 20)!r}")
                else:
                    states.add(state)
            elif sep and key in ("account", "acct", "a"):
                if value:
                    accounts.append(value.lower())
            else:
                words.append(token.lower())
        return cls(
            text=text.strip(), words=tuple(words), states=frozenset(states), accounts=tuple(accounts),
            active_only=active_only, failed_only=failed_only, problems=tuple(problems),
        )

    def with_toggles(self, *, active_only: bool, failed_only: bool) -> JobFilter:
        return replace(self, active_only=active_only, failed_only=failed_only)

    def describe(self) -> str:
        """A short summary for the header, e.g. "active only · state:failed busy"."""
        parts: list[str] = []
        if self.active_only:
            parts.append("active only")
        if self.failed_only:
            parts.append("failed only")
        if self.text:
            parts.append(clean(self.text, 40))
        return " · ".join(parts)

    @staticmethod
    def haystack(job: FaxJob) -> str:
        """The lower-case text the words of a filter are looked for in (cacheable per job)."""
        return " ".join(
            (
                job.account,
                job.job_id,
                job.lookup_id or "",
                job.item.DestinationFax or "",
                subject_of(job),
                job.item.Subject or "",
                job.status_text,
                job.state.value,
            )
        ).lower()

    def matches(self, job: FaxJob, *, haystack: str | None = None) -> bool:
        """Whether the job is shown; pass `haystack(job)` when it is already known."""
        if self.active_only and job.state not in ACTIVE_STATES:
            return False
        if self.failed_only and job.state is not JobState.FAILED:
            return False
        if self.states and job.state not in self.states:
            return False
        if self.accounts:
            account = job.account.lower()
            if not any(a in account for a in self.accounts):
                return False
        if self.words:
            text = self.haystack(job) if haystack is None else haystack
            return all(word in text for word in self.words)
        return True
