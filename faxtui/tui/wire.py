"""What goes over the wire: send the terminal only the cells that changed, with short colour codes.

Textual repaints in whole widget-wide strips: a line whose age moved from "12s" to "13s" is sent
from the widget's first column, and every run of text is written as "reset, then the full style"
(`ESC[0m ESC[1;38;2;224;224;224;48;2;27;27;27m`), about 40 bytes of colour per run in truecolor.
On an SSH link that is most of the traffic of a monitor left open all day.

`ScreenDiff` sits between Textual and the terminal (`compact_driver`, in
`faxtui.tui.textual_internals.drivers`, wraps the platform driver's `write`). It keeps a copy of
what the terminal shows and rewrites each frame Textual sends into the same end state with fewer
bytes: cells that already show the same character in the same style are skipped (a cursor move
jumps over them), and a style change sends only what differs from the style in force. Anything it
does not understand exactly (another escape sequence, a cursor position it cannot follow, a size
it does not know) goes out untouched and makes it forget what the screen shows, so the next frames
are sent in full until it knows again.

`terminal_driver` (there too) makes Textual's Linux driver (either output) end the app when the
terminal goes away (the tmux pane killed, the SSH connection dropped), where Textual's own would
hang for good: the hang-up's SIGCONT restarted application mode on the dead terminal, its new
writer thread died on the first write (EIO), and the app then waited forever on that thread's full
queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, NamedTuple

from rich.cells import split_graphemes

log = logging.getLogger(__name__)

ESCAPE = re.compile(
    r"\x1b\[([0-9;:?<>=!]*)([ -/]*[@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.?|\r|\n"
    r"|[\x00-\x1f\x7f]|[^\x00-\x1f\x7f]+"
)
"""One token of Textual's output: a CSI sequence (parameters, final byte), an OSC string, another
escape, a carriage return, a line feed, another control character, or a run of text."""
HARMLESS = re.compile(
    r"\x1b\[\?(?:25|2026|1000|1002|1003|1004|1006|1015|2004|2048)[hl]"  # cursor shown, sync, mouse, paste
    r"|\x1b\[[0-9]* q|\x1b\[[<>=][0-9;]*u|\x1b\[6n"  # cursor shape, keyboard protocol, position report
    r"|\x1b\](?!8;)[0-9]*;[^\x07\x1b]*(?:\x07|\x1b\\)|\x07|\x1b[=>]"  # OSC (title, clipboard), bell, keypad
)
"""Sequences that leave the screen's content, the drawing style and the cursor as they were.
(Not OSC 8: a hyperlink belongs to the cells written after it, which the copy does not track.)"""
CR_LF = "\r\n"
PLAIN_OUTPUT_ENV = "FAXTUI_PLAIN_OUTPUT"
"""Set to 1 to send Textual's output as it is (if a terminal ever shows something amiss)."""
CELL_CACHE_STYLES = 256
"""Styles whose one-cell characters are kept made (a screen uses a few dozen)."""
SGR_CACHE_SIZE = 4096
BRIDGE = 4
"""Unchanged cells between two changed ones that are rewritten rather than jumped over."""

ATTRIBUTES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 21, 51, 52, 53})
SHARED_SLOTS = (frozenset({4, 21}), frozenset({1, 2}))
"""Attributes many terminals keep in one slot (underline / double underline, bold / dim on the
Linux console), where the last one sent wins: their order only a full reset restores."""
ATTRIBUTES_OFF: dict[int, frozenset[int]] = {
    22: frozenset({1, 2}), 23: frozenset({3}), 24: frozenset({4, 21}), 25: frozenset({5, 6}),
    27: frozenset({7}), 28: frozenset({8}), 29: frozenset({9}), 54: frozenset({51, 52}), 55: frozenset({53}),
}


class Sgr(NamedTuple):
    """A drawing style as the terminal holds it: attributes on, foreground, background codes."""

    attributes: frozenset[int]
    fg: str
    bg: str

    def codes(self) -> list[str]:
        return [*map(str, sorted(self.attributes)), *filter(None, (self.fg, self.bg))]


DEFAULT = Sgr(frozenset(), "", "")


class Unsupported(Exception):
    """The output uses something this model does not follow exactly: send it as it is."""


def apply_sgr(style: Sgr, params: str) -> Sgr:
    """The style after `ESC[<params>m`."""
    if ":" in params:
        raise Unsupported(params)
    codes = [int(code) if code else 0 for code in params.split(";")]
    attributes, fg, bg = set(style.attributes), style.fg, style.bg
    index = 0
    while index < len(codes):
        code = codes[index]
        if code == 0:
            attributes, fg, bg = set(), "", ""
        elif code in ATTRIBUTES:
            attributes.add(code)
        elif code in ATTRIBUTES_OFF:
            attributes -= ATTRIBUTES_OFF[code]
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = str(code)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = str(code)
        elif code == 39:
            fg = ""
        elif code == 49:
            bg = ""
        elif code in (38, 48):
            kind = codes[index + 1] if index + 1 < len(codes) else -1
            size = {5: 2, 2: 4}.get(kind)
            if size is None or index + size >= len(codes):
                raise Unsupported(params)
            value = ";".join(map(str, codes[index:index + size + 1]))
            if code == 38:
                fg = value
            else:
                bg = value
            index += size
        else:
            raise Unsupported(params)
        index += 1
    return Sgr(frozenset(attributes), fg, bg)


def transition(current: Sgr | None, wanted: Sgr) -> str:
    """The shortest SGR sequence that takes the terminal from `current` (None: unknown) to `wanted`."""
    if current == wanted:
        return ""
    full = "\x1b[" + ";".join(["0", *wanted.codes()]) + "m"
    added = wanted.attributes - current.attributes if current is not None else wanted.attributes
    if current is None or current.attributes - wanted.attributes or any(
        added & pair and pair <= wanted.attributes for pair in SHARED_SLOTS
    ):
        return full
    delta = [str(code) for code in sorted(wanted.attributes - current.attributes)]
    if wanted.fg != current.fg:
        delta.append(wanted.fg or "39")
    if wanted.bg != current.bg:
        delta.append(wanted.bg or "49")
    short = "\x1b[" + ";".join(delta) + "m"
    return short if len(short) < len(full) else full


class Cell(NamedTuple):
    text: str
    """The character (with any zero-width ones after it); "" for the right half of a wide one."""
    style: Sgr
    width: int


Cells = dict[int, dict[int, Cell]]
"""Cells to put on screen: by row, then column (0-based)."""


@dataclass
class Frame:
    """What one write asked for, in order: cells to put on screen, and sequences to pass on with the
    style in force where they came (the cells before a sequence go out before it)."""

    items: list[Cells | tuple[str, Sgr]] = field(default_factory=list)
    end_style: Sgr = DEFAULT


class ScreenDiff:
    """A copy of the terminal's screen and style, and the rewriting of Textual's frames against it."""

    def __init__(self) -> None:
        self.size: tuple[int, int] | None = None
        self._screen: list[list[Cell | None]] = []
        self._style: Sgr | None = None
        """The style the terminal draws with now (None: not known)."""
        self._cursor: tuple[int, int] | None = None
        """Where the terminal's cursor is (0-based column, row), if known."""
        self._cell_cache: dict[Sgr, dict[str, Cell]] = {}
        self._sgr_cache: dict[tuple[Sgr, str], Sgr] = {}
        """The style after an SGR sequence, by the style before and the sequence's parameters."""

    def forget(self) -> None:
        """Whatever is on the terminal is unknown: the next frames go out in full."""
        if self.size is not None:
            width, height = self.size
            self._screen = [[None] * width for _ in range(height)]
        self._style = None
        self._cursor = None

    def resize(self, width: int, height: int) -> None:
        if (width, height) != self.size:
            self.size = (width, height)
            self.forget()

    def encode(self, data: str) -> str:
        """The bytes to send instead of `data`: the same screen and style at the end, or `data` itself."""
        if self.size is None or not data:
            return data
        try:
            return self._emit(self._parse(data))
        except Unsupported:
            self.forget()
            return data
        except Exception:  # a bug here must never cost the screen: the frame goes out as it is
            log.exception("could not rewrite a frame; sending it as it is")
            self.forget()
            return data

    # --- reading Textual's output ---------------------------------------------------------------

    def _parse(self, data: str) -> Frame:
        assert self.size is not None
        width, height = self.size
        frame = Frame()
        cells: Cells = {}
        style = DEFAULT if self._style is None else self._style
        position: tuple[int, int] | None = self._cursor
        pending_move: str | None = None
        for match in ESCAPE.finditer(data):
            piece = match.group()
            first = piece[0]
            final = match.group(2)
            if final == "H":
                row, _, column = (match.group(1) or "").partition(";")
                if "?" in row or ">" in row or "<" in row or "=" in row:
                    raise Unsupported(piece)
                position = _move_target(row, column)
                pending_move = piece
            elif final == "m":
                params = match.group(1) or "0"
                after = self._sgr_cache.get((style, params))
                if after is None:
                    if len(self._sgr_cache) >= SGR_CACHE_SIZE:
                        self._sgr_cache.clear()
                    after = self._sgr_cache[(style, params)] = apply_sgr(style, params)
                style = after
            elif first >= " " and first != "\x7f":  # a run of text
                if position is None:
                    raise Unsupported("text at an unknown position")
                x, y = position
                if not 0 <= y < height:
                    raise Unsupported("text off screen")
                row_cells = cells.setdefault(y, {})
                if piece.isascii():  # the usual case: one cell per character
                    if x + len(piece) > width:
                        raise Unsupported("text past the right edge")
                    known = self._cells_in(style)
                    for char in piece:
                        cell = known.get(char)
                        if cell is None:
                            cell = known[char] = Cell(char, style, 1)
                        old = row_cells.get(x)
                        if old is not None and old.width != 1:
                            _cut_wide(row_cells, x)
                        row_cells[x] = cell
                        x += 1
                else:
                    x = self._place_wide(piece, x, width, style, row_cells)
                position = (x, y)
                pending_move = None
            elif first in CR_LF:
                # Only ever followed by a move in Textual's frames: dropped, as the move makes it moot.
                if first == "\n" and (position is None or position[1] >= height - 1):
                    raise Unsupported("a line feed that may scroll the screen")
                position = (0, position[1]) if first == "\r" and position is not None else None
                pending_move = piece
            else:  # another escape sequence or control character: passed on where it came
                frame.items.append(cells)
                cells = {}
                if pending_move is not None:
                    if pending_move[0] != "\x1b":
                        raise Unsupported("a carriage return or line feed not followed by a move")
                    frame.items.append((pending_move, style))
                    pending_move = None
                elif position is not None and not HARMLESS.fullmatch(piece):
                    # It may act where the cursor is (an erase): put it where Textual's stream had it,
                    # not where skipping unchanged cells left it.
                    frame.items.append((f"\x1b[{position[1] + 1};{position[0] + 1}H", style))
                frame.items.append((piece, style))
                if not HARMLESS.fullmatch(piece):
                    position = None  # anything may have happened: only a move tells again
        frame.items.append(cells)
        if pending_move is not None:
            if pending_move[0] != "\x1b":
                raise Unsupported("a frame that ends with a line feed")
            frame.items.append((pending_move, style))
        frame.end_style = style
        return frame

    def _cells_in(self, style: Sgr) -> dict[str, Cell]:
        """One-cell characters already made in `style` (cells are shared: the same object compares
        equal at once)."""
        known = self._cell_cache.get(style)
        if known is None:
            if len(self._cell_cache) >= CELL_CACHE_STYLES:
                self._cell_cache.clear()
            known = self._cell_cache[style] = {}
        return known

    @staticmethod
    def _place_wide(piece: str, x: int, width: int, style: Sgr, row_cells: dict[int, Cell]) -> int:
        """Text beyond ASCII, placed grapheme by grapheme and measured as Textual measures it (an
        emoji with its variation selector, a joined emoji sequence: one unit of one or two cells);
        returns the column after it."""
        spans, _ = split_graphemes(piece)
        for start, end, size in spans:
            grapheme = piece[start:end]
            if size == 0:  # combining marks that belong to the cell before
                last = row_cells.get(x - 1)
                if last is None or not last.text:
                    raise Unsupported("zero-width character without a base")
                row_cells[x - 1] = last._replace(text=last.text + grapheme)
                continue
            if size > 2 or x + size > width:
                raise Unsupported("text past the right edge, or wider than two cells")
            for covered in range(x, x + size):
                _cut_wide(row_cells, covered)
            row_cells[x] = Cell(grapheme, style, size)
            if size == 2:
                row_cells[x + 1] = Cell("", style, 0)
            x += size
        return x

    # --- writing what changed -------------------------------------------------------------------

    def _emit(self, frame: Frame) -> str:
        out: list[str] = []
        for item in frame.items:
            if isinstance(item, dict):
                self._emit_cells(item, out)
                continue
            token, style = item
            self._set_style(style, out)
            out.append(token)
            move = ESCAPE.fullmatch(token)
            if move is not None and move.group(2) == "H":
                row, _, column = (move.group(1) or "").partition(";")
                self._cursor = _move_target(row, column)
            elif not HARMLESS.fullmatch(token):
                self.forget()
        self._set_style(frame.end_style, out)
        return "".join(out)

    def _set_style(self, style: Sgr, out: list[str]) -> None:
        if self._style != style:
            out.append(transition(self._style, style))
            self._style = style

    def _emit_cells(self, cells: Cells, out: list[str]) -> None:
        for y in sorted(cells):
            row_cells = cells[y]
            screen = self._screen[y]
            changed = self._changed_columns(row_cells, screen)
            for start, end in self._runs(changed, row_cells, screen):
                if self._cursor != (start, y):
                    out.append(f"\x1b[{y + 1};{start + 1}H")
                x = start
                while x < end:
                    cell = row_cells.get(x) or screen[x]
                    assert cell is not None and cell.width
                    self._set_style(cell.style, out)
                    out.append(cell.text)
                    x += cell.width
                self._cursor = (x, y)
            # What the terminal shows now: what was written, and halves of wide characters broken.
            for x, cell in row_cells.items():
                old = screen[x]
                if old is not None and old.width == 2 and x + 1 not in row_cells:
                    screen[x + 1] = None
                if old is not None and old.width == 0 and x - 1 not in row_cells:
                    screen[x - 1] = None
                screen[x] = cell

    @staticmethod
    def _changed_columns(row_cells: dict[int, Cell], screen: list[Cell | None]) -> list[int]:
        """Columns to write: the cells that differ, grown to whole wide characters, old and new."""
        changed = {x for x, cell in row_cells.items() if screen[x] != cell}
        todo = list(changed)
        while todo:
            x = todo.pop()
            neighbours = []
            for cell in (row_cells.get(x), screen[x]):
                if cell is not None and cell.width == 2:
                    neighbours.append(x + 1)
                elif cell is not None and cell.width == 0:
                    neighbours.append(x - 1)
            for other in neighbours:
                if other in row_cells and other not in changed:
                    changed.add(other)
                    todo.append(other)
        # A run starts at a character, never at the right half of a wide one.
        return sorted(x for x in changed if row_cells[x].width)

    @staticmethod
    def _runs(changed: list[int], row_cells: dict[int, Cell], screen: list[Cell | None],
              ) -> list[tuple[int, int]]:
        """Spans [start, end) to write: changed characters, joined across short unchanged gaps."""
        runs: list[tuple[int, int]] = []
        for x in changed:
            end = x + row_cells[x].width
            if runs:
                start, last_end = runs[-1]
                if x <= last_end:
                    runs[-1] = (start, max(last_end, end))
                    continue
                gap = range(last_end, x)
                if len(gap) <= BRIDGE and all(_plain(row_cells.get(g) or screen[g]) for g in gap):
                    runs[-1] = (start, end)
                    continue
            runs.append((x, end))
        return runs


def _move_target(row: str, column: str) -> tuple[int, int]:
    """Where `ESC[<row>;<column>H` puts the cursor (0-based column, row); 0 or nothing means 1."""
    return max(int(column or 1), 1) - 1, max(int(row or 1), 1) - 1


def _cut_wide(row_cells: dict[int, Cell], x: int) -> None:
    """Before a character goes at column `x`: the other half of a wide character (written earlier in
    the same frame) that it cuts through is blanked, as the terminal does."""
    old = row_cells.get(x)
    if old is None or old.width == 1:
        return
    other = x + 1 if old.width == 2 else x - 1
    half = row_cells.get(other)
    if half is not None and half.width == (0 if old.width == 2 else 2):
        row_cells[other] = Cell(" ", half.style, 1)


def _plain(cell: Cell | None) -> bool:
    """A known one-cell character: safe to write again as it is."""
    return cell is not None and cell.width == 1


class ControlNote(str):
    """A note to the output's `ScreenDiff`, queued in order with the frames; writes nothing itself."""

    __slots__ = ()

    def apply(self, diff: ScreenDiff) -> None:
        raise NotImplementedError


class SizeNote(ControlNote):
    """The size the frames after this one are laid out for (None: not known, pass them on as they are)."""

    __slots__ = ("size",)
    size: tuple[int, int] | None

    def __new__(cls, size: tuple[int, int] | None) -> SizeNote:
        note = super().__new__(cls, "")
        note.size = size
        return note

    def apply(self, diff: ScreenDiff) -> None:
        if self.size is None:
            diff.size = None
        else:
            diff.resize(*self.size)


class ForgetNote(ControlNote):
    """Whatever the terminal shows is unknown: send the next frames in full."""

    __slots__ = ()

    def apply(self, diff: ScreenDiff) -> None:
        diff.forget()


class DiffingOutput:
    """The file Textual's writer thread writes to: frames go through a `ScreenDiff` on their way,
    in that thread, so the rewriting never holds up the app's own loop."""

    def __init__(self, file: IO[str]) -> None:
        self._target = file
        self.diff = ScreenDiff()

    def write(self, text: str) -> int:
        if isinstance(text, ControlNote):
            text.apply(self.diff)
            return 0
        return self._target.write(self.diff.encode(text))

    def flush(self) -> None:
        self._target.flush()

    def fileno(self) -> int:
        return self._target.fileno()

    def isatty(self) -> bool:
        return self._target.isatty()


# --- a terminal that goes away ----------------------------------------------------------------------

ENDING_WAIT = 0.5
"""Seconds the app, once it is ending, waits for a terminal that takes no output (a stalled SSH
link, a frozen terminal window) before it drops what is left: a kill must end it all the same."""
WAKE = 0.1
"""Seconds between two looks, while waiting for room in the output queue, at whether to stop."""


class TerminalOutput:
    """The terminal as the writer thread sees it: text gathered until a flush, then written to the
    descriptor until all of it is out. When a write fails (EIO: the terminal hung up or was closed),
    `gone` is called, once, and the descriptor is pointed at /dev/null, so what is still queued, and
    whatever Python or Textual prints at exit, goes nowhere instead of failing: the writer thread
    never dies, and the app never waits on it."""

    def __init__(self, file: IO[str], gone: Callable[[], None]) -> None:
        self._target = file
        self._fd = file.fileno()
        self._encoding = getattr(file, "encoding", None) or "utf-8"
        self._errors = getattr(file, "errors", None) or "replace"
        self._gone = gone
        self._pending: list[str] = []
        self.lost = False
        with contextlib.suppress(OSError, ValueError):
            file.flush()  # what was printed before goes first

    def write(self, text: str) -> int:
        if not self.lost:
            self._pending.append(text)
        return len(text)

    def flush(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        try:
            encoded = text.encode(self._encoding, self._errors)
        except (UnicodeError, LookupError):
            encoded = text.encode(self._encoding if self._encoding.lower() != "ascii" else "utf-8", "replace")
        data = memoryview(encoded)
        while data and not self.lost:
            try:
                data = data[os.write(self._fd, data):]
            except BlockingIOError:  # another program made the terminal non-blocking: wait for room
                with contextlib.suppress(OSError, ValueError):
                    select.select([], [self._fd], [], 0.1)
            except OSError:
                self._lose()

    def _lose(self) -> None:
        self.lost = True
        self._pending.clear()
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self._fd)
            finally:
                os.close(null)
        self._gone()

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)
