"""The fax simulator: a simulated fax world and one HTTP server that speaks InterFax dfs.asmx
(FaxStatusEx) and Concord FaxWS v5 (GetRealTimeFaxStatusEx) as shared/protocols/ describes them.

Public API
----------
`SimOptions`                   every choice the protocol docs leave open, the ways real servers
                               differ from the docs, plus `seed` and `speed` (see
                               `faxtui.sim.options` for how to set them: Python, POST
                               /_sim/options, `faxtui sim --option NAME=VALUE`)
`RealClock(speed)`, `FakeClock(start)` (`.now()`, FakeClock `.advance(seconds)`)
`World(options, clock)`        accounts and jobs; evolves lazily up to `clock.now()` on every read
`SimServer(world=None, options=None, host="127.0.0.1", port=0, faults="")`
                               `.start()`, `.stop()`, context manager; `.interfax_url`,
                               `.concord_url`, `.token_url`, `.control_url`, `.world`, `.faults`,
                               `.stats`, `.options`, `.set_options(**changes)`, `.reset_options()`
`main(argv)`                   what `faxtui sim` runs (default port 8765; --port 0 = a free port)

Endpoints (one port): POST /dfs.asmx, GET /dfs.asmx?WSDL; POST /fax/v5, GET /fax/v5/faxws.wsdl;
POST /v1/connect/token; the JSON control endpoint under /_sim/ (loopback clients only; see
`faxtui.sim.control`).

The simulator's status texts and states are its own (`faxtui.sim.status_tables`, written from
shared/protocols/); it imports nothing from the client (`faxtui.codes`, `faxtui.soap`).

Options for what real servers do differently (issue 11; all in `SimOptions`):
`interfax_id_base` / `interfax_id_max` (ids past 999,999,999, within xs:int);
`interfax_last_id_mode` strict|inclusive|ignore; `interfax_bad_fields` ("nil:PagesSent",
"missing:Units", "empty:Duration", "malformed:CompletionTime", "@N" = item N of each page);
`not_completed` / `not_postponed` (e.g. SQL Server's 1900-01-01T00:00:00); `error_result="items"`;
`concord_order` request|reversed|shuffled; `concord_id_case` as_stored|upper|lower;
`concord_not_found` item|item_error|call|call_and_item|call_empty with `concord_call_error_code`
/ `_text`; `concord_unknown_user_error_*`, `concord_disabled_users`, `concord_disabled_error_*`;
`concord_media_types` documented|strict, `concord_soap12`, `concord_reply_content_type`;
`soap_fault_style` plain|qualified|default_ns|unqualified|mixed; `interfax_response_ns`,
`concord_response_ns`, `response_ns_children`; `oauth_refuse_offline_access`.

Demo accounts (in every world unless `SimOptions(demo_accounts=False)`): InterFax `demo` /
`demo` (60 jobs in every state, newest TransactionIDs from `interfax_id_base`, 1512345678 by
default, counting up; always within xs:int); Concord
UserID `mbx0000000001`, PIN `demo`, OAuth client `demo` / `demo`, static bearer token
`demo-token` (40 jobs, several sharing a ReferenceId such as INV-2026-0042).

Fault spec grammar (`--faults`, `SimServer(faults=...)`, `server.faults.add(spec)`,
`POST /_sim/faults {"spec": ...}`)
-------------------------------------------------------------------------------------------
::

    spec    := rule ("," rule)*
    rule    := service ["@" account] ":" kind ["=" value] (":" option)*
    service := interfax | concord | token
    account := an InterFax Username, a Concord UserID, or an OAuth client_id
    option  := "p=" probability 0..1 (seeded RNG) | "n=" N (only the first N matching requests)

    kind          value            effect
    http500       -                HTTP 500 + SOAP Fault in the request's SOAP version
                                   (InterFax soap:Server "Server was unable to process request.
                                   ---> …", Concord gSOAP SOAP-ENV:Server); token: JSON server_error
    http502       -                HTTP 502, an HTML page
    http503       [seconds]        HTTP 503, an HTML page; with a value, a Retry-After header
    http429       [seconds=30]     HTTP 429 with Retry-After
    status        code             any HTTP status with a short text/plain body
    slow          seconds          answer normally, sent after a wait (real seconds, 0 < s <= 600)
    drop          -                close the connection without answering
    drop_mid      -                send the headers and half the body, then close
    truncate      -                a complete HTTP answer (Content-Length matches) whose body is
                                   the real answer cut in half
    malformed     -                a complete answer whose XML (token: JSON) does not parse
    html          -                HTTP 200, Content-Type text/html (a login page)
    wrong_op      -                a valid envelope with the wrong response element
                                   (FaxQueryResponse / FaxStatusResponse); interfax, concord
    result        code             InterFax only: ResultCode = code, no items (-150, -1003, -1011…)
    false         [code=-2]        Concord only: return=false, WSError code "Simulated failure"

Examples: "interfax:http500", "concord@mbx0000000001:slow=3", "interfax:malformed:p=0.05",
"interfax:result=-150:n=2,token:http503=10". Rules are checked in the order they were added;
the first that fires wins. A rule matches a request to its service whose account is the one
named (or any account when none is named); requests the service cannot read name no account.
Faults standing in front of the service (http*, status, drop, html) keep the request from the
service (no rate-limit count); the others spoil the service's real answer. WSDL GETs and the
control endpoint are never faulted. Account names containing ":" or "," cannot be targeted.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faxtui.sim.cli import main
    from faxtui.sim.clock import FakeClock, RealClock, SimClock
    from faxtui.sim.faults import FaultSet, FaultSpecError, parse_faults
    from faxtui.sim.options import SimOptions
    from faxtui.sim.server import SimServer
    from faxtui.sim.world import TruthRecord, World

_HOMES = {
    "FakeClock": "clock",
    "FaultSet": "faults",
    "FaultSpecError": "faults",
    "RealClock": "clock",
    "SimClock": "clock",
    "SimOptions": "options",
    "SimServer": "server",
    "TruthRecord": "world",
    "World": "world",
    "main": "cli",
    "parse_faults": "faults",
}
"""Where each public name lives: importing the package loads none of them (not the CLI, not the
server) until one is asked for; `from faxtui.sim import catalog` loads only that submodule."""

__all__ = [
    "FakeClock",
    "FaultSet",
    "FaultSpecError",
    "RealClock",
    "SimClock",
    "SimOptions",
    "SimServer",
    "TruthRecord",
    "World",
    "main",
    "parse_faults",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
