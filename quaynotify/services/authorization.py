"""E-mail authorizations (Quay's RepositoryAuthorizedEmail): codes kept in the state database,
the confirmation e-mail, confirming a code, and the check `rule add` makes."""

from __future__ import annotations

import html
import re
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quaynotify.catalogue.data import parse_repository
from quaynotify.errors import DeliveryError, NotFoundError
from quaynotify.methods.email import authorize_command, check_address
from quaynotify.methods.smtp import Mail, send_mail, smtp_settings

if TYPE_CHECKING:
    from quaynotify.methods.base import Authorized
    from quaynotify.store.state import State

CODE_ALPHABET = string.ascii_uppercase + string.digits
CODE_LENGTH = 16
INVALID_CODE = "Invalid confirmation code."
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
class AuthorizeResult:
    authorization: Authorization
    sent: bool  # False: already confirmed, nothing sent
    new_code: bool  # False: an existing code was sent again
    reply: str = ""  # the SMTP server's final reply


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def authorize(
    state: State, settings: Mapping[str, Any], repository: str, address: str
) -> AuthorizeResult:
    """Create (or find) the record and mail its code, as Quay's "Send Authorization E-mail":
    a confirmed address gets nothing, an unconfirmed one gets the same code again."""
    parse_repository(repository)
    check_address(address)
    smtp = smtp_settings(settings)
    smtp.require_sending()
    # The record is committed before the SMTP exchange: holding the database's write lock
    # through a slow server would stall every other writer. A failed send keeps the code,
    # and running the command again re-sends it.
    record, code, created = _record(state, repository, address)
    if record.confirmed:
        return AuthorizeResult(record, sent=False, new_code=False)
    try:
        sent = send_mail(smtp, verification_mail(repository, address, code), timeout=smtp.timeout)
    except DeliveryError as exc:
        raise DeliveryError(
            f"could not send the confirmation e-mail to {address}: {exc.message};"
            f" once fixed, run `{authorize_command(repository, address)}` again",
            retryable=exc.retryable,
            status=exc.status,
            transient=exc.transient,
        ) from None
    return AuthorizeResult(record, sent=True, new_code=created, reply=sent.message)


def _record(state: State, repository: str, address: str) -> tuple[Authorization, str, bool]:
    with state.write() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS}, code FROM authorized_email WHERE repository = ? AND email = ?",
            (repository, address),
        ).fetchone()
        if row is not None:
            return _authorization(row), row[5], False
        now = time.time()
        while True:  # codes are unique; a collision in 36**16 is all but impossible
            code = new_code()
            inserted = conn.execute(
                "INSERT INTO authorized_email (repository, email, code, confirmed, created)"
                " VALUES (?, ?, ?, 0, ?) ON CONFLICT (code) DO NOTHING",
                (repository, address, code, now),
            ).rowcount
            if inserted:
                return Authorization(repository, address, False, now), code, True


def confirm(state: State, code: str) -> tuple[Authorization, bool]:
    """Confirm the record holding `code`; doing it again is harmless (as Quay). Returns the
    record and whether it was already confirmed."""
    wanted = code.strip().upper()  # the alphabet is upper case: accept a code typed in lower
    if not re.fullmatch(f"[A-Z0-9]{{{CODE_LENGTH}}}", wanted) or not state.exists():
        raise _invalid()
    with state.write() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM authorized_email WHERE code = ?", (wanted,)
        ).fetchone()
        if row is None:
            raise _invalid()
        record = _authorization(row)
        if record.confirmed:
            return record, True
        now = time.time()
        conn.execute(
            "UPDATE authorized_email SET confirmed = 1, confirmed_at = ? WHERE code = ?",
            (now, wanted),
        )
    return Authorization(record.repository, record.email, True, record.created, now), False


def _invalid() -> NotFoundError:
    return NotFoundError(
        f"{INVALID_CODE} Copy the {CODE_LENGTH}-character code from the e-mail, or run"
        " `quaynotify email authorize NS/NAME ADDRESS` to have it sent again"
    )


def authorizations(state: State, repository: str | None = None) -> list[Authorization]:
    """Every record (or one repository's), by repository and address."""
    if repository is not None:
        parse_repository(repository)
    if not state.exists():
        return []  # nothing authorized yet: do not create the database to say so
    sql = f"SELECT {_COLUMNS} FROM authorized_email"
    params: tuple[str, ...] = ()
    if repository is not None:
        sql += " WHERE repository = ?"
        params = (repository,)
    return [_authorization(r) for r in state.read(sql + " ORDER BY repository, email", params)]


def is_authorized(state: State, repository: str, address: str) -> bool:
    """Quay's check: a confirmed record for exactly this repository and address."""
    if not state.exists():
        return False
    rows = state.read(
        "SELECT 1 FROM authorized_email WHERE repository = ? AND email = ? AND confirmed = 1",
        (repository, address),
    )
    return bool(rows)


def checker(state: State) -> Authorized:
    """The `authorized` callback `rule add` hands to method validation."""
    return lambda repository, address: is_authorized(state, repository, address)


def _authorization(row: Any) -> Authorization:
    return Authorization(row[0], row[1], bool(row[2]), row[3], row[4])


# -- the confirmation e-mail --------------------------------------------------------------------


def verification_mail(repository: str, address: str, code: str) -> Mail:
    """Quay's authorization e-mail, with the command to run in place of its link."""
    command = f"quaynotify email confirm {code}"
    # Quay's heading says "recieve"; a typo in a mail that asks for trust looks like phishing.
    heading = f"Verify e-mail to receive {repository} notifications"
    request = (
        "A request has been made to send notifications to this email address"
        f" for the repository {repository}."
    )
    ignore = (
        f"If you do not wish to receive notifications for {repository},"
        " you can ignore this message."
    )
    text = (
        f"{heading}\n\n{request}\n\n"
        f"To confirm, run this command where quaynotify is set up:\n\n    {command}\n\n"
        f"{ignore}\n\nThank you,\nquaynotify\n"
    )
    e = html.escape
    body = (
        "<!DOCTYPE html>\n<html><body>\n"
        f"<h3>{e(heading)}</h3>\n<p>{e(request)}</p>\n"
        "<p>To confirm, run this command where quaynotify is set up:</p>\n"
        f'<pre style="padding:8px;background:#f4f4f4"><code>{e(command)}</code></pre>\n'
        f"<p>{e(ignore)}</p>\n<p>Thank you,<br>quaynotify</p>\n</body></html>\n"
    )
    return Mail(
        to=address,
        subject=f"[quaynotify] Please verify your e-mail address for repository {repository}",
        text=text,
        html=body,
    )
