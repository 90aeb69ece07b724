"""The simulator's own ground truth (issue 11, item 1): status tables written from
shared/protocols/, used by /_sim/truth, and no import of the client's tables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import httpx
import pytest
from sim_fixtures import running, world

from faxtui.sim import FakeClock
from faxtui.sim.status_tables import (
    CONCORD_STATUS,
    INTERFAX_STATUS,
    concord_state,
    concord_text,
    interfax_phase,
    interfax_state,
    interfax_text,
)

ROOT = Path(__file__).resolve().parents[1]
CLIENT_MODULES = ("faxtui.services", "faxtui.poller")
SIM = ROOT / "faxtui" / "sim"
PROTOCOLS = Path(__file__).resolve().parent / "data" / "protocols"
"""The status tables of shared/protocols/, copied verbatim (see each file's first line)."""


@pytest.mark.parametrize(
    ("status", "trials", "state", "phase", "text"),
    [
        (0, 1, "delivered", "delivered", "OK (Fax successfully sent)"),
        (-1, 0, "queued", "preprocessing", "Pre-processing"),
        (-11, 0, "queued", "preprocessing", "Pre-processing"),
        (-2, 0, "queued", "ready", "Ready"),
        (-3, 0, "sending", "sending", "Sending (or pending retry)"),
        (-3, 2, "retrying", "retrying", "Sending (or pending retry)"),
        (-22, 0, "queued", "held", "Out of credit, awaiting Top-Up"),
        (-4, 0, "queued", "handling", "Fax is being handled"),
        (-77, 0, "queued", "handling", "Fax is being handled"),  # §4.2 "any other negative"
        (403, 0, "cancelled", "cancelled", "Fax manually canceled."),
        (6017, 3, "failed", "failed", "Busy"),
        (263, 3, "failed", "failed", "Busy"),
        (8021, 3, "failed", "failed", "No answer"),
        (3268, 1, "failed", "failed", "Transmission error (after page break)"),
        (205000, 0, "failed", "failed", "Quota exceeded (Prepaid card depleted)"),
        (204000, 0, "failed", "failed", "Rendering error"),
        (999_999, 1, "failed", "failed", "Error 999999"),  # §4.1 "> 0" failed
    ],
)
def test_interfax_codes_mean_what_the_protocol_doc_says(
    status: int, trials: int, state: str, phase: str, text: str
) -> None:
    assert (interfax_state(status, trials), interfax_phase(status, trials), interfax_text(status)) == (
        state, phase, text)


def test_every_interfax_code_follows_the_documented_sign_rule() -> None:
    """interfax.md §4.1: < 0 in process, 0 success, > 0 failure (403 = the CancelFax status)."""
    assert len(INTERFAX_STATUS) == 90
    for code, entry in INTERFAX_STATUS.items():
        state = interfax_state(code)
        if code < 0:
            assert state in ("queued", "sending"), code
        elif code == 0:
            assert state == "delivered"
        elif code == 403:
            assert state == "cancelled"
        else:
            assert state == "failed", code
        assert entry.source in ("§4.2", "§4.3") and entry.text


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _clean(text: str) -> str:
    text = re.sub(r"\s*\[S\w+\]", "", text)
    text = re.sub(r"\s*\((SL|EHR copy):.*?\)\s*$", "", text)
    return text.strip().strip('"').strip()


def test_interfax_texts_are_the_protocol_tables_word_for_word() -> None:
    doc = (PROTOCOLS / "interfax-status.md").read_text(encoding="utf-8")
    current = doc[doc.index("### 4.2"):doc.index("### 4.3")]
    older = doc[doc.index("### 4.3"):]
    documented: dict[int, str] = {}
    for line in current.splitlines():  # the current table wins where both name a code
        cells = _cells(line)
        if len(cells) >= 2 and re.fullmatch(r"-?\d+", cells[0]):
            documented.setdefault(int(cells[0]), _clean(cells[1]))
    for line in older.splitlines():
        cells = _cells(line)
        for codes, text in zip(cells[0::2], cells[1::2], strict=False):
            if re.fullmatch(r"-?\d+(, -?\d+)*", codes):
                for code in re.findall(r"-?\d+", codes):
                    documented.setdefault(int(code), _clean(text))
    assert {code: entry.text for code, entry in INTERFAX_STATUS.items()} == documented


def test_concord_texts_are_the_protocol_table_word_for_word() -> None:
    section = (PROTOCOLS / "concord-status.md").read_text(encoding="utf-8")
    documented = {int(m[1]): m[2].strip() for m in re.finditer(r"^\| `(-?\d+)` \| (.+?) \|$", section, re.M)}
    assert {code: entry.text for code, entry in CONCORD_STATUS.items()} == documented


def test_concord_codes_mean_what_the_protocol_doc_says() -> None:
    assert [(concord_state(c), concord_text(c)) for c in (1, 2, 3, -5019, 7)] == [
        ("delivered", "Job Succeeded"), ("failed", "Job Failed"), ("sending", "Job is being processed"),
        ("not_found", "Invalid Job ID"), ("unknown", "Status 7")]


def test_truth_over_http_uses_the_simulators_own_tables() -> None:
    clock = FakeClock()
    with running(world(clock)) as server, httpx.Client() as client:
        clock.advance(600)
        truth = client.get(server.control_url + "/truth").json()
    changes = truth["changes"]
    assert changes
    for change in changes:
        if change["service"] == "interfax":
            status, trials = change["new_status"], change["trials"]
            assert change["new_state"] == interfax_state(status, trials)
            assert change["new_phase"] == interfax_phase(status, trials)
            assert change["new_text"] == interfax_text(status)
        else:
            assert change["new_state"] == concord_state(change["new_status"])
            assert change["new_text"] == concord_text(change["new_status"])
    held = [c for c in changes if c["new_status"] == -22]
    assert held and all((c["new_state"], c["new_phase"]) == ("queued", "held") for c in held)
    assert any(c["reason"] for c in changes if c["service"] == "concord" and c["new_status"] == 2)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against faxtui.sim
                base = "faxtui.sim" if node.level == 1 else "faxtui"
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_no_simulator_module_imports_the_clients_tables_or_soap_code() -> None:
    files = sorted(SIM.rglob("*.py"))
    assert len(files) > 10
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.startswith(CLIENT_MODULES))
        for path in files
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
