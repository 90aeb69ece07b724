"""The `faxtui` command (DESIGN §2). Textual is imported only for the TUI commands.

Heavy modules (httpx, lxml, textual) are imported inside the command that needs them, so
`faxtui --version` and `faxtui status --help` start in a few tens of milliseconds.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faxtui import __version__

if TYPE_CHECKING:
    from datetime import datetime

    from faxtui.config import AccountConfig, Config, SecretRef

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or bad config: one line on stderr, exit 2."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $FAXTUI_CONFIG or the platform config dir)")
    parser.add_argument("--store", metavar="URL", default=argparse.SUPPRESS,
                        help="state store: sqlite:////abs/path or postgresql://user@host:port/db "
                             "(default: $FAXTUI_STORE, the config's [store] url, SQLite in the data dir)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faxtui", description="Watch outbound faxes on InterFax and Concord Fax, live.",
    )
    parser.add_argument("--version", action="version", version=f"faxtui {__version__}")
    _common(parser)
    parser.add_argument("--no-mouse", action="store_true", help="leave the mouse to the terminal")
    parser.add_argument("--follow", action="store_true",
                        help="never poll: show what the store's pollers write (team mode; no secrets needed)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="the TUI against the built-in simulator, no account needed")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--speed", type=float, default=1.0, help="simulated time per real second")
    demo.add_argument("--no-mouse", action="store_true")

    sim = sub.add_parser("sim", help="run the simulator of both services alone", add_help=False)
    sim.add_argument("sim_args", nargs=argparse.REMAINDER)

    status = sub.add_parser("status", help="poll every (or the named) account once and print")
    _common(status)
    status.add_argument("--json", action="store_true", help="one JSON object (DESIGN §2)")
    status.add_argument("--no-poll", action="store_true",
                        help="call no service: print what the store holds (every account it knows), "
                             "who polls each account and how old its last good poll is; no secret needed")
    status.add_argument("--account", action="append", metavar="NAME", help="only this account (repeatable)")

    accounts = sub.add_parser("accounts", help="manage accounts")
    acc_sub = accounts.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = acc_sub.add_parser("list", help="list accounts (never shows secrets)")
    _common(listing)
    listing.add_argument("--json", action="store_true")
    add = acc_sub.add_parser("add", help="add an account (prompts for what is not given)")
    _common(add)
    add.add_argument("--name")
    add.add_argument("--service", choices=["interfax", "concord"])
    add.add_argument("--endpoint")
    add.add_argument("--soap-version", choices=["1.1", "1.2"])
    add.add_argument("--poll-seconds", type=float)
    add.add_argument("--username", help="InterFax username")
    add.add_argument("--password-env", metavar="VAR")
    add.add_argument("--password-command", metavar="CMD")
    add.add_argument("--user-id", help="Concord UserID (mbx…)")
    add.add_argument("--token-env", metavar="VAR")
    add.add_argument("--token-command", metavar="CMD")
    add.add_argument("--token-url")
    add.add_argument("--client-id")
    add.add_argument("--client-secret-env", metavar="VAR")
    add.add_argument("--client-secret-command", metavar="CMD")
    add.add_argument("--pin-env", metavar="VAR")
    add.add_argument("--pin-command", metavar="CMD")
    add.add_argument("--auth", choices=["token", "oauth", "pin"], help="Concord: how to authenticate")
    add.add_argument("--allow-insecure", action="store_true", help="allow a plain http:// endpoint")
    add.add_argument("--test", action="store_true", help="make one call before saving")
    remove = acc_sub.add_parser("remove", help="remove an account")
    _common(remove)
    remove.add_argument("name")
    test = acc_sub.add_parser("test", help="one real call per account, one line each")
    _common(test)
    test.add_argument("names", nargs="*", metavar="NAME")

    watch = sub.add_parser("watch", help="manage the watch list")
    w_sub = watch.add_subparsers(dest="action", metavar="ACTION", required=True)
    w_list = w_sub.add_parser("list", help="list watched ids")
    _common(w_list)
    w_list.add_argument("--account", metavar="NAME")
    w_list.add_argument("--json", action="store_true")
    for verb in ("add", "remove"):
        w = w_sub.add_parser(verb, help=f"{verb} ids (InterFax transaction ids, Concord br… or JRI-<ref>)")
        _common(w)
        w.add_argument("--account", metavar="NAME", required=True)
        if verb == "add":
            w.add_argument("--label", default="")
        w.add_argument("ids", nargs="+", metavar="ID")

    poll = sub.add_parser("poll", help="the headless poller of team mode: polls what it wins the lease of")
    _common(poll)
    poll.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics at http://HOST:PORT/metrics")

    db = sub.add_parser("db", help="the state store's schema")
    db_sub = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = db_sub.add_parser("init", help="create or upgrade the schema; print a viewer role's GRANTs")
    _common(init)
    init.add_argument("--viewer-role", metavar="NAME", default="faxtui_viewer",
                      help="the read-only role the printed GRANTs are for (default: faxtui_viewer)")
    return parser


# --- helpers -------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Config:
    from faxtui.config import ConfigError, config_path, load_config

    try:
        return load_config(config_path(getattr(args, "config", None)))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _store_url(args: argparse.Namespace, config: Config | None) -> str | None:
    """The store URL in force (DESIGN §8): --store, $FAXTUI_STORE, [store] url; None: SQLite in
    the data directory. The config is read only when the first two say nothing."""
    from faxtui.store.url import resolve_store_url

    url = resolve_store_url(getattr(args, "store", None), None)
    if url is not None:
        return url
    return (config if config is not None else _load(args)).store.url


def _open_store(url: str | None) -> Any:
    """The state store `url` names (None: SQLite in the data directory); a damaged SQLite file was
    moved aside and rebuilt: say so on stderr, in one line. A bad URL or store: UsageError."""
    from faxtui.store import StoreError
    from faxtui.store.url import open_store

    try:
        store = open_store(url)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    notice = store.recovery_notice()
    if notice is not None:
        print(f"faxtui: {notice}", file=sys.stderr)
    return store


# --- status --------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, *, now: Callable[[], datetime] | None = None) -> int:
    import asyncio

    from faxtui.clock import utc_now
    from faxtui.config import ConfigError
    from faxtui.poller import Poller
    from faxtui.report import dumps_json, status_json, write_table
    from faxtui.team.leases import holder_name

    if args.no_poll:
        return _status_from_store(args, now or utc_now)
    config = _load(args)
    if not config.accounts:
        raise UsageError(f"{config.path}: no accounts configured (add one with `faxtui accounts add`)")
    names = args.account or [a.name for a in config.accounts]
    for name in names:
        if all(a.name != name for a in config.accounts):
            raise UsageError(f"{config.path}: no account named {name!r}")

    async def run() -> tuple[list[Any], list[Any], set[tuple[str, str]]]:
        with _open_store(_store_url(args, config)) as store:
            poller = Poller(config, store)
            for acc in config.accounts:
                wait = poller.budget_for(acc).wait_time() if acc.name in names else 0.0
                if wait > 1:  # earlier runs used this user's calls: say why we are quiet
                    print(f"faxtui: {acc.name}: waiting {wait:.0f} s for the service's rate limit "
                          f"(calls made in the last minute, by this or another faxtui)", file=sys.stderr)
            try:
                statuses = await poller.poll_once(names)
            finally:
                await poller.aclose()
            polled_by = holder_name()
            for polled in statuses.values():
                polled.polled_by = polled_by  # DESIGN §2 "poller": this process polled it
            answered = {n for n, s in statuses.items() if s.last_error is None}
            jobs = sorted(
                (j for j in poller.jobs.values() if j.account in answered),
                key=lambda j: (names.index(j.account), -_order_key(j.job_id)),
            )
            watched = {(w.account, w.lookup_id) for w in poller.watch_list()}
            return list(statuses.values()), jobs, watched

    try:
        statuses, jobs, watched = asyncio.run(run())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        sys.stdout.write(dumps_json(status_json(statuses, jobs, watched, utc_now())))
        sys.stdout.write("\n")
    else:
        write_table(statuses, jobs, sys.stdout)
    return EXIT_OK if all(s.last_error is None for s in statuses) else EXIT_FAILED


def _order_key(job_id: str) -> int:
    return int(job_id) if job_id.isdigit() else 0


def _store_name(url: str | None) -> str:
    """How a message names the store (never with a password)."""
    if url is not None:
        from faxtui.store.url import redact_url

        return redact_url(url)
    from faxtui.paths import data_dir

    return f"the store in {data_dir()}"


def _require_sqlite_file(url: str | None) -> None:
    """A command that only reads the store must not create one: a SQLite file that is not there is
    a mistyped path (or a poller that never ran), said in one line."""
    from faxtui.store import StoreError
    from faxtui.store.url import parse_store_url

    if url is None:
        from faxtui.paths import data_dir
        from faxtui.store.sqlite import DB_FILENAME

        path = data_dir() / DB_FILENAME
    else:
        try:
            location = parse_store_url(url)
        except StoreError as exc:
            raise UsageError(str(exc)) from None
        if location.path is None:
            return
        path = location.path
    if not path.exists():
        raise UsageError(f"no store at {path} (a poller creates it; so does `faxtui db init`)")


def _status_from_store(args: argparse.Namespace, now: Callable[[], datetime]) -> int:
    """`faxtui status --no-poll`: the store's picture, no service called, no secret or account
    config needed (the config is read only to find the store when neither --store nor
    $FAXTUI_STORE names it). Exit 1 when an account's last poll failed or its last good poll is
    older than 3 poll intervals."""
    from faxtui.report import dumps_json, store_status_json, store_view, write_table

    url = _store_url(args, None)
    _require_sqlite_file(url)
    with _open_store(url) as store:
        at = now()
        records = {r.account: r for r in store.account_records(at.timestamp())}
        names: list[str] = list(dict.fromkeys(args.account)) if args.account else list(records)
        unknown = [n for n in names if n not in records]
        if unknown:
            known = ", ".join(records) or "none yet: no poller has written to it"
            raise UsageError(f"{_store_name(url)} knows no account named {unknown[0]!r} (accounts: {known})")
        jobs = sorted(
            (j for name in names for j in store.load_jobs(name)),
            key=lambda j: (names.index(j.account), -_order_key(j.job_id)),
        )
        watched = {(w.account, w.lookup_id) for w in store.watch_list()}
    counts = {name: sum(1 for j in jobs if j.account == name) for name in names}
    views = [store_view(records[name], counts[name], at) for name in names]
    if args.json:
        sys.stdout.write(dumps_json(store_status_json(views, jobs, watched, at)))
        sys.stdout.write("\n")
    elif not views:
        print(f"{_store_name(url)} knows no account yet (no poller has written to it)")
    else:
        write_table([v.status for v in views], jobs, sys.stdout, views={v.status.name: v for v in views})
    return EXIT_FAILED if any(v.failing for v in views) else EXIT_OK


# --- accounts ------------------------------------------------------------------------------


def _ask(prompt: str, default: str | None = None) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise UsageError(f"{prompt.lower()} is required (give it as a flag)")
        return line.strip() or (default or "")
    suffix = f" [{default}]" if default else ""
    return input(f"{prompt}{suffix}: ").strip() or (default or "")


def _ask_secret(prompt: str) -> str:
    """Read a secret without echoing it (from a terminal), or one line of stdin (from a pipe)."""
    if sys.stdin.isatty():
        value = getpass.getpass(f"{prompt} (not shown): ")
    else:
        value = sys.stdin.readline().rstrip("\n")
    if not value:
        raise UsageError(f"{prompt.lower()} is required")
    return value


def _secret(env: str | None, command: str | None, prompt: str) -> SecretRef:
    from faxtui.config import SecretRef

    if env and command:
        raise UsageError(f"give one of the env and command sources for the {prompt.lower()}, not both")
    if env:
        return SecretRef(env=env)
    if command:
        return SecretRef(command=command)
    return SecretRef(value=_ask_secret(prompt))


def _account_from_args(args: argparse.Namespace, config: Config) -> AccountConfig:
    from faxtui.config import DEFAULT_ENDPOINTS, DEFAULT_POLL_SECONDS, AccountConfig

    name = args.name or _ask("Account name")
    if any(a.name == name for a in config.accounts):
        raise UsageError(f"{config.path}: an account named {name!r} already exists")
    service = args.service or _ask("Service (interfax or concord)")
    if service not in DEFAULT_ENDPOINTS:
        raise UsageError(f"unknown service {service!r} (interfax or concord)")
    endpoint = args.endpoint or DEFAULT_ENDPOINTS[service]
    common: dict[str, Any] = {
        "name": name, "service": service, "endpoint": endpoint,
        "poll_seconds": args.poll_seconds or DEFAULT_POLL_SECONDS[service],
        "soap_version": args.soap_version or "1.1", "allow_insecure": args.allow_insecure,
    }
    if service == "interfax":
        username = args.username or _ask("InterFax username")
        password = _secret(args.password_env, args.password_command, "Password")
        return AccountConfig(username=username, password=password, **common)
    user_id = args.user_id or _ask("Concord UserID (mbx…)")
    auth = args.auth or (
        "token" if args.token_env or args.token_command
        else "oauth" if args.token_url or args.client_id
        else "pin" if args.pin_env or args.pin_command
        else _ask("Authentication (token, oauth or pin)", "oauth")
    )
    if auth == "token":
        token = _secret(args.token_env, args.token_command, "Bearer token")
        return AccountConfig(user_id=user_id, token=token, **common)
    if auth == "oauth":
        token_url = args.token_url or _ask("OAuth token URL")
        client_id = args.client_id or _ask("OAuth client id")
        client_secret = _secret(args.client_secret_env, args.client_secret_command, "Client secret")
        return AccountConfig(user_id=user_id, token_url=token_url, client_id=client_id,
                             client_secret=client_secret, **common)
    if auth == "pin":
        return AccountConfig(user_id=user_id, pin=_secret(args.pin_env, args.pin_command, "PIN"), **common)
    raise UsageError(f"unknown authentication {auth!r} (token, oauth or pin)")


def _test_one(acc: AccountConfig, store_url: str | None) -> tuple[bool, str]:
    """One test call, taken from the rate budget this account's user shares with every faxtui."""
    import asyncio

    from faxtui.poller import budget_for_check, check_account

    with _open_store(store_url) as store:
        return asyncio.run(check_account(acc, budget=budget_for_check(acc, store)))


def cmd_accounts(args: argparse.Namespace) -> int:
    from faxtui.config import ConfigError, describe_account, save_config

    config = _load(args)
    if args.action == "list":
        rows = [describe_account(a) for a in config.accounts]
        if args.json:
            json.dump(rows, sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif not rows:
            print(f"No accounts in {config.path}. Add one with `faxtui accounts add`.")
        else:
            keys = list(rows[0])
            widths = {k: max(len(k), *(len(r.get(k, "")) for r in rows)) for k in keys}
            print("  ".join(k.upper().ljust(widths[k]) for k in keys).rstrip())
            for r in rows:
                print("  ".join(r.get(k, "").ljust(widths[k]) for k in keys).rstrip())
        return EXIT_OK
    try:
        if args.action == "add":
            acc = _account_from_args(args, config)
            if args.test:
                ok, line = _test_one(acc, _store_url(args, config))
                print(line)
                if not ok:
                    return EXIT_FAILED
            save_config(config.with_account(acc))
            print(f"Added {acc.name} ({acc.service}) to {config.path}")
            return EXIT_OK
        if args.action == "remove":
            config.account(args.name)
            save_config(config.without_account(args.name))
            print(f"Removed {args.name} from {config.path} (its watch list and history are kept)")
            return EXIT_OK
        # test
        names = args.names or [a.name for a in config.accounts]
        if not names:
            raise UsageError(f"{config.path}: no accounts configured")
        results = [_test_one(config.account(n), _store_url(args, config)) for n in names]
        for _, line in results:
            print(line)
        return EXIT_OK if all(ok for ok, _ in results) else EXIT_FAILED
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


# --- watch ---------------------------------------------------------------------------------


def cmd_watch(args: argparse.Namespace) -> int:
    config = _load(args)
    with _open_store(_store_url(args, config)) as store:
        if args.action == "list":
            entries = store.watch_list(args.account)
            if args.json:
                json.dump([{"account": e.account, "id": e.lookup_id, "label": e.label,
                            "added_at": e.added_at.isoformat()} for e in entries], sys.stdout, indent=2)
                sys.stdout.write("\n")
            elif not entries:
                print("The watch list is empty.")
            else:
                from faxtui.errors import one_line

                width = max(len(one_line(e.account, 60)) for e in entries)
                for e in entries:
                    cells = (one_line(e.account, 60).ljust(width), one_line(e.lookup_id, 80),
                             one_line(e.label))
                    print("  ".join(cells).rstrip())
            return EXIT_OK
        name = args.account
        service = _watch_service(config, store, name, _store_name(_store_url(args, config)))
        if args.action == "add":
            from faxtui.services.registry import adapter_for

            try:
                ids = [adapter_for(service).validate_id(i) for i in args.ids]
            except KeyError as exc:  # a service this faxtui does not know, named by the store
                raise UsageError(f"account {name!r}: {exc.args[0]}") from None
            except ValueError as exc:
                raise UsageError(f"account {name!r}: {exc}") from None
            for i in ids:
                store.add_watch(name, i, args.label)
            print(f"Watching {len(ids)} id(s) on {name}")
            return EXIT_OK
        missing = [i for i in args.ids if not store.remove_watch(name, i.strip())]
        for i in missing:
            print(f"faxtui: {i!r} was not on the watch list of {name}", file=sys.stderr)
        return EXIT_FAILED if missing else EXIT_OK


def _watch_service(config: Config, store: Any, name: str, store_name: str) -> str:
    """The service of the account `watch add|remove` names: the config's when it is configured,
    else the store's (what its poller wrote), so a viewer needs neither the account nor its secrets."""
    import time

    if config.has_account(name):
        return config.account(name).service
    for record in store.account_records(time.time()):
        if record.account == name:
            if record.service is None:
                raise UsageError(f"{store_name} does not say which service account {name!r} uses, and "
                                 f"{config.path} has no account of that name")
            return str(record.service)
    configured = ", ".join(a.name for a in config.accounts) or "none configured"
    raise UsageError(f"no account named {name!r} in {config.path} (accounts: {configured}) "
                     f"nor in {store_name}")


# --- db ------------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace) -> int:
    """`faxtui db init`: create or upgrade the schema; the GRANTs of a read-only viewer role on
    stdout (SQL, ready for psql), after a comment line saying what was done."""
    from faxtui.store import StoreError
    from faxtui.store.url import init_store

    try:
        report = init_store(_store_url(args, None), viewer_role=args.viewer_role)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    print(f"-- {report.summary()}")
    print(f"-- a read-only viewer (it may add and remove watches, nothing else), as {args.viewer_role}:")
    for line in report.grants:
        print(line)
    return EXIT_OK


# --- poll ----------------------------------------------------------------------------------


def cmd_poll(args: argparse.Namespace) -> int:
    from faxtui.headless import run_poll
    from faxtui.poller import Poller
    from faxtui.store.url import redact_url

    config = _load(args)
    if not config.accounts:
        raise UsageError(f"{config.path}: no accounts configured (add one with `faxtui accounts add`)")
    url = _store_url(args, config)
    metrics_at: str | None = args.metrics
    if metrics_at is not None:
        from faxtui.metrics import parse_address

        try:
            parse_address(metrics_at)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def serve_metrics(poller: Poller) -> Callable[[], None] | None:
        if metrics_at is None:
            return None
        from faxtui.metrics import start_metrics

        return start_metrics(metrics_at, poller).close

    with _open_store(url) as store:
        where = redact_url(url) if url else "SQLite in the data directory"
        try:
            return run_poll(config, store, where, on_start=serve_metrics)
        except OSError as exc:  # the metrics address cannot be served (in use, not this machine's)
            raise UsageError(str(exc)) from None


# --- entry ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    # What goes wrong reaches the user as one clear line from the command itself (a failed account,
    # a rebuilt database); Python's last-resort handler would add raw, duplicate lines to stderr.
    logging.getLogger("faxtui").addHandler(logging.NullHandler())
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sim"]:
        from faxtui.sim import main as sim_main

        return sim_main(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        if args.command is None:
            from faxtui.tui.app import run_app

            cfg = getattr(args, "config", None)
            return run_app(Path(cfg) if cfg else None, mouse=not args.no_mouse,
                           store_url=getattr(args, "store", None), follow=args.follow)
        if args.command == "demo":
            from faxtui.tui.demo import run_demo

            return run_demo(args.seed, args.speed, mouse=not args.no_mouse)
        if args.command == "status":
            return cmd_status(args)
        if args.command == "accounts":
            return cmd_accounts(args)
        if args.command == "watch":
            return cmd_watch(args)
        if args.command == "db":
            return cmd_db(args)
        if args.command == "poll":
            return cmd_poll(args)
    except UsageError as exc:
        print(f"faxtui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error of ours. Keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    parser.error(f"unknown command {args.command!r}")
