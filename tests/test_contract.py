"""Contract tests: the real InterFax and Concord clients against the real simulator, over TCP.

Every world runs on a FakeClock, so what a client sees is checked against what the world itself
says it holds (its jobs and its truth log) at the same instant, and time only moves when a test
moves it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from contract_fixtures import (
    CCD_PIN,
    CCD_TOKEN,
    CCD_USER,
    IFX_USER,
    OAUTH_ID,
    OAUTH_SECRET,
    START,
    ZERO,
    assert_safe_message,
    at_utc,
    concord_client,
    fake_seconds,
    interfax_client,
    latest_truth,
    make_world,
    running,
    token_provider,
    truth_between,
    type_problems,
)

from faxtui.errors import (
    AuthError,
    ProtocolError,
    ProviderError,
    RateLimited,
    ServiceError,
    SoapFault,
    TransportError,
)
from faxtui.model import FaxJob, JobState
from faxtui.services.concord.auth import OAuthTokenProvider
from faxtui.services.concord.client import ConcordClient
from faxtui.services.interfax.client import InterFaxClient
from faxtui.sim import FakeClock, TruthRecord
from faxtui.sim.demo import (
    DEMO_CONCORD_PIN,
    DEMO_CONCORD_USER_ID,
    DEMO_INTERFAX_PASSWORD,
    DEMO_INTERFAX_USERNAME,
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One AsyncClient per test, shared by every client the test makes (as the poller does)."""
    async with httpx.AsyncClient() as client:
        yield client


def by_id(jobs: list[FaxJob]) -> dict[str, FaxJob]:
    return {job.job_id: job for job in jobs}


# --- InterFax: paging, look-ups, typed fields ------------------------------------------------------


async def test_interfax_pages_through_1000_jobs_newest_first_all_typed(http: httpx.AsyncClient) -> None:
    world = make_world(interfax_jobs=1000)
    truth = latest_truth(world, "interfax", IFX_USER)
    planned = {str(job.transaction_id): (job, frame) for job, frame in world.interfax_jobs(IFX_USER)}
    with running(world) as sim:
        client = interfax_client(sim, http)
        result = await client.recent(depth=10)

        ids = [job.job_id for job in result.jobs]
        assert ids == [str(i) for i in world.interfax_transaction_ids(IFX_USER)]
        assert len(ids) == len(set(ids)) == 1000
        assert result.calls == 10 == sim.stats.requests("interfax", IFX_USER)
        assert result.total_count == 1000

    postponed = 0
    for job in result.jobs:
        assert type_problems(job.item) == [], job.job_id
        (plan, frame), seen = planned[job.job_id], truth[job.job_id]
        assert (job.account, job.service) == ("ops-interfax", "interfax")
        assert (job.item.UserID, job.item.ParentTransactionID) == (IFX_USER, plan.parent_id)
        assert job.item.SubmitTime == at_utc(plan.submit)
        assert (job.status_code, job.state.value) == (seen.new_status, seen.new_state)
        assert (job.item.PagesSent, job.item.TrialsPerformed) == (seen.pages, seen.trials)
        assert job.item.PagesSubmitted == plan.pages_submitted
        if job.state.is_final:
            assert job.item.CompletionTime == at_utc(plan.submit + frame.at)
        else:
            assert job.item.CompletionTime is None
        if plan.postpone is None:
            assert job.item.PostponeTime is None
        else:
            postponed += 1
            assert job.item.PostponeTime == at_utc(plan.postpone)
    assert postponed > 0  # the check above ran both ways


async def test_interfax_paging_past_the_history_stops_at_the_first_short_page(
    http: httpx.AsyncClient,
) -> None:
    world = make_world(interfax_jobs=250)
    with running(world) as sim:
        result = await interfax_client(sim, http).recent(depth=10)
        assert [j.job_id for j in result.jobs] == [str(i) for i in world.interfax_transaction_ids(IFX_USER)]
        assert result.calls == 3 == sim.stats.requests("interfax", IFX_USER)


async def test_interfax_lookup_of_an_old_id_returns_exactly_that_job(http: httpx.AsyncClient) -> None:
    world = make_world(interfax_jobs=1000)
    ids = world.interfax_transaction_ids(IFX_USER)
    with running(world) as sim:
        client = interfax_client(sim, http)
        every = by_id((await client.recent(depth=10)).jobs)
        for old in (ids[-1], ids[-2], ids[700]):
            found = await client.lookup(old)
            assert found == every[str(old)]
        # An id of another user, and one below this user's oldest, find nothing (not a neighbour).
        demo_id = world.interfax_transaction_ids(DEMO_INTERFAX_USERNAME)[0]
        assert await client.lookup(demo_id) is None
        assert await client.lookup(ids[-1] - 1) is None


async def test_interfax_soap_11_and_12_give_identical_jobs(http: httpx.AsyncClient) -> None:
    world = make_world(interfax_jobs=150)
    with running(world) as sim:
        soap11 = await interfax_client(sim, http, soap_version="1.1").recent(depth=2)
        soap12 = await interfax_client(sim, http, soap_version="1.2").recent(depth=2)
    assert len(soap11.jobs) == 150 and soap11.calls == soap12.calls == 2
    assert soap12.jobs == soap11.jobs


async def test_interfax_datetime_styles_parse_to_the_same_aware_instants(http: httpx.AsyncClient) -> None:
    seen: dict[str, list[FaxJob]] = {}
    for style in ("dotnet", "Z", "+00:00"):
        world = make_world(datetime_style=style)
        with running(world) as sim:
            client = interfax_client(sim, http, DEMO_INTERFAX_USERNAME, DEMO_INTERFAX_PASSWORD)
            seen[style] = (await client.recent(depth=1)).jobs
    jobs = seen["dotnet"]
    assert len(jobs) == 60
    assert seen["Z"] == jobs and seen["+00:00"] == jobs
    for style_jobs in seen.values():
        for job in style_jobs:
            times = [job.item.SubmitTime, job.item.PostponeTime, job.item.CompletionTime]
            assert all(t.utcoffset() == ZERO for t in times if t is not None), job.job_id
    # The demo world has a postponed job, finished ones and unfinished ones: every form was parsed.
    assert any(j.item.PostponeTime is not None for j in jobs)
    assert any(j.item.CompletionTime is None for j in jobs)
    assert any(j.item.CompletionTime is not None for j in jobs)


@pytest.mark.parametrize("not_set", ["0001-01-01T00:00:00", "0000-00-00T00:00:00"])
async def test_interfax_times_not_set_read_as_none(http: httpx.AsyncClient, not_set: str) -> None:
    world = make_world(not_postponed=not_set, not_completed=not_set)
    postponed = {str(j.transaction_id) for j, _ in world.interfax_jobs(DEMO_INTERFAX_USERNAME)
                 if j.postpone is not None}
    with running(world) as sim:
        client = interfax_client(sim, http, DEMO_INTERFAX_USERNAME, DEMO_INTERFAX_PASSWORD)
        jobs = (await client.recent()).jobs
    assert postponed and len(jobs) == 60
    for job in jobs:
        assert (job.item.PostponeTime is not None) == (job.job_id in postponed)
        assert (job.item.CompletionTime is not None) == job.state.is_final


@pytest.mark.parametrize("shape", ["absent", "empty"])
async def test_interfax_account_without_jobs_gives_no_jobs(http: httpx.AsyncClient, shape: str) -> None:
    world = make_world(empty_result=shape)
    world.add_interfax_account("quiet", "quiet-pw", 0, arrivals=False)
    with running(world) as sim:
        client = interfax_client(sim, http, "quiet", "quiet-pw")
        result = await client.recent(depth=5)
        assert result.jobs == [] and result.total_count == 0 and result.calls == 1
        assert await client.lookup(812345678) is None


# --- InterFax: errors -------------------------------------------------------------------------------


async def test_interfax_bad_password_is_an_auth_error_without_the_password(http: httpx.AsyncClient) -> None:
    wrong = "Wr0ng&<pass>-ifx"
    world = make_world(interfax_jobs=10)
    with running(world) as sim:
        client = interfax_client(sim, http, password=wrong)
        with pytest.raises(AuthError) as caught:
            await client.recent()
    error = caught.value
    assert "-1003" in str(error) and "ops-interfax" in str(error)
    assert wrong not in f"{error} {error!r} {error.args}" and wrong not in repr(client)
    assert_safe_message(error)


async def test_interfax_seventh_call_in_a_minute_is_rate_limited_until_the_window_passes(
    http: httpx.AsyncClient,
) -> None:
    clock = FakeClock(START)
    world = make_world(clock, interfax_jobs=30, rate_limit_calls=6, rate_limit_window=60)
    with running(world) as sim:
        client = interfax_client(sim, http)
        for _ in range(6):
            assert len((await client.status_page()).jobs) == 30
        with pytest.raises(RateLimited) as caught:
            await client.status_page()
        assert "-1011" in str(caught.value)
        assert_safe_message(caught.value)
        clock.advance(61)
        assert len((await client.status_page()).jobs) == 30


# Each case: the fault kind, the exact error type, a phrase of its message, attributes it carries.
FaultCase = tuple[str, type[ProviderError], str, dict[str, Any]]

HTTP_FAULTS: list[FaultCase] = [
    ("http500", SoapFault, "(HTTP 500)", {"http_status": 500}),
    ("http502", ServiceError, "HTTP 502", {"code": 502}),
    ("http503", ServiceError, "HTTP 503", {"code": 503}),
    ("http503=20", ServiceError, "HTTP 503", {"code": 503}),
    ("http429", RateLimited, "retry after 30 s", {"retry_after": 30.0}),
    ("http429=7", RateLimited, "retry after 7 s", {"retry_after": 7.0}),
    ("status=401", AuthError, "HTTP 401", {}),
    ("status=404", ServiceError, "HTTP 404", {"code": 404}),
    ("drop", TransportError, "connection dropped", {}),
    ("drop_mid", TransportError, "connection dropped", {}),
    ("slow=0.8", TransportError, "timed out", {}),
    ("truncate", ProtocolError, "malformed XML", {}),
    ("malformed", ProtocolError, "malformed XML", {}),
    ("html", ProtocolError, "content type 'text/html'", {}),
]
FAULT_PARAMS = ("kind", "error", "phrase", "attrs")
SHORT_TIMEOUT = 0.3
"""Client timeout for the slow=0.8 case (the simulator waits real seconds)."""

INTERFAX_FAULTS: list[FaultCase] = [
    *HTTP_FAULTS,
    ("wrong_op", ProtocolError, "FaxStatusExResponse", {}),
    ("result=-150", ServiceError, "InterFax -150", {"code": -150}),
    ("result=-1003", AuthError, "-1003", {}),
    ("result=-1011", RateLimited, "-1011", {}),
]


def check_error(error: ProviderError, kind: type[ProviderError], phrase: str, attrs: dict[str, Any]) -> None:
    assert type(error) is kind, f"{type(error).__name__}: {error}"
    assert phrase in str(error)
    for name, value in attrs.items():
        assert getattr(error, name) == value, name
    assert_safe_message(error)


@pytest.mark.parametrize(FAULT_PARAMS, INTERFAX_FAULTS, ids=[c[0] for c in INTERFAX_FAULTS])
async def test_interfax_fault_gives_its_error_and_the_next_call_after_removal_succeeds(
    http: httpx.AsyncClient, kind: str, error: type[ProviderError], phrase: str, attrs: dict[str, Any]
) -> None:
    world = make_world(interfax_jobs=40)
    timeout = SHORT_TIMEOUT if kind.startswith("slow") else 5.0
    with running(world) as sim:
        client = interfax_client(sim, http, timeout=timeout)
        before = await client.status_page()
        fault = sim.faults.add(f"interfax:{kind}")
        with pytest.raises(ProviderError) as caught:
            await client.status_page()
        check_error(caught.value, error, phrase, attrs)
        assert sim.faults.remove(fault)
        after = await client.status_page()
        assert after.jobs == before.jobs and len(after.jobs) == 40


@pytest.mark.parametrize("service", ["interfax", "concord"])
async def test_soap12_server_fault_is_a_soap_fault_with_its_receiver_code(
    http: httpx.AsyncClient, service: str
) -> None:
    world = make_world(interfax_jobs=5, concord_jobs=5)
    with running(world, faults=f"{service}:http500") as sim:
        client: InterFaxClient | ConcordClient
        if service == "interfax":
            client = interfax_client(sim, http, soap_version="1.2")
            call = client.recent()
        else:
            client = concord_client(sim, http, soap_version="1.2")
            call = client.status(world.concord_job_ids(CCD_USER))
        with pytest.raises(SoapFault) as caught:
            await call
    assert caught.value.http_status == 500 and caught.value.faultcode.endswith(":Receiver")
    assert_safe_message(caught.value)


async def test_interfax_fault_for_one_account_leaves_the_others_alone(http: httpx.AsyncClient) -> None:
    world = make_world(interfax_jobs=5)
    with running(world, faults=f"interfax@{IFX_USER}:http503") as sim:
        with pytest.raises(ServiceError):
            await interfax_client(sim, http).recent()
        demo = interfax_client(sim, http, DEMO_INTERFAX_USERNAME, DEMO_INTERFAX_PASSWORD)
        assert len((await demo.recent()).jobs) == 60


# --- Concord: batching, JRI look-ups, not found ------------------------------------------------------


async def test_concord_500_ids_go_in_5_batches_and_each_is_answered_once(http: httpx.AsyncClient) -> None:
    world = make_world(concord_jobs=520)
    ids = world.concord_job_ids(CCD_USER)[:500]
    planned = {job.job_id: job for job, _ in world.concord_jobs(CCD_USER)}
    truth = latest_truth(world, "concord", CCD_USER)
    with running(world) as sim:
        client = concord_client(sim, http)
        result = await client.status(ids + ids[:30])  # a repeated id is asked (and paid for) once
        assert result.calls == 5 == sim.stats.requests("concord", CCD_USER)

    assert Counter(job.job_id for job in result.jobs) == Counter(ids)
    assert result.not_found == []
    states: Counter[JobState] = Counter()
    for job in result.jobs:
        seen, plan = truth[job.job_id], planned[job.job_id]
        states[job.state] += 1
        assert (job.account, job.service, job.lookup_id) == ("ops-concord", "concord", None)
        assert (job.status_code, job.state.value) == (seen.new_status, seen.new_state)
        assert job.concord is not None and job.concord.FaxJobId == job.job_id
        assert (job.item.PagesSent, job.item.PagesSubmitted) == (seen.pages, plan.pages_total)
        if job.state is JobState.DELIVERED:
            assert job.item.CompletionTime is not None and job.item.CompletionTime.utcoffset() == ZERO
    assert states[JobState.DELIVERED] and states[JobState.FAILED]


@pytest.mark.parametrize("offset_minutes", [0, 330, -300])
async def test_concord_delivery_times_are_the_same_instant_in_any_offset(
    http: httpx.AsyncClient, offset_minutes: int
) -> None:
    world = make_world(concord_jobs=60, concord_utc_offset_minutes=offset_minutes)
    planned = {job.job_id: (job, frame) for job, frame in world.concord_jobs(CCD_USER)}
    with running(world) as sim:
        result = await concord_client(sim, http).status(list(planned))
    delivered = [job for job in result.jobs if job.state is JobState.DELIVERED]
    assert delivered and len(result.jobs) == 60
    for job in result.jobs:
        plan, frame = planned[job.job_id]
        if job.state is JobState.DELIVERED:
            completed = job.item.CompletionTime
            assert completed == at_utc(plan.submit + frame.at)
            assert completed is not None and completed.utcoffset() == timedelta(minutes=offset_minutes)
        else:
            assert job.item.CompletionTime is None


async def test_concord_jri_lookups_resolve_to_the_most_recent_job_with_that_reference(
    http: httpx.AsyncClient,
) -> None:
    world = make_world(concord_jobs=300)
    by_reference: dict[str, list[Any]] = {}
    for planned, _ in world.concord_jobs(CCD_USER):
        by_reference.setdefault(planned.reference, []).append(planned)
    shared = {ref: jobs for ref, jobs in by_reference.items() if len(jobs) >= 2}
    assert len(shared) >= 3
    newest = {ref: max(jobs, key=lambda j: (j.submit, j.number)).job_id for ref, jobs in shared.items()}
    plain = [j for j in world.concord_job_ids(CCD_USER) if j not in newest.values()][:5]
    asked = [f"JRI-{ref}" for ref in shared] + plain
    truth = latest_truth(world, "concord", CCD_USER)
    with running(world) as sim:
        result = await concord_client(sim, http).status(asked)

    assert result.not_found == [] and len(result.jobs) == len(asked)
    resolved = {job.lookup_id: job for job in result.jobs if job.lookup_id}
    assert set(resolved) == {f"JRI-{ref}" for ref in shared}
    for ref, job_id in newest.items():
        job = resolved[f"JRI-{ref}"]
        assert job.job_id == job_id
        assert job.status_code == truth[job_id].new_status
    assert {j.job_id for j in result.jobs if j.lookup_id is None} == set(plain)


@pytest.mark.parametrize("placement", ["item", "item_error", "call"])
async def test_concord_unknown_ids_are_not_found_jobs(http: httpx.AsyncClient, placement: str) -> None:
    world = make_world(concord_jobs=20, concord_not_found=placement)
    known = world.concord_job_ids(CCD_USER)[:2]
    unknown = ["br001h00000000ff", "JRI-NO-SUCH-REF-1"]
    with running(world) as sim:
        client = concord_client(sim, http)
        mixed = await client.status([known[0], unknown[0], known[1], unknown[1]])
        alone = await client.status([unknown[0]])

    for result, wanted in ((mixed, unknown), (alone, unknown[:1])):
        assert sorted(result.not_found) == sorted(wanted)
        missing = {job.lookup_id or job.job_id: job for job in result.jobs if job.state is JobState.NOT_FOUND}
        assert sorted(missing) == sorted(wanted), f"{placement}: no NOT_FOUND job for {wanted}"
        for job in missing.values():
            assert job.status_code == -5019 and "Invalid Job ID" in job.status_text
    assert {j.job_id for j in mixed.jobs if j.state is not JobState.NOT_FOUND} == set(known)


# --- Concord: authentication -------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["pin", "token", "oauth", "pin-soap12"])
async def test_concord_every_auth_kind_sees_the_same_jobs(http: httpx.AsyncClient, auth: str) -> None:
    world = make_world(concord_jobs=30)
    ids = world.concord_job_ids(CCD_USER)
    with running(world) as sim:
        reference = await concord_client(sim, http).status(ids)
        kwargs: dict[str, Any] = {
            "pin": {"pin": CCD_PIN},
            "token": {"token": CCD_TOKEN},
            "oauth": {},
            "pin-soap12": {"pin": CCD_PIN, "soap_version": "1.2"},
        }[auth]
        if auth == "oauth":
            kwargs["token_provider"] = token_provider(sim, http)
        client = concord_client(sim, http, **kwargs)
        first = await client.status(ids)
        second = await client.status(ids)
        assert sim.stats.requests("token") == (1 if auth == "oauth" else 0)  # a token is reused

    assert len(first.jobs) == 30
    assert without_tracking(first.jobs) == without_tracking(reference.jobs) == without_tracking(second.jobs)


def without_tracking(jobs: list[FaxJob]) -> list[FaxJob]:
    """The jobs with their tracking headers blanked (each call has its own activity id)."""
    return [
        replace(j, concord=replace(j.concord, activity_id=None, execution_time_ms=None))
        if j.concord is not None
        else j
        for j in jobs
    ]


async def test_concord_oauth_token_is_refetched_after_it_expires_on_the_fake_clock(
    http: httpx.AsyncClient,
) -> None:
    clock = FakeClock(START)
    world = make_world(clock, concord_jobs=10, token_expires_in=600)
    ids = world.concord_job_ids(CCD_USER)
    with running(world) as sim:
        provider = token_provider(sim, http, clock=lambda: fake_seconds(clock))
        client = concord_client(sim, http, token_provider=provider)
        assert len((await client.status(ids)).jobs) == 10
        clock.advance(300)
        assert len((await client.status(ids)).jobs) == 10
        assert sim.stats.requests("token") == 1
        clock.advance(301)  # past the token's 600 s: the provider asks for a new one first
        assert len((await client.status(ids)).jobs) == 10
        assert sim.stats.requests("token") == 2
        assert sim.stats.requests("concord", CCD_USER) == 3  # no call was rejected and retried


@pytest.mark.parametrize("rejected_with", [200, 401])
async def test_concord_token_the_service_no_longer_accepts_is_replaced_once(
    http: httpx.AsyncClient, rejected_with: int
) -> None:
    clock = FakeClock(START)
    world = make_world(clock, concord_jobs=10, token_expires_in=600, concord_auth_http_status=rejected_with)
    ids = world.concord_job_ids(CCD_USER)
    with running(world) as sim:
        client = concord_client(sim, http, token_provider=token_provider(sim, http))  # its own clock
        assert len((await client.status(ids)).jobs) == 10
        clock.advance(900)  # the world's clock moved on; the provider still thinks its token is fresh
        result = await client.status(ids)
        assert len(result.jobs) == 10 and result.calls == 2
        assert sim.stats.requests("token") == 2
        assert sim.stats.requests("concord", CCD_USER) == 3


@pytest.mark.parametrize(
    ("auth", "secret", "http_status"),
    [
        ("pin", "Wr0ng-PIN-55", 200),
        ("token", "tok-Wrong-Static-77", 200),
        ("pin", "Wr0ng-PIN-55", 401),
        ("oauth", "Wr0ng-Client-Secret", 200),
    ],
)
async def test_concord_bad_credentials_are_an_auth_error_without_the_secret(
    http: httpx.AsyncClient, auth: str, secret: str, http_status: int
) -> None:
    world = make_world(concord_jobs=5, concord_auth_http_status=http_status)
    ids = world.concord_job_ids(CCD_USER)
    with running(world) as sim:
        if auth == "oauth":
            provider = OAuthTokenProvider(sim.token_url, OAUTH_ID, secret, http=http)
            client = concord_client(sim, http, token_provider=provider)
        else:
            client = concord_client(sim, http, **{auth: secret})
        with pytest.raises(AuthError) as caught:
            await client.status(ids)
    error = caught.value
    assert secret not in f"{error} {error!r} {error.args}" and secret not in repr(client)
    assert_safe_message(error)


@pytest.mark.parametrize("code", [None, -5040])
async def test_concord_return_false_is_a_service_error_with_its_code(
    http: httpx.AsyncClient, code: int | None
) -> None:
    world = make_world(concord_jobs=5)
    spec = "concord:false" if code is None else f"concord:false={code}"
    with running(world, faults=spec) as sim, pytest.raises(ServiceError) as caught:
        await concord_client(sim, http).status(world.concord_job_ids(CCD_USER))
    expected = -2 if code is None else code
    phrase = f"Concord error {expected}: Simulated failure"
    check_error(caught.value, ServiceError, phrase, {"code": expected})


# --- Concord: tracking headers -----------------------------------------------------------------------


async def test_concord_tracking_headers_are_kept_on_jobs_and_on_the_result(http: httpx.AsyncClient) -> None:
    world = make_world(concord_jobs=250)
    ids = world.concord_job_ids(CCD_USER)
    with running(world) as sim:
        result = await concord_client(sim, http).status(ids)
    assert result.calls == 3 and len(result.jobs) == 250
    per_batch = []
    for start in range(0, 250, 100):
        batch = result.jobs[start : start + 100]
        activity = {job.concord.activity_id for job in batch if job.concord is not None}
        timing = {job.concord.execution_time_ms for job in batch if job.concord is not None}
        assert len(activity) == 1 and len(timing) == 1
        per_batch.append((activity.pop(), timing.pop()))
    assert len({activity for activity, _ in per_batch}) == 3  # one activity id per call
    assert all(activity and timing is not None and timing.isdigit() for activity, timing in per_batch)
    last_activity, last_timing = per_batch[-1]
    assert result.headers == {"x-ch-activity-id": last_activity, "x-ch-execution-time": last_timing}


# --- Concord and the token endpoint: transport and HTTP faults ---------------------------------------

CONCORD_FAULTS: list[FaultCase] = [
    *HTTP_FAULTS,
    ("wrong_op", ProtocolError, "RealTimeFaxStatusExResponse", {}),
]


@pytest.mark.parametrize(FAULT_PARAMS, CONCORD_FAULTS, ids=[c[0] for c in CONCORD_FAULTS])
async def test_concord_fault_gives_its_error_and_the_next_call_after_removal_succeeds(
    http: httpx.AsyncClient, kind: str, error: type[ProviderError], phrase: str, attrs: dict[str, Any]
) -> None:
    world = make_world(concord_jobs=40)
    ids = world.concord_job_ids(CCD_USER)
    timeout = SHORT_TIMEOUT if kind.startswith("slow") else 5.0
    with running(world) as sim:
        client = concord_client(sim, http, timeout=timeout)
        before = await client.status(ids)
        fault = sim.faults.add(f"concord:{kind}")
        with pytest.raises(ProviderError) as caught:
            await client.status(ids)
        check_error(caught.value, error, phrase, attrs)
        assert sim.faults.remove(fault)
        after = await client.status(ids)
    assert [(j.job_id, j.state, j.status_code) for j in after.jobs] == [
        (j.job_id, j.state, j.status_code) for j in before.jobs
    ]
    assert len(after.jobs) == 40


TOKEN_FAULTS: list[FaultCase] = [
    ("http500", ServiceError, "HTTP 500", {"code": 500}),
    ("http503", ServiceError, "HTTP 503", {"code": 503}),
    ("http429=9", RateLimited, "rate limited", {"retry_after": 9.0}),
    ("drop", TransportError, "connection dropped", {}),
    ("slow=0.8", TransportError, "timed out", {}),
    ("malformed", ProtocolError, "malformed JSON", {}),
    ("html", ProtocolError, "malformed JSON", {}),
]


@pytest.mark.parametrize(FAULT_PARAMS, TOKEN_FAULTS, ids=[c[0] for c in TOKEN_FAULTS])
async def test_token_endpoint_fault_gives_its_error_and_the_next_call_after_removal_succeeds(
    http: httpx.AsyncClient, kind: str, error: type[ProviderError], phrase: str, attrs: dict[str, Any]
) -> None:
    world = make_world(concord_jobs=10)
    ids = world.concord_job_ids(CCD_USER)
    timeout = SHORT_TIMEOUT if kind.startswith("slow") else 5.0
    with running(world) as sim:
        provider = token_provider(sim, http, timeout=timeout)
        client = concord_client(sim, http, token_provider=provider)
        fault = sim.faults.add(f"token:{kind}")
        with pytest.raises(ProviderError) as caught:
            await client.status(ids)
        check_error(caught.value, error, phrase, attrs)
        assert OAUTH_SECRET not in str(caught.value)
        assert sim.stats.requests("concord", CCD_USER) == 0  # no call went out without a token
        assert sim.faults.remove(fault)
        assert len((await client.status(ids)).jobs) == 10


# --- Jobs progress as the world says -----------------------------------------------------------------


def _view(jobs: list[FaxJob]) -> dict[str, tuple[int | None, str]]:
    return {job.job_id: (job.status_code, job.state.value) for job in jobs}


def _assert_matches_truth(jobs: list[FaxJob], world_truth: dict[str, TruthRecord]) -> None:
    for job in jobs:
        record = world_truth[job.job_id]
        assert (job.status_code, job.state.value) == (record.new_status, record.new_state), job.job_id


def _assert_moved_as_recorded(
    before: dict[str, tuple[int | None, str]],
    after: dict[str, tuple[int | None, str]],
    changes: dict[str, list[TruthRecord]],
) -> set[str]:
    """Every job seen twice moved exactly as the world's changes in between say; returns the movers."""
    moved = {job_id for job_id in before.keys() & after.keys() if before[job_id] != after[job_id]}
    recorded = set()
    for job_id, records in changes.items():
        if job_id in before and job_id in after and records[0].old_status is not None:
            first, last = records[0], records[-1]
            assert before[job_id] == (first.old_status, first.old_state), job_id
            assert after[job_id] == (last.new_status, last.new_state), job_id
            if (first.old_status, first.old_state) != (last.new_status, last.new_state):
                recorded.add(job_id)
    assert moved == recorded
    return moved


async def test_jobs_progress_between_polls_as_the_worlds_truth_says(http: httpx.AsyncClient) -> None:
    clock = FakeClock(START)
    world = make_world(clock, arrival_mean_seconds=40)
    with running(world) as sim:
        ifx = interfax_client(sim, http, DEMO_INTERFAX_USERNAME, DEMO_INTERFAX_PASSWORD)
        ccd = concord_client(sim, http, DEMO_CONCORD_USER_ID, pin=DEMO_CONCORD_PIN)
        moved_ifx: set[str] = set()
        moved_ccd: set[str] = set()
        ifx_before = (await ifx.recent(depth=3)).jobs
        ccd_before = (await ccd.status(world.concord_job_ids(DEMO_CONCORD_USER_ID))).jobs
        for step in (45, 120, 600):
            since = clock.now()
            clock.advance(step)
            ifx_after = (await ifx.recent(depth=3)).jobs
            ccd_after = (await ccd.status(world.concord_job_ids(DEMO_CONCORD_USER_ID))).jobs

            _assert_matches_truth(ifx_after, latest_truth(world, "interfax", DEMO_INTERFAX_USERNAME))
            _assert_matches_truth(ccd_after, latest_truth(world, "concord", DEMO_CONCORD_USER_ID))
            ifx_changes = truth_between(world, since, "interfax", DEMO_INTERFAX_USERNAME)
            ccd_changes = truth_between(world, since, "concord", DEMO_CONCORD_USER_ID)
            moved_ifx |= _assert_moved_as_recorded(_view(ifx_before), _view(ifx_after), ifx_changes)
            moved_ccd |= _assert_moved_as_recorded(_view(ccd_before), _view(ccd_after), ccd_changes)
            # Faxes sent in between show up, and only those.
            arrived = {job_id for job_id, records in ifx_changes.items() if records[0].old_status is None}
            assert set(_view(ifx_after)) - set(_view(ifx_before)) == arrived
            ifx_before, ccd_before = ifx_after, ccd_after
    assert moved_ifx and moved_ccd


# --- Connection reuse ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["interfax", "concord", "concord-oauth"])
async def test_twenty_calls_over_one_async_client_use_one_connection(
    http: httpx.AsyncClient, service: str
) -> None:
    world = make_world(interfax_jobs=20, concord_jobs=20)
    ids = world.concord_job_ids(CCD_USER)
    with running(world) as sim:
        client: InterFaxClient | ConcordClient
        if service == "interfax":
            client = interfax_client(sim, http)
        elif service == "concord":
            client = concord_client(sim, http)
        else:
            client = concord_client(sim, http, token_provider=token_provider(sim, http))
        for _ in range(20):
            if isinstance(client, InterFaxClient):
                jobs = (await client.status_page()).jobs
            else:
                jobs = (await client.status(ids)).jobs
            assert len(jobs) == 20
        assert client.http is http
        assert sim.stats.requests(service.split("-")[0]) == 20
        assert sim.stats.connections == 1
