"""The TUI in team mode: a wall screen following what a poller elsewhere stores (`faxtui --follow`),
and a desk whose own poller takes over an account nobody polls."""

from __future__ import annotations

import time
from pathlib import Path

from factories import interfax_job
from tui_fixtures import Demo, poll, screen_text, wait_for

from faxtui.config import Config, UIConfig
from faxtui.model import JobState
from faxtui.store import Store
from faxtui.team import TeamOptions
from faxtui.tui.app import FaxApp


async def test_a_follower_shows_the_stores_accounts_jobs_and_who_polls_them(
    demo: Demo, tmp_path: Path
) -> None:
    # The poller: the demo's own app, polling both demo accounts into its store, as desk-a:101.
    desk = demo.app()
    async with desk.run_test(size=(140, 30)) as desk_pilot:
        for name in desk.poller.statuses:
            assert desk.store.claim_lease(name, "desk-a:101", time.time(), 600) is None
        await poll(desk, desk_pilot)
        polled = set(desk.poller.jobs)
        # The wall screen: no account, no secret, its own connection to the same store.
        with Store.open(demo.session.store.path.parent) as store:
            empty = Config(path=tmp_path / "wall.toml", ui=UIConfig(timezone="UTC"), accounts=())
            wall = FaxApp(empty, store, now=demo.clock.now, cursor_blink=False,
                          team=TeamOptions("wall:9", poll=False))
            async with wall.run_test(size=(140, 30)) as pilot:
                await wait_for(pilot, lambda: set(wall.poller.jobs) == polled, what="the stored jobs")
                text = screen_text(wall)
                for name in desk.poller.statuses:
                    assert name in text
                assert text.count("by desk-a:101") == len(desk.poller.statuses)
                # A job the poller stores from now on shows up on the wall screen by itself.
                name = next(iter(desk.poller.statuses))
                fresh = interfax_job(4242, JobState.FAILED, account=name)
                desk.store.save_jobs([fresh], demo.clock.now())
                await wait_for(pilot, lambda: fresh.key in wall.poller.jobs, what="the new job")
                await pilot.pause(0.1)
                assert fresh.job_id in screen_text(wall)
                assert wall.poller.statuses[name].calls_made == 0
