"""The add/edit account form. Secrets are typed masked and never shown back.

A secret field takes the secret itself, or `env:NAME` (read from the environment) or
`cmd:COMMAND` (the command's first output line). When editing, an empty secret field keeps the
secret the account already has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import ClassVar, Literal, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from faxtui.config import (
    DEFAULT_ENDPOINTS,
    DEFAULT_POLL_SECONDS,
    AccountConfig,
    ConfigError,
    SecretRef,
    validate_account,
)
from faxtui.model import Service
from faxtui.services.concord.adapter import auth_method
from faxtui.tui.formatting import clean
from faxtui.tui.widgets.inputs import FaxInput

ConcordAuth = Literal["token", "client_credentials", "pin"]
SECRET_HINT = "secret (masked), or env:VARIABLE, or cmd:COMMAND"  # noqa: S105 - a placeholder text
KEEP_HINT = "unchanged ({source}); type to replace"

TestAccount = Callable[[AccountConfig], Awaitable[tuple[bool, str]]]
"""The connection test: one real call with the account, a one-line verdict."""


def parse_secret(text: str, current: SecretRef | None) -> SecretRef | None:
    """What a secret field means: empty keeps `current`; env:/cmd: prefixes pick the source."""
    value = text.strip()
    if not value:
        return current
    if value.startswith("env:") and len(value) > 4:
        return SecretRef(env=value[4:].strip())
    if value.startswith("cmd:") and len(value) > 4:
        return SecretRef(command=value[4:].strip())
    return SecretRef(value=text)


class AccountForm(ModalScreen[AccountConfig | None]):
    """Dismisses with the validated account, or None on cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+t", "test", "Test"),
    ]

    def __init__(self, existing: AccountConfig | None, taken: Sequence[str],
                 tester: TestAccount) -> None:
        super().__init__()
        self.existing = existing
        self.taken = {name for name in taken if existing is None or name != existing.name}
        self.tester = tester

    # --- layout --------------------------------------------------------------------------------

    def _text_field(self, key: str, attribute: str, placeholder: str = "") -> FaxInput:
        value = getattr(self.existing, attribute, None) if self.existing is not None else None
        return FaxInput(value=str(value or ""), placeholder=placeholder, id=key, compact=True)

    def _secret(self, key: str, ref: SecretRef | None) -> ComposeResult:
        hint = KEEP_HINT.format(source=ref.source) if ref is not None else SECRET_HINT
        yield FaxInput(password=True, placeholder=hint, id=key, compact=True)

    def compose(self) -> ComposeResult:
        acc = self.existing
        service: Service = acc.service if acc else "interfax"
        with Vertical(classes="dialog wide-dialog"):
            yield Static(Text("Edit account" if acc else "Add an account", style="bold"))
            with VerticalScroll(id="form-fields"):
                yield Label("Name (unique)")
                yield self._text_field("f-name", "name", "ops-interfax")
                yield Label("Service")
                yield Select([("InterFax (dfs.asmx)", "interfax"), ("Concord (FaxWS v5)", "concord")],
                             value=service, allow_blank=False, id="f-service", compact=True)
                yield Label("Endpoint (empty: the service default)")
                yield FaxInput(value=acc.endpoint if acc else "", placeholder=DEFAULT_ENDPOINTS[service],
                               id="f-endpoint", compact=True)
                yield Label("Poll every (seconds)")
                yield FaxInput(value=f"{acc.poll_seconds:g}" if acc else "",
                               placeholder=f"{DEFAULT_POLL_SECONDS[service]:g}", id="f-poll")
                yield Label("SOAP version")
                yield Select([("1.1", "1.1"), ("1.2", "1.2")], value=acc.soap_version if acc else "1.1",
                             allow_blank=False, id="f-soap", compact=True)
                with Vertical(id="interfax-fields"):
                    yield Label("Username")
                    yield self._text_field("f-username", "username")
                    yield Label("Password")
                    yield from self._secret("f-password", acc.password if acc else None)
                with Vertical(id="concord-fields"):
                    yield Label("UserID (mbx…)")
                    yield self._text_field("f-user-id", "user_id")
                    yield Label("Authentication")
                    method = auth_method(acc) if acc and acc.service == "concord" else "token"
                    yield Select(
                        [("Bearer token", "token"), ("OAuth client credentials", "client_credentials"),
                         ("PIN (deprecated)", "pin")],
                        value=method if method != "none" else "token", allow_blank=False, id="f-auth",
                        compact=True,
                    )
                    with Vertical(id="auth-token"):
                        yield Label("Bearer token")
                        yield from self._secret("f-token", acc.token if acc else None)
                    with Vertical(id="auth-client_credentials"):
                        yield Label("Token URL")
                        yield self._text_field("f-token-url", "token_url")
                        yield Label("Client id")
                        yield self._text_field("f-client-id", "client_id")
                        yield Label("Client secret")
                        yield from self._secret("f-client-secret", acc.client_secret if acc else None)
                    with Vertical(id="auth-pin"):
                        yield Label("PIN")
                        yield from self._secret("f-pin", acc.pin if acc else None)
                yield Checkbox("Allow plain http to a non-local host",
                               value=acc.allow_insecure if acc else False, id="f-insecure")
            yield Static("", id="form-result", classes="error-line")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save", compact=True)
                yield Button("Test (ctrl+t)", id="test", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._show_fields()
        self.query_one("#f-name", Input).focus()

    @on(Select.Changed)
    def _show_fields(self) -> None:
        service = self.query_one("#f-service", Select).value
        self.query_one("#interfax-fields").display = service == "interfax"
        self.query_one("#concord-fields").display = service == "concord"
        method = self.query_one("#f-auth", Select).value
        for name in ("token", "client_credentials", "pin"):
            self.query_one(f"#auth-{name}").display = method == name
        if service in DEFAULT_ENDPOINTS:
            svc = cast(Service, service)
            self.query_one("#f-endpoint", Input).placeholder = DEFAULT_ENDPOINTS[svc]
            self.query_one("#f-poll", Input).placeholder = f"{DEFAULT_POLL_SECONDS[svc]:g}"

    # --- building the account ------------------------------------------------------------------

    def _text(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    def build(self) -> AccountConfig:
        """The account the form describes, validated as the config file would be (ConfigError)."""
        name = self._text("f-name")
        if not name:
            raise ConfigError("the account needs a name")
        if name in self.taken:
            raise ConfigError(f"an account named {clean(name, 40)!r} already exists")
        service = cast(Service, self.query_one("#f-service", Select).value)
        poll_text = self._text("f-poll")
        try:
            poll = float(poll_text) if poll_text else DEFAULT_POLL_SECONDS[service]
        except ValueError:
            raise ConfigError(f"poll seconds must be a number, not {clean(poll_text, 20)!r}") from None
        old = self.existing if self.existing is not None and self.existing.service == service else None
        soap: Literal["1.1", "1.2"] = "1.2" if self.query_one("#f-soap", Select).value == "1.2" else "1.1"
        base = AccountConfig(
            name=name, service=service, endpoint=self._text("f-endpoint") or DEFAULT_ENDPOINTS[service],
            poll_seconds=poll, soap_version=soap,
            allow_insecure=self.query_one("#f-insecure", Checkbox).value,
        )
        if old is not None:
            base = replace(base, batch_size=old.batch_size, page_depth=old.page_depth,
                           timeout_seconds=old.timeout_seconds)
        try:
            if service == "interfax":
                acc = replace(base, username=self._text("f-username") or None,
                              password=parse_secret(self._text("f-password"), old.password if old else None))
            else:
                acc = replace(base, user_id=self._text("f-user-id") or None)
                method = self.query_one("#f-auth", Select).value
                if method == "token":
                    acc = replace(acc, token=parse_secret(self._text("f-token"), old.token if old else None))
                elif method == "client_credentials":
                    acc = replace(
                        acc, token_url=self._text("f-token-url") or None,
                        client_id=self._text("f-client-id") or None,
                        client_secret=parse_secret(self._text("f-client-secret"),
                                                   old.client_secret if old else None),
                    )
                else:
                    acc = replace(acc, pin=parse_secret(self._text("f-pin"), old.pin if old else None))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        validate_account(acc)
        return acc

    def _say(self, text: str, style: str) -> None:
        self.query_one("#form-result", Static).update(Text(clean(text, 300), style=style))

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            acc = self.build()
        except ConfigError as exc:
            self._say(str(exc), "bold red")
            return
        self.dismiss(acc)

    @on(Button.Pressed, "#test")
    def action_test(self) -> None:
        try:
            acc = self.build()
        except ConfigError as exc:
            self._say(str(exc), "bold red")
            return
        self._say(f"Testing {acc.name}…", "dim")
        self._run_test(acc)

    @work(exclusive=True, group="account-test", exit_on_error=False)
    async def _run_test(self, acc: AccountConfig) -> None:
        ok, message = await self.tester(acc)
        self._say(message, "green" if ok else "bold red")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
