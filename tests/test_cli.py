"""`faxtui` end to end: real subprocesses against the simulator on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cli_fixtures import faxtui

from faxtui.model import FAXITEM_NAMES
from faxtui.sim import SimOptions, SimServer, World

SECRET = "S3cr3t-pa55-Xq9"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    options = SimOptions(seed=3)
    world = World(options)
    world.add_interfax_account("ops", SECRET, jobs=40)
    with SimServer(world=world, options=options) as server:
        yield server


def add_accounts(sim: SimServer, env: dict[str, str], password: str = SECRET) -> None:
    result = faxtui(env, "accounts", "add", "--name", "ops-interfax", "--service", "interfax",
                    "--endpoint", sim.interfax_url, "--username", "ops", stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    result = faxtui(env, "accounts", "add", "--name", "ops-concord", "--service", "concord",
                    "--endpoint", sim.concord_url, "--user-id", "mbx0000000001", "--auth", "oauth",
                    "--token-url", sim.token_url, "--client-id", "demo", stdin="demo\n")
    assert result.returncode == 0, result.stderr


def test_status_json_matches_the_contract(sim: SimServer, env: dict[str, str]) -> None:
    add_accounts(sim, env)
    br_ids = sim.world.concord_job_ids("mbx0000000001")[:3]
    ref = sim.world.concord_references("mbx0000000001")[0]
    watched = faxtui(env, "watch", "add", "--account", "ops-concord", *br_ids, f"JRI-{ref}")
    assert watched.returncode == 0, watched.stderr
    one_ifx = str(sim.world.interfax_transaction_ids("ops")[0])
    assert faxtui(env, "watch", "add", "--account", "ops-interfax", one_ifx).returncode == 0

    result = faxtui(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"generated_at", "accounts", "jobs"}
    datetime.fromisoformat(data["generated_at"])
    accounts = {a["name"]: a for a in data["accounts"]}
    assert set(accounts) == {"ops-interfax", "ops-concord"}
    for acc in accounts.values():
        assert set(acc) == {"name", "service", "ok", "error", "warning", "polled_at", "latency_ms", "jobs",
                            "poller"}
        assert acc["poller"].rsplit(":", 1)[1].isdigit()  # host:pid of the process that polled it
        assert acc["ok"] is True and acc["error"] is None and acc["warning"] is None
        assert isinstance(acc["latency_ms"], float) and acc["jobs"] > 0
    assert accounts["ops-interfax"]["jobs"] == 40
    concord_ids = {j["id"] for j in data["jobs"] if j["account"] == "ops-concord"}
    assert set(br_ids) <= concord_ids and len(concord_ids) in (3, 4)  # the JRI may resolve to one of them
    assert accounts["ops-concord"]["jobs"] == len(concord_ids)

    states = {"queued", "sending", "retrying", "delivered", "failed", "cancelled", "not_found", "unknown"}
    for job in data["jobs"]:
        assert set(job) == {"account", "service", "id", "state", "status_code", "status_text",
                            "watched", "reference", "fields", "native"}
        if job["account"] == "ops-interfax":
            assert job["reference"] is None
        elif job["id"] not in br_ids:  # found only through the reference: it says which
            assert job["reference"] == f"JRI-{ref}"
        else:
            assert job["reference"] in (None, f"JRI-{ref}")
        assert job["state"] in states
        assert list(job["fields"]) == list(FAXITEM_NAMES)
        fields = job["fields"]
        if job["service"] == "interfax":
            assert job["native"] == {}
            for name in ("ParentTransactionID", "TransactionID", "PagesSent", "Status", "Duration",
                         "PagesSubmitted", "Priority", "RetriesToPerform", "TrialsPerformed"):
                assert isinstance(fields[name], int), name
            Decimal(fields["Units"])
            Decimal(fields["CostPerUnit"])
            assert isinstance(fields["Units"], str)
            assert datetime.fromisoformat(fields["SubmitTime"]).tzinfo is not None
            assert job["id"] == str(fields["TransactionID"])
            assert job["watched"] == (job["id"] == one_ifx)
        else:
            assert job["watched"] is True
            assert set(job["native"]) == {
                "FaxJobId", "FaxJobStatusId", "StatusDescription", "RecipientState",
                "RecipientCurrentPageCount", "RecipientTotalPageCount", "FaxDeliveryDateTime",
                "FaxDeliveryDuration", "RemoteFaxCSID", "Error"}
            assert set(job["native"]["Error"]) == {"ErrorCode", "ErrorString"}
            assert fields["TransactionID"] == job["native"]["FaxJobId"]
            assert fields["SubmitTime"] is None and fields["Units"] is None
    assert SECRET not in result.stdout + result.stderr


def test_human_status_is_a_plain_table(sim: SimServer, env: dict[str, str]) -> None:
    add_accounts(sim, env)
    result = faxtui(env, "status", "--account", "ops-interfax")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ops-interfax (interfax): OK")
    header = next(line for line in lines if line.startswith("ACCOUNT"))
    assert header.split() == ["ACCOUNT", "ID", "STATE", "STATUS", "PAGES", "TRIES", "DESTINATION", "SUBJECT"]
    assert "\x1b" not in result.stdout
    assert all(len(line) <= 100 for line in lines)


def test_bad_password_exits_1_with_one_line_naming_the_account(sim: SimServer, env: dict[str, str]) -> None:
    add_accounts(sim, env, password="not-the-password")
    result = faxtui(env, "status", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    bad = next(a for a in data["accounts"] if a["name"] == "ops-interfax")
    assert bad["ok"] is False and "-1003" in bad["error"]
    assert next(a for a in data["accounts"] if a["name"] == "ops-concord")["ok"] is True
    human = faxtui(env, "status")
    assert human.returncode == 1
    failed = [line for line in human.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and failed[0].startswith("ops-interfax")
    assert "not-the-password" not in human.stdout + human.stderr + result.stdout


def test_broken_config_exits_2_with_file_and_line_and_is_left_alone(env: dict[str, str]) -> None:
    path = Path(env["FAXTUI_CONFIG"])
    path.parent.mkdir(parents=True)
    broken = b'[[accounts]]\nname = "ops"\nservice = "interfax\n'
    path.write_bytes(broken)
    for args in (("status",), ("accounts", "list"), ("accounts", "remove", "ops")):
        result = faxtui(env, *args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert str(path) in result.stderr and ":3" in result.stderr
    assert path.read_bytes() == broken


def test_accounts_list_and_test_never_show_secrets(sim: SimServer, env: dict[str, str]) -> None:
    add_accounts(sim, env)
    listing = faxtui(env, "accounts", "list")
    assert listing.returncode == 0
    assert "ops-interfax" in listing.stdout and "ops-concord" in listing.stdout
    tested = faxtui(env, "accounts", "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert len(tested.stdout.splitlines()) == 2
    assert all(": OK" in line for line in tested.stdout.splitlines())
    text = listing.stdout + tested.stdout + Path(env["FAXTUI_CONFIG"]).read_text()
    assert SECRET not in listing.stdout + tested.stdout
    assert SECRET in text  # inline in the 0600 file, and only there
    assert Path(env["FAXTUI_CONFIG"]).stat().st_mode & 0o777 == 0o600


def test_watch_validates_ids_per_service_and_persists(sim: SimServer, env: dict[str, str]) -> None:
    add_accounts(sim, env)
    bad = faxtui(env, "watch", "add", "--account", "ops-interfax", "br123")
    assert bad.returncode == 2 and "a whole number from 1 to 2,147,483,647" in bad.stderr
    bad = faxtui(env, "watch", "add", "--account", "ops-concord", "12345")
    assert bad.returncode == 2 and "JRI-" in bad.stderr
    ok = faxtui(env, "watch", "add", "--account", "ops-concord", "--label", "invoice", "JRI-INV-1", "br00ff")
    assert ok.returncode == 0
    listing = faxtui(env, "watch", "list", "--json")
    entries = json.loads(listing.stdout)
    assert [(e["id"], e["label"]) for e in entries] == [("JRI-INV-1", "invoice"), ("br00ff", "invoice")]
    removed = faxtui(env, "watch", "remove", "--account", "ops-concord", "br00ff")
    assert removed.returncode == 0
    assert [e["id"] for e in json.loads(faxtui(env, "watch", "list", "--json").stdout)] == ["JRI-INV-1"]


def test_version_and_help_do_not_import_textual_or_httpx(env: dict[str, str]) -> None:
    code = (
        "import sys\nfrom faxtui.cli import main\n"
        "try:\n    main(['status', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('textual', 'httpx', 'lxml') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    version = faxtui(env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("faxtui ")
