"""The tables of the config document that methods own ([smtp], [webhook], [teams], [orgs]):
each parsed into a typed value once, when a method first reads it, and shared by every method."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Table(Generic[T]):
    """A table of the config document (or the part of one) that a method reads. `keys` are
    the document's top-level keys it reads; `parse` turns the document into the table's
    typed value, or raises an error that says what is wrong. Tables are told apart by
    identity: each is one module-level constant, declared by the methods that read it
    (`Method.tables`)."""

    keys: tuple[str, ...]
    parse: Callable[[Mapping[str, Any]], T]

    @property
    def name(self) -> str:
        return " and ".join(f"[{key}]" for key in self.keys)

    def __repr__(self) -> str:
        return f"Table({self.name})"


class MethodSettings:
    """The methods' tables of one config document, typed: `settings[SMTP]` is an
    `SmtpSettings`. Each table is parsed the first time a method reads it, once, whichever
    thread asks: a command parses only the tables of the methods it uses. A table that does
    not parse keeps its error, raised again wherever the table is used (a rule that needs
    it, `config check`), so that a bad [smtp] fails what sends mail, not every command."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self._doc = doc
        self._values: dict[Table[Any], Any] = {}
        self._errors: dict[Table[Any], Exception] = {}
        self._lock = threading.Lock()

    def __getitem__(self, table: Table[T]) -> T:
        with self._lock:
            if table not in self._values and table not in self._errors:
                try:
                    self._values[table] = table.parse(self._doc)
                except Exception as exc:  # raised where the table is used, as if parsed there
                    self._errors[table] = exc
            if table in self._values:
                return cast(T, self._values[table])
            # A copy: the same error may be raised for many rules, from several threads.
            raise copy.copy(self._errors[table])

    def __repr__(self) -> str:
        names = [t.name for t in (*self._values, *self._errors)]
        return f"MethodSettings(parsed: {', '.join(names) or 'none yet'})"
