"""The config file on disk, for a writer: where a write really goes (the end of its chain of
symlinks; a hard-linked file is refused, never forked), the lock beside it, and the atomic
replacement that leaves the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from quaynotify.config.load import check_regular
from quaynotify.errors import ConfigError

_MAX_SYMLINKS = 40  # as Linux's own limit on a path's symlinks


def write_target(path: Path) -> Path:
    """The file an edit of the config at `path` writes: the end of its chain of symlinks (the
    target need not exist yet), so that the link survives and the file it points to is the one
    changed. A hard-linked file is refused: renaming a new file over one of its names would
    leave the others with the old rules, and rewriting it in place would not be atomic."""
    current = path
    for _ in range(_MAX_SYMLINKS):
        try:
            link = os.readlink(current)
        except FileNotFoundError:
            break  # does not exist yet: created by the edit
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                break  # not a symlink: the file itself
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
        current = current.parent / link  # an absolute link replaces the whole path
    else:
        raise ConfigError(
            f"config {path}: too many levels of symbolic links (a loop?): point --config at a file"
        )
    # Relative links are relative to the directory holding them, which may be reached through
    # other links: let the OS resolve the directory, and keep the name.
    target = Path(os.path.realpath(current.parent)) / current.name
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    check_regular(path, st.st_mode)
    if st.st_nlink > 1:
        raise ConfigError(
            f"config {path} has {st.st_nlink} hard links: writing it would leave the other "
            "names with the old rules; make them symbolic links to it (ln -sf), then try again"
        )
    return target


@contextmanager
def locked(path: Path) -> Iterator[Path]:
    """An exclusive lock beside the file written (the symlink's target): concurrent editors
    take turns, readers never wait. Yields that file's path."""
    import fcntl

    target = write_target(path)
    lock_path = target.with_name(f".{target.name}.lock")
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot lock config {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Temp files are only written under this lock: any left now are a killed writer's.
        for litter in target.parent.glob(f".{target.name}.*.tmp"):
            with contextlib.suppress(OSError):
                litter.unlink()
        # Another editor may have replaced the link while we waited for the lock.
        if write_target(path) != target:
            raise ConfigError(f"config {path} was re-linked during the edit: try again")
        yield target
    finally:
        os.close(fd)  # closing releases the lock


def atomic_write(path: Path, shown: Path, text: str) -> None:
    """Write to a temp file beside `path`, fsync, rename over it: old or new, never half.
    A full disk or a file-size limit leaves the old file as it was (`shown` names the config
    in messages, as the user gave it)."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _not_written(shown, exc) from None
    try:
        os.fchmod(fd, 0o600)  # the file may hold secrets
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # ENOSPC, EFBIG, EDQUOT, EIO...
            raise _not_written(shown, exc) from None
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise ConfigError(
            f"config {shown} was written, but its directory could not be synced: {exc.strerror}"
        ) from None


def _not_written(shown: Path, exc: OSError) -> ConfigError:
    return ConfigError(f"cannot write config {shown}: {exc.strerror}; it was left unchanged")
