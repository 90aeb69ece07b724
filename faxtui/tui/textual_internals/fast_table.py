"""A `DataTable` that stays fast with 10,000 one-line rows. Written against Textual 8.2.8.

Textual's `DataTable` is built for tables that change a row at a time. With 10,000 rows several
of its steps cost O(rows) and run again after every change: adding or removing a row rebuilds the
row index, every new row has each cell measured, the line offsets and row regions are recomputed
by walking all rows, and one changed cell invalidates the render of every cell on screen. This
subclass removes those costs for tables whose rows are one line high and whose columns all have
a fixed width (the job table):

- rows are put in, taken out and ordered in bulk (`_put_rows`, `_drop_rows`, `_set_order`);
- nothing is measured (`_update_dimensions`), line y is row y (`_y_offsets`, regions);
- the row order is set in bulk, or extended below without renumbering (`_extend_order`);
- a cell's render is kept until its row's `version` changes (`VersionedRow`), and plain one-line
  text cells are rendered straight to segments (`cell_render`);
- the whole-table repaint `update_cell` asks for can be held (`_repaints_held`) so that the
  caller repaints just the rows that changed: the terminal gets only what changed.

It reaches into `DataTable` internals of Textual 8.2.8 (`_data`, `rows`, `_row_locations`,
`_update_count`, `_render_cell`, `textual._two_way_dict`, `textual._types`); the TUI tests check
its rendering against the base class, and tests/test_textual_internals.py that its overrides are
called. Code outside this folder uses only its own methods (`_put_rows`, `cells_changed`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Self, overload

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import Column, ColumnKey, Row, RowKey

from faxtui.tui.textual_internals.steady_scroll import SteadyScrollView
from faxtui.tui.widgets.cell_render import is_plain_cell, render_plain_cell

RENDER_CACHE_SIZE = 4096
"""Cell renders kept: a few screens' worth at 12 columns."""


class VersionedRow(dict[ColumnKey, Text]):
    """A row's cells with a number that changes whenever any of them does (the render cache key)."""

    __slots__ = ("version",)

    def __init__(self) -> None:
        super().__init__()
        self.version = 0


class OneLineRows(Sequence[tuple[RowKey, int]]):
    """`DataTable._y_offsets` when every row is one line: line y is row y, offset 0, no list built."""

    def __init__(self, locations: TwoWayDict[RowKey, int]) -> None:
        self._locations = locations

    def __len__(self) -> int:
        return len(self._locations)

    @overload
    def __getitem__(self, index: int) -> tuple[RowKey, int]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[RowKey, int]]: ...

    def __getitem__(self, index: int | slice) -> tuple[RowKey, int] | Sequence[tuple[RowKey, int]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        key = self._locations.get_key(index) if index >= 0 else None
        if key is None:
            raise IndexError(index)
        return (key, 0)

    def clear(self) -> None:
        """What `DataTable.clear` calls on the offsets: nothing is kept here."""


def row_locations(keys: Sequence[RowKey]) -> TwoWayDict[RowKey, int]:
    """The table's row key <-> index mapping for rows in this order, both dicts built in C (a
    comprehension over 100,000 rows takes tens of milliseconds)."""
    locations: TwoWayDict[RowKey, int] = TwoWayDict({})
    locations._forward = dict(zip(keys, range(len(keys)), strict=True))
    locations._reverse = dict(enumerate(keys))
    return locations


class FastTable(DataTable[Text], SteadyScrollView):
    """A `DataTable` of one-line rows and fixed-width columns, cheap at 10,000 rows."""

    def __init__(self, **options: object) -> None:
        # Set first: the base class's set-up may already refresh or restyle.
        self._holding_repaints = False
        self.rows_to_come = 0
        """Rows a load will still add: counted in the scrollable height already."""
        self._columns_seen: tuple[int, int, int] | None = None
        self._columns_in_order: list[Column] = []
        self._widths_seen: tuple[object, int] | None = None
        self._widths: list[int] = []
        self._cell_renders: LRUCache[tuple[object, ...], SegmentLines] = LRUCache(RENDER_CACHE_SIZE)
        super().__init__(**options)  # type: ignore[arg-type]

    # --- rows in bulk -------------------------------------------------------------------------

    def _put_rows(self, rows: Iterable[tuple[RowKey, VersionedRow]]) -> None:
        """Add rows, not yet in any order: `_set_order` must follow."""
        data, metadata = self._data, self.rows
        for key, cells in rows:
            data[key] = cells
            metadata[key] = Row(key, 1)
        self._require_update_dimensions = True

    def _drop_rows(self, keys: Iterable[RowKey]) -> None:
        """Remove rows: `_set_order` must follow."""
        data, metadata = self._data, self.rows
        for key in keys:
            del data[key]
            del metadata[key]
        self._require_update_dimensions = True

    def _set_order(self, keys: Sequence[RowKey], *, resized: bool) -> None:
        """Show exactly these rows, in this order (the cursor stays at its index, clamped).

        The table is repainted unless the rows in view are the very same rows as before (rows of
        a load added below the window): then nothing on screen changed and nothing is sent.
        """
        top, height = int(self.scroll_y), self.size.height
        in_view = [self._row_locations.get_key(index) for index in range(top, top + height)]
        self._row_locations = row_locations(keys)
        self._ordered(top, height, in_view, resized=resized)

    def _extend_order(self, keys: Sequence[RowKey], *, resized: bool) -> None:
        """Show these rows below the others, in this order (as `_set_order` with the old order
        followed by `keys`, without renumbering the rows already in place)."""
        top, height = int(self.scroll_y), self.size.height
        in_view = [self._row_locations.get_key(index) for index in range(top, top + height)]
        locations = self._row_locations
        forward, reverse = locations._forward, locations._reverse
        start = len(forward)
        forward.update(zip(keys, range(start, start + len(keys)), strict=True))
        reverse.update(zip(range(start, start + len(keys)), keys, strict=True))
        self._ordered(top, height, in_view, resized=resized)

    def _ordered(self, top: int, height: int, in_view: list[RowKey | None], *, resized: bool) -> None:
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self.check_idle()
        if [self._row_locations.get_key(index) for index in range(top, top + height)] != in_view:
            self.refresh(layout=resized)
        elif resized:
            self.refresh(layout=True, repaint=False)

    # --- repainting only what changed ---------------------------------------------------------

    @contextmanager
    def _repaints_held(self) -> Iterator[None]:
        """Drop the whole-table repaints asked for inside (`update_cell` asks for one per cell);
        the caller repaints what changed afterwards (`refresh_row`, or `refresh()`)."""
        self._holding_repaints = True
        try:
            yield
        finally:
            self._holding_repaints = False

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        if self._holding_repaints and not (regions or layout or recompose):
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Text, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        row = self._data.get(RowKey(row_key) if isinstance(row_key, str) else row_key)
        if isinstance(row, VersionedRow):
            row.version += 1

    def cells_changed(self, repaint: Iterable[tuple[RowKey, int]] | None) -> None:
        """Cells were rewritten (`update_cell` inside `_repaints_held`): the base class's row
        renders are stale. `repaint`: the rows to repaint, each up to its last changed column;
        None: repaint the whole table."""
        self._update_count += 1
        if repaint is None:
            self.refresh()
            return
        for key, last in repaint:
            place = self._row_locations.get(key)
            if place is not None:
                cell = self._get_cell_region(Coordinate(place, last))
                self._refresh_region(Region(0, cell.y, cell.right, 1))

    def highlight_cursor(self) -> None:
        """Post the highlight of the row under the cursor, as `add_row` does for a first row."""
        self._highlight_cursor()

    # --- rendering --------------------------------------------------------------------------------

    def _render_line_in_row(self, row_key: RowKey, line_no: int, base_style: Style,
                            cursor_location: Coordinate, hover_location: Coordinate,
                            ) -> tuple[SegmentLines, SegmentLines]:
        """One line of a data row, as the base class draws it for a row cursor, no row labels and no
        fixed columns, with less asked of the styles per line; anything else goes to the base."""
        if (self.cursor_type != "row" or self.fixed_columns or row_key is self._header_row_key
                or (self._labelled_row_exists and self.show_row_labels)):
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        show_cursor = self.show_cursor
        cache_key = (row_key, line_no, base_style, cursor_location, hover_location, self.cursor_type,
                     show_cursor, self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached
        place = self._row_locations.get(row_key)
        row_index = -1 if place is None else place
        row_style = self._get_row_style(row_index, base_style)
        widths = self._column_widths()
        cursor, hover = cursor_location.row == row_index, hover_location.row == row_index
        render_cell = self._render_cell
        scrollable_row = [render_cell(row_index, index, row_style, width, cursor=cursor, hover=hover)[line_no]
                          for index, width in enumerate(widths)]
        remaining_space = max(0, self.size.width - sum(widths) - self._row_label_column_width)
        extend_style, _ = self._get_styles_to_render_cell(
            row_index == -1, False, False, hover_location.row == (row_index or 0), cursor, show_cursor,
            self._show_hover_cursor, False, False,
        )
        extend_style = row_style + extend_style + Style.from_meta(
            {"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable_row.append([Segment(" " * remaining_space, extend_style)])
        row_pair: tuple[SegmentLines, SegmentLines] = ([], scrollable_row)
        self._row_render_cache[cache_key] = row_pair
        return row_pair

    def _column_widths(self) -> list[int]:
        """Each column's drawn width, padding included, in screen order (fixed widths: kept)."""
        columns = self.ordered_columns
        key = (self._columns_seen, self.cell_padding)
        if self._widths_seen != key:
            self._widths = [column.get_render_width(self) for column in columns]
            self._widths_seen = key
        return self._widths

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> SegmentLines:
        """A cell's render, kept until that row's version changes; plain cells made directly.

        The base class keys its cache on a table-wide update counter, so one changed cell
        re-renders every cell in view.
        """
        in_body = row_index >= 0 and column_index >= 0  # not the header row, not the label column
        row_key = self._row_locations.get_key(row_index) if in_body else None
        row = None if row_key is None else self._data.get(row_key)
        if row_key is None or not isinstance(row, VersionedRow):  # header, labels, other rows
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (row_key, row.version, row_index, column_index, base_style, width, cursor, hover,
               self._show_hover_cursor, self._pseudo_class_state)
        lines = self._cell_renders.get(key)
        if lines is None:
            cell = row[self._column_locations.get_key(column_index)]  # type: ignore[index]
            fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
            if not fixed and is_plain_cell(cell) and self.rows[row_key].height == 1:
                component_style, post_style = self._get_styles_to_render_cell(
                    False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
                    self.cursor_foreground_priority == "css", self.cursor_background_priority == "css",
                )
                pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
                lines = render_plain_cell(cell, width, self.cell_padding, pre_style + component_style,
                                          post_style, self.app.console)
            else:
                lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cell_renders[key] = lines
        return lines

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cell_renders.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cell_renders.clear()

    def watch_cell_padding(self, old_padding: int, new_padding: int) -> None:
        super().watch_cell_padding(old_padding, new_padding)
        self._cell_renders.clear()

    @property
    def ordered_columns(self) -> list[Column]:
        # Asked for several times per line drawn; the columns change only when added or removed.
        locations = self._column_locations
        key = (id(locations), len(locations), len(self.columns))
        if self._columns_seen != key:
            self._columns_seen = key
            self._columns_in_order = [self.columns[locations.get_key(index)]  # type: ignore[index]
                                      for index in range(len(self.columns))]
        return self._columns_in_order

    # --- geometry: every row is one line ----------------------------------------------------------

    @property
    def _y_offsets(self) -> OneLineRows:  # type: ignore[override]
        return OneLineRows(self._row_locations)

    @property
    def _total_row_height(self) -> int:
        # Rows still to come count already: the scrollable height is set once for a whole load.
        return len(self._row_locations) + self.rows_to_come

    def _get_row_region(self, row_index: int) -> Region:
        if not self.is_valid_row_index(row_index):
            return Region(0, 0, 0, 0)
        row_width = sum(column.get_render_width(self) for column in self.columns.values())
        y = row_index + (self.header_height if self.show_header else 0)
        return Region(0, y, max(self.size.width, row_width + self._row_label_column_width), 1)

    def _get_cell_region(self, coordinate: Coordinate) -> Region:
        if not self.is_valid_coordinate(coordinate):
            return Region(0, 0, 0, 0)
        row_index, column_index = coordinate
        columns = self.ordered_columns
        x = sum(column.get_render_width(self) for column in columns[:column_index])
        y = row_index + (self.header_height if self.show_header else 0)
        return Region(x + self._row_label_column_width, y, columns[column_index].get_render_width(self), 1)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Every column has a fixed width and every row is one line: there is nothing to measure
        # (the base class measures every cell of every new row: about a second for 10,000 rows).
        super()._update_dimensions(())
