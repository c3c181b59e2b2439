"""The only writer: results to stdout (a table on a terminal, tab-separated when piped, or
JSON), diagnostics to stderr, secrets masked, and data that cannot drive the terminal."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from quaynotify.masking import scrub

PROG = "quaynotify"
PROGRESS_THRESHOLD = 5  # fewer deliveries than this finish before a bar is worth drawing

# Control characters (C0, DEL, C1) in data would reach the terminal and drive it: retitle the
# window, clear the screen, rewrite a line. Every human-readable output shows them as Python's
# repr does (ESC as the four characters \x1b, a tab as \t), so they are visible and inert.
# Bidirectional controls reorder what a line shows (a title that displays as something else):
# they are shown as \u escapes too.
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPES = {c: _SHORT.get(chr(c), f"\\x{c:02x}") for c in _CONTROLS} | {
    c: f"\\u{c:04x}" for c in _BIDI
}
_UNSAFE = re.compile("[" + "".join(f"\\u{c:04x}" for c in sorted(_ESCAPES)) + "]")
_ESCAPES_KEEPING_LAYOUT = {c: e for c, e in _ESCAPES.items() if chr(c) not in "\t\n"}
# JSON escapes C0 itself; DEL, C1 and bidi controls are legal raw in a JSON string, so they get
# \u escapes:
# the document decodes to the same values.
_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in [*_CONTROLS, *_BIDI] if c >= 0x7F}


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
        text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
        self.out.write(scrub(text).translate(_JSON_ESCAPES) + "\n")

    def line(self, text: str = "") -> None:
        """Free text (a dry-run preview, an id): its tabs and newlines are layout."""
        self.out.write(visible(text, keep_layout=True) + "\n")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table on a terminal; tab-separated lines, untruncated and headerless, when piped.
        A cell is one line either way: its tabs and newlines are shown as \\t and \\n."""
        cells = [[visible("" if v is None else str(v)) for v in row] for row in rows]
        if not is_terminal(self.out):
            for row in cells:
                self.out.write("\t".join(row) + "\n")
            return
        from rich.table import Table
        from rich.text import Text

        # Cells are Text, never markup: a title "[/bold]" or "[link=...]" is shown as written.
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(Text(column), overflow="fold")
        for row in cells:
            table.add_row(*(Text(cell) for cell in row))
        self._console(self.out).print(table)

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """Key: value lines (for `show` commands); aligned on a terminal, tab-separated piped.
        A value is one line either way, as a table's cell is."""
        shown = [(visible(key), visible(_flat(value))) for key, value in pairs]
        if not is_terminal(self.out):
            for key, value in shown:
                self.out.write(f"{key}\t{value}\n")
            return
        width = max((len(k) for k, _ in shown), default=0)
        for key, value in shown:
            self.out.write(f"{key + ':':<{width + 1}} {value}\n")

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
            self.problem(message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.problem(f"warning: {message}")

    def problem(self, message: str) -> None:
        """One diagnostic line that --quiet does not silence (one of several problems that
        make up an error)."""
        self.err.write(f"{PROG}: {visible(message)}\n")

    def error(self, message: str) -> None:
        self.err.write(f"{PROG}: error: {visible(_whitespace_folded(message))}\n")

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


def visible(text: str, *, keep_layout: bool = False) -> str:
    """`text` with every control character replaced by its visible escape (ESC becomes the
    four characters \\x1b); with `keep_layout`, tabs and newlines stay as they are. Every
    known secret is masked first: whatever is shown passes through here."""
    text = scrub(text)
    if not _UNSAFE.search(text):  # nearly every cell: one scan in C, no translation
        return text
    return text.translate(_ESCAPES_KEEPING_LAYOUT if keep_layout else _ESCAPES)


def _whitespace_folded(message: str) -> str:
    """Every run of whitespace, line breaks included, as one space: an error is one line."""
    return " ".join(message.split())


def _flat(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)
