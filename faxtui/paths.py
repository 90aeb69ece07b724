"""Where faxtui keeps its files, and the two file-system primitives both stores need.

- `config_path()` and `data_dir()` resolve the locations DESIGN §2 fixes: a command-line value,
  else an environment variable, else the platform's per-user directory.
- `make_private_dir()` creates missing directories owner-only (0700).
- `atomic_write()` replaces a file so that a reader, or a crash at any instant, sees either the
  old content or the new, never a mix; the file is owner-only (0600) from the first byte.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

import platformdirs

APP_NAME = "faxtui"
ENV_CONFIG = "FAXTUI_CONFIG"
ENV_DATA_DIR = "FAXTUI_DATA_DIR"
CONFIG_FILENAME = "config.toml"

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

PathArg = str | os.PathLike[str]


def _given(value: PathArg | None) -> Path | None:
    """A user-supplied path, with `~` expanded; an empty string counts as not given."""
    if value is None:
        return None
    text = os.fspath(value)
    return Path(text).expanduser() if text else None


def config_path(cli_value: PathArg | None = None) -> Path:
    """`--config` value, else `$FAXTUI_CONFIG`, else `<user config dir>/faxtui/config.toml`."""
    return (
        _given(cli_value)
        or _given(os.environ.get(ENV_CONFIG))
        or platformdirs.user_config_path(APP_NAME) / CONFIG_FILENAME
    )


def data_dir(cli_value: PathArg | None = None) -> Path:
    """The state directory: a command-line value, else `$FAXTUI_DATA_DIR`, else the user data dir.

    Only resolves the path; `make_private_dir` (called by `Store.open`) creates it.
    """
    return _given(cli_value) or _given(os.environ.get(ENV_DATA_DIR)) or platformdirs.user_data_path(APP_NAME)


def make_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700.

    Directories that already exist keep their mode: a user's choice for an existing directory
    (say, a shared parent) is not ours to change.
    """
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # created by another process meanwhile
            continue
        path.chmod(PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable. Not every platform can open a directory; then there is nothing to do."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace `path` with `data`: temp file in the same directory, fsync, rename, fsync the directory.

    The temp file is created with `mode` (O_EXCL, so never someone else's file) and so is never
    readable by others, even for an instant. A symlink at `path` is followed: the file it points
    to is replaced and the link is kept (dotfile managers rely on that).
    """
    target = path.resolve() if path.is_symlink() else path
    directory = target.parent
    make_private_dir(directory)
    temp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed it; make it exactly `mode`
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(directory)
