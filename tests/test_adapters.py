"""The service seam: each adapter owns its keys, ids, limits and poll step; the poller and the
config reach a service only through the registry, so a new service is one adapter and one line."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import interfax_job

from faxtui.budget import CallBudget
from faxtui.config import AccountConfig, Config, ConfigError, SecretRef, load_config, save_config
from faxtui.config.fields import Section
from faxtui.poller import Poller, connect
from faxtui.services.adapter import PollContext, PollOutcome, ResolveSecret, ServiceAdapter
from faxtui.services.registry import ADAPTERS, adapter_for
from faxtui.store import Store

ROOT = Path(__file__).resolve().parents[1]


def test_every_adapter_is_registered_under_its_own_name() -> None:
    assert set(ADAPTERS) == {"interfax", "concord"}
    for name, adapter in ADAPTERS.items():
        assert adapter.service == name and adapter_for(name) is adapter
    with pytest.raises(KeyError, match="unknown service 'fax2000'"):
        adapter_for("fax2000")


@pytest.mark.parametrize(
    ("service", "good", "bad", "message"),
    [
        ("interfax", " 2147483647 ", "2147483648", "is not an InterFax transaction id"),
        ("concord", "JRI-inv-7", "12345", "is not a Concord job id (br…) or reference (JRI-<ref>)"),
    ],
)
def test_each_service_checks_its_own_id_form(service: str, good: str, bad: str, message: str) -> None:
    adapter = adapter_for(service)
    assert adapter.validate_id(good) == good.strip()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        adapter.validate_id(bad)


def test_the_users_of_one_login_are_named_by_the_service() -> None:
    ifx = AccountConfig("a", "interfax", "https://x", 20, username="ops", password=SecretRef(env="P"))
    cc = AccountConfig("b", "concord", "https://y", 15, user_id="mbx1", token=SecretRef(env="T"))
    assert adapter_for("interfax").user(ifx) == "ops"
    assert adapter_for("concord").user(cc) == "mbx1"
    assert adapter_for("interfax").describe_auth(ifx) == "password from env P"
    assert adapter_for("concord").describe_auth(cc) == "bearer token from env T"


@pytest.mark.parametrize("service", ["interfax", "concord"])
async def test_connect_refuses_plain_http_off_this_machine(service: str) -> None:
    creds: dict[str, Any] = (
        {"username": "u", "password": SecretRef(value="p")} if service == "interfax"
        else {"user_id": "mbx1", "token": SecretRef(value="t")}
    )
    remote = AccountConfig("a", service, "http://fax.example.com/ws", 20, **creds)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigError, match=r"plain http to fax\.example\.com would send credentials"):
            await connect(remote, http)
        local = AccountConfig("a", service, "http://127.0.0.1:9/ws", 20, **creds)
        session, secrets = await connect(local, http)
        assert secrets == ["p" if service == "interfax" else "t"]
        await session.aclose()


def _service_literals(tree: ast.AST) -> list[str]:
    names = {"interfax", "concord"}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names]


@pytest.mark.parametrize("module", ["faxtui/poller.py", "faxtui/config/load.py", "faxtui/config/save.py",
                                    "faxtui/reconcile.py"])
def test_the_core_never_names_a_service(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [m for m in imported if m.startswith(("faxtui.services.interfax", "faxtui.services.concord"))]
    assert _service_literals(tree) == []


# --- a third service, added the way the registry says: one adapter, one entry ------------------

class EchoSession:
    """Reports one job per watched id, each call taken from the budget."""

    def __init__(self, account: str) -> None:
        self.account = account

    def secrets(self) -> list[str]:
        return []

    def watch_added(self, lookup_id: str) -> None:
        pass

    async def poll(self, context: PollContext) -> PollOutcome:
        await context.budget.acquire()
        jobs = [interfax_job(int(i), account=self.account) for i in context.watched_ids()]
        return PollOutcome(jobs, 1, warnings=["echo says hello"])

    async def check(self, budget: CallBudget | None) -> str:
        return "echo heard"

    async def aclose(self) -> None:
        pass


class EchoAdapter:
    service = "echo"
    label = "Echo"
    default_endpoint = "https://echo.invalid/ws"
    default_poll_seconds = 30.0
    calls_per_minute = 2
    rate_window = 60.0
    config_keys: tuple[str, ...] = ("username",)
    reported_fields: frozenset[str] | None = frozenset({"TransactionID", "Status"})

    def parse_settings(
        self, section: Section, raw: Mapping[str, Any], common: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"username": section.string(raw, "username", required=True)}

    def settings_table(self, acc: AccountConfig) -> dict[str, Any]:
        return {"username": acc.username}

    def user(self, acc: AccountConfig) -> str | None:
        return acc.username

    def describe_auth(self, acc: AccountConfig) -> str:
        return "none"

    def secret_refs(self, acc: AccountConfig) -> Sequence[SecretRef]:
        return []

    def urls(self, acc: AccountConfig) -> Sequence[tuple[str, str]]:
        return [("endpoint", acc.endpoint)]

    def validate_id(self, lookup_id: str) -> str:
        if not lookup_id.isdigit():
            raise ValueError("echo ids are digits")
        return lookup_id

    def status_text(self, status: int | None, description: str | None = None) -> str:
        return f"echo {status}"

    async def connect(
        self, acc: AccountConfig, http: httpx.AsyncClient, secret: ResolveSecret
    ) -> EchoSession:
        return EchoSession(acc.name)


@pytest.fixture
def echo_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceAdapter]:
    adapter: ServiceAdapter = EchoAdapter()
    monkeypatch.setitem(ADAPTERS, "echo", adapter)
    yield adapter


async def test_a_third_service_needs_only_an_adapter_and_a_registry_entry(
    echo_registered: ServiceAdapter, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[accounts]]\nname = "e"\nservice = "echo"\nusername = "me"\n')
    config = load_config(path)
    (acc,) = config.accounts
    assert (acc.endpoint, acc.poll_seconds, acc.username) == ("https://echo.invalid/ws", 30.0, "me")
    with pytest.raises(ConfigError, match="key 'password': is a interfax setting, not used by echo accounts"):
        path.write_text('[[accounts]]\nname = "e"\nservice = "echo"\nusername = "me"\npassword = "x"\n')
        load_config(path)
    path.unlink()
    save_config(Config(path=path, accounts=(acc,)))
    assert load_config(path).accounts == (acc,)
    with Store.open(tmp_path / "data") as store:
        poller = Poller(config, store)
        poller.add_watch("e", "5")
        with pytest.raises(ValueError, match="echo ids are digits"):
            poller.add_watch("e", "x5")
        status = (await poller.poll_once())["e"]
        assert (status.health.value, status.calls_made, status.warning) == ("ok", 1, "echo says hello")
        assert list(poller.jobs) == [("e", "700000005")]
        assert poller.budget_for(acc).limit == 2
        await poller.aclose()
