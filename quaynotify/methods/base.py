"""The method contract (validate a config, make one attempt) and secret references: resolving
`env:`/`file:` values and masking secrets wherever they are shown."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from quaynotify.errors import DeliveryError

if TYPE_CHECKING:
    import httpx

MASK = "********"


@dataclass(frozen=True)
class FieldSpec:
    """One key of a method's config, as Quay names it."""

    name: str
    help: str
    required: bool = True
    secret: bool = False  # masked in every output; may be written env:NAME or file:PATH


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
    extra: Mapping[str, Any] = field(default_factory=dict)


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

    settings: Mapping[str, Any]  # the whole config document: methods read their own tables
    repository: str
    # Given only when a rule is being added: is an e-mail address confirmed for the
    # repository? (Quay checks that at creation only, and so do we.)
    authorized: Authorized | None = None


class Method(ABC):
    """A delivery method: Quay's wire name, config fields, validation and one attempt."""

    name: ClassVar[str]
    title: ClassVar[str]
    fields: ClassVar[tuple[FieldSpec, ...]]
    # Whether send() uses the rendered messages (html, text, mrkdwn); rendering loads Jinja2,
    # so a run whose methods all send event data (webhooks) skips it.
    needs_messages: ClassVar[bool] = True

    def __init__(self, config: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        self.config = config
        self.settings = settings

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        settings: Mapping[str, Any],
        *,
        repository: str,
        authorized: Authorized | None = None,
    ) -> Self:
        """Validate `config` with Quay's messages (ValidationError) and build the method.

        `settings` is the whole config document (methods read their own tables from it).
        `authorized` is given when a rule is being added: it answers whether an e-mail address
        is confirmed for the repository (Quay checks that only at creation, and so do we)."""
        unknown = sorted(set(config) - {f.name for f in cls.fields})
        if unknown:
            from quaynotify.errors import ValidationError

            known = ", ".join(f.name for f in cls.fields)
            raise ValidationError(
                f"unknown config key {unknown[0]!r} for method {cls.name}: expected {known}"
            )
        cls.validate(config, RuleContext(settings, repository, authorized))
        return cls(config, settings)

    @classmethod
    def for_sending(
        cls, config: Mapping[str, Any], settings: Mapping[str, Any], *, repository: str
    ) -> Self:
        """Build the method for a delivery; by default exactly `from_config`. A method may
        be more lenient here than when a rule is added (Quay re-checks nothing at send time)."""
        return cls.from_config(config, settings, repository=repository)

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """Check this method's own tables of the config document ([smtp], [webhook], ...),
        whether or not a rule uses them yet (`config check`). By default there are none."""
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
    """`env:NAME` reads the environment, `file:PATH` reads a file; anything else is literal."""
    if value.startswith("env:"):
        name = value[4:]
        resolved = os.environ.get(name)
        if not resolved:
            raise DeliveryError(
                f"{key} refers to environment variable {name}, which is not set",
                retryable=False,
            )
        return resolved
    if value.startswith("file:"):
        path = os.path.expanduser(value[5:])
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise DeliveryError(f"{key} refers to file {path}: {reason}", retryable=False) from None
    return value


def is_reference(value: str) -> bool:
    return value.startswith(("env:", "file:"))


def mask_secret(value: str) -> str:
    """A reference names where the secret is and is safe to show; a literal never is."""
    if not value or is_reference(value):
        return value
    return MASK


def http_url(value: str) -> SplitResult | None:
    """The parts of an http(s) URL with a host (and a well-formed port), else None."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts


def mask_url(url: str, secrets: tuple[str, ...] = ()) -> str:
    """A URL safe to print: secrets, a userinfo password and query values replaced by a mask."""
    for secret in secrets:
        if secret:
            url = url.replace(secret, MASK)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        query = urlencode(
            [(k, MASK) for k, _ in parse_qsl(query, keep_blank_values=True)], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
