"""The form of an InterFax TransactionID, checked before anything is stored or sent."""

from __future__ import annotations

import re

from faxtui.errors import one_line
from faxtui.services.interfax.codes import INTERFAX_ALL_TRANSACTIONS

TRANSACTION_ID = re.compile(r"[1-9][0-9]{0,9}")


def validate_transaction_id(lookup_id: str) -> str:
    """The id as it will be sent (digits that fit xs:int), or ValueError saying what form is expected."""
    value = lookup_id.strip()
    if TRANSACTION_ID.fullmatch(value) and int(value) <= INTERFAX_ALL_TRANSACTIONS:
        return value
    raise ValueError(
        f"{one_line(value, 40)!r} is not an InterFax transaction id "
        f"(a whole number from 1 to {INTERFAX_ALL_TRANSACTIONS:,})"
    )
