"""InterFax's status and result code tables (shared/protocols/interfax.md §4–§5), its limits, and
the mapping of a FaxItemEx Status to `JobState`."""

from __future__ import annotations

from faxtui.model import JobState

# --- InterFax FaxItemEx.Status (interfax.md §4.2 current table, §4.3 older list) ----------------

INTERFAX_STATUS_TEXT: dict[int, str] = {
    -1: "Pre-processing",
    -2: "Ready",
    -3: "Sending (or pending retry)",
    -4: "Fax is being handled",
    -11: "Pre-processing",
    -22: "Out of credit, awaiting Top-Up",
    -99: "Fax is being handled",
    -1004: "Fax is being handled",
    -1062: "Fax is being handled",
    0: "OK (Fax successfully sent)",
    1: "Internal error",
    2: "Telephony error",
    12: "Telephony error",
    256: "Internal error",
    263: "Busy",
    403: "Fax manually canceled.",
    3072: "Telephony error",
    3080: "Telephony error",
    3211: "Fax machine incompatibility",
    3220: "Fax machine incompatibility",
    3223: "An unexpected disconnect command was sent",
    3224: "The remote fax machine failed to respond",
    3225: "Fax machine incompatibility",
    3230: "A disconnect message was received while attempting to negotiate transmission",
    3231: "Fax machine incompatibility",
    3233: "Fax machine incompatibility",
    3264: "Fax machine incompatibility",
    3267: "Fax machine incompatibility",
    3268: "Transmission error (after page break)",
    3269: "Fax machine incompatibility",
    3300: "Telephony error",
    3510: "Telephony error",
    3830: "Telephony error",
    3912: "Phone number not operational",
    3931: "Busy",
    3932: "Phone number not operational",
    3933: "Busy",
    3935: "No answer (might be out of paper)",
    3936: "Human voice answer",
    3937: "Ring busy",
    3938: "Phone number not operational",
    6001: "Phone number not operational",
    6002: "No route available",
    6003: "Telephony error",
    6004: "Telephony error",
    6016: "Telephony error",
    6017: "Busy",
    6018: "No answer (Might be out of paper)",
    6019: "Telephony error",
    6021: "Call rejected",
    6022: "Number changed",
    6027: "Phone number not operational",
    6028: "Phone number not operational",
    6029: "Call rejected",
    7200: "Unspecified fax failure",
    8010: "The remote fax machine hung up before receiving fax",
    8021: "No answer",
    8025: "Busy",
    204000: "Rendering error",
    204001: "Rendering error",
    205000: "Quota exceeded (Prepaid card depleted)",
    205001: "Internal System error (FindRoute)",
    206001: "Internal System Error (LocalSender)",
}
for _code in (6031, 6034, 6038, 6041, 6042, 6043, 6044, 6047, 6050, 6054, 6057, 6058, 6063, 6065,
              6069, 6079, 6102, 6111, 6127, 7004, 7012, 7013):
    INTERFAX_STATUS_TEXT[_code] = "Telephony error"
for _code in (6088, 6095, 6097, 6099, 6100):
    INTERFAX_STATUS_TEXT[_code] = "Incompatible destination"

INTERFAX_CANCELLED = 403
INTERFAX_SENDING = -3


def interfax_status_text(status: int) -> str:
    text = INTERFAX_STATUS_TEXT.get(status)
    if text is not None:
        return text
    if status < 0:
        return "Fax is being handled"
    return f"Error {status}"


def interfax_state(status: int, trials_performed: int | None) -> JobState:
    """DESIGN §4: <0 in progress, 0 delivered, 403 cancelled, other >0 failed."""
    if status < 0:
        if status == INTERFAX_SENDING:
            return JobState.RETRYING if (trials_performed or 0) > 0 else JobState.SENDING
        return JobState.QUEUED
    if status == 0:
        return JobState.DELIVERED
    if status == INTERFAX_CANCELLED:
        return JobState.CANCELLED
    return JobState.FAILED


# --- InterFax web-service ResultCode (interfax.md §5) -----------------------------------------

INTERFAX_RESULT_TEXT: dict[int, str] = {
    -111: "Attempting to fax to a number that is not the designated fax number in a developer account",
    -112: "No valid recipients added or missing fax number",
    -114: "Postpone date too late (can be no later than 30 days from now)",
    -123: "No valid documents attached",
    -150: "Internal System Error",
    -310: "User is not authorized to operate actions on RequestedUserID",
    -311: "Transaction does not belong to requested user",
    -312: "Email(s) already resent",
    -666: "The user is configured in another switch group",
    -677: "The user does not have any TX service registered",
    -707: "A request was made for records past the search limit",
    -710: "At least one of QueryControl.ReturnItems, QueryControl.ReturnStats should be set to true",
    -712: "Transaction too old",
    -1002: "Number of types does not match number of document sizes string",
    -1003: "Authentication error",
    -1004: "Missing file type",
    -1005: "Transaction does not exist",
    -1007: "Size value is not numeric or not greater than 0",
    -1008: "Total sizes does not match filesdata length",
    -1009: "Image not available",
    -1010: "Filetype contains /AB & /PB switches making them ambiguous",
    -1011: "Too many data requests",
    -1030: "Invalid Verb or VerbData",
    -1059: "Too many file types for the maximum allowed attachments",
    -1061: "Missing chunk",
    -1062: "Wrong session ID",
    -1063: "Total file size is too big",
    -1066: "Multiple faxes are chained to the same original transaction",
    -1876: "Authentication error, too many login attempts, the User is blocked for 1 hour",
    -2050: "Invalid EmailFormat value",
    -2051: "Invalid EmailImageFormat value",
    -2052: "Invalid WebFeedBackMethod value",
    -2053: "Invalid AttachmentFormat value",
    -2054: "Invalid DeleteAfterUsage value",
    -3001: "Invalid MessageID",
    -3002: "From parameter is larger than image size",
    -3003: "Image doesn't exist",
    -3004: "TIFF file is empty",
    -3005: "Chunk size is smaller than 1 / invalid",
    -3006: "Max item is smaller than 1",
    -3007: "No permission for this action",
}
INTERFAX_AUTH_FAILED = -1003
INTERFAX_AUTH_BLOCKED = -1876
INTERFAX_RATE_LIMITED = -1011
INTERFAX_STATUS_CALLS_PER_MINUTE = 6
INTERFAX_MAX_ITEMS = 100
INTERFAX_ALL_TRANSACTIONS = 2_147_483_647
"""Where every page, look-up and test call starts: the largest xs:int. FaxStatusEx lists ids strictly
below LastTransactionID, and the vendor's "999999999 for all" (interfax.md §2) dates from when ids
were smaller: real ids passed 999,999,999 around 2020, and a poll starting there would miss them."""


def interfax_result_text(code: int) -> str:
    return INTERFAX_RESULT_TEXT.get(code, f"Web service error {code}")
