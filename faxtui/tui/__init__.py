"""The Textual user interface. Import `faxtui.tui.app` (run_app) or `faxtui.tui.demo` (run_demo);
this package itself imports nothing, so `faxtui status` never loads Textual."""
