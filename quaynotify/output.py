"""The only writer: results to stdout (a table on a terminal, tab-separated when piped, or
JSON), diagnostics to stderr, secrets masked."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

PROG = "quaynotify"
PROGRESS_THRESHOLD = 5  # fewer deliveries than this finish before a bar is worth drawing


def _color_wanted(stream: TextIO) -> bool | None:
    """NO_COLOR and CLICOLOR=0 turn colour off, CLICOLOR_FORCE turns it on; None: decide by tty."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("CLICOLOR_FORCE", "0") not in ("", "0"):
        return True
    if os.environ.get("CLICOLOR") == "0":
        return False
    return None


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Output:
    as_json: bool = False
    quiet: bool = False
    show_secrets: bool = False

    # stdout and stderr are looked up on each write, so that test capture and redirection work.
    @property
    def out(self) -> TextIO:
        return sys.stdout

    @property
    def err(self) -> TextIO:
        return sys.stderr

    # -- stdout: results -----------------------------------------------------------------------

    def json(self, document: Any) -> None:
        json.dump(document, self.out, indent=2, ensure_ascii=False, default=str)
        self.out.write("\n")

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table on a terminal; tab-separated lines, untruncated and headerless, when piped."""
        cells = [["" if v is None else str(v) for v in row] for row in rows]
        if not is_terminal(self.out):
            for row in cells:
                self.out.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row))
                self.out.write("\n")
            return
        from rich.table import Table

        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in cells:
            table.add_row(*row)
        self._console(self.out).print(table)

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """Key: value lines (for `show` commands); aligned on a terminal, tab-separated piped."""
        if not is_terminal(self.out):
            for key, value in pairs:
                self.out.write(f"{key}\t{_flat(value)}\n")
            return
        width = max((len(k) for k, _ in pairs), default=0)
        for key, value in pairs:
            self.out.write(f"{key + ':':<{width + 1}} {_flat(value)}\n")

    def _console(self, stream: TextIO) -> Any:
        from rich.console import Console

        color = _color_wanted(stream)
        # no_color alone keeps bold; no colour system at all means no escape codes.
        system = {False: None, True: "standard", None: "auto"}[color]
        return Console(
            file=stream,
            color_system=system,  # type: ignore[arg-type]
            force_terminal=True if color else None,
            highlight=False,
            soft_wrap=False,
        )

    # -- stderr: diagnostics -------------------------------------------------------------------

    def note(self, message: str) -> None:
        if not self.quiet:
            self.err.write(f"{PROG}: {message}\n")

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.err.write(f"{PROG}: warning: {message}\n")

    def error(self, message: str) -> None:
        self.err.write(f"{PROG}: error: {one_line(message)}\n")

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Callable[[object], None] | None]:
        """A progress bar on stderr, only on a terminal and when there is more than a handful
        to do; yields the callable to advance it (or None)."""
        if self.quiet or total <= PROGRESS_THRESHOLD or not is_terminal(self.err):
            yield None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        columns = (label, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self._console(self.err), transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda _done: bar.advance(task)

    # -- masking -------------------------------------------------------------------------------

    def mask_config(self, method: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """A rule's method config with its secret fields masked (unless --show-secrets)."""
        if self.show_secrets:
            return dict(config)
        return mask_config(method, config)


def mask_config(method: str, config: Mapping[str, Any]) -> dict[str, Any]:
    from quaynotify.methods import METHODS
    from quaynotify.methods.base import mask_secret, mask_url

    cls = METHODS.get(method)
    secret = {f.name for f in cls.fields if f.secret} if cls else set(config)
    masked = {}
    for key, value in config.items():
        if key in secret:
            masked[key] = mask_secret(str(value))
        elif key == "url" and isinstance(value, str):
            masked[key] = mask_url(value)
        else:
            masked[key] = value
    return masked


def one_line(message: str) -> str:
    return " ".join(message.split())


def _flat(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)
