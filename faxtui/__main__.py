"""`python -m faxtui`."""

from faxtui.cli import main

raise SystemExit(main())
