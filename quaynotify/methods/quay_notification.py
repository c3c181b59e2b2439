"""The `quay_notification` method: records in the local notification area (Quay's bell) for a
user, each member of a team, or an organisation's admins; and the [teams] and [orgs] tables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from quaynotify.catalogue.events import EVENTS
from quaynotify.errors import ConfigError, DeliveryError, ValidationError
from quaynotify.methods.base import (
    FieldSpec,
    Method,
    Notification,
    Preview,
    RuleContext,
    SendContext,
    Sent,
)
from quaynotify.methods.tables import MethodSettings, Table
from quaynotify.notification_area import NewRecord

TARGET_KINDS = ("user", "team", "org")
TARGET_FORMS = "user:NAME, team:NAME or org:NAME"
# Quay's user and organisation names; a robot is "<namespace>+<name>".
_NAME = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
_USER = re.compile(_NAME)
_ROBOT = re.compile(rf"{_NAME}\+[a-z0-9_]+")


def unsupported(event: str) -> str | None:
    """Why the notification area cannot hold `event`, or None when it can: an event without
    bell wording has no in-app notification kind (Quay fails at send time; we refuse the rule)."""
    declared = EVENTS.get(event)
    if declared is None or declared.bell is not None:
        return None
    return (
        f"the notification area has no kind for {event} (Quay has no in-app notification for "
        "it either): use another method, e.g. email or webhook"
    )


# -- the [teams] and [orgs] tables ---------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    """Who is who, from the config: team members per namespace, and each organisation's admins."""

    teams: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    orgs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def members(self, namespace: str, team: str) -> tuple[str, ...] | None:
        """The team's members, de-duplicated in config order; None when there is no such team."""
        found = self.teams.get(namespace, {}).get(team)
        return None if found is None else tuple(dict.fromkeys(found))

    def administered_by(self, user: str) -> tuple[str, ...]:
        """The organisations whose records `user` sees."""
        return tuple(org for org, admins in self.orgs.items() if user in admins)


def parse_directory(doc: Mapping[str, Any]) -> Directory:
    """The [teams.<namespace>] and [orgs.<name>] tables of the config document, checked;
    raises ConfigError."""
    teams = _table(doc, "teams", '[teams.acme] owners = ["alice", "bob"]')
    orgs = _table(doc, "orgs", '[orgs.acme] admins = ["alice"]')
    checked_teams: dict[str, dict[str, tuple[str, ...]]] = {}
    for namespace, table in teams.items():
        where = f"[teams.{namespace}]"
        if not isinstance(table, dict):
            raise ConfigError(
                f'config {where} must be a table of teams, e.g. {where} owners = ["alice"]'
            )
        checked_teams[namespace] = {
            team: _names(members, f"{where} {team}", robots=True) for team, members in table.items()
        }
    checked_orgs: dict[str, tuple[str, ...]] = {}
    for org, table in orgs.items():
        where = f"[orgs.{org}]"
        if not isinstance(table, dict):
            raise ConfigError(f'config {where} must be a table, e.g. {where} admins = ["alice"]')
        unknown = sorted(set(table) - {"admins"})
        if unknown:
            raise ConfigError(f"config {where}: unknown key {unknown[0]!r}: the only key is admins")
        checked_orgs[org] = _names(table.get("admins", []), f"{where} admins", robots=False)
    return Directory(checked_teams, checked_orgs)


def _table(doc: Mapping[str, Any], name: str, example: str) -> dict[str, Any]:
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"config [{name}] must hold one table per name, e.g. {example}")
    return table


def _names(value: Any, where: str, *, robots: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'config {where} must be a list of user names, e.g. ["alice", "bob"]')
    for name in value:
        if not (_USER.fullmatch(name) or (robots and _ROBOT.fullmatch(name))):
            raise ConfigError(
                f"config {where}: {name!r} is not a user name (lowercase letters and digits,"
                " separated by single '.', '_' or '-')"
            )
    return tuple(value)


DIRECTORY = Table(("teams", "orgs"), parse_directory)


# -- targets and records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str  # user, team or org
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_target(value: Any) -> Target:
    """`user:NAME`, `team:NAME` or `org:NAME`, with Quay's message for a missing target."""
    if value is None or value == "":
        raise ValidationError("Missing target")
    if not isinstance(value, str):
        raise ValidationError(f"Invalid target {value!r}: expected a string, {TARGET_FORMS}")
    kind, sep, name = value.partition(":")
    if not sep:
        raise ValidationError(f"Invalid target {value!r}: expected {TARGET_FORMS}")
    if kind not in TARGET_KINDS:
        raise ValidationError(f"Invalid target kind {kind!r} in {value!r}: expected {TARGET_FORMS}")
    if not name:
        raise ValidationError(f"Missing target name in {value!r}: expected {TARGET_FORMS}")
    return Target(kind, name)


# -- the method ------------------------------------------------------------------------------------


class QuayNotification(Method):
    name = "quay_notification"
    needs_messages = False  # a record holds the event data; the inbox words it when shown
    title = "Quay Notification"
    fields = (
        FieldSpec(
            "target",
            f"Recipient: {TARGET_FORMS}. Teams are listed in [teams.<namespace>] of the config, "
            "organisations (with their admins) in [orgs.<name>]; an org must be the repository's "
            "namespace",
            option_help=f"{TARGET_FORMS}.",
        ),
    )

    tables = (DIRECTORY,)

    @classmethod
    def check_settings(cls, settings: MethodSettings) -> None:
        settings[DIRECTORY]  # raises the [teams] or [orgs] table's problem, if one has one

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        target = parse_target(config.get("target"))
        people = ctx.settings[DIRECTORY]
        cls._check_form(target)
        cls._check_exists(target, people, ctx.repository.split("/", 1)[0])

    @classmethod
    def for_sending(
        cls, config: Mapping[str, Any], settings: MethodSettings, *, repository: str
    ) -> Self:
        """Build the method for a delivery: as `from_config`, except that a team or organisation
        gone from the config is not an error (Quay counts sending to it as a success)."""
        unknown = sorted(set(config) - {f.name for f in cls.fields})
        if unknown:
            raise ValidationError(
                f"unknown config key {unknown[0]!r} for method {cls.name}: expected target"
            )
        target = parse_target(config.get("target"))
        settings[DIRECTORY]  # the tables must be sound, whatever the target
        cls._check_form(target)
        return cls(config, settings)

    @classmethod
    def check_event(cls, event: str) -> None:
        """Refuse an event the notification area cannot hold (checked when a rule is added)."""
        reason = unsupported(event)
        if reason is not None:
            raise ValidationError(f"Unsupported event for {cls.name}: {reason}")

    @staticmethod
    def _check_form(target: Target) -> None:
        if target.kind == "user" and not _USER.fullmatch(target.name):
            # Quay looks the name up among users that are not robots or organisations.
            if _ROBOT.fullmatch(target.name):
                raise ValidationError(
                    f"Unknown user {target.name}: robot accounts cannot be notification targets"
                )
            raise ValidationError(f"Unknown user {target.name}")

    @staticmethod
    def _check_exists(target: Target, people: Directory, namespace: str) -> None:
        if target.kind == "team" and people.members(namespace, target.name) is None:
            raise ValidationError(
                f"Unknown team {target.name}: define it in [teams.{namespace}] of the config,"
                f' e.g. {target.name} = ["alice", "bob"]'
            )
        if target.kind == "org":
            # Quay's order: the namespace first, then whether the organisation exists.
            if target.name != namespace:
                raise ValidationError(
                    "Organization name must match repository namespace"
                    f" ({target.name} is not {namespace})"
                )
            if target.name not in people.orgs:
                raise ValidationError(
                    f"Unknown organization {target.name}: define it in the config,"
                    f' e.g. [orgs.{target.name}] admins = ["alice"]'
                )

    @property
    def target(self) -> Target:
        return parse_target(self.config.get("target"))

    def records(self, n: Notification) -> tuple[list[NewRecord], str]:
        """The records this delivery creates, worked out from the config as it is now (as Quay
        does at send time), and a one-line description of them."""
        target = self.target
        namespace = n.repository.split("/", 1)[0]

        def record(target_kind: str, name: str) -> NewRecord:
            return NewRecord(n.event, target_kind, name, n.repository, n.delivery_id, n.data)

        if target.kind == "user":
            return [record("user", target.name)], f"1 record for user {target.name}"
        people = self.settings[DIRECTORY]
        if target.kind == "org":
            if target.name not in people.orgs:
                return [], (
                    f"organization {target.name} is no longer in the config: no record created"
                    " (counted as a success, as Quay does)"
                )
            admins = ", ".join(people.orgs[target.name]) or "none listed"
            return [record("org", target.name)], (
                f"1 shared record for org {target.name} (admins: {admins})"
            )
        members = people.members(namespace, target.name)
        if members is None:
            return [], (
                f"team {target.name} is no longer in [teams.{namespace}]: no record created"
                " (counted as a success, as Quay does)"
            )
        if not members:
            return [], f"team {target.name} has no members: no record created"
        plural = "s" if len(members) > 1 else ""
        return [record("user", m) for m in members], (
            f"{len(members)} record{plural} for team {target.name} ({', '.join(members)})"
        )

    def preview(self, notification: Notification) -> Preview:
        self._check_event_at_send(notification)
        records, description = self.records(notification)
        body = {
            "kind": notification.event,
            "repository": notification.repository,
            "records": [{"target_kind": r.target_kind, "target": r.target} for r in records],
            "metadata": dict(notification.data),
        }
        return Preview(self.name, f"notification area: {description}", {}, body)

    def send(self, notification: Notification, ctx: SendContext) -> Sent:
        self._check_event_at_send(notification)
        inbox = ctx.inbox
        if inbox is None:  # pragma: no cover - delivery always hands one over
            raise DeliveryError("the notification area is not available", retryable=False)
        records, description = self.records(notification)
        if records:
            inbox.add(records)
        return Sent(None, description)

    def _check_event_at_send(self, n: Notification) -> None:
        # A rule written into the file by hand can still name an event we refuse at add time.
        reason = unsupported(n.event)
        if reason is not None:
            raise DeliveryError(reason, retryable=False)
