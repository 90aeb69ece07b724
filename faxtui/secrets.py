"""Turning a secret reference into the secret, only when a request needs it: inline, from an
environment variable, or from a command's first output line (run without a shell, with a timeout,
in its own process group). No message ever holds the secret."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess

from faxtui.config.model import SecretError, SecretRef


def _run_secret_command(ref: SecretRef, *, what: str, account: str, timeout: float) -> str:
    """Run the command without a shell; its first output line is the secret, never put in a message."""
    assert ref.command is not None
    program = ref.program or "?"

    def fail(reason: str) -> SecretError:
        return SecretError(f"account '{account}': {what} command '{program}' {reason}")

    try:
        argv = shlex.split(ref.command)
    except ValueError:
        raise fail("cannot be split into arguments") from None
    if not argv:
        raise fail("is empty")
    try:
        # Own process group: on timeout the whole group is killed, so a grandchild holding the
        # pipe open cannot hang us. stderr is discarded: it would garble a TUI and may echo input.
        proc = subprocess.Popen(  # noqa: S603 - no shell; the user configured this command
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
    except FileNotFoundError:
        raise fail("not found") from None
    except PermissionError:
        raise fail("is not executable") from None
    except OSError as err:
        raise fail(f"could not start ({err.strerror or type(err).__name__})") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise fail(f"timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        status = (
            f"was killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"failed with exit status {proc.returncode}"
        )
        raise fail(status)
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("printed something that is not UTF-8 text") from None
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line:
        raise fail("printed nothing")
    return first_line


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.communicate()


def resolve_secret(ref: SecretRef, *, what: str, account: str, timeout: float = 10.0) -> str:
    """The secret itself, for the request that needs it. Blocking (a command may run): call it from
    a worker thread in async code. Raises SecretError, whose message never holds the secret.

    A command is run without a shell, with `timeout`; the secret is the first line of its output
    (so `pass show …`, whose first line is the password by convention, works as is).
    """
    if ref.value is not None:
        return ref.value
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise SecretError(f"account '{account}': environment variable {ref.env} ({what}) is not set")
        if not value:
            raise SecretError(f"account '{account}': environment variable {ref.env} ({what}) is empty")
        return value
    return _run_secret_command(ref, what=what, account=account, timeout=timeout)
