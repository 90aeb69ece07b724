"""Parsing benchmark: simulator responses turned into typed FaxJobs, against zeep and bare lxml.

Three bodies, built by the simulator's own response builders (World + InterfaxService /
ConcordService, the bytes `faxtui sim` would send): FaxStatusEx with 100 and 1,000 items (the
item cap raised) and GetRealTimeFaxStatusEx with 500 items. Each is parsed by

- faxtui: `parse_faxstatusex` / `parse_status` + `answer_jobs`, the functions the clients run on
  a response body after the HTTP checks, ending in `FaxJob`s. "first parse" empties the parsers'
  caches before every call (a page never seen before); "re-parse" keeps them (every later poll of
  a page, which is what the poller mostly does);
- zeep: a `zeep.Client` on the simulator's WSDL, `binding.process_reply(client, operation,
  response)` with a `requests.Response` holding the same bytes: what zeep does after its
  transport returns, ending in zeep's objects (which are not FaxJobs: no state, naive times);
- bare lxml: `lxml.etree.fromstring(body)`, the floor.

Targets (the first parse): at least 12x faster than zeep, at most 2.5x the bare parse. Calls are
interleaved in rounds so that a slow spell on a shared machine hits every contender alike.

    python -m benchmarks.bench_parse [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lxml import etree

from benchmarks.common import Result, Timing, exit_code, header, interleaved, report
from faxtui.model import FAXITEM_NAMES, ConcordStatus, FaxItemEx, FaxJob
from faxtui.services.concord import parse as concord
from faxtui.services.interfax import parse as interfax
from faxtui.services.soap import parse_response

ZEEP_FACTOR_TARGET = 12.0
BARE_RATIO_TARGET = 2.5
ACCOUNT = "bench"
IFX_USER, IFX_PASSWORD = "bench", "bench"
CCD_USER, CCD_PIN = "mbx0000000900", "9000"
TRACKING = {"x-ch-activity-id": "9f1c2e4a-0000-4000-8000-000000000001", "x-ch-execution-time": "4"}


@dataclass(frozen=True, slots=True)
class Case:
    title: str
    body: bytes
    faxtui: Callable[[], list[FaxJob]]
    zeep: Callable[[], object]
    zeep_ids: Callable[[object], list[str]]
    xml: Callable[[], object]
    """faxtui's hardened XML parse and envelope check (`faxtui.services.soap.parse_response`)."""
    items_only: Callable[[], object]
    """faxtui's work after that: from the response element to FaxJobs."""
    rounds: int


def simulator_bodies() -> tuple[bytes, bytes, bytes, list[str]]:
    """FaxStatusEx with 100 and 1,000 items, GetRealTimeFaxStatusEx with 500, and the 500 ids."""
    from faxtui.sim import FakeClock, SimOptions, World
    from faxtui.sim.concord import ConcordCall, ConcordService
    from faxtui.sim.interfax import InterfaxCall, InterfaxService
    from faxtui.sim.stats import Stats
    from faxtui.sim.tokens import TokenService

    options = SimOptions(
        demo_accounts=False, arrival_mean_seconds=0, rate_limit_calls=10**9, max_items_cap=1000
    )
    world = World(options, FakeClock())
    world.add_interfax_account(IFX_USER, IFX_PASSWORD, jobs=1000)
    world.add_concord_account(CCD_USER, CCD_PIN, jobs=500)
    service = InterfaxService(world, Stats())

    def page(n: int) -> bytes:
        return service.answer(InterfaxCall("1.1", IFX_USER, IFX_PASSWORD, 2**31 - 1, n)).body  # all

    ids = world.concord_job_ids(CCD_USER)
    concord_service = ConcordService(world, TokenService(world))
    status = concord_service.answer(ConcordCall("1.1", CCD_USER, CCD_PIN, ids, None))
    return page(100), page(1000), status.body, ids


class ZeepReply:
    """zeep on the simulator's WSDL, fed the bytes as its transport would hand them over."""

    def __init__(self, wsdl_name: str, path: str, operation: str, workdir: Path) -> None:
        import zeep
        from requests.structures import CaseInsensitiveDict

        from faxtui.sim.app import LOCATION, load_wsdl

        wsdl = workdir / wsdl_name
        wsdl.write_text(load_wsdl(wsdl_name).replace(LOCATION, f"http://127.0.0.1:9{path}"), encoding="utf-8")
        self.client = zeep.Client(str(wsdl))  # type: ignore[no-untyped-call]
        self.binding = self.client.service._binding
        self.operation = self.binding.get(operation)
        self._headers = CaseInsensitiveDict({"Content-Type": "text/xml; charset=utf-8"})

    def parse(self, body: bytes) -> object:
        import requests

        response = requests.Response()
        response.status_code = 200
        response._content = body
        response.headers = self._headers
        response.encoding = "utf-8"
        return self.binding.process_reply(self.client, self.operation, response)


def clear_caches() -> None:
    interfax.clear_caches()
    concord.clear_caches()


def cases(workdir: Path) -> list[Case]:
    page100, page1000, status500, ids = simulator_bodies()
    ifx_zeep = ZeepReply("interfax.wsdl", "/dfs.asmx", "FaxStatusEx", workdir)
    ccd_zeep = ZeepReply("faxws.wsdl", "/fax/v5", "GetRealTimeFaxStatusEx", workdir)

    def ifx_case(title: str, body: bytes, rounds: int) -> Case:
        _, element = parse_response(body, interfax.INTERFAX_NS, interfax.RESPONSE_ELEMENT)
        return Case(
            title,
            body,
            lambda: interfax.parse_faxstatusex(body, ACCOUNT).jobs,
            lambda: ifx_zeep.parse(body),
            lambda r: [str(i.TransactionID) for i in r.FaxStatusExResult.FaxItemEx],  # type: ignore[attr-defined]
            lambda: parse_response(body, interfax.INTERFAX_NS, interfax.RESPONSE_ELEMENT),
            lambda: interfax.read_faxstatusex(element, ACCOUNT),
            rounds,
        )

    _, status_element = parse_response(status500, concord.CONCORD_NS, concord.RESPONSE_ELEMENT)
    return [
        ifx_case("FaxStatusEx, 100 items", page100, 25),
        ifx_case("FaxStatusEx, 1,000 items", page1000, 7),
        Case(
            "GetRealTimeFaxStatusEx, 500 items",
            status500,
            lambda: concord.answer_jobs(ACCOUNT, ids, concord.parse_status(status500, TRACKING)).jobs,
            lambda: ccd_zeep.parse(status500),
            lambda r: [i.FaxJobId for i in r.FaxStatusList.item],  # type: ignore[attr-defined]
            lambda: parse_response(status500, concord.CONCORD_NS, concord.RESPONSE_ELEMENT),
            lambda: concord.answer_jobs(
                ACCOUNT, ids, concord.parse_status_response(status_element, dict(TRACKING))
            ),
            9,
        ),
    ]


def construction(jobs: list[FaxJob]) -> Callable[[], object]:
    """Building the same FaxJobs again from ready-typed values: the model's own cost, the part of
    the parse no parser can avoid (frozen dataclasses: about 0.1 µs a field)."""
    rows: list[tuple[Any, ...]] = []
    for job in jobs:
        item = tuple(getattr(job.item, name) for name in FAXITEM_NAMES)
        native = job.concord and tuple(getattr(job.concord, f.name) for f in fields(job.concord))
        rows.append((job.account, job.service, job.job_id, item, job.state, job.status_code, job.status_text,
                     native, job.lookup_id))

    def build() -> list[FaxJob]:
        return [
            FaxJob(a, s, i, FaxItemEx(*item), st, code, text, n and ConcordStatus(*n), lookup)
            for a, s, i, item, st, code, text, n, lookup in rows
        ]

    return build


def ms(timing: Timing) -> str:
    return f"{timing.median * 1000:.2f} ms"


def run_case(case: Case) -> list[Result]:
    jobs = case.faxtui()
    zeep_result = case.zeep()
    if [j.job_id for j in jobs] != case.zeep_ids(zeep_result):
        raise SystemExit(f"{case.title}: faxtui and zeep disagree on the jobs in the body")
    timings = interleaved(
        {
            "bare": lambda: etree.fromstring(case.body),
            "first": case.faxtui,
            "again": case.faxtui,
            "zeep": case.zeep,
            "xml": case.xml,
            "items": case.items_only,
            "objects": construction(jobs),
        },
        rounds=case.rounds,
        calls={"bare": 3, "first": 3, "again": 3, "xml": 2, "items": 2, "objects": 2},
        before_each={"first": clear_caches, "items": clear_caches},
    )
    bare, first, again, zeep = (timings[k].median for k in ("bare", "first", "again", "zeep"))
    name = f"{case.title} ({len(case.body) // 1024} KB, {len(jobs)} FaxJobs)"
    return [
        Result("parse", name, f"faxtui {ms(timings['first'])} (re-parse {ms(timings['again'])}), "
               f"zeep {ms(timings['zeep'])}, bare lxml {ms(timings['bare'])}"),
        Result("parse", f"{case.title}: faxtui vs zeep", f"{zeep / first:.1f}x faster",
               f">= {ZEEP_FACTOR_TARGET:g}x", zeep / first >= ZEEP_FACTOR_TARGET),
        Result("parse", f"{case.title}: faxtui / bare parse",
               f"{first / bare:.2f}x (re-parse {again / bare:.2f}x)",
               f"<= {BARE_RATIO_TARGET:g}x", first / bare <= BARE_RATIO_TARGET),
        Result("parse", f"{case.title}: where faxtui's time goes",
               f"hardened XML parse {ms(timings['xml'])}, response element to FaxJobs "
               f"{ms(timings['items'])}, of which constructing the model's dataclasses "
               f"{ms(timings['objects'])}"),
    ]


def profile(case: Case) -> None:
    """cProfile of faxtui's first parse of `case` (the caches emptied before each of 50 calls)."""
    profiler = cProfile.Profile()
    for _ in range(50):
        clear_caches()
        profiler.enable()
        case.faxtui()
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    print(f"\nprofile of faxtui on {case.title}, 50 first parses:\n{out.getvalue()}")


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_parse")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of each faxtui parse")
    args = parser.parse_args(argv)
    header("Parsing: simulator bodies to typed FaxJobs (faxtui) vs zeep vs bare lxml.etree.fromstring")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="faxtui-bench-") as tmp:
        for case in cases(Path(tmp)):
            found = run_case(case)
            report(found)
            results += found
            if args.profile:
                profile(case)
    return results


if __name__ == "__main__":
    sys.exit(exit_code(main()))
