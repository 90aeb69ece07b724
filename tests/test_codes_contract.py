"""The client's status tables (`faxtui.services.*.codes`) against the simulator's
(`faxtui.sim.status_tables`), which were written apart, from shared/protocols/: every documented
code must mean the same job state and the same text to both, or one of them misreads the protocol.
This is the test that catches a wrong mapping; the end-to-end tests then compare faxtui with the
simulator's truth."""

from __future__ import annotations

import pytest

from faxtui.services.concord import codes as concord_codes
from faxtui.services.interfax import codes
from faxtui.sim import status_tables as sim

TRIALS = (0, 1, 3)
"""Attempts made: InterFax's -3 is a retry once one was made; the state of others must not move."""


@pytest.mark.parametrize("code", sorted(sim.INTERFAX_STATUS))
def test_every_documented_interfax_status_means_the_same_to_client_and_simulator(code: int) -> None:
    for trials in TRIALS:
        assert codes.interfax_state(code, trials).value == sim.interfax_state(code, trials), (code, trials)
    assert codes.interfax_status_text(code) == sim.interfax_text(code)


@pytest.mark.parametrize("code", [-5, -99, 1, 7, 999_999])
def test_undocumented_interfax_codes_follow_the_same_sign_rule(code: int) -> None:
    assert codes.interfax_state(code, 0).value == sim.interfax_state(code, 0)


def test_interfax_result_codes_read_the_same() -> None:
    for code, text in sim.INTERFAX_RESULT_TEXT.items():
        assert codes.interfax_result_text(code) == text, code
    assert codes.INTERFAX_ALL_TRANSACTIONS == sim.IFX_INT_MAX


@pytest.mark.parametrize("code", [*sorted(sim.CONCORD_STATUS), 0, 4, -1])
def test_every_concord_status_means_the_same_to_client_and_simulator(code: int) -> None:
    assert concord_codes.concord_state(code).value == sim.concord_state(code), code
    if code in sim.CONCORD_STATUS:
        assert concord_codes.concord_status_text(code) == sim.concord_text(code)
