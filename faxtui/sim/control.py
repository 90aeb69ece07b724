"""The control endpoint under /_sim/: JSON in, JSON out, for tests and soak runs.

GET    /_sim/state              clock time, accounts, job counts by state, active faults
GET    /_sim/stats              requests per service/account/operation, rate-limited, connections
DELETE /_sim/stats              reset the counters
GET    /_sim/faults             the active fault rules
POST   /_sim/faults             {"spec": "..."} -> 201 {"id": "f1", "rules": [...]}
DELETE /_sim/faults             switch every fault off
DELETE /_sim/faults/<id>        switch one off
GET    /_sim/options            {"options": {name: value, ...}} (every SimOptions field)
POST   /_sim/options            {"concord_order": "reversed", ...} -> 200 {"options", "changed"};
                                400 for an unknown name or a bad value, 409 for seed / speed /
                                demo_accounts / interfax_id_base (fixed once the world exists)
DELETE /_sim/options            back to the options the server started with
POST   /_sim/clock              {"advance": seconds} (FakeClock worlds only, else 409)
POST   /_sim/accounts           {"service": "interfax", "username", "password", "jobs"} or
                                {"service": "concord", "user_id", "pin", "jobs", "token"?,
                                 "client_id"?, "client_secret"?}
GET    /_sim/truth?since=<iso>  every state change the world made (strictly after `since`)

Only loopback clients are served, whatever address the server is bound to.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from faxtui.sim.clock import as_utc
from faxtui.sim.exchange import HttpRequest, Reply, json_reply
from faxtui.sim.faults import FaultSet, FaultSpecError
from faxtui.sim.stats import Stats
from faxtui.sim.world import World

MAX_JOBS_PER_ACCOUNT = 100_000


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _body(request: HttpRequest) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ControlError(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "the body must be a JSON object")
    return data


def _string(data: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ControlError(400, f"{name!r} must be a non-empty string")
    return value


def _jobs(data: dict[str, Any]) -> int:
    jobs = data.get("jobs", 0)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 0 <= jobs <= MAX_JOBS_PER_ACCOUNT:
        raise ControlError(400, f"'jobs' must be an integer 0..{MAX_JOBS_PER_ACCOUNT}")
    return jobs


class Control:
    def __init__(self, world: World, faults: FaultSet, stats: Stats, base_url: Callable[[], str]) -> None:
        self.world = world
        self.faults = faults
        self.stats = stats
        self.base_url = base_url

    def handle(self, request: HttpRequest) -> Reply:
        if not _is_loopback(request.client_host):
            return json_reply(403, {"error": "the control endpoint only answers loopback clients"})
        self.stats.control()
        parts = [p for p in request.path.split("/") if p][1:]  # drop "_sim"
        try:
            return self._route(request, parts)
        except ControlError as exc:
            return json_reply(exc.status, {"error": exc.message})

    def _route(self, request: HttpRequest, parts: list[str]) -> Reply:
        method = request.method
        name = parts[0].lower() if parts else ""
        if name == "" and method == "GET":
            return json_reply(200, {"endpoints": ["state", "stats", "faults", "options", "clock", "accounts",
                                                  "truth"]})
        if name == "state" and method == "GET":
            state = self.world.summary()
            state["faults"] = self.faults.list()
            state["urls"] = {"base": self.base_url()}
            return json_reply(200, state)
        if name == "stats" and len(parts) == 1:
            if method == "GET":
                return json_reply(200, self.stats.snapshot())
            if method == "DELETE":
                self.stats.reset()
                return json_reply(200, {"reset": True})
        if name == "faults":
            return self._faults(request, parts[1:])
        if name == "options" and len(parts) == 1:
            return self._options(request)
        if name == "clock" and method == "POST":
            return self._clock(request)
        if name == "accounts" and method == "POST":
            return self._account(request)
        if name == "truth" and method == "GET":
            return self._truth(request)
        raise ControlError(404, f"no control route {method} /_sim/{'/'.join(parts)[:100]}")

    def _faults(self, request: HttpRequest, rest: list[str]) -> Reply:
        if request.method == "GET" and not rest:
            return json_reply(200, {"faults": self.faults.list()})
        if request.method == "POST" and not rest:
            spec = _string(_body(request), "spec")
            assert spec is not None
            try:
                fault_id = self.faults.add(spec)
            except FaultSpecError as exc:
                raise ControlError(400, str(exc)) from None
            rules = next(g["rules"] for g in self.faults.list() if g["id"] == fault_id)
            return json_reply(201, {"id": fault_id, "rules": rules})
        if request.method == "DELETE" and not rest:
            return json_reply(200, {"removed": self.faults.clear()})
        if request.method == "DELETE" and len(rest) == 1:
            if not self.faults.remove(rest[0]):
                raise ControlError(404, f"no fault {rest[0][:40]!r}")
            return json_reply(200, {"removed": 1})
        raise ControlError(405, "use GET, POST or DELETE on /_sim/faults")

    def _options(self, request: HttpRequest) -> Reply:
        if request.method == "GET":
            return json_reply(200, {"options": self.world.options.to_json()})
        if request.method == "DELETE":
            return json_reply(200, {"options": self.world.reset_options().to_json()})
        if request.method != "POST":
            raise ControlError(405, "use GET, POST or DELETE on /_sim/options")
        changes = _body(request)
        before = self.world.options.to_json()
        try:
            after = self.world.set_options(changes).to_json()
        except PermissionError as exc:
            raise ControlError(409, str(exc)) from None
        except ValueError as exc:
            raise ControlError(400, str(exc)[:500]) from None
        changed = sorted(k for k in after if after[k] != before[k])
        return json_reply(200, {"options": after, "changed": changed})

    def _clock(self, request: HttpRequest) -> Reply:
        clock = self.world.fake_clock
        if clock is None:
            raise ControlError(409, "the world runs on a real clock; only a FakeClock can be advanced")
        seconds = _body(request).get("advance")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 10**8:
            raise ControlError(400, "'advance' must be a number of seconds >= 0")
        clock.advance(float(seconds))
        return json_reply(200, {"time": self.world.advance_to_now().isoformat().replace("+00:00", "Z")})

    def _account(self, request: HttpRequest) -> Reply:
        data = _body(request)
        service = data.get("service")
        jobs = _jobs(data)
        try:
            if service == "interfax":
                username = _string(data, "username")
                password = _string(data, "password")
                assert username is not None and password is not None
                self.world.add_interfax_account(username, password, jobs)
                name = username
            elif service == "concord":
                user_id = _string(data, "user_id")
                pin = _string(data, "pin", required=False) or ""
                assert user_id is not None
                self.world.add_concord_account(
                    user_id, pin, jobs,
                    token=_string(data, "token", required=False),
                    client_id=_string(data, "client_id", required=False),
                    client_secret=_string(data, "client_secret", required=False),
                )
                name = user_id
            else:
                raise ControlError(400, "'service' must be 'interfax' or 'concord'")
        except ValueError as exc:
            status = 409 if "already exists" in str(exc) else 400
            raise ControlError(status, str(exc)) from None
        return json_reply(201, {"service": service, "name": name, "jobs": jobs})

    def _truth(self, request: HttpRequest) -> Reply:
        query = parse_qs(request.query, max_num_fields=5)
        since: datetime | None = None
        raw = query.get("since", [""])[0]
        if raw:
            try:
                since = as_utc(datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+")))
            except ValueError:
                raise ControlError(400, "'since' must be an ISO 8601 time") from None
        records = self.world.truth(since)
        return json_reply(200, {
            "time": self.world.now.isoformat().replace("+00:00", "Z"),
            "count": len(records),
            "changes": [r.to_json() for r in records],
        })
