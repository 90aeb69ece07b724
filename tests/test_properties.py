"""Property-based tests of both response parsers: whatever comes back, jobs or a typed error, nothing else.

Two kinds of input: any bytes at all (and valid answers with random bytes spliced in), and
structured fuzz: well-formed envelopes whose every field is present or not, empty, a number, a
date, or any text XML allows. The InterFax parser is exercised directly on bytes
(`parse_faxstatusex`, the code the client runs after its HTTP checks) and through the real client
over loopback with random HTTP statuses and content types; Concord has no bytes-level entry
point, so it goes through the real client over loopback. Example counts are kept modest; the
Hypothesis database is off so nothing is written into the tree.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from hostile_server import Answer, HostileServer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from faxtui.errors import ProviderError
from faxtui.model import FAXITEM_FIELDS, FaxJob, JobState
from faxtui.services.concord.client import ConcordClient
from faxtui.services.concord.parse import StatusItem, match_items
from faxtui.services.interfax.client import InterFaxClient
from faxtui.services.interfax.parse import parse_faxstatusex
from faxtui.services.soap import SOAP11_NS, SOAP12_NS

IFX = "http://www.interfax.cc"
FAXWS = "urn:FaxWS"
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
FAST = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OVER_HTTP = settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check_error(exc: ProviderError) -> None:
    message = str(exc)
    assert message and "\n" not in message and not UNSAFE.search(message), repr(message)


# --- strategies ----------------------------------------------------------------------------------

# Every character XML 1.0 allows in text (lxml refuses the others when building).
xml_char = st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff").filter(
    lambda c: c in "\t\n\r" or ord(c) >= 0x20)
xml_text = st.text(xml_char, max_size=40)
numberish = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.sampled_from(["", " ", "-0", "+7", "1e3", "0x10", "１２", "٣", "1_000", "99999999999999"]),
)
timeish = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00", "0000-00-00T00:00:00", "2026-11-22T10:00:00.1234567",
                     "2026-11-22T10:00:00+14:59", "2026-02-30T10:00:00", "2026-11-22 10:00:00", "now"]),
)
weird = st.one_of(st.none(), xml_text, numberish, timeish)


VALID: dict[str, st.SearchStrategy[str | None]] = {  # what the WSDL promises for each kind
    "int": st.integers(-(2**31), 2**31 - 1).map(str),
    "short": st.integers(-(2**15), 2**15 - 1).map(str),
    "decimal": st.decimals(-10**6, 10**6, allow_nan=False, places=4).map(str),
    "dateTime": st.datetimes().map(lambda d: d.isoformat()),
    "string": st.one_of(st.none(), xml_text),
}
clean_item = st.tuples(*(VALID[spec.xsd] for spec in FAXITEM_FIELDS))
messy_item = st.tuples(*(st.one_of(VALID[spec.xsd], weird) for spec in FAXITEM_FIELDS))


def _envelope(version: str, build: Callable[[etree._Element], None]) -> bytes:
    ns = SOAP11_NS if version == "1.1" else SOAP12_NS
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns})
    body = etree.SubElement(env, f"{{{ns}}}Body")
    build(body)
    return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))


@st.composite
def interfax_answers(draw: st.DrawFn) -> bytes:
    """A FaxStatusExResponse with 0-4 items whose 27 fields are each absent or any value."""
    version = draw(st.sampled_from(["1.1", "1.2"]))
    # Mostly clean items, so the typing of every field is reached; sometimes one with anything in it.
    items = [draw(messy_item if draw(st.integers(0, 4)) == 0 else clean_item)
             for _ in range(draw(st.integers(0, 4)))]
    code = "0" if draw(st.integers(0, 9)) else draw(numberish)
    counts = [draw(VALID["int"]) if draw(st.integers(0, 4)) else draw(st.one_of(st.none(), numberish))
              for _ in range(2)]
    qualified = draw(st.booleans())

    def build(body: etree._Element) -> None:
        name = (lambda local: f"{{{IFX}}}{local}") if qualified else (lambda local: local)
        response = etree.SubElement(body, f"{{{IFX}}}FaxStatusExResponse")
        result = etree.SubElement(response, name("FaxStatusExResult"))
        for values in items:
            item = etree.SubElement(result, name("FaxItemEx"))
            for spec, value in zip(FAXITEM_FIELDS, values, strict=True):
                if value is not None:
                    etree.SubElement(item, name(spec.name)).text = value
        for label, value in zip(("TotalCount", "ListSize"), counts, strict=True):
            if value is not None:
                etree.SubElement(response, name(label)).text = value
        etree.SubElement(response, name("ResultCode")).text = code

    return _envelope(version, build)


CONCORD_FIELDS = ("FaxJobId", "FaxJobStatusId", "StatusDescription", "RecipientState",
                  "RecipientCurrentPageCount", "RecipientTotalPageCount", "FaxDeliveryDateTime",
                  "FaxDeliveryDuration", "RemoteFaxCSID")


@st.composite
def concord_answers(draw: st.DrawFn) -> bytes:
    """A RealTimeFaxStatusExResponse: any return flag, 0-4 items (some nil), any WSError."""
    version = draw(st.sampled_from(["1.1", "1.2"]))
    flag = "true" if draw(st.integers(0, 3)) else draw(st.sampled_from(["false", "1", "0", "maybe", ""]))
    small = st.integers(0, 3).flatmap(lambda n: st.integers(-6000, 6000).map(str) if n else weird)
    text = st.one_of(st.none(), xml_text)
    values = st.tuples(text, small, text, small, small, small, st.one_of(text, timeish), small, text,
                       st.one_of(st.none(), small), text).map(list)
    items = draw(st.lists(st.tuples(st.booleans(), values), max_size=4))
    code = st.one_of(st.none(), st.sampled_from(["0", "-5019", "-2", "-1"]))
    ws = draw(st.tuples(code if draw(st.integers(0, 3)) else numberish, st.one_of(st.none(), xml_text)))
    ids = ["br001h0000000001", "JRI-REF-1"]

    def build(body: etree._Element) -> None:
        response = etree.SubElement(body, f"{{{FAXWS}}}RealTimeFaxStatusExResponse", nsmap={"ns": FAXWS})
        etree.SubElement(response, f"{{{FAXWS}}}return").text = flag
        status_list = etree.SubElement(response, f"{{{FAXWS}}}FaxStatusList")
        for n, (nil, values) in enumerate(items):
            item = etree.SubElement(status_list, f"{{{FAXWS}}}item")
            if nil:
                item.set("{http://www.w3.org/2001/XMLSchema-instance}nil", "true")
                continue
            if n < len(ids) and values[0] is None:
                values[0] = ids[n]
            for name, value in zip(CONCORD_FIELDS, values, strict=False):
                if value is not None:
                    etree.SubElement(item, f"{{{FAXWS}}}{name}").text = value
            if values[9] is not None or values[10] is not None:
                error = etree.SubElement(item, f"{{{FAXWS}}}Error")
                if values[9] is not None:
                    etree.SubElement(error, f"{{{FAXWS}}}ErrorCode").text = values[9]
                if values[10] is not None:
                    etree.SubElement(error, f"{{{FAXWS}}}ErrorString").text = values[10]
        if ws[0] is not None or ws[1] is not None:
            error = etree.SubElement(response, f"{{{FAXWS}}}WSError")
            if ws[0] is not None:
                etree.SubElement(error, f"{{{FAXWS}}}ErrorCode").text = ws[0]
            if ws[1] is not None:
                etree.SubElement(error, f"{{{FAXWS}}}ErrorString").text = ws[1]

    return _envelope(version, build)


@st.composite
def spliced(draw: st.DrawFn, answers: st.SearchStrategy[bytes]) -> bytes:
    """A valid answer with a few random byte edits: damage right next to the structure."""
    body = bytearray(draw(answers))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if edit == "insert":
            body[at:at] = chunk
        elif edit == "delete":
            del body[at:at + len(chunk)]
        else:
            body[at:at + len(chunk)] = chunk
    return bytes(body)


any_interfax = st.one_of(st.binary(max_size=600), interfax_answers(), spliced(interfax_answers()))
any_concord = st.one_of(st.binary(max_size=600), concord_answers(), spliced(concord_answers()))
http_status = st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 502, 503])
content_type = st.sampled_from(["text/xml; charset=utf-8", "application/soap+xml", "text/html", "",
                                "application/xml; charset=latin-1"])


# --- InterFax, on bytes ----------------------------------------------------------------------------


def check_interfax_jobs(jobs: list[FaxJob]) -> None:
    for job in jobs:
        assert isinstance(job, FaxJob) and job.service == "interfax" and isinstance(job.state, JobState)
        assert job.job_id == str(job.item.TransactionID) and job.status_code == job.item.Status


@FAST
@given(any_interfax)
def test_interfax_parser_gives_jobs_or_a_provider_error(body: bytes) -> None:
    try:
        answer = parse_faxstatusex(body, "ifx")
    except ProviderError as exc:
        check_error(exc)
        event(f"error: {type(exc).__name__}")
        return
    event(f"{min(len(answer.jobs), 2)}+ jobs")
    check_interfax_jobs(answer.jobs)
    assert isinstance(answer.total_count, int) and isinstance(answer.list_size, int)


# --- both clients, over loopback -----------------------------------------------------------------


class Harness:
    """One loopback server and one event loop for all the examples of a test."""

    def __init__(self) -> None:
        self.answer = Answer()
        self.server = HostileServer(lambda request: self.answer).start()
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.loop.close()
        self.server.stop()


    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_interfax_client_gives_a_page_or_a_provider_error() -> None:
    with Harness() as h:
        client = InterFaxClient("ifx", h.server.url("/dfs.asmx"), "ops", "pw-Hyp0thesis", timeout=5)

        @OVER_HTTP
        @given(any_interfax, http_status, content_type)
        def check(body: bytes, status: int, ctype: str) -> None:
            h.answer = Answer(status, body, [("Content-Type", ctype)] if ctype else [])
            try:
                page = h.run(client.status_page())
            except ProviderError as exc:
                check_error(exc)
                assert "pw-Hyp0thesis" not in str(exc)
                event(f"error: {type(exc).__name__}")
                return
            event(f"{min(len(page.jobs), 2)}+ jobs")
            check_interfax_jobs(page.jobs)

        check()
        h.run(client.aclose())


def test_concord_client_gives_jobs_or_a_provider_error() -> None:
    with Harness() as h:
        client = ConcordClient("cc", h.server.url("/fax/v5"), "mbx1", token="tok-Hyp0thesis", timeout=5)

        @OVER_HTTP
        @given(any_concord, st.sampled_from([200, 200, 200, 200, 401, 500]), content_type)
        def check(body: bytes, status: int, ctype: str) -> None:
            h.answer = Answer(status, body, [("Content-Type", ctype)] if ctype else [])
            try:
                result = h.run(client.status(["br001h0000000001", "JRI-REF-1"]))
            except ProviderError as exc:
                check_error(exc)
                assert "tok-Hyp0thesis" not in str(exc)
                event(f"error: {type(exc).__name__}")
                return
            event(f"{min(len(result.jobs), 2)}+ jobs")
            for job in result.jobs:
                assert isinstance(job, FaxJob) and job.service == "concord" and job.job_id
                assert isinstance(job.state, JobState) and job.concord is not None
            asked = {"br001h0000000001", "JRI-REF-1"}
            assert set(result.not_found) <= asked | {j.job_id for j in result.jobs}

        check()
        h.run(client.aclose())


# --- pairing Concord's items with the ids asked for ---------------------------------------------------


def _pairs_by_list_scan(requested: list[str], item_ids: list[str]) -> list[tuple[str, str | None]]:
    """The pairing rule written the plain way: an item answers the id it names, letter case aside;
    of the rest, one item with an id takes the one unanswered JRI- reference, and one item without
    an id the one unanswered id, when there is exactly one of each; nothing is guessed beyond that."""
    unmatched = list(requested)
    paired: list[str | None] = [None] * len(item_ids)
    for n, job_id in enumerate(item_ids):
        same = [r for r in unmatched if job_id and r.lower() == job_id.lower()]
        if same:
            unmatched.remove(same[0])
            paired[n] = same[0]
    left_with_id = [n for n, job_id in enumerate(item_ids) if paired[n] is None and job_id]
    left_without = [n for n, job_id in enumerate(item_ids) if paired[n] is None and not job_id]
    references = [r for r in unmatched if r.upper().startswith("JRI-")]
    if len(left_with_id) == 1 and len(references) == 1:
        paired[left_with_id[0]] = references[0]
        unmatched.remove(references[0])
    if len(left_without) == 1 and len(unmatched) == 1:
        paired[left_without[0]] = unmatched[0]
    return [(job_id, req) for job_id, req in zip(item_ids, paired, strict=True) if req is not None or job_id]


@FAST
@given(
    requested=st.lists(st.sampled_from(["br1", "br2", "BR3", "JRI-a", "jri-b", "JRI-c", "x"]), max_size=12),
    item_ids=st.lists(st.sampled_from(["", "br1", "Br2", "br3", "br9", "x", "JRI-A"]), max_size=12),
)
def test_concord_items_pair_with_the_ids_asked_for(requested: list[str], item_ids: list[str]) -> None:
    items = [StatusItem(job_id, 3, *[None] * 9) for job_id in item_ids]
    got = [(item.fax_job_id, req) for item, req in match_items(requested, items)]
    assert got == _pairs_by_list_scan(requested, item_ids)


@FAST
@given(
    plain=st.lists(st.sampled_from([f"br{n}" for n in range(8)]), unique=True, max_size=8),
    references=st.lists(st.sampled_from([f"JRI-{c}" for c in "ABCDEF"]), unique=True, max_size=6),
    batch_size=st.integers(1, 5),
    echo=st.booleans(),
    data=st.data(),
)
def test_no_reference_is_ever_paired_with_another_references_job(
    plain: list[str], references: list[str], batch_size: int, echo: bool, data: st.DataObject
) -> None:
    """Batches as the client plans them, answered in any order, with references answered under their
    br ids: each reference either gets its own job or none, never another's."""
    client = ConcordClient("acc", "http://127.0.0.1:1/fax/v5", "mbx1", token="t", batch_size=batch_size)
    client.references_echoed = echo  # what an earlier answer may have taught the client
    resolves = {ref: f"br-{ref[4:].lower()}" for ref in references}
    batches = client.plan_batches(plain + references)
    assert sorted(i for b in batches for i in b) == sorted(plain + references)
    assert all(len(b) <= batch_size for b in batches)
    for batch in batches:
        answer = [StatusItem(resolves.get(i, i), 3, *[None] * 9) for i in batch]
        order = data.draw(st.permutations(answer))
        for item, lookup in match_items(batch, order):
            if lookup is not None:
                assert resolves.get(lookup, lookup) == item.fax_job_id
