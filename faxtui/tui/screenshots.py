"""`python -m faxtui.tui.screenshots OUTDIR`: SVG pictures of the main views, for the README.

Every view runs the real app against the demo simulator on a fixed seed and a fake clock, so the
pictures (and the snapshot tests that reuse these scenes) come out the same every time. What the
real network makes vary (latency, Concord activity ids, retry jitter) is pinned before capture.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from faxtui.config import Config
from faxtui.model import FaxJob
from faxtui.sim import FakeClock
from faxtui.store import Store
from faxtui.tui.app import FaxApp
from faxtui.tui.demo_session import DEMO_CONCORD, DEMO_INTERFAX, DemoSession, build_demo

PINNED_LATENCY_MS = 42.0
PINNED_ACTIVITY_ID = "3f2b8c1e-5a7d-4e90-b6c4-1d2e3f4a5b6c"
PINNED_EXECUTION_MS = "7"


@dataclasses.dataclass
class Scene:
    """An app on the demo world, with the clock and simulator a view may need to move."""

    app: FaxApp
    session: DemoSession | None
    clock: FakeClock

    async def poll(self, pilot: Pilot[Any], *accounts: str) -> None:
        """Poll accounts one after another (a fixed event order), then let the widgets catch up."""
        for name in accounts or (DEMO_INTERFAX, DEMO_CONCORD):
            await self.app.poller.poll_once([name])
        await pilot.pause()
        self.pin()
        await pilot.pause()

    def pin(self) -> None:
        """Fix latency, Concord tracking headers and retry times to constants."""
        poller = self.app.poller
        now = self.clock.now()
        for status in poller.statuses.values():
            if status.latency_ms is not None:
                status.latency_ms = PINNED_LATENCY_MS
            if status.retry_at is not None:
                status.retry_at = now + timedelta(seconds=5)
        for key, job in list(poller.jobs.items()):
            if job.concord is not None:
                native = dataclasses.replace(job.concord, activity_id=PINNED_ACTIVITY_ID,
                                             execution_time_ms=PINNED_EXECUTION_MS)
                poller.jobs[key] = dataclasses.replace(job, concord=native)
        main = self.app.monitor
        if main is not None:
            main.reload_all()
            main.detail.job = None
            main.show_selected()

    def select_first(self, predicate: Callable[[FaxJob], bool]) -> None:
        main = self.app.monitor
        assert main is not None
        table = main.table
        for key in table.rows_shown():
            if predicate(table.jobs[key]):
                table.select_key(key)
                return
        raise LookupError("no job matches")


Prepare = Callable[[Scene, Pilot[Any]], Awaitable[None]]


async def main_view(scene: Scene, pilot: Pilot[Any]) -> None:
    await scene.poll(pilot)


async def detail_interfax(scene: Scene, pilot: Pilot[Any]) -> None:
    await scene.poll(pilot)
    scene.select_first(lambda job: job.service == "interfax" and (job.item.TrialsPerformed or 0) > 1)
    await pilot.pause()


async def detail_concord(scene: Scene, pilot: Pilot[Any]) -> None:
    await scene.poll(pilot)
    scene.select_first(lambda job: job.service == "concord")
    await pilot.pause()


async def watch_list(scene: Scene, pilot: Pilot[Any]) -> None:
    await scene.poll(pilot)
    main = scene.app.monitor
    assert main is not None
    if main.has_class("-narrow"):
        main.pane = "watch"
    main.watchlist.focus()
    await pilot.pause()


async def error_state(scene: Scene, pilot: Pilot[Any]) -> None:
    await scene.poll(pilot)
    assert scene.session is not None
    scene.session.sim.faults.add("concord:http500")
    scene.clock.advance(30)
    await scene.poll(pilot)
    scene.app.clear_notifications()
    main = scene.app.monitor
    assert main is not None
    main.sort_by("account")  # the failing account's (dimmed) rows first
    scene.select_first(lambda job: job.account == DEMO_CONCORD)
    await pilot.pause()


async def welcome(scene: Scene, pilot: Pilot[Any]) -> None:
    await pilot.pause()


@dataclasses.dataclass(frozen=True)
class View:
    name: str
    size: tuple[int, int]
    prepare: Prepare
    demo: bool = True


VIEWS: tuple[View, ...] = (
    View("main-160x48", (160, 48), main_view),
    View("main-80x24", (80, 24), main_view),
    View("detail-interfax", (160, 48), detail_interfax),
    View("detail-concord", (160, 48), detail_concord),
    View("watch-list", (160, 48), watch_list),
    View("error-state", (160, 48), error_state),
    View("welcome", (80, 24), welcome, demo=False),
)

WELCOME_CONFIG = Path("~/.config/faxtui/config.toml")
"""What the welcome screen names as the config file (never written: it has no accounts)."""


def make_scene(view_demo: bool, directory: Path) -> Scene:
    """A fresh app for one view: the demo on a fake clock, or an empty config for the welcome view."""
    clock = FakeClock()
    if not view_demo:
        store = Store.open(directory / "welcome-data")
        app = FaxApp(Config(path=WELCOME_CONFIG), store, now=clock.now, autostart=False, cursor_blink=False)
        return Scene(app, None, clock)
    session = build_demo(seed=1, clock=clock, timezone="UTC", directory=directory)
    app = FaxApp(session.config, session.store, now=clock.now, autostart=False, cursor_blink=False)
    return Scene(app, session, clock)


def close_scene(scene: Scene) -> None:
    if scene.session is not None:
        scene.session.close()
    else:
        scene.app.store.close()


async def capture(view: View, outdir: Path, directory: Path) -> Path:
    scene = make_scene(view.demo, directory)
    try:
        async with scene.app.run_test(size=view.size) as pilot:
            await view.prepare(scene, pilot)
            await pilot.pause()
            path = scene.app.save_screenshot(f"{view.name}.svg", path=str(outdir))
    finally:
        close_scene(scene)
    return Path(path)


async def capture_all(outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faxtui-shots-") as temp:
        return [await capture(view, outdir, Path(temp)) for view in VIEWS]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m faxtui.tui.screenshots OUTDIR", file=sys.stderr)
        return 2
    for path in asyncio.run(capture_all(Path(args[0]))):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

