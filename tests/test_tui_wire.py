"""faxtui.tui.wire: what reaches the terminal is the screen Textual drew, in far fewer bytes.

Every check replays two byte streams into pyte, an independent VT100 emulator: Textual's own
frames as they are, and the same frames rewritten by `ScreenDiff`. After every frame both
terminals must show the same characters in the same colours and attributes, with the cursor in
the same place. The frames are random ones written the way Textual writes (moves, SGR runs,
wide and combining characters, other escapes), and real ones from the app on the demo world.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.control import Control
from textual._compositor import CompositorUpdate
from textual.geometry import Size
from tui_fixtures import make_demo, poll
from wcwidth import wcwidth

from faxtui.tui.textual_internals.drivers import compact_driver
from faxtui.tui.wire import (
    DEFAULT,
    PLAIN_OUTPUT_ENV,
    DiffingOutput,
    ScreenDiff,
    apply_sgr,
    transition,
)

WIDTH, HEIGHT = 40, 8


class Terminal:
    """A pyte screen fed a stream of frames."""

    def __init__(self, width: int, height: int) -> None:
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.Stream(self.screen)

    def feed(self, data: str) -> None:
        self.stream.feed(data)

    def cells(self) -> list[list[tuple[Any, ...]]]:
        """Every cell: character, colours, attributes."""
        return [[tuple(self.screen.buffer[y][x]) for x in range(self.screen.columns)]
                for y in range(self.screen.lines)]

    def cursor(self) -> tuple[int, int]:
        return self.screen.cursor.x, self.screen.cursor.y


def cut(row: list[tuple[Any, ...]], x: int) -> bool:
    """Half of a wide character whose other half was written over: a blank on a real terminal
    (xterm erases it; pyte keeps the half as it was)."""
    text = row[x][0]
    if text == "":
        return x == 0 or wcwidth(row[x - 1][0][:1] or " ") != 2
    return wcwidth(text[:1]) == 2 and (x + 1 == len(row) or row[x + 1][0] != "")


def same_screen(plain: Terminal, diffed: Terminal) -> bool:
    """The same characters, colours and attributes everywhere, and the cursor in the same place;
    where a wide character was cut in half, a blank or what the other terminal kept."""
    if plain.cursor() != diffed.cursor():
        return False
    for want, got in zip(plain.cells(), diffed.cells(), strict=True):
        for x, (a, b) in enumerate(zip(want, got, strict=True)):
            plain_cut, diffed_cut = cut(want, x), cut(got, x)
            if plain_cut or diffed_cut:
                blank = ("", " ")
                if not (a[0] == b[0] or (b[0] in blank and (a[0] in blank or plain_cut))
                        or (a[0] in blank and diffed_cut)):
                    return False
            elif a != b:
                return False
    return True


def replay(frames: list[str], width: int, height: int) -> tuple[int, int]:
    """Both streams into their terminals, compared after every frame; the bytes each took."""
    plain, diffed = Terminal(width, height), Terminal(width, height)
    diff = ScreenDiff()
    diff.resize(width, height)
    sent_plain = sent_diffed = 0
    for number, frame in enumerate(frames):
        rewritten = diff.encode(frame)
        plain.feed(frame)
        diffed.feed(rewritten)
        sent_plain += len(frame.encode())
        sent_diffed += len(rewritten.encode())
        assert same_screen(plain, diffed), f"frame {number} shows differently: {frame!r} -> {rewritten!r}"
    return sent_plain, sent_diffed


# --- frames as Textual writes them --------------------------------------------------------------

COLOURS = st.one_of(
    st.sampled_from(["31", "92", "39"]),
    st.integers(0, 255).map(lambda n: f"38;5;{n}"),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(
        lambda rgb: "38;2;{};{};{}".format(*rgb)),
)
BACKGROUNDS = COLOURS.map(lambda code: "4" + code[1:] if code[0] == "3" else code)
STYLES = st.tuples(st.lists(st.sampled_from(["1", "2", "3", "4", "7", "9"]), max_size=2), COLOURS,
                   BACKGROUNDS).map(lambda parts: ";".join([*parts[0], parts[1], parts[2]]))
NARROW = st.sampled_from(list("abc xyz019…▶✓✗⊘↻?─│"))
WIDE = st.sampled_from(["漢", "字", "ア", "한"])
EXTRAS = ["", "", "", "\x1b]0;faxtui\x07", "\x07", "\x1b[2J", "\x1b[?25l", "\r\n"]
"""Sometimes after a line: a title, a bell, a clear, the cursor hidden, a new line."""


@st.composite
def runs(draw: st.DrawFn, room: int) -> str:
    """Styled runs of text filling `room` cells at most, the way rich renders segments."""
    out: list[str] = []
    left = room
    while left > 0 and draw(st.booleans()):
        text = ""
        for char in draw(st.lists(st.one_of(NARROW, WIDE), min_size=1, max_size=6)):
            size = 2 if char in "漢字ア한" else 1
            if size > left:
                break
            text += char
            left -= size
            # A combining accent on the character before; not in the last column, where pyte wraps
            # the line before combining (xterm does not).
            if size == 1 and char.isalpha() and left > 0 and draw(st.integers(0, 9)) == 0:
                text += "\u0301"
        if text:
            out.append(f"\x1b[{draw(STYLES)}m{text}\x1b[0m")
    return "".join(out)


@st.composite
def frames(draw: st.DrawFn) -> str:
    """One frame: lines of styled runs each after a move, maybe other sequences, then the cursor."""
    parts = ["\x1b[?2026h"]
    for _ in range(draw(st.integers(1, 5))):
        y, x = draw(st.integers(0, HEIGHT - 1)), draw(st.integers(0, WIDTH - 1))
        parts.append(f"\x1b[{y + 1};{x + 1}H")
        parts.append(draw(runs(WIDTH - x)))
        parts.append(draw(st.sampled_from(EXTRAS)))
    parts.append(f"\x1b[?2026l\x1b[{draw(st.integers(1, HEIGHT))};{draw(st.integers(1, WIDTH))}H")
    return "".join(parts)


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(frames(), min_size=1, max_size=12))
def test_random_frames_show_the_same_screen(sequence: list[str]) -> None:
    replay(sequence, WIDTH, HEIGHT)


def test_a_repeated_frame_sends_almost_nothing() -> None:
    frame = "".join(f"\x1b[{y + 1};1H\x1b[1;38;2;224;224;224;48;2;27;27;27m{'x' * WIDTH}\x1b[0m"
                    for y in range(HEIGHT))
    _, sent_diffed = replay([frame, frame, frame], WIDTH, HEIGHT)
    assert sent_diffed < len(frame) + 40  # the first frame in full, then at most a style and a move


def test_one_changed_cell_costs_a_move_and_the_cell() -> None:
    line = "\x1b[1;1H\x1b[38;5;250m polled 12s ago \x1b[0m"
    diff = ScreenDiff()
    diff.resize(WIDTH, HEIGHT)
    diff.encode(line)
    assert diff.encode(line.replace("12s", "13s")) == "\x1b[1;10H\x1b[38;5;250m3\x1b[0m"


def test_an_unknown_sequence_goes_out_as_it_is_and_the_next_frame_goes_out_whole() -> None:
    frame = "\x1b[1;1H\x1b[31mred\x1b[0m"
    diff = ScreenDiff()
    diff.resize(WIDTH, HEIGHT)
    diff.encode(frame)
    odd = "\x1b[3;4r"  # a scrolling region: not something the copy of the screen follows
    assert odd in diff.encode(odd)  # passed on (after a move to where the cursor should be)
    assert diff.encode(frame).endswith("red\x1b[0m")  # sent again: the screen is no longer known


def test_a_new_size_means_the_next_frame_goes_out_whole() -> None:
    frame = "\x1b[1;1H\x1b[31mred\x1b[0m"
    diff = ScreenDiff()
    diff.resize(WIDTH, HEIGHT)
    diff.encode(frame)
    diff.resize(WIDTH + 1, HEIGHT)
    assert "red" in diff.encode(frame)


def test_output_before_the_size_is_known_is_untouched() -> None:
    out = io.StringIO()
    output = DiffingOutput(out)
    output.write("\x1b[?1049h\x1b[1;1Hhello")
    assert out.getvalue() == "\x1b[?1049h\x1b[1;1Hhello"


# --- real frames from the app -----------------------------------------------------------------------


async def test_the_app_on_the_demo_world_shows_the_same_screen_in_a_fraction_of_the_bytes(
    tmp_path: Path,
) -> None:
    demo = make_demo(tmp_path)
    width, height = 120, 36
    console = Console(file=io.StringIO(), width=width, height=height, color_system="truecolor",
                      force_terminal=True, legacy_windows=False)
    frames_seen: list[str] = []
    try:
        app = demo.app()
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            # What the Linux driver would be handed for this update (see App._display).
            if isinstance(renderable, CompositorUpdate):
                cursor = screen.outer_size.clamp_offset(app.cursor_position)
                move = Control.move_to(*cursor).segment.text
                frames_seen.append(renderable.render_segments(console) + move)
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]
        async with app.run_test(size=(width, height)) as pilot:
            await poll(app, pilot)
            for _ in range(2):  # (the InterFax budget allows a few polls a minute)
                demo.clock.advance(30)
                await poll(app, pilot)
                for key in ("down", "down", "pagedown", "up"):
                    await pilot.press(key)
                    await pilot.pause()
    finally:
        demo.session.close()
    assert len(frames_seen) >= 8
    sent_plain, sent_diffed = replay(frames_seen, width, height)
    first = len(frames_seen[0].encode())
    assert sent_diffed - first < (sent_plain - first) / 2, (sent_plain, sent_diffed)


# --- the driver: frames and notes about them reach the terminal in order ------------------------------


class ThreadlessDriver:
    """Stands in for Textual's Linux driver: what it is given goes to `_file` (there, via its writer
    thread; here, at once)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._file: Any = io.StringIO()

    def write(self, data: str) -> None:
        self._file.write(data)


def test_the_driver_rewrites_once_the_size_is_known_and_resends_after_a_resize_or_ctrl_l() -> None:
    size: list[Size | None] = [None]
    driver_class = compact_driver(ThreadlessDriver, lambda: size[0])  # type: ignore[arg-type]
    driver: Any = driver_class()
    terminal = driver._file._target  # the StringIO behind the diffing output
    frame = "\x1b[1;1H\x1b[38;5;250mpolled 12s ago\x1b[0m"

    def sent(data: str) -> str:
        before = len(terminal.getvalue())
        driver.write(data)
        return str(terminal.getvalue()[before:])

    assert sent(frame) == frame  # no size yet (the app is starting): as it is
    size[0] = Size(WIDTH, HEIGHT)
    assert "polled 12s ago" in sent(frame)
    assert sent(frame) == ""  # nothing changed
    driver.forget_screen()  # ctrl+l
    assert "polled 12s ago" in sent(frame)
    size[0] = Size(WIDTH + 10, HEIGHT)
    assert "polled 12s ago" in sent(frame)


def test_plain_output_is_a_setting_away(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    demo = make_demo(tmp_path)
    try:
        monkeypatch.setattr(sys, "platform", "linux")
        monkeypatch.delenv("TEXTUAL", raising=False)
        monkeypatch.delenv(PLAIN_OUTPUT_ENV, raising=False)
        assert demo.app().get_driver_class().__name__ == "CompactLinuxDriver"
        monkeypatch.setenv(PLAIN_OUTPUT_ENV, "1")
        assert demo.app().get_driver_class().__name__ == "LinuxDriver"
    finally:
        demo.session.close()


# --- cases a review found -------------------------------------------------------------------------


def test_an_emoji_with_its_variation_selector_takes_two_cells_as_textual_lays_it_out() -> None:
    # "⚠️" is U+26A0 U+FE0F: Textual measures it as two cells, so "3" is in column 4 (1-based).
    diff = ScreenDiff()
    diff.resize(WIDTH, HEIGHT)
    diff.encode("\x1b[1;1H\x1b[38;5;250m⚠️ 3 failed\x1b[0m\x1b[2;1H")
    again = diff.encode("\x1b[1;1H\x1b[38;5;250m⚠️ 4 failed\x1b[0m\x1b[2;1H")
    assert again == "\x1b[1;4H\x1b[38;5;250m4\x1b[0m\x1b[2;1H"
    family = "👨\u200d👩\u200d👧"  # one joined emoji, two cells
    diff.encode(f"\x1b[3;1H{family} x\x1b[2;1H")
    assert diff.encode(f"\x1b[3;1H{family} y\x1b[2;1H") == "\x1b[3;4Hy\x1b[2;1H"


def test_an_erase_goes_where_textual_put_the_cursor_not_where_skipping_left_it() -> None:
    replay(["\x1b[1;1Hhello world\x1b[3;1H", "\x1b[1;1Hhello\x1b[K\x1b[3;1H"], WIDTH, HEIGHT)


def test_a_move_to_row_or_column_zero_means_one() -> None:
    # Read as -1, column 0 would stand for the last column in the copy of the screen.
    replay(["\x1b[1;0Habc\x1b[3;1H", f"\x1b[1;{WIDTH}Ha\x1b[3;1H", "\x1b[0;0Hxyz\x1b[3;1H"], WIDTH, HEIGHT)


def test_underline_and_double_underline_are_restored_in_order() -> None:
    # Many terminals keep both in one slot, the last one sent winning: only a full reset orders them.
    assert transition(apply_sgr(DEFAULT, "21"), apply_sgr(DEFAULT, "4;21")) == "\x1b[0;4;21m"
    assert transition(apply_sgr(DEFAULT, "1"), apply_sgr(DEFAULT, "1;3")) == "\x1b[3m"


def test_a_hyperlinked_frame_goes_out_whole() -> None:
    diff = ScreenDiff()
    diff.resize(WIDTH, HEIGHT)
    linked = "\x1b[1;1H\x1b]8;id=1;https://old.example\x1b\\abc\x1b]8;;\x1b\\\x1b[3;1H"
    assert diff.encode(linked) == linked
    assert "abc" in diff.encode("\x1b[1;1Habc\x1b[3;1H")  # the link must go: the text is sent again
