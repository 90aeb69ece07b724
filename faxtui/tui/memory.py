"""Keeping the garbage collector's full passes short with many jobs in memory.

CPython's cyclic collector now and then walks every tracked object it has not been told to leave
alone: with 10,000 jobs in memory (each a `FaxJob` plus its `FaxItemEx`, and the table's row
objects) next to Textual's own objects, one full pass takes 40-150 ms, a visible stall whenever
it lands, and a load of thousands of rows allocates enough to set one off. After the first paint
and after each big load, `settle()` collects the young generations (cheap) and freezes what is
alive (`gc.freeze`): those objects are long-lived (the widgets, the jobs, the rows), and later
passes walk only what was made since. Frozen objects are still freed the ordinary way when their
last reference goes; only garbage caught in a reference cycle at that moment is kept for good,
and the collector clears such cycles on its own passes in between.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect the young generations, then freeze everything still alive."""
    gc.collect(1)
    gc.freeze()
