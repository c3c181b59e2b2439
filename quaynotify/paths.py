"""Where the config file and the state directory live: platformdirs plus overrides."""

from __future__ import annotations

import os
import stat
from pathlib import Path

APP_NAME = "quaynotify"
CONFIG_ENV = "QUAYNOTIFY_CONFIG"
STATE_DIR_ENV = "QUAYNOTIFY_STATE_DIR"
STATE_URL_ENV = "QUAYNOTIFY_STATE_URL"


def config_path(override: str | os.PathLike[str] | None = None) -> Path:
    """`--config`, else `$QUAYNOTIFY_CONFIG`, else the platform's config dir."""
    chosen = override or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def state_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """`--state-dir`, else `$QUAYNOTIFY_STATE_DIR`, else the platform's state dir."""
    chosen = override or os.environ.get(STATE_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME))


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotAFileError(OSError):
    """The path is something other than a regular file; `kind` says what ("a directory")."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind}, not a regular file")
        self.kind = kind


def file_kind(mode: int) -> str | None:
    """What a file of this st_mode is when it is not a regular file, else None."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most `limit` + 1 bytes of the regular file at `path` (more than `limit` means it is
    too big). Anything else raises NotAFileError before a byte is read: a FIFO would block for
    ever (O_NONBLOCK: not even the open waits for a writer), /dev/zero never end."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotAFileError(kind)
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)
