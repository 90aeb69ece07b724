"""Input fields that honour the app's cursor-blink setting (off for snapshots and calm screens)."""

from __future__ import annotations

from textual.widgets import Input


class FaxInput(Input):
    def on_mount(self) -> None:
        self.cursor_blink = bool(getattr(self.app, "cursor_blink", True))
