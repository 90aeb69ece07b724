"""The configuration file (DESIGN §3): loading, validation messages, atomic owner-only writes, secrets."""

from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from faxtui.config import (
    DEFAULT_ENDPOINTS,
    AccountConfig,
    Config,
    ConfigError,
    SecretError,
    SecretRef,
    UIConfig,
    config_path,
    describe_account,
    load_config,
    save_config,
    validate_account,
)
from faxtui.secrets import resolve_secret
from faxtui.services.registry import adapter_for

SECRET = "s3cret-Hunter2"
PY = shlex.quote(sys.executable)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def load_error(path: Path, text: str) -> str:
    write(path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    return message


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def full_config(path: Path) -> Config:
    """Both services and every auth style, with non-default settings."""
    accounts = (
        AccountConfig(
            "ifx-inline",
            "interfax",
            "https://ws.interfax.net/dfs.asmx",
            30.0,
            soap_version="1.2",
            username="ops",
            password=SecretRef(value=SECRET),
            page_depth=3,
            timeout_seconds=7.5,
        ),
        AccountConfig(
            "ifx-env",
            "interfax",
            "http://127.0.0.1:8080/dfs.asmx",
            20.0,
            username="ops2",
            password=SecretRef(env="INTERFAX_PASSWORD"),
        ),
        AccountConfig(
            "ifx-cmd",
            "interfax",
            "http://fax.internal/dfs.asmx",
            60.0,
            username="ops3",
            password=SecretRef(command="pass show interfax/ops3"),
            allow_insecure=True,
        ),
        AccountConfig(
            "cc-token",
            "concord",
            "https://ws.concordfax.com/fax/v5",
            15.0,
            user_id="mbx1234567890",
            token=SecretRef(value=SECRET),
            batch_size=250,
        ),
        AccountConfig(
            "cc-token-env",
            "concord",
            DEFAULT_ENDPOINTS["concord"],
            12.5,
            user_id="mbx2",
            token=SecretRef(env="CONCORD_TOKEN"),
        ),
        AccountConfig(
            "cc-token-cmd",
            "concord",
            DEFAULT_ENDPOINTS["concord"],
            15.0,
            user_id="mbx3",
            token=SecretRef(command="pass show concord/token"),
        ),
        AccountConfig(
            "cc-oauth",
            "concord",
            DEFAULT_ENDPOINTS["concord"],
            15.0,
            user_id="mbx4",
            token_url="https://login.concord.net/v1/connect/token",
            client_id="demo",
            client_secret=SecretRef(env="CONCORD_CLIENT_SECRET"),
        ),
        AccountConfig(
            "cc-pin",
            "concord",
            "http://localhost:9000/fax/v5",
            15.0,
            user_id="mbx0000000001",
            pin=SecretRef(command="cat /run/secrets/pin"),
        ),
    )
    return Config(
        path=path,
        ui=UIConfig(timezone="Europe/Paris", theme="nord", bell_on_failure=False),
        accounts=accounts,
    )


# --------------------------------------------------------------------------- paths


def test_config_path_prefers_cli_then_env_then_platform_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("FAXTUI_CONFIG", raising=False)
    assert config_path(None) == tmp_path / "xdg" / "faxtui" / "config.toml"
    monkeypatch.setenv("FAXTUI_CONFIG", str(tmp_path / "env.toml"))
    assert config_path(None) == tmp_path / "env.toml"
    assert config_path(tmp_path / "cli.toml") == tmp_path / "cli.toml"
    assert config_path(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"


def test_faxtui_config_env_var_is_the_file_that_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "elsewhere.toml",
        """
        [[accounts]]
        name = "ops"
        service = "concord"
        user_id = "mbx1"
        pin_env = "CONCORD_PIN"
    """,
    )
    monkeypatch.setenv("FAXTUI_CONFIG", str(path))
    config = load_config(config_path(None))
    assert [a.name for a in config.accounts] == ["ops"]


# --------------------------------------------------------------------------- loading


def test_missing_file_is_a_first_run_not_an_error(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope" / "config.toml")
    assert config.accounts == ()
    assert config.ui == UIConfig()


def test_defaults_per_service(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path / "c.toml",
            """
        [[accounts]]
        name = "ops-interfax"
        service = "interfax"
        username = "ops"
        password_env = "INTERFAX_PASSWORD"

        [[accounts]]
        name = "ops-concord"
        service = "concord"
        user_id = "mbx1234567890"
        token_command = "pass show concord/token"
    """,
        )
    )
    ifx, cc = config.accounts
    assert (ifx.endpoint, ifx.poll_seconds, ifx.soap_version) == (
        "https://ws.interfax.net/dfs.asmx",
        20.0,
        "1.1",
    )
    assert (cc.endpoint, cc.poll_seconds) == ("https://ws.concordfax.com/fax/v5", 15.0)
    assert ifx.password == SecretRef(env="INTERFAX_PASSWORD")
    assert cc.token == SecretRef(command="pass show concord/token")
    assert config.ui == UIConfig(timezone="local", theme="textual-dark", bell_on_failure=True)


def test_design_example_loads(tmp_path: Path) -> None:
    """The example of DESIGN §3, verbatim."""
    config = load_config(
        write(
            tmp_path / "c.toml",
            """
        [ui]
        timezone = "local"            # or "UTC", or an IANA name
        theme = "textual-dark"

        [[accounts]]
        name = "ops-interfax"         # unique
        service = "interfax"
        endpoint = "https://ws.interfax.net/dfs.asmx"     # default for the service
        soap_version = "1.1"          # or "1.2"
        username = "ops"
        password_env = "INTERFAX_PASSWORD"   # exactly one of password / password_env / password_command
        poll_seconds = 20             # InterFax allows 6 status calls a minute per user

        [[accounts]]
        name = "ops-concord"
        service = "concord"
        endpoint = "https://ws.concordfax.com/fax/v5"
        user_id = "mbx1234567890"
        token_command = "pass show concord/token"   # bearer token: token / token_env / token_command
        poll_seconds = 15
    """,
        )
    )
    assert [(a.name, a.service, adapter_for(a.service).user(a)) for a in config.accounts] == [
        ("ops-interfax", "interfax", "ops"),
        ("ops-concord", "concord", "mbx1234567890"),
    ]


def test_round_trip_of_every_service_and_auth_style(tmp_path: Path) -> None:
    config = full_config(tmp_path / "conf" / "config.toml")
    save_config(config)
    loaded = load_config(config.path)
    assert loaded == config
    text = config.path.read_text()
    assert 'password_env = "INTERFAX_PASSWORD"' in text
    assert 'client_secret_env = "CONCORD_CLIENT_SECRET"' in text
    assert 'pin_command = "cat /run/secrets/pin"' in text
    # defaults are not written back; name/service/endpoint always are
    assert text.count("endpoint = ") == len(config.accounts)
    assert "batch_size = 250" in text and "batch_size = 100" not in text
    # saving what was loaded changes nothing
    save_config(loaded)
    assert config.path.read_text() == text


def test_with_and_without_account(tmp_path: Path) -> None:
    config = full_config(tmp_path / "c.toml")
    replacement = dataclasses.replace(config.account("cc-pin"), poll_seconds=45.0)
    changed = config.with_account(replacement)
    assert [a.name for a in changed.accounts] == [a.name for a in config.accounts]
    assert changed.account("cc-pin").poll_seconds == 45.0
    added = changed.with_account(dataclasses.replace(replacement, name="cc-pin-2"))
    assert added.accounts[-1].name == "cc-pin-2"
    removed = added.without_account("ifx-env")
    assert "ifx-env" not in [a.name for a in removed.accounts]
    with pytest.raises(ConfigError, match="no account named 'ghost'"):
        removed.account("ghost")


def test_unknown_ui_key_warns_and_is_kept_on_save(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        """
        [ui]
        theme = "nord"
        themes = "gruvbox"
        future_setting = [1, 2]
    """,
    )
    config = load_config(path)
    assert config.ui.theme == "nord"
    assert any(
        "unknown key 'themes'" in w and "did you mean 'theme'" in w and str(path) in w
        for w in config.warnings
    )
    save_config(config)
    assert load_config(path).ui.extra == {"themes": "gruvbox", "future_setting": [1, 2]}


# --------------------------------------------------------------------------- validation messages

IFX = """
    [[accounts]]
    name = "ops"
    service = "interfax"
    username = "ops"
"""
CC = """
    [[accounts]]
    name = "ops"
    service = "concord"
    user_id = "mbx1"
"""

VALIDATION_CASES = [
    # (document, section, key, words the reason must contain)
    (
        IFX.replace("interfax", "faxmaster") + 'password_env = "P"\n',
        "account 'ops'",
        "service",
        ["unknown service", "faxmaster"],
    ),
    (IFX, "account 'ops'", "password", ["missing credentials", "password_env", "password_command"]),
    (
        IFX + f'password = "{SECRET}"\npassword_env = "P"\n',
        "account 'ops'",
        "password_env",
        ["conflicts with 'password'", "only one of"],
    ),
    (CC, "account 'ops'", "token", ["missing credentials", "client_secret", "pin"]),
    (
        CC + 'token_env = "T"\npin = "1234"\n',
        "account 'ops'",
        "pin",
        ["conflicts with 'token_env'", "one auth method"],
    ),
    (
        CC + 'client_id = "demo"\nclient_secret_env = "S"\n',
        "account 'ops'",
        "token_url",
        ["missing", "token_url, client_id and"],
    ),
    (
        CC + 'token_url = "https://login.example/token"\nclient_secret_env = "S"\n',
        "account 'ops'",
        "client_id",
        ["missing"],
    ),
    (
        CC + 'token_url = "https://login.example/token"\nclient_id = "demo"\n',
        "account 'ops'",
        "client_secret",
        ["missing"],
    ),
    (IFX + 'password_env = "P"\nsoap_version = "2.0"\n', "account 'ops'", "soap_version", ['"1.1" or "1.2"']),
    (
        IFX + 'password_env = "P"\npoll_seconds = "20"\n',
        "account 'ops'",
        "poll_seconds",
        ["must be a number, got string"],
    ),
    (IFX + 'password_env = "P"\npoll_seconds = -5\n', "account 'ops'", "poll_seconds", ["positive"]),
    (CC + 'pin_env = "P"\npoll_seconds = 0\n', "account 'ops'", "poll_seconds", ["positive"]),
    (
        IFX + 'password_env = "P"\npoll_seconds = 5\n',
        "account 'ops'",
        "poll_seconds",
        ["12 status calls a minute", "allows 6", "at least 10"],
    ),
    (
        IFX + 'password_env = "P"\npoll_seconds = 15\npage_depth = 2\n',
        "account 'ops'",
        "poll_seconds",
        ["page_depth 2", "at least 20"],
    ),
    (
        IFX + 'password_env = "P"\nendpoint = "ftp://ws.interfax.net/dfs.asmx"\n',
        "account 'ops'",
        "endpoint",
        ["http:// or https://"],
    ),
    (
        IFX + 'password_env = "P"\nendpoint = "http://fax.example.com/dfs.asmx"\n',
        "account 'ops'",
        "endpoint",
        ["plain http to fax.example.com", "allow_insecure = true"],
    ),
    (
        CC + 'token_url = "http://login.example/token"\nclient_id = "d"\nclient_secret_env = "S"\n',
        "account 'ops'",
        "token_url",
        ["plain http", "allow_insecure"],
    ),
    (
        IFX + f'password_env = "P"\nendpoint = "https://ops:{SECRET}@ws.interfax.net/dfs.asmx"\n',
        "account 'ops'",
        "endpoint",
        ["must not contain a user name or password"],
    ),
    (CC + 'pin_env = "P"\nbatch_size = 0\n', "account 'ops'", "batch_size", ["between 1 and 1000, got 0"]),
    (CC + 'pin_env = "P"\nbatch_size = 1001\n', "account 'ops'", "batch_size", ["between 1 and 1000"]),
    (CC + 'pin_env = "P"\nbatch_size = 10.5\n', "account 'ops'", "batch_size", ["integer, got float"]),
    (
        IFX + 'passwrd_env = "P"\n',
        "account 'ops'",
        "passwrd_env",
        ["unknown key", "did you mean 'password_env'"],
    ),
    (CC + 'pin_env = "P"\nusername = "ops"\n', "account 'ops'", "username", ["interfax setting", "concord"]),
    (
        IFX + f'password_env = "{SECRET}!"\n',
        "account 'ops'",
        "password_env",
        ["must name an environment variable"],
    ),
    (
        IFX + 'password_command = "pass show \'unterminated"\n',
        "account 'ops'",
        "password_command",
        ["cannot split"],
    ),
    (IFX + 'password = ""\n', "account 'ops'", "password", ["must not be empty"]),
    (
        IFX + 'password_env = "P"\nallow_insecure = "yes"\n',
        "account 'ops'",
        "allow_insecure",
        ["true or false, got string"],
    ),
    (
        '[ui]\ntimezone = "Mars/Olympus_Mons"\n',
        "[ui]",
        "timezone",
        ["unknown time zone", "Mars/Olympus_Mons"],
    ),
    ('[ui]\nbell_on_failure = "yes"\n', "[ui]", "bell_on_failure", ["true or false"]),
    ('[[accounts]]\nservice = "concord"\nuser_id = "m"\npin_env = "P"\n', "account #1", "name", ["missing"]),
]


@pytest.mark.parametrize(("document", "section", "key", "words"), VALIDATION_CASES)
def test_validation_error_names_file_section_and_key(
    tmp_path: Path, document: str, section: str, key: str, words: list[str]
) -> None:
    path = tmp_path / "config.toml"
    message = load_error(path, document)
    assert message.startswith(f"{path}: {section}: key '{key}': "), message
    for word in words:
        assert word in message, message
    assert SECRET not in message


def test_account_without_name_is_named_by_its_position(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    message = load_error(path, CC + 'pin_env = "P"\n' + '[[accounts]]\nservice = "interfax"\n')
    assert message.startswith(f"{path}: account #2: key 'name': missing")


def test_duplicate_account_name(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    message = load_error(path, CC + 'pin_env = "P"\n' + IFX + 'password_env = "P"\n')
    assert message.startswith(f"{path}: account 'ops': key 'name': duplicate name")
    assert "account #1" in message


def test_top_level_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    assert "did you mean 'accounts'" in load_error(path, '[[acounts]]\nname = "x"\n')
    assert "[[accounts]]" in load_error(path, '[accounts]\nname = "x"\n')


def test_http_endpoint_allowed_on_loopback_or_with_allow_insecure(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    for endpoint in (
        "http://127.0.0.1:8080/dfs.asmx",
        "http://127.9.9.9/dfs.asmx",
        "http://[::1]:80/dfs.asmx",
        "http://localhost:1234/dfs.asmx",
    ):
        write(path, IFX + f'password_env = "P"\nendpoint = "{endpoint}"\n')
        assert load_config(path).accounts[0].endpoint == endpoint
    write(path, IFX + 'password_env = "P"\nendpoint = "http://fax.lan/dfs.asmx"\nallow_insecure = true\n')
    assert load_config(path).accounts[0].allow_insecure is True


def test_validate_account_and_save_refuse_an_invalid_account(tmp_path: Path) -> None:
    bad = AccountConfig(
        "x", "interfax", "http://fax.example.com/dfs.asmx", 20.0, username="u", password=SecretRef(env="P")
    )
    with pytest.raises(ConfigError, match="key 'endpoint': plain http"):
        validate_account(bad)
    path = tmp_path / "c.toml"
    with pytest.raises(ConfigError, match=rf"^{path}: account 'x': key 'endpoint'"):
        save_config(Config(path=path, accounts=(bad,)))
    assert not path.exists()


# --------------------------------------------------------------------------- syntax errors, broken files


def test_toml_syntax_error_gives_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    message = load_error(
        path,
        """
        [ui]
        theme = "nord"

        [[accounts]]
        name = "ops
        service = "interfax"
    """,
    )
    assert message.startswith(f"{path}:5: TOML syntax error"), message


def test_syntax_error_on_a_secret_line_does_not_echo_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    message = load_error(path, IFX + f'password = "{SECRET}\npoll_seconds = 20\n')
    assert message.startswith(f"{path}:5: "), message
    assert SECRET not in message


def test_syntax_error_at_end_of_file_gives_last_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    message = load_error(path, '[ui]\ntheme = "nord"\ntimezone =\n')
    assert message.startswith(f"{path}:3: "), message


def test_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b'[ui]\ntheme = "\xff"\n')
    with pytest.raises(ConfigError, match=rf"^{path}:2: not UTF-8 text$"):
        load_config(path)


@pytest.mark.parametrize(
    "broken",
    [
        '[ui]\ntheme = "nord\n',  # syntax
        '[[accounts]]\nname = "ops"\nservice = "faxmaster"\n',  # validation
    ],
)
def test_save_never_overwrites_a_file_that_does_not_load(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(broken)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="not saved"):
        save_config(full_config(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no temp file left behind


# --------------------------------------------------------------------------- file modes, atomicity


def test_written_file_is_0600_and_created_parents_0700_whatever_the_umask(tmp_path: Path) -> None:
    existing = tmp_path / "shared"
    existing.mkdir()
    existing.chmod(0o755)
    path = existing / "new" / "faxtui" / "config.toml"
    with umask(0):
        save_config(full_config(path))
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
    assert mode(existing) == 0o755  # a directory that already existed is not ours to change
    # an existing file with a loose mode is tightened on the next save
    path.chmod(0o644)
    save_config(load_config(path))
    assert mode(path) == 0o600


def test_loose_mode_with_inline_secrets_warns(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    save_config(full_config(path))
    assert not load_config(path).warnings
    path.chmod(0o644)
    assert any("chmod 600" in w for w in load_config(path).warnings)


def test_symlinked_config_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "faxtui.toml"
    real.parent.mkdir()
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_config(full_config(link))
    assert link.is_symlink()
    assert load_config(real).accounts == full_config(link).accounts


WRITER = """
import dataclasses, sys
from pathlib import Path
from faxtui.config import AccountConfig, Config, SecretRef, save_config

path = Path(sys.argv[1])

def config(prefix):
    return Config(path=path, accounts=tuple(
        AccountConfig(f"{prefix}-{i}", "concord", "https://ws.concordfax.com/fax/v5", 15.0,
                      user_id=f"mbx{i:010d}", token=SecretRef(env=f"TOKEN_{i}"))
        for i in range(150)))

a, b = config("a"), config("b")
save_config(a)
print("ready", flush=True)
while True:
    save_config(b)
    save_config(a)
"""


def test_config_survives_sigkill_during_saves(tmp_path: Path) -> None:
    """A writer saving in a loop is read meanwhile and killed at arbitrary moments: every read, and
    the file left behind, loads whole (the old content or the new, never a mix)."""
    path = tmp_path / "config.toml"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    expected = [{f"{prefix}-{i}" for i in range(150)} for prefix in ("a", "b")]
    for round_ in range(5):
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 0.05 + 0.05 * round_
        while time.monotonic() < deadline:
            assert {a.name for a in load_config(path).accounts} in expected
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        names = {a.name for a in load_config(path).accounts}
        assert names in expected
    for leftover in tmp_path.glob(".config.toml.*.tmp"):  # a killed write may leave its temp file: private
        assert mode(leftover) == 0o600


# --------------------------------------------------------------------------- secrets


def test_inline_and_env_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_secret(SecretRef(value=SECRET), what="password", account="ops") == SECRET
    monkeypatch.setenv("FAXTUI_TEST_PASSWORD", SECRET)
    assert resolve_secret(SecretRef(env="FAXTUI_TEST_PASSWORD"), what="password", account="ops") == SECRET


def test_env_secret_missing_or_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAXTUI_TEST_PASSWORD", raising=False)
    with pytest.raises(
        SecretError, match=r"^account 'ops': environment variable FAXTUI_TEST_PASSWORD .*is not set"
    ):
        resolve_secret(SecretRef(env="FAXTUI_TEST_PASSWORD"), what="password", account="ops")
    monkeypatch.setenv("FAXTUI_TEST_PASSWORD", "")
    with pytest.raises(SecretError, match="is empty"):
        resolve_secret(SecretRef(env="FAXTUI_TEST_PASSWORD"), what="password", account="ops")


def test_command_secret_first_line_without_newline() -> None:
    ref = SecretRef(command=f"{PY} -c \"print('{SECRET}')\"")
    assert resolve_secret(ref, what="token", account="cc") == SECRET
    multi = SecretRef(command=f"{PY} -c \"print('{SECRET}'); print('login: ops')\"")  # the `pass` convention
    assert resolve_secret(multi, what="token", account="cc") == SECRET


def test_command_runs_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    ref = SecretRef(command=f"{PY} -c \"import sys; print(sys.argv[1])\" '$(touch {marker})'")
    assert resolve_secret(ref, what="token", account="cc") == f"$(touch {marker})"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (f"{PY} -c \"print('{SECRET}'); raise SystemExit(3)\"", "failed with exit status 3"),
        (f"{PY} -c \"import sys; sys.stdout.write('')\"", "printed nothing"),
        ("/nonexistent/faxtui-no-such-program --flag", "not found"),
    ],
)
def test_command_failures_name_account_and_program_but_never_output(command: str, reason: str) -> None:
    with pytest.raises(SecretError) as info:
        resolve_secret(SecretRef(command=command), what="bearer token", account="cc-ops")
    message = str(info.value)
    assert message.startswith("account 'cc-ops': bearer token command '")
    assert reason in message
    assert SECRET not in message
    assert "--flag" not in message
    program = Path(shlex.split(command)[0]).name
    assert f"'{program}'" in message


def test_command_timeout_kills_it() -> None:
    ref = SecretRef(command=f"{PY} -c \"import time; print('{SECRET}', flush=True); time.sleep(30)\"")
    started = time.monotonic()
    with pytest.raises(SecretError, match=r"timed out after 0\.5 s") as info:
        resolve_secret(ref, what="PIN", account="cc", timeout=0.5)
    assert time.monotonic() - started < 10
    assert SECRET not in str(info.value)


def test_secrets_never_appear_in_repr_or_description(tmp_path: Path) -> None:
    config = full_config(tmp_path / "c.toml")
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert SECRET not in f"{config.accounts[0]}"
    for acc in config.accounts:
        assert SECRET not in " ".join(describe_account(acc).values())
    assert repr(SecretRef(value=SECRET)) == "SecretRef(value=<hidden>)"
    assert repr(SecretRef(env="X")) == "SecretRef(env='X')"
    assert "show" not in repr(SecretRef(command="pass show concord/token"))


def test_describe_account_says_where_each_credential_comes_from(tmp_path: Path) -> None:
    described = {acc.name: describe_account(acc) for acc in full_config(tmp_path / "c.toml").accounts}
    assert described["ifx-env"]["auth"] == "password from env INTERFAX_PASSWORD"
    assert described["ifx-inline"]["auth"] == "password inline"
    assert described["ifx-cmd"]["auth"] == "password from command"
    assert described["cc-token-cmd"]["auth"] == "bearer token from command"
    assert described["cc-oauth"]["auth"].startswith("OAuth client demo")
    assert described["cc-pin"]["auth"] == "PIN (deprecated) from command"
    assert described["cc-token"]["user"] == "mbx1234567890"
    assert described["ifx-env"]["user"] == "ops2"
    assert described["ifx-env"]["poll"] == "every 20 s"
    assert set(described["cc-oauth"]) == {"name", "service", "endpoint", "user", "auth", "poll"}


CONCORD_CLIENT_CREDENTIALS = """
        [[accounts]]
        name = "cc"
        service = "concord"
        user_id = "mbx1"
        token_url = "https://login.example/v1/connect/token"
        client_id = "ops"
        client_secret_env = "CC_SECRET"
"""
"""A Concord account on OAuth client credentials; a test appends its own keys."""


def test_concord_content_type_and_oauth_scope_are_per_account_and_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", CONCORD_CLIENT_CREDENTIALS + """
        content_type = "application/soap+xml; charset=utf-8"
        oauth_scope = "FaxWS offline_access"
    """)
    acc = load_config(path).account("cc")
    assert acc.content_type == "application/soap+xml; charset=utf-8"
    assert acc.oauth_scope == "FaxWS offline_access"
    save_config(load_config(path))
    assert load_config(path).account("cc") == acc
    plain = dataclasses.replace(acc, content_type=None, oauth_scope=None)
    save_config(dataclasses.replace(load_config(path), accounts=(plain,)))
    text = path.read_text()
    assert "content_type" not in text and "oauth_scope" not in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('content_type = "soap please"', "key 'content_type': must be a media type"),
        ('oauth_scope = "FaxWS  two-spaces"',
         "key 'oauth_scope': must be scope names separated by single spaces"),
    ],
)
def test_bad_concord_transport_settings_are_one_line_errors(tmp_path: Path, extra: str, message: str) -> None:
    text = CONCORD_CLIENT_CREDENTIALS + f"        {extra}\n"
    assert message in load_error(tmp_path / "c.toml", text)


def test_oauth_scope_needs_client_credentials(tmp_path: Path) -> None:
    text = """
        [[accounts]]
        name = "cc"
        service = "concord"
        user_id = "mbx1"
        token_env = "CC_TOKEN"
        oauth_scope = "FaxWS"
    """
    error = load_error(tmp_path / "c.toml", text)
    assert "key 'oauth_scope': is only used with OAuth client credentials" in error


def test_interfax_accounts_refuse_concord_transport_settings(tmp_path: Path) -> None:
    text = """
        [[accounts]]
        name = "ifx"
        service = "interfax"
        username = "ops"
        password_env = "IFX_PASSWORD"
        content_type = "text/xml"
    """
    assert "key 'content_type': is a concord setting" in load_error(tmp_path / "c.toml", text)
