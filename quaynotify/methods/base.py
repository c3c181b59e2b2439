"""The method contract (validate a config, make one attempt) and secret references: resolving
`env:`/`file:` values and masking secrets wherever they are shown."""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import urlsplit

from quaynotify.errors import DeliveryError, ValidationError
from quaynotify.masking import MASK, remember

if TYPE_CHECKING:
    import httpx

    from quaynotify.methods.tables import MethodSettings, Table
    from quaynotify.notification_area import InboxWriter

__all__ = ["MASK"]

# A secret read from a file is a token or a password, never more than this.
MAX_SECRET_BYTES = 64 * 1024
# C0 controls, DEL and C1 controls: none belongs in a token, a URL or a header.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


Candidates = Callable[[str], list[tuple[str, str]]]  # what a shell may complete: (value, about)


@dataclass(frozen=True)
class FieldSpec:
    """One key of a method's config, as Quay names it: what `methods show`, the man page,
    validation, masking and `rule add`'s option for it (`flag`) are all made from."""

    name: str
    help: str  # what the key holds (`methods show`, the man page)
    required: bool = True
    secret: bool = False  # masked in every output; may be written env:NAME or file:PATH
    option_help: str = ""  # the option's help after "METHOD: " (default: `help`)
    metavar: str | None = None  # the option's value in its help (default: NAME in capitals)
    from_file: bool = False  # the option may also be @FILE, or @- for standard input
    complete: Candidates | None = None  # the option's shell completion

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Notification:
    """What a method delivers: the event data and its rendered messages, ready to send."""

    delivery_id: str
    event: str
    repository: str
    data: Mapping[str, Any]
    summary: str
    level: str
    html: str = ""
    text: str = ""
    mrkdwn: str = ""  # the HTML message in Slack's mrkdwn
    performer: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Preview:
    """What would be sent (`--dry-run`), with secrets masked."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class SendContext:
    """What a method may use for one attempt: handed in, never looked up."""

    timeout: float
    client: httpx.Client | None = None
    inbox: InboxWriter | None = None  # where quay_notification puts its records


@dataclass(frozen=True)
class Sent:
    """A successful attempt: the status code (HTTP or SMTP) and a short description."""

    status: int | None
    message: str


Secret = Callable[[str], str]
Authorized = Callable[[str, str], bool]  # (repository, e-mail address) -> confirmed?


@dataclass(frozen=True)
class RuleContext:
    """What validating a method config may look at besides the config itself."""

    settings: MethodSettings  # the methods' tables of the config, parsed: settings[SMTP]
    repository: str
    # Given only when a rule is being added: is an e-mail address confirmed for the
    # repository? (Quay checks that at creation only, and so do we.)
    authorized: Authorized | None = None


class Method(ABC):
    """A delivery method: Quay's wire name, config fields, validation and one attempt."""

    name: ClassVar[str]
    title: ClassVar[str]
    fields: ClassVar[tuple[FieldSpec, ...]]
    # The tables of the config document this method reads, parsed once when the config is
    # loaded and handed to it in `settings` (methods/tables.py).
    tables: ClassVar[tuple[Table[Any], ...]] = ()
    # Whether send() uses the rendered messages (html, text, mrkdwn); rendering loads Jinja2,
    # so a run whose methods all send event data (webhooks) skips it.
    needs_messages: ClassVar[bool] = True

    def __init__(self, config: Mapping[str, Any], settings: MethodSettings) -> None:
        self.config = config
        self.settings = settings
        # Literal secrets are masked by value from now on, wherever a message repeats them.
        for spec in self.fields:
            value = config.get(spec.name)
            if not isinstance(value, str):
                continue
            if spec.secret and not is_reference(value):
                remember(value)
            remember(url_password(value))

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        settings: MethodSettings,
        *,
        repository: str,
        authorized: Authorized | None = None,
    ) -> Self:
        """Validate `config` with Quay's messages (ValidationError) and build the method.

        `settings` holds the methods' tables of the config, parsed (methods read their own).
        `authorized` is given when a rule is being added: it answers whether an e-mail address
        is confirmed for the repository (Quay checks that only at creation, and so do we)."""
        unknown = sorted(set(config) - {f.name for f in cls.fields})
        if unknown:
            known = ", ".join(f.name for f in cls.fields)
            raise ValidationError(
                f"unknown config key {unknown[0]!r} for method {cls.name}: expected {known}"
            )
        cls.validate(config, RuleContext(settings, repository, authorized))
        for spec in cls.fields:  # what the method's own checks left: no secret holds one
            value = config.get(spec.name)
            if spec.secret and isinstance(value, str) and CONTROL.search(value):
                raise ValidationError(
                    f"{spec.name} holds a control character (a line break?): "
                    "a secret is one line of text"
                )
        return cls(config, settings)

    @classmethod
    def for_sending(
        cls, config: Mapping[str, Any], settings: MethodSettings, *, repository: str
    ) -> Self:
        """Build the method for a delivery; by default exactly `from_config`. A method may
        be more lenient here than when a rule is added (Quay re-checks nothing at send time)."""
        return cls.from_config(config, settings, repository=repository)

    @classmethod
    def check_settings(cls, settings: MethodSettings) -> None:
        """Raise the problem of this method's own tables ([smtp], [webhook], ...), whether or
        not a rule uses them yet (`config check`). By default there is none to report."""
        return

    @classmethod
    def check_event(cls, event: str) -> None:
        """Raise ValidationError when this method cannot deliver `event` (by default it can)."""
        return

    @classmethod
    @abstractmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        """Raise ValidationError, with Quay's message where Quay has one."""

    @abstractmethod
    def preview(self, notification: Notification) -> Preview: ...

    @abstractmethod
    def send(self, notification: Notification, ctx: SendContext) -> Sent:
        """Make exactly one attempt: return Sent, or raise DeliveryError."""

    def secret(self, key: str) -> str:
        """The value of a config key, with an env:/file: reference resolved."""
        return resolve_secret(str(self.config.get(key, "")), key)

    def masked(self, key: str) -> str:
        return mask_secret(str(self.config.get(key, "")))


# -- secrets ------------------------------------------------------------------------------------


def resolve_secret(value: str, key: str = "value") -> str:
    """`env:NAME` reads the environment, `file:PATH` reads a file; anything else is literal.

    Whitespace around a value read from the environment or a file is not part of it (the
    newline of `echo $TOKEN > file`, a pasted secret's trailing newline); a control character
    left inside it is refused, since no token or password holds one. Every value resolved is
    masked by value from then on."""
    if value.startswith("env:"):
        name = value[4:]
        resolved = os.environ.get(name, "")
        remember(resolved)
        resolved = resolved.strip()
        if not resolved:
            raise DeliveryError(
                f"{key} refers to environment variable {name}, which is "
                + ("empty" if name in os.environ else "not set"),
                retryable=False,
            )
        where = f"environment variable {name}"
    elif value.startswith("file:"):
        path = os.path.expanduser(value[5:])
        raw = _read_secret_file(path, key)
        remember(raw)
        resolved = raw.strip()
        where = f"file {path}"
    else:
        remember(value)
        return value
    if CONTROL.search(resolved):
        raise DeliveryError(
            f"{key} from {where} holds a control character (a line break?) inside it: "
            "a secret is one line of text",
            retryable=False,
        )
    return resolved


def _read_secret_file(path: str, key: str) -> str:
    """The text of a regular file of at most MAX_SECRET_BYTES (never a FIFO that would block
    or a device that never ends)."""
    from quaynotify.paths import NotAFileError, read_file

    def failed(reason: str) -> DeliveryError:
        return DeliveryError(f"{key} refers to file {path}: {reason}", retryable=False)

    try:
        data = read_file(path, MAX_SECRET_BYTES)
    except NotAFileError as exc:
        raise failed(f"not a regular file (it is {exc.kind})") from None
    except OSError as exc:
        raise failed(exc.strerror or str(exc)) from None
    if len(data) > MAX_SECRET_BYTES:
        raise failed(f"larger than {MAX_SECRET_BYTES // 1024} KiB, which no secret is")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise failed(f"not UTF-8 text (byte {exc.start})") from None


def is_reference(value: str) -> bool:
    return value.startswith(("env:", "file:"))


def mask_secret(value: str) -> str:
    """A reference names where the secret is and is safe to show; a literal never is."""
    if not value or is_reference(value):
        return value
    return MASK


MAX_URL_LENGTH = 65_536  # httpx refuses longer URLs
NOT_HTTP = "it must be an http(s) URL with a host"
_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def url_problem(value: str) -> str | None:
    """Why `value` can never be sent to as an http(s) URL (NOT_HTTP when it is not one at
    all), or None when it can. What httpx or the resolver would refuse mid-delivery is
    refused here: control characters and spaces, an over-long URL, an invalid IPv4 address,
    a host that is not valid IDNA (an empty label, a bad xn-- label)."""
    bad = next((i for i, c in enumerate(value) if c.isspace() or CONTROL.match(c)), None)
    if bad is not None:
        char = "a space" if value[bad] == " " else repr(value[bad])[1:-1]
        return f"it holds {char} at position {bad + 1}: remove it"
    if len(value) > MAX_URL_LENGTH:
        return f"it is longer than {MAX_URL_LENGTH // 1024} KiB"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return NOT_HTTP
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return NOT_HTTP
    import httpx

    try:
        url = httpx.URL(value)
        host = url.host  # decodes xn-- labels: raises for an invalid one
        raw = url.raw_host.decode("ascii")
        if ":" not in raw:  # not an IPv6 literal: what the resolver's IDNA codec accepts
            raw.encode("idna")
    except UnicodeEncodeError as exc:  # Python 3.13's IDNA codec; 3.11's raises UnicodeError
        return f"its host {parts.hostname!r} is not valid: (UnicodeError: {exc.reason})"
    except (httpx.InvalidURL, UnicodeError) as exc:
        reason = str(exc).removeprefix("encoding with 'idna' codec failed ")
        return f"its host {parts.hostname!r} is not valid: {reason}"
    if ":" not in raw and not _HOST_NAME.fullmatch(raw):
        return f"its host {host!r} holds a character no host name has"
    return None


# What a token may hold to be sent as it is: in a header (visible ASCII, no spaces), or as a
# path segment of a URL (unreserved characters only).
HEADER_TOKEN = re.compile(r"[!-~]+")
PATH_TOKEN = re.compile(r"[A-Za-z0-9._~-]+")
HEADER_TOKEN_RULE = "printable ASCII without spaces"
PATH_TOKEN_RULE = "letters, digits, '.', '_', '~' and '-' only"


def unsendable_token(value: str, allowed: re.Pattern[str]) -> bool:
    """Whether a literal token could never be sent (a reference is checked once resolved)."""
    return (
        bool(value) and not is_reference(value) and value != MASK and not allowed.fullmatch(value)
    )


def url_password(value: str) -> str:
    """The password in an http(s) URL's userinfo (`http://user:PASS@host/`), else ""."""
    if "@" not in value:
        return ""
    try:
        return urlsplit(value).password or ""
    except ValueError:
        return ""
