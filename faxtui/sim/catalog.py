"""Fictional recipients, numbers, subjects and CSIDs that make simulated jobs look like real traffic.

Phone numbers come from ranges reserved for fiction where a country has one (US/CA 555-01xx,
UK 020 7946 0xxx, AU 02 5550 xxxx, FR 01 99 00 xx xx); e-mail addresses use example.* domains.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Destination:
    """One fax number in InterFax's canonical form (00 + country code + number) and what it costs."""

    canonical: str
    country: str
    cost_per_unit: Decimal
    page_size: str

    @property
    def display(self) -> str:
        """The number as a remote fax machine would put it in its CSID."""
        digits = self.canonical[2:]
        if self.country in ("US", "CA"):
            return f"+1 {digits[1:4]} {digits[4:7]} {digits[7:]}"
        code_len = {"GB": 2, "AU": 2, "DE": 2, "FR": 2}.get(self.country, 3)
        return f"+{digits[:code_len]} {digits[code_len:]}"


_US_AREAS = ("212", "646", "415", "312", "617", "206", "512", "305")
_CA_AREAS = ("416", "604", "514")


def random_destination(rng: random.Random) -> Destination:
    country = rng.choices(("US", "CA", "GB", "AU", "DE", "FR"), weights=(50, 8, 14, 8, 10, 10))[0]
    if country in ("US", "CA"):
        areas = _US_AREAS if country == "US" else _CA_AREAS
        number = f"001{rng.choice(areas)}5550{rng.randrange(100, 200):03d}"
        return Destination(number, country, Decimal("0.0600"), "Letter")
    if country == "GB":
        return Destination(f"004420794600{rng.randrange(0, 100):02d}", country, Decimal("0.0800"), "A4")
    if country == "AU":
        return Destination(f"0061255501{rng.randrange(0, 1000):03d}", country, Decimal("0.1000"), "A4")
    if country == "DE":
        return Destination(f"00493055501{rng.randrange(0, 1000):03d}", country, Decimal("0.0900"), "A4")
    return Destination(f"00331990{rng.randrange(0, 100000):05d}", country, Decimal("0.0900"), "A4")


CONTACTS: tuple[str, ...] = (
    "Northwind Dental - Billing",
    "Dr. Priya Raman",
    "Harbor Street Pharmacy",
    "Contoso Logistics",
    "Fabrikam Insurance Claims",
    "St. Brendan Clinic",
    "Alder & Finch LLP",
    "Lakeside Pediatrics",
    "Tailspin Freight",
    "Wide World Importers",
    "Mercy Radiology",
    "County Records Office",
    "Blue Yonder Travel",
    "Dr. Tomasz Nowak",
    "Greenfield Veterinary",
    "Proseware Accounts Payable",
)

REPLY_EMAILS: tuple[str | None, ...] = (
    "ops@example.com",
    "billing@example.org",
    "faxdesk@example.net",
    None,
    None,
)

PAGE_HEADERS: tuple[str | None, ...] = (
    "To: {To} From: {From} Pages: {TotalPages}",
    "{From} - {Date} {Time} - Page {PageNumber} of {TotalPages}",
    None,
)

_REFERENCE_PREFIXES: tuple[str, ...] = ("INV", "PO", "CLM", "RX", "REF")
_SUBJECTS: dict[str, str] = {
    "INV": "Invoice {ref}",
    "PO": "Purchase order {ref}",
    "CLM": "Claim form {ref}",
    "RX": "Prescription refill {ref}",
    "REF": "Referral letter {ref}",
}
_PLAIN_SUBJECTS: tuple[str, ...] = (
    "Lab results",
    "Signed contract",
    "Statement of account",
    "Shipping manifest",
    "Prior authorization request",
    "Delivery note",
)


def random_reference(rng: random.Random, year: int) -> str:
    """A customer reference like INV-2026-0042."""
    return f"{rng.choice(_REFERENCE_PREFIXES)}-{year}-{rng.randrange(1, 10000):04d}"


def subject_for(rng: random.Random, reference: str | None) -> str:
    if reference is not None:
        return _SUBJECTS[reference.split("-", 1)[0]].format(ref=reference)
    return rng.choice(_PLAIN_SUBJECTS)


def remote_csid(rng: random.Random, contact: str, destination: Destination) -> str:
    """What the receiving machine reports (up to 20 characters): its number, or a station name."""
    if rng.random() < 0.6:
        return destination.display[:20]
    name = "".join(ch for ch in contact.upper() if ch.isalnum() or ch == " ")
    return " ".join(name.split())[:20]
