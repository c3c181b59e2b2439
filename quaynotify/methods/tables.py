"""The tables of the config document that methods own ([smtp], [webhook], [teams], [orgs]):
each parsed into a typed value once, when the config is loaded, and handed to the methods."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
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
    `SmtpSettings`. A table that does not parse keeps its error, raised again wherever the
    table is used (a rule that needs it, `config check`), so that a bad [smtp] fails what
    sends mail, not every command."""

    def __init__(self, values: Mapping[Table[Any], Any], errors: Mapping[Table[Any], Exception]):
        self._values = dict(values)
        self._errors = dict(errors)

    @classmethod
    def parse(cls, doc: Mapping[str, Any], tables: Iterable[Table[Any]]) -> MethodSettings:
        """Parse each of `tables` from the config document `doc`, once."""
        values: dict[Table[Any], Any] = {}
        errors: dict[Table[Any], Exception] = {}
        for table in tables:
            if table in values or table in errors:
                continue
            try:
                values[table] = table.parse(doc)
            except Exception as exc:  # raised where the table is used, as if parsed there
                errors[table] = exc
        return cls(values, errors)

    def __getitem__(self, table: Table[T]) -> T:
        if table in self._values:
            return cast(T, self._values[table])
        error = self._errors.get(table)
        if error is None:
            raise KeyError(f"{table.name} is not a table of a registered method")
        # A copy: the same error may be raised for many rules, from several threads.
        raise copy.copy(error)

    def __repr__(self) -> str:
        names = [t.name for t in (*self._values, *self._errors)]
        return f"MethodSettings({', '.join(names)})"
