"""Running the CLI: in-process through its real error boundary (the `cli` fixture of
conftest.py returns a `Result`), or as the installed console script in a subprocess; and the
error contract every failing command keeps."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

CONSOLE = str(Path(sys.executable).with_name("quaynotify"))  # the virtualenv's console script
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ERROR = "quaynotify: error: "


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


Cli = Callable[..., Result]  # the `cli` fixture: cli(*args, stdin=None) -> Result


def console(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The installed command run as a user runs it, its output captured as text."""
    return subprocess.run(
        [CONSOLE, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def one_error(result: Result, code: int) -> str:
    """The error contract: the exit code, nothing on stdout, ONE line on stderr; the message."""
    assert result.code == code, (result.code, result.err)
    assert result.out == ""
    assert result.err.startswith(ERROR), result.err
    assert result.err.endswith("\n") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err
    return result.err[len(ERROR) : -1]


def command_paths(*, hidden: bool = False) -> list[tuple[str, ...]]:
    """Every command and group as typed, the root `()` first: ("emit",), ("rule", "add"), ...
    Asked of each group as Click asks it (the root builds a command only when asked for it);
    hidden commands only when `hidden`."""
    from typing import Any

    import typer

    from quaynotify.cli.app import app

    paths: list[tuple[str, ...]] = []

    def walk(command: Any, ctx: typer.Context, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name in getattr(command, "list_commands", lambda ctx: [])(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and (hidden or not sub.hidden):
                walk(sub, typer.Context(sub, info_name=name, parent=ctx), (*path, name))

    root = typer.main.get_command(app)
    walk(root, typer.Context(root, info_name="quaynotify"), ())
    return paths
