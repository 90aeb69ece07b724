"""A scroll view that redraws its scrollbars only when they changed. Written against Textual 8.2.8.

A line-API scroll view; it overrides the private `ScrollView._size_updated`.

Textual's `ScrollView._size_updated` compares the widget's own virtual size with the size the
layout arranged for it, which for a line-API widget never match, so every layout pass anywhere
on the screen (a line added to the event log, a row count changed) repaints the scrollbars of
every scroll view and sends each a `Resize`: bytes on the wire and work for nothing. This
mixin passes a layout on only when the widget's size, its container size or its virtual size
actually changed.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView


class SteadyScrollView(ScrollView):
    """Subclass it, or list it after another `ScrollView` subclass: `class T(DataTable,
    SteadyScrollView)` (Textual takes CSS and component classes along the first base only)."""

    _sizes_seen: tuple[Size, Size, Size] | None = None

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        seen = (size, container_size, self.virtual_size)
        if seen == self._sizes_seen:
            return False
        self._sizes_seen = seen
        return super()._size_updated(size, virtual_size, container_size, layout)
