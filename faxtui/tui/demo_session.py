"""The demo's assembly, in one place: the built-in simulator, a config with both demo accounts
pointing at it, and a store with a watch list (`build_demo`), for `faxtui demo`
(`faxtui.tui.demo`), the welcome screen's "Try the demo", the screenshots and the tests.

Everything is temporary: the simulator runs in-process on a free loopback port, the config file
and the state database live in a temp directory removed on exit. The credentials are the
simulator's published demo ones (`faxtui.sim.demo`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from faxtui.config import AccountConfig, Config, SecretRef, UIConfig, load_config, save_config
from faxtui.sim.clock import RealClock, SimClock
from faxtui.sim.demo import (
    DEMO_CONCORD_USER_ID,
    DEMO_INTERFAX_PASSWORD,
    DEMO_INTERFAX_USERNAME,
    DEMO_OAUTH_CLIENT_ID,
    DEMO_OAUTH_CLIENT_SECRET,
)
from faxtui.sim.options import SimOptions
from faxtui.sim.server import SimServer
from faxtui.sim.world import World
from faxtui.store import Store

DEMO_INTERFAX = "demo-interfax"
DEMO_CONCORD = "demo-concord"
"""The demo accounts' names in the config."""
CONCORD_WATCHED = 6
"""How many of the newest Concord jobs the demo watches (Concord is polled by id only)."""


@dataclass
class DemoSession:
    """A running simulator plus the temporary config and store that point at it."""

    sim: SimServer
    config: Config
    store: Store
    directory: Path

    def close(self) -> None:
        """Stop the simulator, close the store, delete the temp directory. Safe to call twice."""
        self.store.close()
        self.sim.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def demo_accounts(sim: SimServer, *, interfax_poll: float = 20.0, concord_poll: float = 5.0) -> tuple[
        AccountConfig, AccountConfig]:
    interfax = AccountConfig(
        name=DEMO_INTERFAX, service="interfax", endpoint=sim.interfax_url, poll_seconds=interfax_poll,
        username=DEMO_INTERFAX_USERNAME, password=SecretRef(value=DEMO_INTERFAX_PASSWORD),
    )
    concord = AccountConfig(
        name=DEMO_CONCORD, service="concord", endpoint=sim.concord_url, poll_seconds=concord_poll,
        user_id=DEMO_CONCORD_USER_ID, token_url=sim.token_url, client_id=DEMO_OAUTH_CLIENT_ID,
        client_secret=SecretRef(value=DEMO_OAUTH_CLIENT_SECRET),
    )
    return interfax, concord


def prefill_watch_list(store: Store, world: World, at: datetime) -> None:
    """A few Concord br ids, one JRI reference, two InterFax transactions (the newest ones)."""
    concord_ids = world.concord_job_ids(DEMO_CONCORD_USER_ID)
    references = world.concord_references(DEMO_CONCORD_USER_ID)
    interfax_ids = world.interfax_transaction_ids(DEMO_INTERFAX_USERNAME)
    for tid in sorted(interfax_ids, reverse=True)[:2]:
        store.add_watch(DEMO_INTERFAX, str(tid), "urgent", at=at)
    if references:
        store.add_watch(DEMO_CONCORD, f"JRI-{references[0]}", "latest invoice", at=at)
    for job_id in sorted(concord_ids, reverse=True)[:CONCORD_WATCHED]:
        store.add_watch(DEMO_CONCORD, job_id, "", at=at)


def build_demo(
    seed: int = 1,
    speed: float = 1.0,
    *,
    clock: SimClock | None = None,
    timezone: str = "local",
    theme: str = "textual-dark",
    interfax_poll: float = 20.0,
    concord_poll: float = 5.0,
    directory: Path | None = None,
) -> DemoSession:
    """Start the simulator and write the demo config and store; the caller closes the session.

    Pass a `FakeClock` for a world that moves only when told to (tests, screenshots).
    """
    options = SimOptions(seed=seed, speed=speed)
    world = World(options, clock if clock is not None else RealClock(speed))
    sim = SimServer(world=world, options=options, host="127.0.0.1", port=0)
    sim.start()
    temp = Path(tempfile.mkdtemp(prefix="faxtui-demo-", dir=directory))
    try:
        interfax, concord = demo_accounts(sim, interfax_poll=interfax_poll, concord_poll=concord_poll)
        config = Config(path=temp / "config.toml", ui=UIConfig(timezone=timezone, theme=theme),
                        accounts=(interfax, concord))
        save_config(config)
        config = load_config(config.path)
        store = Store.open(temp / "data")
        prefill_watch_list(store, world, world.now if clock is not None else datetime.now(UTC))
    except BaseException:
        sim.stop()
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return DemoSession(sim=sim, config=config, store=store, directory=temp)
