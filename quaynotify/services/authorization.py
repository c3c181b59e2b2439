"""E-mail authorization (Quay's "Send Authorization E-mail"): a code kept in the store, mailed
to the address in the confirmation e-mail, confirming it, and the check `rule add` makes."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quaynotify.catalogue.data import parse_repository
from quaynotify.errors import DeliveryError, NotFoundError
from quaynotify.hints import authorize_command
from quaynotify.methods.email import check_address
from quaynotify.methods.smtp import SMTP, Mail, send_mail

if TYPE_CHECKING:
    from quaynotify.methods.base import Authorized
    from quaynotify.methods.tables import MethodSettings
    from quaynotify.store import Store
    from quaynotify.store.authorizations import Authorization

CODE_ALPHABET = string.ascii_uppercase + string.digits
CODE_LENGTH = 16
INVALID_CODE = "Invalid confirmation code."


@dataclass(frozen=True)
class AuthorizeResult:
    authorization: Authorization
    sent: bool  # False: already confirmed, nothing sent
    new_code: bool  # False: an existing code was sent again
    reply: str = ""  # the SMTP server's final reply


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def authorize(
    store: Store, settings: MethodSettings, repository: str, address: str
) -> AuthorizeResult:
    """Create (or find) the record and mail its code, as Quay's "Send Authorization E-mail":
    a confirmed address gets nothing, an unconfirmed one gets the same code again."""
    parse_repository(repository)
    check_address(address)
    smtp = settings[SMTP]
    smtp.require_sending()
    # The record is committed before the SMTP exchange: holding the database's write lock
    # through a slow server would stall every other writer. A failed send keeps the code,
    # and running the command again re-sends it.
    pending = store.authorizations.request(repository, address, new_code)
    if pending.authorization.confirmed:
        return AuthorizeResult(pending.authorization, sent=False, new_code=False)
    try:
        mail = verification_mail(repository, address, pending.code)
        sent = send_mail(smtp, mail, timeout=smtp.timeout)
    except DeliveryError as exc:
        raise DeliveryError(
            f"could not send the confirmation e-mail to {address}: {exc.message};"
            f" once fixed, run `{authorize_command(repository, address)}` again",
            retryable=exc.retryable,
            status=exc.status,
            transient=exc.transient,
        ) from None
    return AuthorizeResult(
        pending.authorization, sent=True, new_code=pending.new, reply=sent.message
    )


def confirm(store: Store, code: str) -> tuple[Authorization, bool]:
    """Confirm the record holding `code`; doing it again is harmless (as Quay). Returns the
    record and whether it was already confirmed."""
    wanted = code.strip().upper()  # the alphabet is upper case: accept a code typed in lower
    if not re.fullmatch(f"[A-Z0-9]{{{CODE_LENGTH}}}", wanted):
        raise _invalid()
    confirmed = store.authorizations.confirm(wanted)
    if confirmed is None:
        raise _invalid()
    return confirmed.authorization, confirmed.already


def _invalid() -> NotFoundError:
    return NotFoundError(
        f"{INVALID_CODE} Copy the {CODE_LENGTH}-character code from the e-mail, or run"
        " `quaynotify email authorize NS/NAME ADDRESS` to have it sent again"
    )


def authorizations(store: Store, repository: str | None = None) -> list[Authorization]:
    """Every record (or one repository's), by repository and address."""
    if repository is not None:
        parse_repository(repository)
    return store.authorizations.of(repository)


def checker(store: Store) -> Authorized:
    """The `authorized` callback `rule add` hands to method validation: Quay's check, a
    confirmed record for exactly this repository and address."""
    return store.authorizations.is_confirmed


def verification_mail(repository: str, address: str, code: str) -> Mail:
    """Quay's authorization e-mail (templates/authorization.*.j2), with the command to run
    in place of its link."""
    from quaynotify.render.templating import render

    values = {"repository": repository, "command": f"quaynotify email confirm {code}"}
    return Mail(
        to=address,
        subject=f"[quaynotify] Please verify your e-mail address for repository {repository}",
        text=render("authorization.txt.j2", values),
        html=render("authorization.html.j2", values),
    )
