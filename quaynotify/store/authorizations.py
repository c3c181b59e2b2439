"""E-mail authorizations (Quay's RepositoryAuthorizedEmail): one record per repository and
address, holding the code mailed to confirm it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quaynotify.store.db import Backend

_COLUMNS = "repository, email, confirmed, created, confirmed_at"


@dataclass(frozen=True)
class Authorization:
    """One (repository, address) record. The code is left out on purpose: it belongs to the
    owner of the mailbox, and nothing but the e-mail shows it (Quay never returns it either)."""

    repository: str
    email: str
    confirmed: bool
    created: float
    confirmed_at: float | None = None

    def view(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "email": self.email,
            "confirmed": self.confirmed,
            "created": self.created,
            "confirmed_at": self.confirmed_at,
        }


@dataclass(frozen=True)
class Pending:
    """A record found or just made, with the code to mail for it."""

    authorization: Authorization
    code: str
    new: bool  # False: the record was there already, with this code


@dataclass(frozen=True)
class Confirmed:
    authorization: Authorization
    already: bool  # confirmed before: nothing changed


class Authorizations:
    """The authorized_email table."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def request(self, repository: str, email: str, new_code: Callable[[], str]) -> Pending:
        """The record for this repository and address, made with a code from `new_code` when
        there is none (codes are unique: one already taken is drawn again)."""
        with self._db.write() as tx:
            while True:  # a collision in 36**16 is all but impossible
                row = tx.execute(
                    f"SELECT {_COLUMNS}, code FROM authorized_email"
                    " WHERE repository = ? AND email = ?",
                    (repository, email),
                ).fetchone()
                if row is not None:
                    return Pending(_authorization(row), row[5], new=False)
                now = time.time()
                code = new_code()
                # Nothing is inserted when the code is taken, or another machine has just
                # made this record (it is then found above, on the next turn).
                inserted = tx.execute(
                    "INSERT INTO authorized_email (repository, email, code, confirmed, created)"
                    " VALUES (?, ?, ?, 0, ?) ON CONFLICT DO NOTHING",
                    (repository, email, code, now),
                ).rowcount
                if inserted:
                    return Pending(Authorization(repository, email, False, now), code, new=True)

    def confirm(self, code: str) -> Confirmed | None:
        """Confirm the record holding `code` (again is harmless); None when no record does."""
        if not self._db.exists():
            return None
        with self._db.write() as tx:
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM authorized_email WHERE code = ?", (code,)
            ).fetchone()
            if row is None:
                return None
            record = _authorization(row)
            if record.confirmed:
                return Confirmed(record, already=True)
            now = time.time()
            tx.execute(
                "UPDATE authorized_email SET confirmed = 1, confirmed_at = ? WHERE code = ?",
                (now, code),
            )
        confirmed = Authorization(record.repository, record.email, True, record.created, now)
        return Confirmed(confirmed, already=False)

    def of(self, repository: str | None = None) -> list[Authorization]:
        """Every record (or one repository's), by repository and address."""
        if not self._db.exists():
            return []  # nothing authorized yet: do not create the database to say so
        sql = f"SELECT {_COLUMNS} FROM authorized_email"
        params: tuple[str, ...] = ()
        if repository is not None:
            sql += " WHERE repository = ?"
            params = (repository,)
        return [
            _authorization(r) for r in self._db.read(sql + " ORDER BY repository, email", params)
        ]

    def is_confirmed(self, repository: str, email: str) -> bool:
        """Quay's check: a confirmed record for exactly this repository and address."""
        if not self._db.exists():
            return False
        rows = self._db.read(
            "SELECT 1 FROM authorized_email WHERE repository = ? AND email = ? AND confirmed = 1",
            (repository, email),
        )
        return bool(rows)


def _authorization(row: Any) -> Authorization:
    return Authorization(row[0], row[1], bool(row[2]), row[3], row[4])
