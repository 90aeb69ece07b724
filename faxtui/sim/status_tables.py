"""The simulator's own ground truth: status codes of both services -> text, phase and state.

Written from shared/protocols/ (interfax.md §4-§5, concord.md §3), NOT imported from
`faxtui.services`: the simulator is what the client is tested against, so it must not agree with
the client by construction. If the two tables ever differ, a contract test says so.

`phase` is the simulator's finer reading of a code (what the vendor's description says the fax
is doing); `state` is the same fact in DESIGN §2's job-state vocabulary (queued, sending,
retrying, delivered, failed, cancelled, not_found, unknown), which `/_sim/truth` reports.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

Phase = Literal[
    "preprocessing", "ready", "held", "handling", "sending", "retrying",
    "delivered", "failed", "cancelled", "processing", "not_found", "unknown",
]

# --- InterFax FaxItemEx.Status ----------------------------------------------------------------


class IfxStatus(NamedTuple):
    text: str
    phase: Phase
    source: str


def _ifx_table() -> dict[int, IfxStatus]:
    table: dict[int, IfxStatus] = {}

    def put(code: int, text: str, phase: Phase, source: str) -> None:
        table[code] = IfxStatus(text, phase, source)

    # interfax.md §4.2, the current official table (Upland help [S10]); it wins where both lists
    # name a code. §4.1: "< 0" in process, "0" success, "> 0" failure, both final.
    put(-11, "Pre-processing", "preprocessing", "§4.2")
    put(-1, "Pre-processing", "preprocessing", "§4.2")
    put(-2, "Ready", "ready", "§4.2")
    put(-3, "Sending (or pending retry)", "sending", "§4.2")
    put(-22, "Out of credit, awaiting Top-Up", "held", "§4.2")
    put(0, "OK (Fax successfully sent)", "delivered", "§4.2")
    put(1, "Internal error", "failed", "§4.2")
    put(2, "Telephony error", "failed", "§4.2")
    put(12, "Telephony error", "failed", "§4.2")
    # interfax.md §4.3, the older official list known through third-party copies [S11a][S11b].
    for code in (-4, -99, -1004, -1062):
        put(code, "Fax is being handled", "handling", "§4.3")
    put(256, "Internal error", "failed", "§4.3")
    put(263, "Busy", "failed", "§4.3")
    put(403, "Fax manually canceled.", "cancelled", "§4.3")  # CancelFax -> 403 (§6)
    telephony = (3072, 3080, 3300, 3510, 3830, 6003, 6004, 6016, 6019,
                 6031, 6034, 6038, 6041, 6042, 6043, 6044, 6047, 6050, 6054, 6057, 6058, 6063, 6065,
                 6069, 6079, 6102, 6111, 6127, 7004, 7012, 7013)
    for code in telephony:
        put(code, "Telephony error", "failed", "§4.3")
    for code in (3211, 3220, 3225, 3231, 3233, 3264, 3267, 3269):
        put(code, "Fax machine incompatibility", "failed", "§4.3")
    put(3223, "An unexpected disconnect command was sent", "failed", "§4.3")
    put(3224, "The remote fax machine failed to respond", "failed", "§4.3")
    put(3230, "A disconnect message was received while attempting to negotiate transmission", "failed",
        "§4.3")
    put(3268, "Transmission error (after page break)", "failed", "§4.3")
    for code in (3912, 3932, 3938, 6001, 6027, 6028):
        put(code, "Phone number not operational", "failed", "§4.3")
    for code in (3931, 3933, 6017, 8025):
        put(code, "Busy", "failed", "§4.3")
    put(3935, "No answer (might be out of paper)", "failed", "§4.3")
    put(6018, "No answer (Might be out of paper)", "failed", "§4.3")
    put(8021, "No answer", "failed", "§4.3")
    put(3936, "Human voice answer", "failed", "§4.3")
    put(3937, "Ring busy", "failed", "§4.3")
    put(6002, "No route available", "failed", "§4.3")
    put(6021, "Call rejected", "failed", "§4.3")
    put(6029, "Call rejected", "failed", "§4.3")
    put(6022, "Number changed", "failed", "§4.3")
    for code in (6088, 6095, 6097, 6099, 6100):
        put(code, "Incompatible destination", "failed", "§4.3")
    put(7200, "Unspecified fax failure", "failed", "§4.3")
    put(8010, "The remote fax machine hung up before receiving fax", "failed", "§4.3")
    put(204000, "Rendering error", "failed", "§4.3")
    put(204001, "Rendering error", "failed", "§4.3")
    # -22 "will change to 205000 and the transaction will be canceled" after 24 h (§4.2); the
    # fax never went out and the status is final and > 0, so it is a failure, not a CancelFax.
    put(205000, "Quota exceeded (Prepaid card depleted)", "failed", "§4.3")
    put(205001, "Internal System error (FindRoute)", "failed", "§4.3")
    put(206001, "Internal System Error (LocalSender)", "failed", "§4.3")
    return table


INTERFAX_STATUS: Final[dict[int, IfxStatus]] = _ifx_table()
"""Every FaxItemEx.Status code interfax.md §4.2 and §4.3 name."""

_PHASE_STATE: Final[dict[str, str]] = {
    "preprocessing": "queued", "ready": "queued", "held": "queued", "handling": "queued",
    "sending": "sending", "retrying": "retrying", "delivered": "delivered", "failed": "failed",
    "cancelled": "cancelled", "processing": "sending", "not_found": "not_found", "unknown": "unknown",
}


def interfax_phase(status: int, trials: int = 0) -> Phase:
    """What the fax is doing. -3 after an attempt is a retry (§4.1: "intermediate attempts keep
    Status = -3"); an unlisted negative code is "being handled" (§4.2 "any other negative");
    an unlisted positive one is a failure (§4.1 "> 0 failed")."""
    known = INTERFAX_STATUS.get(status)
    phase: Phase
    if known is not None:
        phase = known.phase
    elif status < 0:
        phase = "handling"
    else:
        phase = "failed"
    if phase == "sending" and trials > 0:
        return "retrying"
    return phase


def interfax_text(status: int) -> str:
    known = INTERFAX_STATUS.get(status)
    if known is not None:
        return known.text
    return "Fax is being handled" if status < 0 else f"Error {status}"


def interfax_state(status: int, trials: int = 0) -> str:
    return _PHASE_STATE[interfax_phase(status, trials)]


# --- InterFax web-service ResultCode (interfax.md §5, §7) ---------------------------------------

IFX_INTERNAL_ERROR: Final = -150
"""§5: "An exception occurs at any point in the execution of the web service method"."""
IFX_AUTH_FAILED: Final = -1003
IFX_RATE_LIMITED: Final = -1011
"""§5 / §7: "Too many data requests" past 6 status calls a minute."""
IFX_AUTH_BLOCKED: Final = -1876

INTERFAX_RESULT_TEXT: Final[dict[int, str]] = {
    IFX_INTERNAL_ERROR: "Internal System Error",
    IFX_AUTH_FAILED: "Authentication error",
    -1005: "Transaction does not exist",
    IFX_RATE_LIMITED: "Too many data requests",
    IFX_AUTH_BLOCKED: "Authentication error, too many login attempts, the User is blocked for 1 hour",
}

IFX_INT_MAX: Final = 2_147_483_647
"""FaxItemEx.TransactionID and LastTransactionID are xs:int (§2.2, §3)."""

# --- Concord FaxJobStatusId and WSError (concord.md §3) -----------------------------------------


class CcdStatus(NamedTuple):
    text: str
    phase: Phase
    state: str
    source: str


CCD_SUCCEEDED: Final = 1
CCD_FAILED: Final = 2
CCD_PROCESSING: Final = 3
CCD_INVALID_JOB_ID: Final = -5019

CONCORD_STATUS: Final[dict[int, CcdStatus]] = {
    # §3.1, D4 SimpleGetFaxStatus, exact texts. State 3 covers everything not finished (§3.1:
    # "There are no finer states"), which DESIGN §4 reads as sending.
    CCD_SUCCEEDED: CcdStatus("Job Succeeded", "delivered", "delivered", "§3.1 D4"),
    CCD_FAILED: CcdStatus("Job Failed", "failed", "failed", "§3.1 D4"),
    CCD_PROCESSING: CcdStatus("Job is being processed", "processing", "sending", "§3.1 D4"),
    CCD_INVALID_JOB_ID: CcdStatus("Invalid Job ID", "not_found", "not_found", "§3.1 D4"),
}

CONCORD_ERROR_TEXT: Final[dict[int, str]] = {
    CCD_INVALID_JOB_ID: "Invalid Job ID",  # §3.2, D4
    -5040: "ERROR: Scheduled DateTime specified exceeds maximum allowed defer time.",  # §3.2, D6
}
"""The only WSError codes concord.md §3.2 knows; authentication codes are UNCONFIRMED."""


def concord_text(status: int) -> str:
    known = CONCORD_STATUS.get(status)
    return known.text if known is not None else f"Status {status}"


def concord_phase(status: int) -> Phase:
    known = CONCORD_STATUS.get(status)
    return known.phase if known is not None else "unknown"


def concord_state(status: int) -> str:
    known = CONCORD_STATUS.get(status)
    return known.state if known is not None else "unknown"
