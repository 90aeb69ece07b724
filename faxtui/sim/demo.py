"""The demo accounts every simulator has (DESIGN §5 contract) and the scripts that make them show
every state at start-up: the newest InterFax ids start at `SimOptions.interfax_id_base`
(1512345678 by default, above 999,999,999 as real ids are since around 2020) and count up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from faxtui.sim.lives import CcdFrame, IfxFrame, Outcome

if TYPE_CHECKING:
    from faxtui.sim.world import World

DEMO_INTERFAX_USERNAME = "demo"
# The published demo credentials (DESIGN §5): not secrets.
DEMO_INTERFAX_PASSWORD = "demo"  # noqa: S105
DEMO_CONCORD_USER_ID = "mbx0000000001"
DEMO_CONCORD_PIN = "demo"
DEMO_OAUTH_CLIENT_ID = "demo"
DEMO_OAUTH_CLIENT_SECRET = "demo"  # noqa: S105
DEMO_BEARER_TOKEN = "demo-token"  # noqa: S105
DEMO_INTERFAX_JOBS = 60
DEMO_CONCORD_JOBS = 40


@dataclass(frozen=True, slots=True)
class Script:
    """A backfilled job placed so that, at creation time, it is in a chosen phase of its life.

    `phase` selects frames of the lead job; None places the whole life in the past (a final job).
    `World.add_interfax_account` / `add_concord_account` take them; defined here, next to the
    demo's scripts, so that `faxtui.sim.world` imports this module and not the other way round.
    """

    outcome: Outcome
    phase: Callable[[Any], bool] | None = None
    size: int = 1
    postpone_after: int | None = None
    reference: str | None = None
    ago: tuple[int, int] = (60, 4 * 3600)
    """For final jobs: how long before creation the life ended, in seconds (min, max)."""
    every: bool = False
    """A broadcast (`size` > 1) whose every recipient has `outcome`, not only the first."""


def _ifx(status: int, *, trials: int | None = None, pages: bool | None = None,
         connected: bool | None = None) -> Callable[[IfxFrame], bool]:
    def phase(frame: IfxFrame) -> bool:
        return (
            frame.status == status
            and (trials is None or (frame.trials > 0) == bool(trials))
            and (pages is None or (frame.pages > 0) == pages)
            and (connected is None or frame.connected == connected)
        )
    return phase


def _ccd(*, pages: bool, connected: bool) -> Callable[[CcdFrame], bool]:
    def phase(frame: CcdFrame) -> bool:
        return frame.status == 3 and (frame.pages > 0) == pages and frame.connected == connected
    return phase


INTERFAX_SCRIPTS: tuple[Script, ...] = (
    Script("delivered", _ifx(-11)),
    Script("delivered", _ifx(-1)),
    Script("delivered", _ifx(-2)),
    Script("delivered", _ifx(-2), postpone_after=2400),
    Script("delivered", _ifx(-3, trials=0, connected=False)),
    Script("delivered", _ifx(-3, trials=0, pages=True)),
    Script("delivered", _ifx(-3, trials=0, pages=True), size=4),
    Script("delivered_after_retry", _ifx(-3, trials=1)),
    Script("busy", _ifx(-3, trials=1)),
    Script("no_answer", _ifx(-3, trials=1)),
    Script("held_then_sent", _ifx(-22)),
    Script("delivered", ago=(60, 900)),
    Script("delivered", ago=(600, 3600)),
    Script("delivered_after_retry", ago=(300, 3600)),
    Script("busy", ago=(300, 3600)),
    Script("no_answer", ago=(300, 3600)),
    Script("incompatible", ago=(300, 3600)),
    Script("not_operational", ago=(300, 3600)),
    Script("cancelled", ago=(300, 3600)),
    Script("render_error", ago=(300, 3600)),
    Script("held_expired", ago=(600, 7200)),
)

CONCORD_SCRIPTS: tuple[Script, ...] = (
    # Shared references: the most recent job with a ReferenceId is what JRI-<ref> returns.
    Script("busy", reference="INV-2026-0042", ago=(5400, 7200)),
    Script("delivered", reference="INV-2026-0042", ago=(300, 1200)),
    Script("delivered", reference="PO-2026-1187", ago=(7200, 10800)),
    Script("delivered", _ccd(pages=True, connected=True), reference="PO-2026-1187"),
    Script("no_answer", reference="CLM-2026-0311", ago=(10800, 14400)),
    Script("busy", reference="CLM-2026-0311", ago=(3600, 7200)),
    Script("delivered", _ccd(pages=False, connected=False), reference="CLM-2026-0311"),
    Script("delivered", _ccd(pages=False, connected=True)),
    Script("delivered", _ccd(pages=True, connected=True)),
    Script("delivered_after_retry", _ccd(pages=False, connected=False)),
    Script("incompatible", ago=(300, 3600)),
    Script("not_operational", ago=(300, 3600)),
    Script("cancelled", ago=(300, 3600)),
)


def add_demo_accounts(world: World) -> None:
    world.add_interfax_account(
        DEMO_INTERFAX_USERNAME,
        DEMO_INTERFAX_PASSWORD,
        DEMO_INTERFAX_JOBS,
        sender_csid="FAXTUI DEMO",
        scripts=INTERFAX_SCRIPTS,
    )
    world.add_concord_account(
        DEMO_CONCORD_USER_ID,
        DEMO_CONCORD_PIN,
        DEMO_CONCORD_JOBS,
        token=DEMO_BEARER_TOKEN,
        client_id=DEMO_OAUTH_CLIENT_ID,
        client_secret=DEMO_OAUTH_CLIENT_SECRET,
        scripts=CONCORD_SCRIPTS,
    )
