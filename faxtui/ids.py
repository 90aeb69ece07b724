"""The forms of job ids each service accepts, checked before anything is stored or sent."""

from __future__ import annotations

import re

from faxtui.errors import one_line

INTERFAX_ID = re.compile(r"[1-9][0-9]{0,9}")
CONCORD_JOB_ID = re.compile(r"br[0-9A-Za-z_-]{1,62}")
CONCORD_REFERENCE = re.compile(r"JRI-[^\s\x00-\x1f\x7f]{1,100}")
INT32_MAX = 2_147_483_647


def validate_lookup_id(service: str, lookup_id: str) -> str:
    """The id as it will be sent, or ValueError saying what form the service expects.

    InterFax: a TransactionID (digits, fits xs:int). Concord: a `br…` job id or `JRI-<ReferenceId>`.
    """
    value = lookup_id.strip()
    if service == "interfax":
        if INTERFAX_ID.fullmatch(value) and int(value) <= INT32_MAX:
            return value
        raise ValueError(
            f"{one_line(value, 40)!r} is not an InterFax transaction id "
            f"(a whole number from 1 to {INT32_MAX:,})"
        )
    if CONCORD_JOB_ID.fullmatch(value) or CONCORD_REFERENCE.fullmatch(value):
        return value
    raise ValueError(f"{one_line(value, 40)!r} is not a Concord job id (br…) or reference (JRI-<ref>)")
