"""`faxtui status --json`, a real subprocess, against a simulator that answers the way real servers
may and faxtui's own simulator did not: InterFax ids past 999,999,999, a nil number in one item, SQL
Server's 1900 zero date, a SOAP fault with namespace-qualified children; Concord batches answered
in reverse order, in upper case, as a partial failure (`return=false` that still carries items).
Every job must come out as the simulator's own ground truth has it, every error with its text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_fixtures import faxtui

from faxtui.sim import FakeClock, SimOptions, SimServer, World
from faxtui.sim.status_tables import concord_state, interfax_state

PASSWORD = "Pa55-w0rd-for-ops"
PARTIAL_TEXT = "One or more job ids are invalid"
UNKNOWN_BR = "br00000000000deadbeef"
NIL_POSITION = 1
"""The item of every FaxStatusEx page whose PagesSent is nil."""


@pytest.fixture(scope="module")
def hostile() -> Iterator[SimServer]:
    options = SimOptions(
        seed=11,
        arrival_mean_seconds=0,  # a still world: the ground truth read below is what faxtui sees
        interfax_bad_fields=(f"nil:PagesSent@{NIL_POSITION}",),
        not_postponed="1900-01-01T00:00:00",
        soap_fault_style="qualified",
        concord_order="reversed",
        concord_id_case="upper",
        concord_not_found="call",
        concord_call_error_text=PARTIAL_TEXT,
    )
    world = World(options, FakeClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC)))
    world.add_interfax_account("ops", PASSWORD, jobs=40)
    world.add_interfax_account("broken", PASSWORD, jobs=5)
    with SimServer(world=world, options=options, faults="interfax@broken:http500") as server:
        yield server


def add(env: dict[str, str], *args: str, secret: str) -> None:
    result = faxtui(env, "accounts", "add", *args, stdin=secret + "\n")
    assert result.returncode == 0, result.stderr


def test_every_job_right_and_every_error_with_its_text(hostile: SimServer, env: dict[str, str]) -> None:
    world = hostile.world
    add(env, "--name", "ifx", "--service", "interfax", "--endpoint", hostile.interfax_url,
        "--username", "ops", secret=PASSWORD)
    add(env, "--name", "ifx-broken", "--service", "interfax", "--endpoint", hostile.interfax_url,
        "--username", "broken", secret=PASSWORD)
    add(env, "--name", "ccd", "--service", "concord", "--endpoint", hostile.concord_url,
        "--user-id", "mbx0000000001", "--auth", "oauth", "--token-url", hostile.token_url,
        "--client-id", "demo", secret="demo")
    concord_jobs = world.concord_jobs("mbx0000000001")  # newest first
    concord_truth = {job.job_id.casefold(): (job, frame) for job, frame in concord_jobs}
    by_state: dict[str, list[str]] = {}
    for job, frame in concord_jobs:
        by_state.setdefault(concord_state(frame.status), []).append(job.job_id)
    br_ids = [by_state["sending"][0], by_state["failed"][0], by_state["delivered"][0], by_state["failed"][1]]
    # Two references whose newest jobs ended differently: crossed, one would show the other's end.
    newest: dict[str, str] = {}
    for job, frame in concord_jobs:
        if job.job_id not in br_ids:
            newest.setdefault(job.reference, concord_state(frame.status))
    references = [next(r for r, state in newest.items() if state == "failed"),
                  next(r for r, state in newest.items() if state == "delivered")]
    assert len(references) == 2
    watched = faxtui(env, "watch", "add", "--account", "ccd", *br_ids, UNKNOWN_BR,
                     *(f"JRI-{r}" for r in references))
    assert watched.returncode == 0, watched.stderr

    result = faxtui(env, "status", "--json")
    assert result.returncode == 1, result.stderr  # one account failed: the others are still listed
    data = json.loads(result.stdout)
    accounts = {a["name"]: a for a in data["accounts"]}
    jobs: dict[tuple[str, str], dict[str, Any]] = {(j["account"], j["id"]): j for j in data["jobs"]}

    # The fault keeps its code and text although its children are namespace-qualified.
    broken = accounts["ifx-broken"]
    assert broken["ok"] is False
    assert "soap:Server" in broken["error"] and "Simulated server failure" in broken["error"]

    # InterFax: every job listed, ids as high as the real service's, states by the sim's own table.
    ifx_truth = world.interfax_jobs("ops")
    assert accounts["ifx"]["ok"] is True and accounts["ifx"]["jobs"] == len(ifx_truth) == 40
    assert min(job.transaction_id for job, _ in ifx_truth) > 999_999_999
    for position, (job, frame) in enumerate(ifx_truth):
        shown = jobs[("ifx", str(job.transaction_id))]
        assert shown["state"] == interfax_state(frame.status, frame.trials), job.transaction_id
        assert shown["status_code"] == frame.status
        fields = shown["fields"]
        if job.postpone_after is None:
            assert fields["PostponeTime"] is None, job.transaction_id  # sent as 1900-01-01: not set
        else:
            assert datetime.fromisoformat(fields["PostponeTime"]).year == 2026
        assert fields["TrialsPerformed"] == frame.trials
        if position % 100 == NIL_POSITION:
            assert fields["PagesSent"] is None
        else:
            assert fields["PagesSent"] == frame.pages
    assert accounts["ifx"]["warning"] is None  # a nil number is a value left out, not an item lost

    # Concord: reversed, upper-case answers still land on the right ids; each reference gets the job
    # the sim says it names; the partial failure's items are kept and its WSError is the warning.
    ccd = accounts["ccd"]
    assert ccd["ok"] is True and ccd["error"] is None
    assert ccd["warning"] is not None and PARTIAL_TEXT in ccd["warning"]
    for br in br_ids:
        shown = jobs[("ccd", br)]
        assert shown["state"] == concord_state(concord_truth[br.casefold()][1].status), br
        assert shown["watched"] is True
        assert shown["native"]["FaxJobId"].lower() == br.lower()
    for reference in references:
        found = [j for j in data["jobs"] if j["reference"] == f"JRI-{reference}"]
        assert len(found) == 1, reference
        job, frame = concord_truth[found[0]["id"].casefold()]  # in the server's letter case
        assert job.reference == reference
        assert found[0]["state"] == concord_state(frame.status)
    assert ("ccd", UNKNOWN_BR) not in jobs or jobs[("ccd", UNKNOWN_BR)]["state"] == "not_found"
    assert PASSWORD not in result.stdout + result.stderr


def test_the_fixture_is_as_hostile_as_it_says(hostile: SimServer, tmp_path: Path) -> None:
    """The options above change the wire, or the test proves nothing: the raw answers show them."""
    import httpx

    envelope = ('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
                '<soap:Body><FaxStatusEx xmlns="http://www.interfax.cc"><Username>ops</Username>'
                f"<Password>{PASSWORD}</Password><LastTransactionID>2147483647</LastTransactionID>"
                "<MaxItems>100</MaxItems><TotalCount>0</TotalCount><ListSize>0</ListSize>"
                "<ResultCode>0</ResultCode></FaxStatusEx></soap:Body></soap:Envelope>")
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://www.interfax.cc/FaxStatusEx"'}
    answer = httpx.post(hostile.interfax_url, content=envelope, headers=headers, timeout=10).text
    assert "1900-01-01T00:00:00" in answer and 'xsi:nil="true"' in answer
    broken = httpx.post(hostile.interfax_url, content=envelope.replace(">ops<", ">broken<"),
                        headers=headers, timeout=10)
    assert broken.status_code == 500 and "<soap:faultcode>" in broken.text
