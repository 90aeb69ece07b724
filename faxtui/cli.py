"""Command-line entry point (filled in by the CLI work)."""

from __future__ import annotations

import sys

from faxtui import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--version"]:
        print(f"faxtui {__version__}")
        return 0
    print("faxtui: not yet", file=sys.stderr)
    return 2
