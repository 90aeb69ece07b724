"""Everything in faxtui that touches Textual's private names, in one place.

Written against Textual 8.2.8, and pinned to it: pyproject.toml asks for textual ~=8.2.8, so a
Textual release outside 8.2.x cannot arrive unnoticed. Each module here says which private members
it relies on; tests/test_textual_internals.py checks that no module outside this folder imports a
`textual._*` module or reads a private Textual member, and that each hook installed here still
engages on the pinned Textual. On a Textual upgrade, this folder (and those tests) is what to look at.

- `drivers`: the terminal drivers (subclasses of the Linux driver: compact output, a terminal that
  goes away) and the app's access to its driver (`forget_screen`, `driver_ending`);
- `fast_table`: `FastTable`, a `DataTable` fast at 10,000 one-line rows;
- `steady_scroll`: `SteadyScrollView`, a scroll view that skips layouts that change nothing.
"""
