"""The TUI against the real poller and the real simulator over loopback, driven from the keyboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Input
from tui_fixtures import Demo, main_screen, poll, screen_text, wait_for

from faxtui.config import Config, load_config
from faxtui.model import ACTIVE_STATES, FAXITEM_FIELDS, JobState
from faxtui.tui.app import FaxApp
from faxtui.tui.formatting import NOT_REPORTED, STATE_ORDER
from faxtui.tui.screens.accounts import AccountsScreen
from faxtui.tui.screens.dialogs import TextDialog, WatchDialog
from faxtui.tui.screens.main import MainScreen
from faxtui.tui.screens.welcome import WelcomeScreen
from faxtui.tui.widgets.job_table import COLUMN_KEYS, row_key, split_key


def cell(screen: MainScreen, key: str, column: str) -> str:
    return str(screen.table.get_cell(key, column))


def progress(screen: MainScreen, key: str) -> tuple[str, str, str]:
    return cell(screen, key, "state"), cell(screen, key, "status"), cell(screen, key, "attempts")


async def test_rows_appear_for_both_accounts_and_detail_shows_all_27_fields(demo: Demo) -> None:
    app = demo.app(autostart=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.main_screen is not None and app.main_screen.is_mounted)
        main = main_screen(app)
        await wait_for(pilot, lambda: {split_key(k)[0] for k in main.table.rows_shown()} ==
                       {"demo-interfax", "demo-concord"}, what="rows of both accounts")
        assert main.table.row_count == len(app.poller.jobs)
        job = main.table.selected_job
        assert job is not None and job.service == "interfax"
        text = screen_text(app)
        for spec in FAXITEM_FIELDS:
            assert spec.label in text, spec.label
        assert f"{job.job_id}" in text
        # A Concord job: mapped fields have values, the other twenty say so.
        concord_key = next(k for k in main.table.rows_shown() if k.startswith("demo-concord"))
        main.table.select_key(concord_key)
        await pilot.pause()
        detail = main.detail.job
        assert detail is not None and detail.service == "concord"
        body = screen_text(app)
        # both columns of the pane, as far as it shows
        assert body.count(NOT_REPORTED.format(label="Concord")) >= 10
        assert "x-ch-activity-id" in body or "RecipientState" in body


async def test_state_change_updates_the_row_in_place_and_keeps_the_cursor(demo: Demo) -> None:
    app = demo.app(autostart=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.main_screen is not None and app.main_screen.is_mounted)
        main = main_screen(app)
        await wait_for(pilot, lambda: main.table.row_count > 20, what="rows")
        table = main.table
        active = [key for key in table.rows_shown()
                  if table.jobs[key].service == "interfax" and table.jobs[key].state in ACTIVE_STATES]
        target = active[len(active) // 2]
        table.select_key(target)
        await pilot.pause()
        before = progress(main, target)
        after = before
        for _ in range(4):  # the fax moves on within minutes; each refresh is one InterFax call
            calls = app.poller.statuses["demo-interfax"].calls_made
            demo.clock.advance(150)
            await pilot.press("r")
            await wait_for(pilot, lambda c=calls: app.poller.statuses["demo-interfax"].calls_made > c,
                           what="the refresh poll")
            await pilot.pause()
            after = progress(main, target)
            if after != before:
                break
        assert after != before
        assert table.selected_key == target
        assert table.row_count == len(app.poller.jobs)  # new jobs arrived as new rows


async def test_filter_toggles_and_sort_from_the_keyboard(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_screen(app)
        await poll(app, pilot)
        table = main.table
        total = table.row_count
        failed = sum(1 for job in app.poller.jobs.values() if job.state is JobState.FAILED)
        assert 0 < failed < total

        await pilot.press("slash", *"state:failed", "enter")
        assert table.row_count == failed
        assert all(table.jobs[key].state is JobState.FAILED for key in table.rows_shown())
        assert "state:failed" in screen_text(app)
        await pilot.press("escape")
        assert table.row_count == total

        await pilot.press("slash", *"account:concord", "enter")
        assert {split_key(k)[0] for k in table.rows_shown()} == {"demo-concord"}
        await pilot.press("escape")

        await pilot.press("F")
        assert table.row_count == failed
        await pilot.press("A")
        shown = [table.jobs[key] for key in table.rows_shown()]
        assert shown and all(job.state in ACTIVE_STATES for job in shown)
        assert "active only" in screen_text(app)
        await pilot.press("A")
        assert table.row_count == total

        selected = table.selected_key
        await pilot.press("s", "s")  # submitted -> completed -> duration ... wraps
        expected = COLUMN_KEYS[(COLUMN_KEYS.index("submitted") + 2) % len(COLUMN_KEYS)]
        assert table.sort_column == expected
        assert table.selected_key == selected
        while table.sort_column != "state":
            await pilot.press("s")
        order = [STATE_ORDER[table.jobs[key].state] for key in table.rows_shown()]
        assert order == sorted(order)
        await pilot.press("S")
        order = [STATE_ORDER[table.jobs[key].state] for key in table.rows_shown()]
        assert order == sorted(order, reverse=True)
        assert table.selected_key == selected


async def test_pause_shows_in_the_bar_and_stops_polling(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        await pilot.press("p")
        assert app.poller.paused
        assert "PAUSED" in screen_text(app)
        await pilot.press("p")
        assert not app.poller.paused
        assert "PAUSED" not in screen_text(app)


async def test_watch_add_label_remove_from_the_keyboard(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_screen(app)
        await poll(app, pilot)
        table = main.table
        job = next(table.jobs[k] for k in table.rows_shown()
                   if table.jobs[k].service == "interfax" and not app.poller.is_watched(table.jobs[k]))
        table.select_key(row_key(job.account, job.job_id))
        await pilot.press("w")
        assert isinstance(app.screen, WatchDialog)
        assert app.screen.query_one("#watch-id", Input).value == job.job_id
        await pilot.press("enter")
        await pilot.pause()
        assert app.poller.is_watched(job)
        assert any(e.lookup_id == job.job_id for e in app.store.watch_list())  # persisted
        # A bad id is refused in the dialog, in one line, and nothing is added.
        await pilot.press("w", "ctrl+a", *"not-an-id", "enter")
        assert isinstance(app.screen, WatchDialog)
        assert "not an InterFax transaction id" in screen_text(app)
        await pilot.press("escape")

        watch = main.watchlist
        watch.focus()
        key = next(k for k, e in watch.entries.items() if e.lookup_id == job.job_id)
        watch.move_cursor(row=watch.get_row_index(key))
        await pilot.press("l")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*"night shift", "enter")
        await pilot.pause()
        assert any(e.label == "night shift" for e in app.store.watch_list() if e.lookup_id == job.job_id)
        assert "night shift" in screen_text(app)
        await pilot.press("x")
        await pilot.pause()
        assert not app.poller.is_watched(job)
        assert all(e.lookup_id != job.job_id for e in app.store.watch_list())


async def test_account_fault_shows_in_the_bar_while_the_other_account_keeps_updating(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        main = main_screen(app)
        await poll(app, pilot)
        concord_rows = [k for k in main.table.rows_shown() if k.startswith("demo-concord")]
        demo.sim.faults.add("concord:http500")
        demo.clock.advance(120)
        await poll(app, pilot)
        statuses = app.poller.statuses
        assert statuses["demo-concord"].health.value == "error"
        assert statuses["demo-interfax"].last_good_poll == demo.clock.now()
        lines = {line.split()[0]: line for line in screen_text(app).splitlines()[:4] if line.strip()}
        assert "✗ error" in lines["demo-concord"]
        assert "retry" in lines["demo-concord"]
        assert "✓ OK" in lines["demo-interfax"]
        # The failing account's rows stay, marked stale (dim); the healthy account's are not.
        assert all("dim" in str(main.table.get_cell(k, "state").style) for k in concord_rows)
        interfax_row = next(k for k in main.table.rows_shown() if k.startswith("demo-interfax"))
        assert "dim" not in str(main.table.get_cell(interfax_row, "state").style)
        assert any("demo-concord" in line and "error" in line for line in main.events.plain_lines())
        demo.sim.faults.clear()
        await poll(app, pilot)
        assert statuses["demo-concord"].health.value == "ok"
        assert any("recovered" in line for line in main.events.plain_lines())


async def test_welcome_screen_without_accounts_offers_the_demo(tmp_path: Path) -> None:
    from faxtui.store import Store

    store = Store.open(tmp_path / "data")
    try:
        app = FaxApp(Config(path=tmp_path / "config.toml"), store, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            assert isinstance(app.screen, WelcomeScreen)
            assert "Try the demo" in screen_text(app)
            await pilot.press("a")
            assert isinstance(app.screen, AccountsScreen)
            await pilot.press("escape")
            assert isinstance(app.screen, WelcomeScreen)
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the monitor")
            await wait_for(pilot, lambda: main_screen(app).table.row_count > 0, what="demo rows")
            assert app.demo is not None
    finally:
        store.close()
    assert not (tmp_path / "config.toml").exists()  # the real config was never written


async def test_hostile_server_strings_render_as_inert_text(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_screen(app)
        await poll(app, pilot)
        import dataclasses

        hostile = "\x1b[31m[bold red]X[/]\x07"
        key = next(iter(main.table.rows_shown()))
        job = app.poller.jobs[split_key(key)]
        evil = dataclasses.replace(job, item=dataclasses.replace(job.item, Subject=hostile, Contact=hostile),
                                   status_text=hostile)
        app.store.save_jobs([evil], demo.clock.now())
    # Start again: the hostile job now comes from the store, through the poller, to every widget.
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_screen(app)
        main.table.select_key(key)
        await pilot.pause()
        subject = main.table.get_cell(key, "subject")
        assert subject.plain == "[bold red]X[/]"
        assert not subject.spans
        text = screen_text(app)
        assert "[bold red]X[/]" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_accounts_screen_adds_tests_and_removes_an_account(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AccountsScreen)
        await pilot.press("n")
        form = app.screen
        form.query_one("#f-name", Input).value = "ops-extra"
        form.query_one("#f-endpoint", Input).value = demo.sim.interfax_url
        form.query_one("#f-username", Input).value = "demo"
        password = form.query_one("#f-password", Input)
        assert password.password  # typed masked
        password.value = "demo"
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "OK" in screen_text(app), what="the test verdict")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, AccountsScreen)
        saved = load_config(app.config.path)
        assert [a.name for a in saved.accounts] == ["demo-interfax", "demo-concord", "ops-extra"]
        assert "ops-extra" in app.poller.statuses
        text = screen_text(app)
        assert "ops-extra" in text and "password inline" in text
        # A bad poll interval is one line in the form, and nothing is saved.
        await pilot.press("e")
        form = app.screen
        form.query_one("#f-poll", Input).value = "often"
        await pilot.press("ctrl+s")
        assert "poll seconds must be a number" in screen_text(app)
        await pilot.press("escape")
        # A config file broken on disk is never overwritten: the save is refused in one line.
        good = app.config.path.read_text()
        app.config.path.write_text(good + "\n[[accounts]]\nname = 'broken'\n")
        await pilot.press("n")
        app.screen.query_one("#f-name", Input).value = "ops-more"
        app.screen.query_one("#f-username", Input).value = "demo"
        app.screen.query_one("#f-password", Input).value = "demo"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, AccountsScreen)
        result = str(app.screen.query_one("#accounts-result").render())
        assert result.startswith("Not saved:") and "\n" not in result
        assert "file on disk does not load" in result
        assert "ops-more" not in app.poller.statuses
        app.config.path.write_text(good)
        await pilot.press("x", "y")
        await pilot.pause()
        assert [a.name for a in load_config(app.config.path).accounts] == ["demo-interfax", "demo-concord"]
        assert "ops-extra" not in app.poller.statuses


def test_run_app_with_a_broken_config_prints_one_line_and_returns_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from faxtui.tui.app import run_app

    path = tmp_path / "config.toml"
    path.write_text("[[accounts]]\nname = 'x'\nservice = 'fax'\n")
    assert run_app(path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.toml" in err and "Traceback" not in err


async def test_watched_job_failing_raises_a_notification_and_the_bell(demo: Demo) -> None:
    world = demo.sim.world
    now = world.now.timestamp()
    doomed = next(
        job for job, frame in world.interfax_jobs("demo")
        if frame.status < 0 and job.frames[-1].status > 0 and job.frames[-1].status != 403
    )
    app = demo.app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await poll(app, pilot)
        app.poller.add_watch("demo-interfax", str(doomed.transaction_id), "must arrive")
        await pilot.pause()
        demo.clock.advance(doomed.submit + doomed.offsets[-1] - now + 1)
        await poll(app, pilot)
        job = app.poller.jobs[("demo-interfax", str(doomed.transaction_id))]
        assert job.state is JobState.FAILED
        text = screen_text(app)
        assert "Watched fax finished" in text
        assert str(doomed.transaction_id) in text
        assert app.bells == 1
        main = main_screen(app)
        tid = str(doomed.transaction_id)
        assert any(tid in line and "✗ failed" in line for line in main.events.plain_lines())


async def test_help_screen_and_palette_commands(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await poll(app, pilot)
        await pilot.press("question_mark")
        text = screen_text(app)
        for key, what in (("/", "filter"), ("p", "pause"), ("A", "active only"), ("F", "failed only"),
                          ("w", "watch the selected job"), ("x / delete", "stop watching")):
            assert key in text and what in text
        await pilot.press("escape")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Pause polling", "Refresh now", "Filter jobs", "Show failed jobs only", "Accounts",
                      "Watch a job", "Sort by state", "Theme"):
            assert any(t.startswith(title) for t in titles), title
        await pilot.press("ctrl+p", *"pause polling")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.poller.paused, what="pause from the palette")


async def test_narrow_terminal_shows_one_pane_at_a_time(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        main = main_screen(app)
        assert main.has_class("-narrow")
        assert main.detail.display and not main.watchlist.display
        await pilot.press("v")
        assert main.watchlist.display and not main.detail.display
        await pilot.press("v")
        assert main.events.display and not main.watchlist.display
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "events"
        footer = screen_text(app).splitlines()[-1]
        assert footer.rstrip().endswith("? Help")  # every footer key fits whole in 80 columns


async def test_no_color_keeps_the_meaning_in_symbols(demo: Demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    app = demo.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await poll(app, pilot)
        assert app.no_color
        text = screen_text(app)
        for label in ("✓ delivered", "✗ failed", "▶ sending", "… queued", "↻ retrying", "✓ OK"):
            assert label in text, label


async def test_theme_comes_from_the_config_and_unknown_names_fall_back(demo: Demo) -> None:
    import dataclasses

    from faxtui.tui.app import FaxApp

    for wanted, expected in (("ansi-dark", "ansi-dark"), ("no-such-theme", "textual-dark")):
        config = dataclasses.replace(demo.session.config,
                                     ui=dataclasses.replace(demo.session.config.ui, theme=wanted))
        app = FaxApp(config, demo.session.store, now=demo.clock.now, autostart=False, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.theme == expected


@pytest.mark.parametrize(
    ("fault", "account", "shown"),
    [
        ("interfax:result=-1011", "demo-interfax", "⏳ rate-limited, retry in"),
        ("interfax:result=-1003", "demo-interfax", "✗ auth failed"),
        ("concord:drop", "demo-concord", "✗ unreachable, retry in"),
    ],
)
async def test_account_bar_names_each_failure_in_words(demo: Demo, fault: str, account: str,
                                                       shown: str) -> None:
    app = demo.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await poll(app, pilot)
        demo.sim.faults.add(fault)
        demo.clock.advance(60)
        await app.poller.poll_once([account])
        await pilot.pause()
        bar = [line for line in screen_text(app).splitlines()[:6] if line.strip()]
        line = next(i for i, text in enumerate(bar) if text.split()[0] == account)
        assert shown in bar[line]
        assert "polled 1m00s ago" in bar[line]  # the age of the data still shown
        assert bar[line + 1].strip().startswith("↳ ")  # the reason, on its own line


async def test_account_bar_shows_what_a_good_poll_left_out(demo: Demo) -> None:
    """A poll that succeeded but left an unreadable item out says so under the account, and the
    item's neighbours are all shown; the next clean poll takes the warning away."""
    app = demo.app()
    async with app.run_test(size=(160, 40)) as pilot:
        demo.sim.world.set_options(interfax_bad_fields=["missing:TransactionID@0"])
        await poll(app, pilot)
        bar = [line for line in screen_text(app).splitlines()[:8] if line.strip()]
        line = next(i for i, text in enumerate(bar) if text.split()[0] == "demo-interfax")
        assert "✓" in bar[line] or "OK" in bar[line]
        assert bar[line + 1].strip().startswith("↳ warning: 1 of ")
        assert "TransactionID is missing" in bar[line + 1]
        demo.sim.world.set_options(interfax_bad_fields=[])
        demo.clock.advance(60)
        await poll(app, pilot)
        assert "↳ warning" not in screen_text(app)


async def test_a_poll_without_changes_rewrites_no_cell(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_screen(app)
        await poll(app, pilot)
        table = main.table
        writes: list[str] = []
        for name in ("update_cell", "add_row", "remove_row", "clear"):
            original = getattr(table, name)

            def spy(*args: object, _name: str = name, _original=original, **kwargs: object) -> object:  # type: ignore[no-untyped-def]
                writes.append(_name)
                return _original(*args, **kwargs)

            setattr(table, name, spy)
        await poll(app, pilot)  # the world has not moved: same answers
        assert writes == []
        demo.clock.advance(90)
        await poll(app, pilot)
        assert "update_cell" in writes and "clear" not in writes


async def test_account_tests_in_the_tui_draw_on_the_polling_budget(demo: Demo) -> None:
    """Eight presses of `t` on an InterFax account within a minute: at most six calls reach the
    service (its limit per user), none is refused with -1011, and the rest say when to try again."""
    app = demo.app(wall=lambda: demo.clock.now().timestamp())
    before = demo.sim.stats.requests("interfax", "demo")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert screen.selected is not None and screen.selected.name == "demo-interfax"
        verdicts: list[str] = []
        for _ in range(8):
            await pilot.press("t")
            await wait_for(pilot, lambda: "Testing" not in str(screen.query_one("#accounts-result").render()),
                           what="the test verdict")
            verdicts.append(str(screen.query_one("#accounts-result").render()))
        calls = demo.sim.stats.requests("interfax", "demo") - before
        assert calls == 6
        assert all("OK" in v for v in verdicts[:6]), verdicts
        for verdict in verdicts[6:]:  # the clock stood still: the whole window (and a margin) to go
            wait = re.search(r"not tested: .* try again in (\d+) s$", verdict)
            assert wait is not None and 60 <= int(wait.group(1)) <= 62, verdict
        assert not any("-1011" in v or "Too many" in v for v in verdicts)
        # The window slides on the same clock: a minute later a test calls again, and passes.
        demo.clock.advance(61)
        await pilot.press("t")
        await wait_for(pilot, lambda: "OK" in str(screen.query_one("#accounts-result").render()),
                       what="a test after the window")
        assert demo.sim.stats.requests("interfax", "demo") - before == 7
