"""Team mode as an operations desk runs it: separate processes, each with its own data directory
(as if on its own machine), meeting only in the store, on both backends at once.

For three minutes, per backend: two `faxtui poll` processes and three `faxtui --follow` TUIs on
real pseudo-terminals, against a simulator on a real clock with InterFax's limit of 6 calls a
minute (it refuses a 7th in any 60 s with -1011, and counts it). Halfway, the polling process is
killed with -9. What a user would notice is checked: the service never had to refuse a call, every
viewer's screen shows the account polled within `poll_seconds + 5` s (but while the lease of the
dead poller runs out), the standby takes over, and the history the store keeps has no lost and no
repeated transition, checked against the simulator's ground truth.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pty_harness import PtyApp, terminal_env
from test_cli_poll import PollProcess, environment
from test_rate_limits import START, config_of, interfax

from faxtui.config import save_config
from faxtui.sim import RealClock, SimOptions, SimServer, World
from faxtui.store import open_store
from faxtui.team.leases import lease_terms

POLL = 10.0
RUN_SECONDS = 180.0
KILL_AT = 90.0
PASSWORD = "desk-pass-31d9"
AGE = re.compile(r"desk\s+interfax .*?polled (?:(\d+)m)?(\d+)s ago by (\S+)")


@dataclass
class Desk:
    """One backend's desk: its simulator, two pollers, three viewers, what the viewers showed."""

    name: str
    url: str
    sim: SimServer
    pollers: list[PollProcess]
    viewers: list[PtyApp]
    ages: list[tuple[float, int, float]] = field(default_factory=list)
    """(seconds into the run, viewer, age of the last good poll it showed)."""

    def sample(self, at: float) -> None:
        for n, viewer in enumerate(self.viewers):
            found = AGE.search(viewer.text())
            self.ages.append((at, n, float("inf") if found is None else
                              int(found.group(1) or 0) * 60 + int(found.group(2))))

    def holder(self) -> PollProcess:
        (polling,) = [p for p in self.pollers if p.said("lease taken") and p.proc.poll() is None]
        return polling


def start_desk(stack: ExitStack, name: str, url: str, root: Path) -> Desk:
    world = World(SimOptions(seed=8, arrival_mean_seconds=8), RealClock(1.0, start=START))
    world.add_interfax_account("desk", PASSWORD, jobs=30)
    sim = stack.enter_context(SimServer(world=world))
    root.mkdir()
    save_config(config_of(root, interfax(sim, "desk", "desk", PASSWORD, poll=POLL)))
    pollers = []
    for n in range(2):
        env = {**environment(root), "FAXTUI_DATA_DIR": str(root / f"poller-{n}")}
        pollers.append(PollProcess(["--store", url], env))
        stack.callback(_stop_poller, pollers[-1])
        pollers[-1].wait_for("account desk: lease taken" if n == 0 else "standing by")
    viewers = []
    for n in range(3):
        env = terminal_env(FAXTUI_DATA_DIR=str(root / f"viewer-{n}"), FAXTUI_CONFIG=str(root / "none.toml"))
        viewer = PtyApp.spawn(["-m", "faxtui", "--follow", "--store", url], env, columns=140, rows=30)
        stack.callback(viewer.kill)
        viewers.append(viewer)
    return Desk(name, url, sim, pollers, viewers)


def _stop_poller(poller: PollProcess) -> None:
    if poller.proc.poll() is None:
        poller.proc.terminate()
        poller.finish()


@pytest.fixture
def urls(tmp_path: Path, pg_url: str) -> Iterator[dict[str, str]]:
    yield {"sqlite": f"sqlite:///{tmp_path}/shared/state.sqlite3", "postgresql": pg_url}


@pytest.mark.timeout(RUN_SECONDS + 240)
def test_two_pollers_three_viewers_and_a_kill_on_both_backends(tmp_path: Path, urls: dict[str, str]) -> None:
    with ExitStack() as stack:
        desks = [start_desk(stack, name, url, tmp_path / name) for name, url in urls.items()]
        for desk in desks:
            for viewer in desk.viewers:
                viewer.wait_for_text(AGE, timeout=60)
        started = time.monotonic()
        killed: dict[str, tuple[float, PollProcess]] = {}
        while (now := time.monotonic() - started) < RUN_SECONDS:
            for desk in desks:
                desk.sample(now)
                if now >= KILL_AT and desk.name not in killed:
                    dead = desk.holder()
                    dead.proc.kill()
                    killed[desk.name] = (now, dead)
            time.sleep(0.25)  # the sampling cadence of what the viewers' screens show
        for desk in desks:
            at, dead = killed[desk.name]
            (survivor,) = [p for p in desk.pollers if p is not dead]
            assert survivor.said("account desk: lease taken"), (desk.name, survivor.lines)
            # What the viewers showed: fresh all along, but while the dead poller's lease ran out.
            grace = at + lease_terms(POLL).takeover_bound + POLL + 5
            stale = [(t, n, age) for t, n, age in desk.ages if age > POLL + 5 and not at <= t <= grace]
            assert stale == [], (desk.name, stale[:5])
            assert desk.sim.stats.snapshot()["rate_limited"] == 0, desk.name
            for process in desk.pollers:
                assert not any(PASSWORD in line for line in process.lines)
            check_history(desk)


def check_history(desk: Desk) -> None:
    """Every job's stored history is continuous (no transition lost between two polls, none
    repeated by the poller that took over) and ends in the state the store shows; every job the
    world finished over a minute before the end is shown finished, as the world finished it."""
    world = desk.sim.world
    end = world.clock.now().timestamp() - 60  # the world's own time, a minute before the end
    with closing(open_store(desk.url)) as store:
        jobs = {job.job_id: job for job in store.load_jobs("desk")}
        broken = []
        for job in jobs.values():
            history = store.history("desk", job.job_id)
            for before, after in itertools.pairwise(history):
                if (after.old_state, after.old_code) != (before.new_state, before.new_code):
                    broken.append((job.job_id, before.new_state, after.old_state, after.new_state))
            if not history or history[-1].new_state != job.state.value:
                broken.append((job.job_id, "ends", history[-1].new_state if history else None))
    assert broken == [], (desk.name, broken[:5])
    wrong = []
    for truth, _ in world.interfax_jobs("desk"):
        state = truth.state_of(truth.index_at(end))
        if state in ("delivered", "failed", "cancelled"):
            shown = jobs.get(str(truth.transaction_id))
            if shown is None or shown.state.value != state:
                wrong.append((truth.transaction_id, state, shown.state.value if shown else None))
    assert wrong == [], (desk.name, wrong[:5])
    assert len(jobs) > 30
