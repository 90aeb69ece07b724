"""The forms of Concord ids: a `br…` FaxJobId or `JRI-<ReferenceId>`, checked before anything is
stored or sent."""

from __future__ import annotations

import re

from faxtui.errors import one_line

JOB_ID = re.compile(r"br[0-9A-Za-z_-]{1,62}")
REFERENCE = re.compile(r"JRI-[^\s\x00-\x1f\x7f]{1,100}")
REFERENCE_PREFIX = "JRI-"


def is_reference(lookup_id: str) -> bool:
    """A `JRI-<ReferenceId>` look-up (the service may answer it under the job's own br… id)."""
    return lookup_id[:4].upper() == REFERENCE_PREFIX


def validate_lookup_id(lookup_id: str) -> str:
    """The id as it will be sent, or ValueError saying what form Concord expects."""
    value = lookup_id.strip()
    if JOB_ID.fullmatch(value) or REFERENCE.fullmatch(value):
        return value
    raise ValueError(f"{one_line(value, 40)!r} is not a Concord job id (br…) or reference (JRI-<ref>)")
