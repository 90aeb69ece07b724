"""Rendering one table cell of plain one-line text straight to segments.

`DataTable` renders every cell through Rich's general machinery (a `Text` inside `Padding`
inside `Styled`, wrapped, justified, cropped and split into lines): about 100 µs a cell, so a
screenful of the job table (22 rows of 12 cells) costs 30-50 ms whenever it is drawn afresh
(start-up, a load, a filter, a page down). For the cells the job table uses (a `Text` with one
style, no spans, no newline, one line high, cut with an ellipsis, left or right aligned) the
result is three segments that can be written down directly; `render_plain_cell` does that, and
the tests check it against Textual's own rendering cell by cell.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

SegmentLines = list[list[Segment]]


def is_plain_cell(cell: object) -> bool:
    """A cell `render_plain_cell` renders exactly as Rich would."""
    return (
        isinstance(cell, Text)
        and not cell.spans
        and cell.no_wrap is True
        and cell.overflow == "ellipsis"
        and cell.justify in ("left", "right")
        and "\n" not in cell.plain
        and "\t" not in cell.plain
    )


def fit(text: str, width: int, justify: str) -> str:
    """The text as Rich lays out a one-line cell of `width` cells: cut with "…", then aligned."""
    if justify == "right":
        text = text.rstrip()
    length = cell_len(text)
    if length > width:
        text = set_cell_size(text, width - 1) + "…"
        length = cell_len(text)
    if length < width:
        text = text + " " * (width - length) if justify == "left" else " " * (width - length) + text
    return text


def render_plain_cell(cell: Text, width: int, padding: int, pre_style: Style, post_style: Style,
                      console: Console) -> SegmentLines:
    """What `console.render_lines(Styled(Padding(cell, (0, padding)), pre_style, post_style),
    options(width, height=1, no_wrap=True))` gives for a cell that `is_plain_cell`."""
    inner = fit(cell.plain, width - 2 * padding, cell.justify or "left")
    own = cell.style if isinstance(cell.style, Style) else console.get_style(cell.style, default=None)
    text_style = pre_style + own if own else pre_style
    pad_style = pre_style
    if post_style:
        text_style = text_style + post_style if text_style else post_style
        pad_style = pad_style + post_style if pad_style else post_style
    if cell.plain:
        middle = [Segment(inner, text_style)]
    else:  # DataTable draws an empty cell as its own blank text: nothing, then padding unstyled
        middle = [Segment("", pad_style), Segment(inner, pad_style)]
    if not padding:
        return [middle]
    pad = Segment(" " * padding, pad_style)
    return [[pad, *middle, pad]]
