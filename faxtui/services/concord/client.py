"""Concord FaxWS v5 GetRealTimeFaxStatusEx client, and the OAuth client-credentials token source.

Wire facts: shared/protocols/concord.md. Choices where the vendor is silent (all [UNCONFIRMED]
there), so the poller and the simulator can rely on them:

- Auth: exactly one of a static bearer token, an `OAuthTokenProvider`, or the deprecated PIN.
  Bearer goes in `Authorization` with an empty `<strPIN/>`; the PIN goes in `strPIN` alone.
  With a token provider, an HTTP 401/403 or an authentication-looking WSError invalidates the
  token and the call is retried once with a fresh one.
- `return=false` with no items raises: `AuthError` when the WSError is about credentials
  (`is_auth_failure`: by its code where the code says it, else by its wording), else
  `ServiceError` carrying the WSError code — except -5019 (next point). `return=false` that still
  carries items is a partial failure: the items are used, the WSError becomes a warning.
- Not found: an item whose FaxJobStatusId or Error.ErrorCode is -5019 becomes a NOT_FOUND job,
  its requested id listed in `StatusResult.not_found`. A requested id that gets no item at all is
  left out of `jobs`, unless the call's WSError is -5019 (the server said an id was invalid):
  then it too becomes a NOT_FOUND job and is listed in `not_found`, so callers see the same
  result wherever the server reports it. If such a call returns no items and `return=false` for
  several ids, the batch is split in halves and retried until each invalid id stands alone,
  so one bad watch-list id cannot blind the account.
- Matching (`match_items`): an item whose FaxJobId equals a requested id, letter case aside,
  belongs to it. A `JRI-` look-up may be answered under the job's own `br…` id, so the items left
  over can only be paired by elimination: one left-over item with one unanswered reference (or an
  item with an empty FaxJobId with the one unanswered id). Anything more is ambiguous whatever
  order the server answers in, so it is never guessed: such items are kept under their own
  FaxJobId, unpaired. To keep that from happening, a batch carries at most one reference
  (`plan_batches`) until the server has shown that it answers references under their `JRI-` id.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from faxtui.clock import utc_now
from faxtui.errors import AuthError, ProviderError, ServiceError, one_line
from faxtui.model import FaxJob, Service
from faxtui.services.concord.auth import OAuthTokenProvider, check_token, is_auth_failure
from faxtui.services.concord.codes import (
    CONCORD_ERROR_TEXT,
    CONCORD_INVALID_JOB_ID,
)
from faxtui.services.concord.ids import is_reference
from faxtui.services.concord.parse import (
    CONCORD_NS,
    RESPONSE_ELEMENT,
    StatusAnswer,
    StatusItem,
    answer_jobs,
    job_from_item,
    read_status,
)
from faxtui.services.http import (
    DEFAULT_TIMEOUT,
    RepeatMemo,
    make_redactor,
    scrub,
)
from faxtui.services.soap import (
    MAX_RESPONSE_BYTES,
    SoapVersion,
    build_envelope,
    request_headers,
)
from faxtui.services.soap_client import SoapClient

log = logging.getLogger(__name__)

OPERATION = "GetRealTimeFaxStatusEx"
SOAP_ACTION = ""
DEFAULT_ENDPOINT = "https://ws.concordfax.com/fax/v5"
DEFAULT_BATCH_SIZE = 100
REQUEST_ID_HEADER = "x-ch-request-id"


@dataclass(slots=True)
class StatusResult:
    """What one `status()` brought back, over all its batches."""

    jobs: list[FaxJob]
    polled_at: datetime
    latency_ms: float
    calls: int
    not_found: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What the answers said went wrong without costing the poll (a partial failure), one line each."""


@dataclass(slots=True)
class _Tally:
    """What a run of calls for one `status()` brought back."""

    jobs: list[FaxJob] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _unique(ids: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in ids:
        cleaned = raw.strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


class ConcordClient(SoapClient):
    """A client of one Concord FaxWS account (GetRealTimeFaxStatusEx)."""

    service: Service = "concord"

    def __init__(
        self,
        account: str,
        endpoint: str,
        user_id: str,
        *,
        token: str | None = None,
        pin: str | None = None,
        token_provider: OAuthTokenProvider | None = None,
        soap_version: SoapVersion = "1.1",
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_bytes: int = MAX_RESPONSE_BYTES,
        clock: Callable[[], datetime] = utc_now,
        content_type: str | None = None,
    ) -> None:
        """`content_type` replaces the Content-Type header the SOAP version implies (the vendor's
        pages document `application/soap+xml`; generated clients send `text/xml`)."""
        sources = [s for s in (token, pin, token_provider) if s is not None and s != ""]
        if len(sources) != 1:
            raise ValueError("exactly one of token, token_provider or pin must be given")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        super().__init__(account, endpoint, soap_version=soap_version, http=http, timeout=timeout,
                         max_bytes=max_bytes, clock=clock)
        self.user_id = user_id
        self.batch_size = batch_size
        self.token_provider = token_provider
        self._token = check_token(token, "token") if token else None
        self._pin = pin or None
        self._answers: RepeatMemo[StatusAnswer] = RepeatMemo()
        """Each batch's last answer, read (its tracking headers are the call's own, set per call)."""
        self.content_type = content_type
        self.references_echoed = False
        """The server has answered a `JRI-` look-up under its `JRI-` id: references can share a batch."""

    @property
    def auth_kind(self) -> str:
        """"oauth", "token" or "pin" (for display; never the secret itself)."""
        if self.token_provider is not None:
            return "oauth"
        return "token" if self._token else "pin"

    def __repr__(self) -> str:
        return (
            f"ConcordClient(account={self.account!r}, endpoint={self.endpoint!r}, "
            f"user_id={self.user_id!r}, auth={self.auth_kind!r}, soap_version={self.soap_version!r})"
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it, and the token provider it was given."""
        await super().aclose()
        if self.token_provider is not None:
            await self.token_provider.aclose()

    def _secrets(self) -> list[str]:
        found = [s for s in (self._token, self._pin) if s]
        if self.token_provider is not None:
            found += self.token_provider.secrets()
        return found

    def request_body(self, job_ids: Sequence[str]) -> bytes:
        """UserID, strPIN (empty with bearer auth), FaxJobIds/item/JobId — WSDL order."""
        return build_envelope(
            self.soap_version,
            CONCORD_NS,
            OPERATION,
            [
                ("UserID", self.user_id),
                ("strPIN", self._pin or ""),
                ("FaxJobIds", [("item", [("JobId", job_id)]) for job_id in job_ids]),
            ],
        )

    def plan_batches(self, job_ids: Sequence[str]) -> list[list[str]]:
        """The batches `status` sends for these ids: `batch_size` at most, and — until the server has
        shown it names references in its answers — at most one `JRI-` reference per batch, so that
        whatever order the answer comes in, no reference can take another's job (module docstring)."""
        ids = _unique(job_ids)
        size = self.batch_size
        references = [i for i in ids if is_reference(i)]
        if self.references_echoed or len(references) <= 1:
            return [ids[start : start + size] for start in range(0, len(ids), size)]
        batches = [[ref] for ref in references]
        plain = iter(i for i in ids if not is_reference(i))
        for batch in batches:
            batch.extend(itertools.islice(plain, size - 1))
        rest = list(plain)
        batches += [rest[start : start + size] for start in range(0, len(rest), size)]
        return batches

    async def status(self, job_ids: Sequence[str]) -> StatusResult:
        """Real-time status of the given `br…` / `JRI-<ref>` ids, in sequential batches."""
        tally = _Tally()
        self._answers.new_round()
        try:
            for batch in self.plan_batches(job_ids):
                await self._status_batch(batch, tally)
        except ProviderError as exc:
            raise scrub(exc, make_redactor(self._secrets())) from None
        latencies = tally.latencies
        redact = make_redactor(self._secrets())
        return StatusResult(
            jobs=tally.jobs,
            polled_at=self._clock(),
            latency_ms=sum(latencies) / len(latencies) if latencies else 0.0,
            calls=len(latencies),
            not_found=tally.not_found,
            headers=tally.headers,
            warnings=[redact(w) for w in dict.fromkeys(tally.warnings)],
        )

    async def _status_batch(self, batch: list[str], tally: _Tally) -> None:
        answer = await self._exchange(batch, tally)
        invalid_id_said = answer.ws_code == CONCORD_INVALID_JOB_ID
        if not answer.ok and not answer.items:
            if invalid_id_said and len(batch) > 1:
                middle = len(batch) // 2
                await self._status_batch(batch[:middle], tally)
                await self._status_batch(batch[middle:], tally)
                return
            if invalid_id_said:
                self._not_found(batch, answer, tally)
                return
            raise self._ws_error(answer)
        found = answer_jobs(self.account, batch, answer)
        tally.jobs.extend(found.jobs)
        tally.not_found.extend(found.not_found)
        if found.references_echoed:
            self.references_echoed = True
        if found.ambiguous:
            self.references_echoed = False  # from now on, one reference a batch
            tally.warnings.append(
                "some answers named no id that was asked for and could not be told apart; "
                "they are shown under their own job ids"
            )
        if not answer.ok:  # a partial failure: the items stand, the error is worth a look
            code = answer.ws_code
            text = one_line(answer.ws_text or CONCORD_ERROR_TEXT.get(code or 0, "no error text"), 120)
            tally.warnings.append(f"Concord error {code}: {text}")
        if invalid_id_said:
            self._not_found([r for r in batch if r not in found.answered], answer, tally)

    def _not_found(self, ids: Sequence[str], answer: StatusAnswer, tally: _Tally) -> None:
        """Ids a call-level -5019 covers: NOT_FOUND jobs, as an item-level -5019 would give."""
        for lookup in ids:
            item = StatusItem(
                fax_job_id=lookup, status_id=CONCORD_INVALID_JOB_ID, description=None, recipient_state=None,
                current_pages=None, total_pages=None, delivery_time=None, duration=None, remote_csid=None,
                error_code=CONCORD_INVALID_JOB_ID, error_string=answer.ws_text or None,
            )
            tally.jobs.append(job_from_item(self.account, item, lookup, lookup, answer.headers))
            tally.not_found.append(lookup)

    def _ws_error(self, answer: StatusAnswer) -> ProviderError:
        code = answer.ws_code
        text = answer.ws_text or CONCORD_ERROR_TEXT.get(code or 0, "no error text")
        if is_auth_failure(code, answer.ws_text):
            return AuthError(f"authentication failed for account {self.account} (Concord {code}: {text})")
        return ServiceError(f"Concord error {code}: {text} (account {self.account})", code=code)

    async def _exchange(self, batch: list[str], tally: _Tally) -> StatusAnswer:
        """One call, retried once with a fresh token when the service rejects a provider's token."""
        for attempt in (1, 2):
            token = await self._bearer()  # a rejected token *request* is final: no retry
            retry = self.token_provider is not None and attempt == 1
            try:
                answer = await self._call(batch, token, tally)
            except AuthError:
                if not retry:
                    raise
            else:
                if answer.ok or answer.items or not is_auth_failure(answer.ws_code, answer.ws_text):
                    return answer
                if not retry:
                    raise self._ws_error(answer)
            assert self.token_provider is not None
            log.info("Concord account %s: token rejected, fetching a new one", self.account)
            self.token_provider.invalidate(token)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _bearer(self) -> str | None:
        if self.token_provider is not None:
            return await self.token_provider.token()
        return self._token

    async def _call(self, batch: list[str], token: str | None, tally: _Tally) -> StatusAnswer:
        headers = request_headers(self.soap_version, SOAP_ACTION)  # 1.1: SOAPAction: ""
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        headers[REQUEST_ID_HEADER] = str(uuid.uuid4())
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        http_answer = await self._http.post(self.endpoint, self.request_body(batch), headers)
        tally.latencies.append(http_answer.elapsed_ms)
        tracking = {k.lower(): v for k, v in http_answer.headers.items() if k.lower().startswith("x-ch-")}
        if tracking:
            tally.headers = tracking
        seen = self._answers.read(tuple(batch), http_answer, self.account, CONCORD_NS, RESPONSE_ELEMENT,
                                  read_status)
        return StatusAnswer(seen.ok, list(seen.items), seen.ws_code, seen.ws_text, tracking)
