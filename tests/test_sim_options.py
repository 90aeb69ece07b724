"""Simulator options: set from Python, over POST /_sim/options, and with `faxtui sim --option`."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sim_fixtures import DEMO_CONCORD, concord_headers, read_concord, realtime_status, running

from faxtui.sim import SimOptions, SimServer, main
from faxtui.sim.cli import list_options
from faxtui.sim.options import FIXED_AFTER_START, option_docs

NEW_OPTIONS = (
    "interfax_id_base", "interfax_id_max", "interfax_last_id_mode", "interfax_bad_fields",
    "concord_call_error_code", "concord_call_error_text", "concord_order", "concord_id_case",
    "concord_unknown_user_error_code", "concord_unknown_user_error_text", "concord_disabled_users",
    "concord_disabled_error_code", "concord_disabled_error_text", "concord_media_types", "concord_soap12",
    "concord_reply_content_type", "soap_fault_style", "interfax_response_ns", "concord_response_ns",
    "response_ns_children", "oauth_refuse_offline_access",
)


def test_every_option_is_documented_and_listed() -> None:
    docs = option_docs()
    assert list(docs) == [f.name for f in dataclasses.fields(SimOptions)]
    assert set(NEW_OPTIONS) <= set(docs)
    assert all(docs[name] for name in NEW_OPTIONS)
    listing = list_options()
    assert all(f"\n{name}=" in "\n" + listing for name in docs)
    assert "concord_order=request\n" in listing and "interfax_id_base=1512345678\n" in listing


def test_control_endpoint_gets_sets_and_resets_options() -> None:
    with running(concord_order="reversed") as server, httpx.Client() as client:
        url = server.control_url + "/options"
        assert client.get(url).json()["options"]["concord_order"] == "reversed"
        r = client.post(url, json={"concord_id_case": "upper", "interfax_bad_fields": ["nil:Units"],
                                   "concord_order": "reversed", "rate_limit_calls": "12"})
        assert r.status_code == 200
        assert r.json()["changed"] == ["concord_id_case", "interfax_bad_fields", "rate_limit_calls"]
        assert server.options.interfax_bad_fields == ("nil:Units",) and server.options.rate_limit_calls == 12
        ids = [server.world.concord_job_ids(DEMO_CONCORD)[0]]
        r = client.post(server.concord_url, content=realtime_status(DEMO_CONCORD, "demo", ids),
                        headers=concord_headers())
        answer = read_concord(r.content)
        assert answer.items[0]["FaxJobId"] == ids[0].upper()
        # A GET's options can be posted back unchanged.
        assert client.post(url, json=client.get(url).json()["options"]).json()["changed"] == []
        reset = client.delete(url).json()["options"]
        assert (reset["concord_order"], reset["concord_id_case"], reset["interfax_bad_fields"]) == (
            "reversed", "as_stored", [])


@pytest.mark.parametrize(
    ("changes", "status", "complaint"),
    [
        ({"no_such_option": 1}, 400, "unknown option"),
        ({"concord_order": "sideways"}, 400, "concord_order must be one of"),
        ({"rate_limit_calls": "many"}, 400, "must be an integer"),
        ({"concord_soap12": "perhaps"}, 400, "true or false"),
        ({"interfax_response_ns": 'urn:x" evil="1'}, 400, "namespace URI"),
        ({"seed": 7}, 409, "seed cannot change"),
        ({"interfax_id_base": 5}, 409, "interfax_id_base cannot change"),
    ],
)
def test_control_endpoint_refuses_bad_option_changes(changes: dict[str, object], status: int,
                                                     complaint: str) -> None:
    with running() as server, httpx.Client() as client:
        before = server.options
        r = client.post(server.control_url + "/options", json=changes)
        assert (r.status_code, complaint in r.json()["error"]) == (status, True), r.text
        assert server.options == before
        assert client.put(server.control_url + "/options", json={}).status_code == 405
    assert {"seed", "interfax_id_base"} <= FIXED_AFTER_START


def test_python_set_options_on_a_running_server() -> None:
    with running() as server:
        server.set_options(concord_order="shuffled", concord_disabled_users=["mbx1"],
                           not_completed="1900-01-01T00:00:00")
        assert server.options.concord_disabled_users == ("mbx1",)
        assert server.world.options is server.options and server.options.concord_order == "shuffled"
        with pytest.raises(ValueError, match="unknown option"):
            server.set_options(nope=1)
        assert server.reset_options().concord_order == "request"


def test_text_values_are_read_as_the_fields_type() -> None:
    options = SimOptions.parse_assignments([
        "concord_soap12=no", "rate_limit_window=30.5", "interfax_id_max=2_147_483_647",
        "interfax_bad_fields=nil:PagesSent, missing:Units@3", "concord_unknown_user_error_code=-3",
        "concord_unknown_user_error_text=", "concord_call_error_text=One or more job ids are invalid",
    ])
    assert (options.concord_soap12, options.rate_limit_window) == (False, 30.5)
    assert options.interfax_id_max == 2**31 - 1
    assert options.interfax_bad_fields == ("nil:PagesSent", "missing:Units@3")
    assert options.concord_unknown_user_error_code == -3 and options.concord_unknown_user_error_text is None
    assert options.concord_call_error_text == "One or more job ids are invalid"
    with pytest.raises(ValueError, match="NAME=VALUE"):
        SimOptions.parse_assignments(["concord_order"])


def test_sim_command_takes_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-options"]) == 0
    assert "oauth_refuse_offline_access=False" in capsys.readouterr().out
    assert main(["--port", "0", "--option", "concord_order=sideways"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faxtui sim: ") and "concord_order must be one of" in err and err.count("\n") == 1
    assert main(["--port", "0", "--option", "nonsense"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_server_started_from_options_serves_them() -> None:
    options = SimOptions.parse_assignments(["soap_fault_style=qualified", "seed=3"])
    with SimServer(options=options) as server, httpx.Client() as client:
        state = client.get(server.control_url + "/options").json()["options"]
    assert (state["soap_fault_style"], state["seed"]) == ("qualified", 3)
