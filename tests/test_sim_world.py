"""The simulated world: reproducible from its seed, and jobs that live the documented lives."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import httpx
from sim_fixtures import (
    DEMO_CONCORD,
    START,
    concord_headers,
    faxstatusex,
    interfax_headers,
    read_concord,
    read_interfax,
    realtime_status,
    running,
    world,
)

from faxtui.sim import FakeClock, RealClock, SimOptions, SimServer
from faxtui.sim.status_tables import INTERFAX_STATUS

PRE_PROCESSING = {-11, -1}
RETRY_AFTER = {code for code, s in INTERFAX_STATUS.items() if s.text.startswith(("Busy", "No answer"))}
"""Final codes of call-connect failures (busy, no answer) that InterFax retries (interfax.md §4.1)."""


def _session(server: SimServer, client: httpx.Client, steps: list[float]) -> list[tuple[int, str, bytes]]:
    """The same conversation with a server: InterFax pages, Concord look-ups and truth, clock steps."""
    clock = server.world.clock
    assert isinstance(clock, FakeClock)
    out = []
    for step in steps:
        clock.advance(step)
        ids = server.world.concord_job_ids(DEMO_CONCORD)
        refs = [f"JRI-{r}" for r in server.world.concord_references(DEMO_CONCORD)]
        exchanges = [
            client.post(server.interfax_url, content=faxstatusex("demo", "demo"), headers=interfax_headers()),
            client.post(
                server.interfax_url,
                content=faxstatusex("demo", "demo", version="1.2"),
                headers=interfax_headers("1.2"),
            ),
            client.post(
                server.concord_url,
                content=realtime_status(DEMO_CONCORD, "demo", ids + refs + ["bad"]),
                headers=concord_headers(),
            ),
            client.get(server.control_url + "/truth"),
        ]
        out += [(r.status_code, r.headers["content-type"], r.content) for r in exchanges]
    return out


def test_same_seed_and_clock_steps_give_byte_identical_answers() -> None:
    steps = [0, 7, 45, 300, 1800, 7200]
    options = {"rate_limit_calls": 1000}
    with running(**options) as first, running(**options) as second, httpx.Client() as client:
        a = _session(first, client, steps)
        b = _session(second, client, steps)
    assert a == b
    with running(seed=2, **options) as other, httpx.Client() as client:
        c = _session(other, client, steps)
    assert [x[2] for x in c] != [x[2] for x in a]


def test_how_often_the_world_is_read_does_not_change_it() -> None:
    often = world(arrival_mean_seconds=20)
    rarely = world(arrival_mean_seconds=20)
    for _ in range(360):
        assert isinstance(often.clock, FakeClock)
        often.clock.advance(10)
        often.advance_to_now()
    assert isinstance(rarely.clock, FakeClock)
    rarely.clock.advance(3600)
    assert often.interfax_transaction_ids("demo") == rarely.interfax_transaction_ids("demo")
    assert [(j.transaction_id, f) for j, f in often.interfax_jobs("demo")] == [
        (j.transaction_id, f) for j, f in rarely.interfax_jobs("demo")
    ]
    assert [r.to_json() for r in often.truth()] == [r.to_json() for r in rarely.truth()]


def test_demo_accounts_start_with_every_state() -> None:
    w = world()
    summary = {a["name"]: a for a in w.summary()["accounts"]}
    assert set(summary["demo"]["states"]) >= {
        "queued",
        "sending",
        "retrying",
        "delivered",
        "failed",
        "cancelled",
    }
    assert summary["demo"]["jobs"] == 60
    statuses = {frame.status for _, frame in w.interfax_jobs("demo")}
    assert statuses >= {-11, -1, -2, -3, -22, 0, 403}
    assert statuses & RETRY_AFTER
    ids = w.interfax_transaction_ids("demo")
    assert ids[0] == SimOptions().interfax_id_base == 1_512_345_678
    assert summary[DEMO_CONCORD]["jobs"] == 40
    assert set(summary[DEMO_CONCORD]["states"]) >= {"sending", "delivered", "failed"}
    by_ref: dict[str, int] = defaultdict(int)
    for job, _ in w.concord_jobs(DEMO_CONCORD):
        by_ref[job.reference] += 1
    shared = [ref for ref, n in by_ref.items() if n > 1]
    assert "INV-2026-0042" in shared and len(shared) >= 3
    assert all(job_id.startswith("br001h") for job_id in w.concord_job_ids(DEMO_CONCORD))


def _follow(w: object, minutes: int, step: float = 5) -> dict[int, list[tuple[int, int, int]]]:
    """(status, trials, pages) of every demo InterFax job at each clock step."""
    from faxtui.sim import World

    assert isinstance(w, World) and isinstance(w.clock, FakeClock)
    seen: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for _ in range(int(minutes * 60 / step)):
        for job, frame in w.interfax_jobs("demo"):
            seen[job.transaction_id].append((frame.status, frame.trials, frame.pages))
        w.clock.advance(step)
    return seen


def _rank(status: int) -> int:
    return {-11: 0, -1: 1, -22: 2, -2: 3, -3: 4}.get(status, 5)


def test_interfax_jobs_move_forward_through_the_documented_states() -> None:
    w = world(arrival_mean_seconds=60)
    seen = _follow(w, minutes=90)
    finished_after_sending = 0
    for history in seen.values():
        statuses = [s for s, _, _ in history]
        ranks = [_rank(s) for s in statuses]
        assert ranks == sorted(ranks), statuses  # never backwards: -11/-1 -> (-22) -> -2 -> -3 -> final
        finals = {s for s in statuses if s >= 0}
        assert len(finals) <= 1, statuses  # a final status never changes
        if statuses[-1] >= 0 and -3 in statuses:
            finished_after_sending += 1
        pages = [p for s, _, p in history if s == -3]
        trials = [t for _, t, _ in history]
        assert trials == sorted(trials)
        assert all(p >= 0 for p in pages)
    assert finished_after_sending >= 5
    # New jobs arrived while the clock ran, above the old newest id.
    assert max(seen) > SimOptions().interfax_id_base + 10


def test_busy_and_no_answer_retries_stay_at_minus_3_with_trials_rising() -> None:
    w = world(arrival_mean_seconds=0)
    retrying = [j.transaction_id for j, f in w.interfax_jobs("demo") if f.status == -3 and f.trials > 0]
    assert retrying
    seen = _follow(w, minutes=60, step=2)
    exhausted = 0
    jobs = {j.transaction_id: j for j, _ in w.interfax_jobs("demo")}
    for txid in retrying:
        history = seen[txid]
        final_status, final_trials, _ = history[-1]
        assert final_status >= 0, "a retrying demo job finishes within the hour"
        in_progress = [(s, t) for s, t, _ in history if s < 0]
        assert {s for s, _ in in_progress} == {-3}
        trial_values = sorted({t for _, t in in_progress})
        assert trial_values == list(range(trial_values[0], trial_values[-1] + 1))
        if final_status in RETRY_AFTER:
            exhausted += 1
            assert final_trials == jobs[txid].retries  # every allowed attempt used
        else:
            assert final_status == 0 and final_trials >= 2
    assert exhausted >= 1


def test_units_times_cost_per_unit_and_broadcasts_over_http() -> None:
    w = world(rate_limit_calls=1000, demo_accounts=False)
    w.add_interfax_account("bulk", "pw", jobs=400)
    items: list[dict[str, str]] = []
    with running(w) as server, httpx.Client() as client:
        last = 2147483647
        while True:
            answer = read_interfax(
                client.post(
                    server.interfax_url, content=faxstatusex("bulk", "pw", last), headers=interfax_headers()
                ).content
            )
            if not answer.items:
                break
            items += answer.items
            last = answer.ids[-1]
    assert len(items) == 400
    by_id = {int(i["TransactionID"]): i for i in items}
    groups: dict[int, list[int]] = defaultdict(list)
    for txid, item in by_id.items():
        units, rate = Decimal(item["Units"]), Decimal(item["CostPerUnit"])
        assert item["Units"].endswith(".0000") and len(item["CostPerUnit"].split(".")[1]) == 4
        assert units == int(item["PagesSent"])  # billed per page sent
        assert rate > 0 and units * rate == int(item["PagesSent"]) * rate
        if item["Status"] == "0":
            assert item["PagesSent"] == item["PagesSubmitted"]
        assert item["DestinationFax"].startswith("00") and item["DestinationFax"].isdigit()
        assert item["PageSize"] in ("A4", "Letter") and item["PageOrientation"] in ("Portrait", "Landscape")
        assert item["PageResolution"] in ("Standard", "Fine") and item["UserID"] == "bulk"
        groups[int(item["ParentTransactionID"])].append(txid)
    broadcasts = {p: sorted(ids) for p, ids in groups.items() if len(ids) > 1}
    assert broadcasts, "400 jobs include broadcasts"
    for parent, ids in groups.items():
        assert min(ids) == parent  # the parent is the first transaction of the batch
        assert sorted(ids) == list(range(parent, parent + len(ids)))  # consecutive ids
        assert len({by_id[i]["SubmitTime"] for i in ids}) == 1
        assert len({by_id[i]["Subject"] for i in ids}) == 1
    singles = [ids[0] for ids in groups.values() if len(ids) == 1]
    assert all(int(by_id[i]["ParentTransactionID"]) == i for i in singles)


def test_concord_pages_count_up_in_real_time_and_delivery_fills_the_rest() -> None:
    w = world(arrival_mean_seconds=0)
    assert isinstance(w.clock, FakeClock)
    with running(w) as server, httpx.Client() as client:

        def look() -> dict[str, str]:
            r = client.post(
                server.concord_url,
                content=realtime_status(DEMO_CONCORD, "demo", ["JRI-PO-2026-1187"]),
                headers=concord_headers(),
            )
            return read_concord(r.content).items[0]

        first = look()
        assert first["FaxJobStatusId"] == "3" and int(first["RecipientCurrentPageCount"]) > 0
        assert first["FaxDeliveryDateTime"] == "" and first["FaxDeliveryDuration"] == "0"
        pages = [int(first["RecipientCurrentPageCount"])]
        item = first
        while item["FaxJobStatusId"] == "3":
            w.clock.advance(5)
            item = look()
            pages.append(int(item["RecipientCurrentPageCount"]))
        assert pages == sorted(pages) and pages[-1] > pages[0]
        assert item["FaxJobStatusId"] == "1" and item["StatusDescription"] == "Job Succeeded"
        assert item["RecipientCurrentPageCount"] == item["RecipientTotalPageCount"]
        assert int(item["FaxDeliveryDuration"]) > 0 and item["RemoteFaxCSID"]
        delivered = item["FaxDeliveryDateTime"]
        assert delivered.endswith("+00:00")
        from datetime import datetime

        assert START < datetime.fromisoformat(delivered) <= w.now


def test_truth_log_chains_every_change_and_matches_what_the_service_reports() -> None:
    w = world(arrival_mean_seconds=30)
    assert isinstance(w.clock, FakeClock)
    mark = w.now
    w.clock.advance(1800)
    changes = w.truth(since=mark)
    assert changes and all(mark < c.at <= w.now for c in changes)
    assert [c.at for c in changes] == sorted(c.at for c in changes)
    last: dict[tuple[str, str], int] = {}
    for record in w.truth():
        key = (record.service, record.job_id)
        assert record.old_status == last.get(key), record
        last[key] = record.new_status
    for job, frame in w.interfax_jobs("demo"):
        assert last[("interfax", str(job.transaction_id))] == frame.status
    for cjob, cframe in w.concord_jobs(DEMO_CONCORD):
        assert last[("concord", cjob.job_id)] == cframe.status
    arrivals = [c for c in changes if c.old_status is None]
    assert arrivals and all(c.at > mark for c in arrivals)
    assert w.truth(since=w.now) == []
    assert w.truth(since=mark - timedelta(days=1)) == w.truth()


def test_old_finished_jobs_leave_the_world_after_the_retention_period() -> None:
    w = world(arrival_mean_seconds=10, retention_days=1 / 24)
    assert isinstance(w.clock, FakeClock)
    for _ in range(36):
        w.clock.advance(600)
        w.advance_to_now()
    jobs = w.interfax_jobs("demo")
    now = w.now.timestamp()
    old = [(job, frame) for job, frame in jobs if job.submit < now - 2 * 3600]
    # Old jobs stay only while unfinished (held for credit) or finished since the last sweep.
    assert old and all(not frame.final or job.submit + frame.at > now - 3600 for job, frame in old)
    assert len(jobs) < 6 * 360 / 2  # far fewer than the ~1,000 that arrived per account
    ids = w.interfax_transaction_ids("demo")
    assert ids == sorted(ids, reverse=True) and len(ids) == len(jobs)
    refs = w.concord_references(DEMO_CONCORD)
    assert refs and all(w.concord_job_ids(DEMO_CONCORD))


def test_speed_multiplies_real_time() -> None:
    clock = RealClock(speed=3600)
    before = clock.now()
    time.sleep(0.05)
    assert clock.now() - before >= timedelta(seconds=3600 * 0.05)
    with SimServer(options=SimOptions(speed=3600)) as server:
        start = server.world.advance_to_now()
        time.sleep(0.05)
        assert server.world.advance_to_now() - start >= timedelta(seconds=180)
