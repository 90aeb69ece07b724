"""Faults on demand: the spec grammar, its parser, and the live set of rules the server consults.

Grammar (also in the `faxtui.sim` docstring)::

    spec    := rule ("," rule)*
    rule    := service ["@" account] ":" kind ["=" value] (":" option)*
    service := interfax | concord | token
    option  := "p=" probability (0..1) | "n=" count (>= 1)

A rule matches requests to its service (and, with "@account", only those naming that
InterFax Username, Concord UserID or OAuth client_id). With `n=` it applies to the first N
matching requests only; with `p=` each matching request fires with that probability, drawn
from an RNG seeded with the world's seed. The first rule that fires wins.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

SERVICES: tuple[str, ...] = ("interfax", "concord", "token")
ALL = frozenset(SERVICES)


@dataclass(frozen=True, slots=True)
class KindSpec:
    value: str  # "none", "optional", "required"
    number: type[int] | type[float] | None = None
    services: frozenset[str] = ALL
    default: float | None = None
    help: str = ""


KINDS: dict[str, KindSpec] = {
    "http500": KindSpec("none", help="HTTP 500 with a SOAP Fault (token: JSON server_error)"),
    "http502": KindSpec("none", help="HTTP 502 Bad Gateway, an HTML page"),
    "http503": KindSpec("optional", int, help="HTTP 503, an HTML page; value = Retry-After seconds"),
    "http429": KindSpec("optional", int, default=30, help="HTTP 429 with Retry-After (value, default 30 s)"),
    "status": KindSpec("required", int, help="any HTTP status (value) with a short text body"),
    "slow": KindSpec("required", float, help="answer normally, sent value seconds late"),
    "drop": KindSpec("none", help="close the connection without answering"),
    "drop_mid": KindSpec("none", help="send the headers and half the body, then close"),
    "truncate": KindSpec("none", help="a complete HTTP answer whose body is cut in half"),
    "malformed": KindSpec("none", help="a complete answer whose XML (token: JSON) is broken"),
    "html": KindSpec("none", help="HTTP 200 with Content-Type text/html (a login page)"),
    "wrong_op": KindSpec("none", services=frozenset({"interfax", "concord"}),
                         help="a valid envelope with the wrong response element"),
    "result": KindSpec("required", int, services=frozenset({"interfax"}),
                       help="InterFax ResultCode = value, no items"),
    "false": KindSpec("optional", int, services=frozenset({"concord"}), default=-2,
                      help="Concord return=false with WSError value (default -2)"),
}


class FaultSpecError(ValueError):
    """A fault spec that does not parse; the message says which rule and why, on one line."""


@dataclass(slots=True)
class FaultRule:
    service: str
    kind: str
    account: str | None = None
    value: float | None = None
    probability: float | None = None
    count: int | None = None
    remaining: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.remaining = self.count

    @property
    def spec(self) -> str:
        """The rule written back in the grammar."""
        text = self.service + (f"@{self.account}" if self.account else "") + ":" + self.kind
        if self.value is not None:
            text += "=" + _number_text(self.value)
        if self.probability is not None:
            text += f":p={_number_text(self.probability)}"
        if self.count is not None:
            text += f":n={self.count}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "service": self.service, "account": self.account, "kind": self.kind,
                "value": self.value, "p": self.probability, "n": self.count, "remaining": self.remaining}


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _number(text: str, kind: type[int] | type[float], what: str) -> float:
    try:
        return kind(text)
    except ValueError:
        wanted = "an integer" if kind is int else "a number"
        raise FaultSpecError(f"{what} must be {wanted}, not {text!r}") from None


def parse_rule(text: str) -> FaultRule:
    parts = [p.strip() for p in text.strip().split(":")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise FaultSpecError(f"{text.strip()!r}: expected service[@account]:kind[=value][:p=P][:n=N]")
    service, _, account = parts[0].partition("@")
    service = service.lower()
    if service not in SERVICES:
        raise FaultSpecError(f"{text.strip()!r}: unknown service {service!r} (use {', '.join(SERVICES)})")
    if "@" in parts[0] and not account:
        raise FaultSpecError(f"{text.strip()!r}: empty account after '@'")
    kind, has_value, raw_value = parts[1].partition("=")
    kind = kind.lower()
    spec = KINDS.get(kind)
    if spec is None:
        raise FaultSpecError(f"{text.strip()!r}: unknown fault {kind!r} (use {', '.join(KINDS)})")
    if service not in spec.services:
        raise FaultSpecError(f"{text.strip()!r}: fault {kind!r} does not apply to {service}")
    value: float | None = None
    if has_value:
        if spec.value == "none" or spec.number is None:
            raise FaultSpecError(f"{text.strip()!r}: fault {kind!r} takes no value")
        value = _number(raw_value, spec.number, f"{kind} value")
    elif spec.value == "required":
        raise FaultSpecError(f"{text.strip()!r}: fault {kind!r} needs a value ({kind}=…)")
    else:
        value = spec.default
    if kind == "slow" and value is not None and not 0 < value <= 600:
        raise FaultSpecError(f"{text.strip()!r}: slow needs 0 < seconds <= 600")
    if kind == "status" and value is not None and not 100 <= value <= 599:
        raise FaultSpecError(f"{text.strip()!r}: status needs an HTTP status 100..599")
    probability: float | None = None
    count: int | None = None
    for option in parts[2:]:
        name, eq, raw = option.partition("=")
        name = name.lower()
        if not eq or name not in ("p", "n"):
            raise FaultSpecError(f"{text.strip()!r}: unknown option {option!r} (use p=0..1 or n=COUNT)")
        if name == "p":
            probability = _number(raw, float, "p")
            if not 0 <= probability <= 1:
                raise FaultSpecError(f"{text.strip()!r}: p must be between 0 and 1")
        else:
            count = int(_number(raw, int, "n"))
            if count < 1:
                raise FaultSpecError(f"{text.strip()!r}: n must be >= 1")
    return FaultRule(service, kind, account or None, value, probability, count)


def parse_faults(spec: str) -> list[FaultRule]:
    """All rules of a comma-separated spec; `FaultSpecError` on the first bad one."""
    rules = [parse_rule(part) for part in spec.split(",") if part.strip()]
    if not rules:
        raise FaultSpecError("empty fault spec")
    return rules


class FaultSet:
    """The rules in force, in groups (one per `add`), consulted for every service request."""

    def __init__(self, seed: int = 1, spec: str = "") -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faxtui-sim-faults:{seed}")
        self._groups: dict[str, list[FaultRule]] = {}
        self._next = 1
        if spec.strip():
            self.add(spec)

    def add(self, spec: str) -> str:
        """Parse and switch on `spec`; returns the id that `remove` takes."""
        rules = parse_faults(spec)
        with self._lock:
            fault_id = f"f{self._next}"
            self._next += 1
            self._groups[fault_id] = rules
            return fault_id

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            return self._groups.pop(fault_id, None) is not None

    def clear(self) -> int:
        with self._lock:
            count = len(self._groups)
            self._groups.clear()
            return count

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": fid, "rules": [r.to_json() for r in rules]} for fid, rules in self._groups.items()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._groups)

    def pick(self, service: str, account: str | None) -> FaultRule | None:
        """The rule that fires for this request, if any (consuming counts and RNG draws)."""
        with self._lock:
            for rules in self._groups.values():
                for rule in rules:
                    if rule.service != service or (rule.account is not None and rule.account != account):
                        continue
                    if rule.remaining is not None:
                        if rule.remaining <= 0:
                            continue
                        rule.remaining -= 1
                    if rule.probability is not None and self._rng.random() >= rule.probability:
                        continue
                    return rule
            return None
