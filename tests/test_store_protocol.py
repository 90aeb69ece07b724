"""Both stores are `StateStore`s, and the store package's modules depend on each other one way.

`_use` is typed with the protocol only, so mypy (`mypy tests/test_store_protocol.py`) checks that
`SqliteStore` and `PostgresStore` satisfy it structurally, and running it checks a few behaviours
through it, on each backend (a real PostgreSQL server: tests/pg_fixtures.py).
"""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import complete_interfax_job as interfax_job
from factories import transition

import faxtui.store
from faxtui.store import CallKey, CallLedger, SqliteStore, StateStore, Store, StoreError
from faxtui.store.postgres import PostgresStore
from faxtui.store.sqlite import SqliteStore as SqliteStoreProper
from faxtui.store.url import open_store

T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
KEY: CallKey = ("interfax", "https://example.invalid/dfs.asmx", "demo")
PACKAGE = Path(faxtui.store.__file__).parent


def _use(store: StateStore) -> None:
    """A few behaviours, through nothing but the protocol."""
    assert store.recovered_from is None and store.recovery_notice() is None
    job = interfax_job(account="ops")
    store.save_jobs([job], T0)
    assert store.load_jobs("ops") == [job]
    store.record_transitions([transition(job.job_id, T0, "sending", account="ops"),
                              transition(job.job_id, T0 + timedelta(seconds=5), "failed", "sending", "ops")])
    assert [t.new_state for t in store.history("ops", job.job_id)] == ["sending", "failed"]
    assert [t.new_state for t in store.recent_transitions(1)] == ["failed"]
    assert store.prune_history(keep=1) == 1 and store.prune_jobs(keep_per_account=1) == 0
    entry = store.add_watch("ops", "812345678", "referral", at=T0)
    assert store.watch_list() == [entry]
    assert store.set_watch_label("ops", "812345678", "urgent")
    assert [w.label for w in store.watch_list("ops")] == ["urgent"]
    assert store.remove_watch("ops", "812345678") and not store.remove_watch("ops", "812345678")
    store.save_account_state("ops", T0, None, T0)
    assert store.load_account_states() == {"ops": (T0, None)}
    now = T0.timestamp()
    assert store.take_call(KEY, now, 1, 60.0) == 0.0
    assert store.take_call(KEY, now + 1, 1, 60.0) == pytest.approx(59.0)
    store.add_calls(KEY, [now + 2])
    assert store.recent_calls(KEY, now + 2, 60.0) == [now, now + 2]
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError):
        store.watch_list()


def _ledger_of(store: StateStore) -> CallLedger:
    return store  # every state store is a call ledger (a budget can take one)


def test_the_sqlite_store_works_through_the_state_store_protocol(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "data")
    _use(store)
    assert _ledger_of(store) is store


def test_each_backend_works_through_the_state_store_protocol(store_url: str) -> None:
    store = open_store(store_url)
    _use(store)
    assert _ledger_of(store) is store


def test_store_is_the_sqlite_store_under_its_old_name() -> None:
    assert Store is SqliteStore is SqliteStoreProper


def _protocol_members(protocol: type) -> set[str]:
    return {
        name
        for klass in protocol.__mro__
        if klass.__dict__.get("_is_protocol")
        for name in klass.__dict__
        if not name.startswith("_")
    }


@pytest.mark.parametrize("backend", [SqliteStore, PostgresStore])
def test_every_protocol_member_has_the_same_signature_on_each_store(backend: type) -> None:
    members = _protocol_members(StateStore)
    assert {"take_call", "add_calls", "recent_calls", "recovered_from", "save_jobs"} <= members
    for name in sorted(members - {"recovered_from"}):  # an instance attribute on both stores
        wanted = inspect.signature(getattr(StateStore, name))
        assert inspect.signature(getattr(backend, name)) == wanted, name


def _imports(module: Path) -> set[str]:
    """The faxtui.store modules `module` imports (ignoring the package itself)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "faxtui.store":
                found.update(f"faxtui.store.{alias.name}" for alias in node.names)
            elif node.module.startswith("faxtui.store."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("faxtui.store."))
    return found


def test_the_store_modules_import_each_other_without_cycles() -> None:
    graph = {f"faxtui.store.{p.stem}": _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    modules = ("interface", "schema", "records", "recovery", "ledger", "sqlite", "pg_schema", "postgres",
               "url")
    assert set(graph) == {f"faxtui.store.{m}" for m in modules}
    order: list[str] = []
    while graph:
        ready = sorted(m for m, deps in graph.items() if deps <= set(order))
        assert ready, f"an import cycle among {sorted(graph)}"
        order += ready
        for m in ready:
            del graph[m]
    assert order[-1] == "faxtui.store.url"  # only the URL's choice pulls the backends together
    assert order.index("faxtui.store.sqlite") > order.index("faxtui.store.schema")
    assert order.index("faxtui.store.postgres") > order.index("faxtui.store.pg_schema")
    assert not _imports(PACKAGE / "postgres.py") & {"faxtui.store.sqlite", "faxtui.store.schema"}


def test_the_budget_depends_on_the_interface_not_on_sqlite() -> None:
    budget = Path(faxtui.store.__file__).parent.parent / "budget.py"
    assert _imports(budget) == {"faxtui.store.interface"}
