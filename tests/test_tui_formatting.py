"""Display text: the sanitiser, state labels, ages, the filter language, table cells, detail values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import busy_concord_job, busy_interfax_job
from hypothesis import given
from hypothesis import strategies as st

from faxtui.model import CONCORD_MAPPED, FAXITEM_FIELDS, JobState
from faxtui.tui.filtering import JobFilter
from faxtui.tui.formatting import (
    NOT_POSTPONED,
    NOT_REPORTED,
    ago,
    clean,
    field_value,
    inert,
    parse_state,
    resolve_zone,
    short_time,
    state_label,
)
from faxtui.tui.widgets.job_table import COLUMN_KEYS, job_cells

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31m[bold red]X[/]\x07", "[bold red]X[/]"),
        ("line one\nline two\ttab", "line one line two tab"),
        ("\x1b]0;pwned title\x07after", "after"),
        ("C1 \x9b31m csi and \x85 nel", "C1 csi and nel"),
        ("bidi \u202eevil\u202c", "bidi evil"),
        ("  spaced   out  ", "spaced out"),
    ],
)
def test_clean_removes_escapes_and_controls(raw: str, shown: str) -> None:
    assert clean(raw) == shown


@given(st.text())
def test_clean_never_lets_a_control_character_through_and_stays_bounded(raw: str) -> None:
    out = clean(raw, 50)
    assert len(out) <= 50
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in out)


def test_inert_text_has_no_markup_spans() -> None:
    text = inert("[bold]not bold[/bold] [link=http://x]y[/link]")
    assert text.plain == "[bold]not bold[/bold] [link=http://x]y[/link]"
    assert not text.spans


def test_every_state_has_a_symbol_so_it_reads_without_colour() -> None:
    labels = {state: state_label(state) for state in JobState}
    assert labels[JobState.DELIVERED] == "✓ delivered"
    assert labels[JobState.FAILED] == "✗ failed"
    assert labels[JobState.RETRYING] == "↻ retrying"
    assert labels[JobState.NOT_FOUND] == "? not found"
    assert len({label.split()[0] for label in labels.values()}) >= 7


def test_ages_and_times() -> None:
    assert ago(NOW - timedelta(seconds=12), NOW) == "12s ago"
    assert ago(NOW - timedelta(minutes=3, seconds=5), NOW) == "3m05s ago"
    assert ago(NOW - timedelta(hours=2, minutes=5), NOW) == "2h05m ago"
    assert ago(None, NOW) == "never"
    assert short_time(NOW - timedelta(minutes=1), UTC, NOW) == "09:59:00"
    assert short_time(NOW - timedelta(days=1), UTC, NOW) == "11-21 10:00"
    berlin = resolve_zone("Europe/Berlin")
    assert short_time(NOW, berlin, NOW) == "11:00:00"
    assert resolve_zone("UTC") is UTC
    assert resolve_zone("local") is None
    assert resolve_zone("Not/AZone") is UTC


def test_filter_language() -> None:
    failed, delivered = busy_interfax_job(), busy_interfax_job(0, JobState.DELIVERED)
    concord = busy_concord_job()
    assert JobFilter.parse("state:failed").matches(failed)
    assert not JobFilter.parse("state:failed").matches(delivered)
    assert JobFilter.parse("state:deliv").matches(delivered)
    assert JobFilter.parse("account:concord").matches(concord)
    assert not JobFilter.parse("account:concord").matches(failed)
    assert JobFilter.parse("invoice 2125550171").matches(failed)  # subject and destination words
    assert not JobFilter.parse("invoice nowhere").matches(failed)
    assert JobFilter.parse("busy").matches(concord)  # status text
    assert JobFilter.parse("", failed_only=True).matches(failed)
    assert not JobFilter.parse("", active_only=True).matches(failed)
    assert JobFilter.parse("state:bogus").problems
    assert parse_state("not found") is JobState.NOT_FOUND


def test_table_cells_mark_stale_rows_dim_and_watched_ids() -> None:
    job = busy_interfax_job()
    fresh = dict(zip(COLUMN_KEYS, job_cells(job, UTC, NOW, stale=False, watched=True), strict=True))
    stale = dict(zip(COLUMN_KEYS, job_cells(job, UTC, NOW, stale=True, watched=False), strict=True))
    assert fresh["state"] == ("✗ failed", "bold red")
    assert fresh["id"][0] == "★812345678"
    assert fresh["pages"][0] == "1/3" and fresh["attempts"][0] == "2/3"
    assert fresh["cost"][0] == "0.24"
    assert all("dim" in style for _, style in stale.values())
    assert not any("dim" in style for _, style in fresh.values())


def test_detail_values_have_units_status_texts_and_zone() -> None:
    job = busy_interfax_job(PostponeTime=None, Duration=75)
    shown = {spec.name: field_value(job, spec, value, UTC).plain for spec, value in job.item.values()}
    assert shown["Status"] == "6017 Busy"
    assert shown["PostponeTime"] == NOT_POSTPONED
    assert shown["SubmitTime"] == "2026-11-22 09:55:00 UTC"
    assert shown["PagesSubmitted"] == "3 pages"
    assert shown["PagesSent"] == "1 page"
    assert shown["Duration"] == "75 s (1m15s)"
    assert shown["Units"] == "2 units"
    assert len(shown) == len(FAXITEM_FIELDS) == 27


def test_concord_detail_says_which_fields_it_does_not_report() -> None:
    job = busy_concord_job()
    shown = {spec.name: field_value(job, spec, value, UTC).plain for spec, value in job.item.values()}
    not_reported = [name for name, text in shown.items() if text == NOT_REPORTED.format(label="Concord")]
    assert len(not_reported) == 20
    assert set(shown) - set(not_reported) == set(CONCORD_MAPPED)
    assert shown["Status"] == "2 Job Failed: Busy"
