"""The one wall clock of faxtui's core: every component takes a `now` callable defaulting to this,
so tests inject their own."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
