"""The notification area: quay_notification rules (user, team and org targets, Quay's
validation), and `quaynotify inbox` listing, showing and dismissing what they deliver; what
reads the records back runs on both backends."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli, Result
from helpers.configs import rule_add
from helpers.quay_samples import common
from helpers.state import created, on_both_backends, rows

from quaynotify.errors import DeliveryError, ValidationError
from quaynotify.methods import parse_method_settings
from quaynotify.methods.base import Notification, SendContext
from quaynotify.methods.quay_notification import QuayNotification
from quaynotify.services.inbox import Inbox
from quaynotify.store import Store, open_store

NO_TABLES = parse_method_settings({})  # a config without [teams] or [orgs]

PEOPLE = """\
[teams.acme]
owners = ["alice", "bob", "alice"]
empty = []

[orgs.acme]
admins = ["alice", "carol"]

[orgs.globex]
admins = ["erin"]
"""


@pytest.fixture
def people(config_file: Path) -> Path:
    config_file.write_text(PEOPLE)
    return config_file


def add(
    cli: Cli, target: str | None, *, event: str = "repo_push", repo: str = "acme/web"
) -> Result:
    options = ("--target", target) if target is not None else ()
    return cli(*rule_add("quay_notification", *options, event=event, repo=repo))


def add_ok(cli: Cli, target: str, **kw: str) -> str:
    result = add(cli, target, **kw)
    assert result.code == 0, result.err
    return result.out.strip()


def emit(cli: Cli, *args: str, tags: str = '["latest"]') -> dict[str, Any]:
    result = cli(
        "emit", "repo_push", "--repo", "acme/web", "--set", f"updated_tags={tags}", "--json",
        *args,
    )  # fmt: skip
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def inbox(cli: Cli, user: str, *args: str) -> list[dict[str, Any]]:
    result = cli("inbox", "--user", user, "--json", *args)
    assert result.code == 0, result.err
    records: list[dict[str, Any]] = json.loads(result.out)
    return records


def attempt_message(delivery: dict[str, Any]) -> str:
    message: str = delivery["attempts"][-1]["message"]
    return message


EVENT_DATA = common(host="quay.io") | {"updated_tags": ["latest"]}


# -- the three target kinds -----------------------------------------------------------------------


@on_both_backends
def test_user_target_creates_one_record_for_that_user(cli: Cli, people: Path) -> None:
    add_ok(cli, "user:dave")
    outcome = emit(cli)
    (delivery,) = outcome["deliveries"]
    assert delivery["status"] == "succeeded"
    assert attempt_message(delivery) == "1 record for user dave"

    (record,) = inbox(cli, "dave")
    assert record["kind"] == "repo_push"
    assert record["organization"] is None
    assert record["metadata"] == EVENT_DATA
    assert record["dismissed"] is False
    assert inbox(cli, "alice") == []

    listing = cli("inbox", "--user", "dave")
    assert listing.code == 0
    (line,) = listing.lines
    record_id, _created, kind, repository, message = line.split("\t")
    assert (record_id, kind, repository) == (record["id"], "repo_push", "acme/web")
    assert message == (
        "Repository acme/web has been pushed with the following tags updated: latest"
    )
    shown = cli("inbox", "show", record["id"])
    fields = dict(line.split("\t", 1) for line in shown.lines)
    assert fields["delivery"] == delivery["id"]
    assert fields["target"] == "user:dave"


@on_both_backends
def test_team_target_creates_one_record_per_member(cli: Cli, people: Path) -> None:
    add_ok(cli, "team:owners")
    (delivery,) = emit(cli)["deliveries"]
    assert attempt_message(delivery) == "2 records for team owners (alice, bob)"

    alice, bob = inbox(cli, "alice"), inbox(cli, "bob")
    assert len(alice) == 1  # alice is listed twice in the team: de-duplicated
    assert len(bob) == 1
    assert alice[0]["id"] != bob[0]["id"]
    assert alice[0]["organization"] is None and bob[0]["organization"] is None
    assert inbox(cli, "carol") == []
    cli("inbox", "dismiss", alice[0]["id"])
    assert inbox(cli, "alice") == []
    assert len(inbox(cli, "bob")) == 1  # team records are each member's own


@on_both_backends
def test_team_members_are_read_when_sending(cli: Cli, people: Path) -> None:
    add_ok(cli, "team:owners")
    text = people.read_text()
    people.write_text(text.replace('owners = ["alice", "bob", "alice"]', 'owners = ["carol"]'))
    (delivery,) = emit(cli)["deliveries"]
    assert attempt_message(delivery) == "1 record for team owners (carol)"
    assert len(inbox(cli, "carol")) == 1
    assert inbox(cli, "alice") == []


@on_both_backends
def test_team_without_members_creates_nothing_and_succeeds(
    cli: Cli, people: Path, store: Store
) -> None:
    add_ok(cli, "team:empty")
    (delivery,) = emit(cli)["deliveries"]
    assert delivery["status"] == "succeeded"
    assert attempt_message(delivery) == "team empty has no members: no record created"
    assert rows(store, "SELECT COUNT(*) FROM inbox") == [(0,)]


@on_both_backends
def test_org_target_is_one_shared_record_for_every_admin(cli: Cli, people: Path) -> None:
    add_ok(cli, "org:acme")
    (delivery,) = emit(cli)["deliveries"]
    assert attempt_message(delivery) == "1 shared record for org acme (admins: alice, carol)"

    (seen_by_alice,) = inbox(cli, "alice")
    (seen_by_carol,) = inbox(cli, "carol")
    assert seen_by_alice == seen_by_carol
    assert seen_by_alice["organization"] == "acme"
    assert inbox(cli, "bob") == []  # a team member, not an admin
    assert inbox(cli, "erin") == []  # an admin of another organisation

    dismissed = cli("inbox", "dismiss", seen_by_carol["id"])
    assert dismissed.code == 0
    assert dismissed.err == f"quaynotify: dismissed {seen_by_carol['id']}\n"
    assert inbox(cli, "alice") == []  # one dismissal covers every admin, as in Quay
    assert inbox(cli, "carol") == []
    (again,) = inbox(cli, "alice", "--all")
    assert again["dismissed"] is True


@on_both_backends
def test_database_holds_exactly_the_records(cli: Cli, people: Path, store: Store) -> None:
    add_ok(cli, "user:dave")
    add_ok(cli, "team:owners")
    add_ok(cli, "org:acme")
    deliveries = {d["rule_id"]: d["id"] for d in emit(cli)["deliveries"]}
    stored = rows(
        store,
        "SELECT kind, target_kind, target, repository, delivery_id, metadata, dismissed"
        " FROM inbox ORDER BY target",
    )
    assert [(r[1], r[2]) for r in stored] == [
        ("org", "acme"), ("user", "alice"), ("user", "bob"), ("user", "dave"),
    ]  # fmt: skip
    assert {r[0] for r in stored} == {"repo_push"}
    assert {r[3] for r in stored} == {"acme/web"}
    assert {r[4] for r in stored} == set(deliveries.values())
    assert all(json.loads(r[5]) == EVENT_DATA and r[6] == 0 for r in stored)


# -- validation (Quay's messages) -----------------------------------------------------------------

FORMS = "expected user:NAME, team:NAME or org:NAME"


@pytest.mark.parametrize(
    ("target", "repo", "message"),
    [
        (None, "acme/web", "Missing target"),
        ("", "acme/web", "Missing target"),
        ("alice", "acme/web", f"Invalid target 'alice': {FORMS}"),
        ("robot:acme+bot", "acme/web", f"Invalid target kind 'robot' in 'robot:acme+bot': {FORMS}"),
        ("organization:acme", "acme/web",
         f"Invalid target kind 'organization' in 'organization:acme': {FORMS}"),
        ("user:", "acme/web", f"Missing target name in 'user:': {FORMS}"),
        ("user:acme+bot", "acme/web",
         "Unknown user acme+bot: robot accounts cannot be notification targets"),
        ("user:Alice Smith", "acme/web", "Unknown user Alice Smith"),
        ("team:devs", "acme/web",
         "Unknown team devs: define it in [teams.acme] of the config,"
         ' e.g. devs = ["alice", "bob"]'),
        ("team:owners", "other/web",
         "Unknown team owners: define it in [teams.other] of the config,"
         ' e.g. owners = ["alice", "bob"]'),
        ("org:initech", "initech/web",
         "Unknown organization initech: define it in the config,"
         ' e.g. [orgs.initech] admins = ["alice"]'),
        ("org:globex", "acme/web",
         "Organization name must match repository namespace (globex is not acme)"),
    ],
)  # fmt: skip
def test_invalid_targets_are_refused_with_quays_messages(
    cli: Cli, people: Path, target: str | None, repo: str, message: str
) -> None:
    result = add(cli, target, repo=repo)
    assert result.code == 2
    assert result.err == f"quaynotify: error: {message}\n"
    assert result.out == ""
    assert people.read_text() == PEOPLE  # nothing written


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ('teams = ["alice"]',
         "config [teams] must hold one table per name,"
         ' e.g. [teams.acme] owners = ["alice", "bob"]'),
        ('[teams]\nacme = "alice"',
         'config [teams.acme] must be a table of teams, e.g. [teams.acme] owners = ["alice"]'),
        ('[teams.acme]\nowners = "alice"',
         'config [teams.acme] owners must be a list of user names, e.g. ["alice", "bob"]'),
        ('[teams.acme]\nowners = ["Alice Smith"]',
         "config [teams.acme] owners: 'Alice Smith' is not a user name (lowercase letters and"
         " digits, separated by single '.', '_' or '-')"),
        ("orgs = 1",
         'config [orgs] must hold one table per name, e.g. [orgs.acme] admins = ["alice"]'),
        ("[orgs]\nacme = 1",
         'config [orgs.acme] must be a table, e.g. [orgs.acme] admins = ["alice"]'),
        ('[orgs.acme]\nmembers = ["alice"]',
         "config [orgs.acme]: unknown key 'members': the only key is admins"),
        ('[orgs.acme]\nadmins = "alice"',
         'config [orgs.acme] admins must be a list of user names, e.g. ["alice", "bob"]'),
        ('[orgs.acme]\nadmins = ["acme+bot"]',
         "config [orgs.acme] admins: 'acme+bot' is not a user name (lowercase letters and"
         " digits, separated by single '.', '_' or '-')"),
    ],
)  # fmt: skip
def test_malformed_teams_and_orgs_tables_are_config_errors(
    cli: Cli, config_file: Path, tables: str, message: str
) -> None:
    config_file.write_text(tables + "\n")
    result = add(cli, "user:dave")
    assert (result.code, result.err) == (3, f"quaynotify: error: {message}\n")

    # A rule already in the file: `config check` finds the same problem.
    rule_id = str(uuid.uuid4())
    config_file.write_text(
        f'{tables}\n\n[[rule]]\nid = "{rule_id}"\nrepository = "acme/web"\n'
        'event = "repo_push"\nmethod = "quay_notification"\nconfig = { target = "user:dave" }\n'
    )
    checked = cli("config", "check")
    assert checked.code == 3
    assert f"quaynotify: rule #1 ({rule_id}): {message}\n" in checked.err
    assert inbox_error(cli) == (3, f"quaynotify: error: {message}\n")


def inbox_error(cli: Cli) -> tuple[int, str]:
    result = cli("inbox", "--user", "dave")
    return result.code, result.err


def test_image_expiry_is_refused_for_the_notification_area() -> None:
    with pytest.raises(ValidationError) as raised:
        QuayNotification.check_event("repo_image_expiry")
    assert raised.value.message == (
        "Unsupported event for quay_notification: the notification area has no kind for "
        "repo_image_expiry (Quay has no in-app notification for it either): use another "
        "method, e.g. email or webhook"
    )
    QuayNotification.check_event("repo_push")  # every other event is fine


@on_both_backends
def test_image_expiry_rule_written_by_hand_fails_without_retrying(cli: Cli, people: Path) -> None:
    people.write_text(
        PEOPLE + '\n[[rule]]\nid = "r1"\nrepository = "acme/web"\nevent = "repo_image_expiry"\n'
        'method = "quay_notification"\nconfig = { target = "user:dave" }\n'
    )
    result = cli(
        "emit", "repo_image_expiry", "--repo", "acme/web", "--sample", "--json",
        "--max-attempts", "3",
    )  # fmt: skip
    assert result.code == 1
    (delivery,) = json.loads(result.out)["deliveries"]
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == 1  # retrying cannot help
    assert delivery["error"].startswith("the notification area has no kind for repo_image_expiry")
    assert inbox(cli, "dave") == []


# -- sending when the config has changed (Quay's silent success) ---------------------------------


def _notification() -> Notification:
    return Notification(
        delivery_id=str(uuid.uuid4()),
        event="repo_push",
        repository="acme/web",
        data=EVENT_DATA,
        summary="Repository acme/web updated",
        level="primary",
    )


@on_both_backends
@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("team:owners", "team owners is no longer in [teams.acme]: no record created"
         " (counted as a success, as Quay does)"),
        ("org:acme", "organization acme is no longer in the config: no record created"
         " (counted as a success, as Quay does)"),
    ],
)  # fmt: skip
def test_target_gone_when_sending_creates_nothing_and_succeeds(
    store: Store, target: str, message: str
) -> None:
    method = QuayNotification.for_sending({"target": target}, NO_TABLES, repository="acme/web")
    sent = method.send(_notification(), SendContext(timeout=10, inbox=Inbox(store)))
    assert sent.message == message
    assert Inbox(store).visible("alice", ["acme"], include_dismissed=True) == []


def test_a_state_that_cannot_be_written_fails_the_delivery_not_the_run(state_dir: Path) -> None:
    # SQLite only: a state dir that is a file is the SQLite backend's unwritable state (a
    # PostgreSQL state that cannot be reached is spooled: the shared state's fault tests).
    state_dir.write_text("not a directory")
    method = QuayNotification.for_sending(
        {"target": "user:alice"}, NO_TABLES, repository="acme/web"
    )
    ctx = SendContext(timeout=10, inbox=Inbox(open_store(state_dir)))
    with pytest.raises(DeliveryError, match=r"^cannot write the notification area: ") as raised:
        method.send(_notification(), ctx)
    assert str(state_dir) in raised.value.message


# -- listing, showing, dismissing ---------------------------------------------------------------


@on_both_backends
def test_newest_first_and_all_includes_dismissed(cli: Cli, people: Path) -> None:
    add_ok(cli, "user:dave")
    for tag in ("v1", "v2", "v3"):
        emit(cli, tags=f'["{tag}"]')
    records = inbox(cli, "dave")
    assert [r["metadata"]["updated_tags"] for r in records] == [["v3"], ["v2"], ["v1"]]

    cli("inbox", "dismiss", records[1]["id"])
    assert [r["id"] for r in inbox(cli, "dave")] == [records[0]["id"], records[2]["id"]]
    everything = inbox(cli, "dave", "--all")
    assert [r["id"] for r in everything] == [r["id"] for r in records]
    assert [r["dismissed"] for r in everything] == [False, True, False]

    listing = cli("inbox", "--user", "dave", "--all")
    assert [line.split("\t")[-1] for line in listing.lines] == ["no", "yes", "no"]


@on_both_backends
def test_json_view_has_quays_shape(cli: Cli, people: Path) -> None:
    add_ok(cli, "user:dave")
    add_ok(cli, "org:acme")
    before = time.time()
    emit(cli)
    after = time.time()
    records = inbox(cli, "alice") + inbox(cli, "dave")
    for record in records:
        assert list(record) == ["id", "organization", "kind", "created", "metadata", "dismissed"]
        assert uuid.UUID(record["id"])
        # RFC 2822 in UTC, written "-0000" as Quay's format_date does
        assert record["created"].endswith(" -0000")
        created = parsedate_to_datetime(record["created"]).replace(tzinfo=dt.UTC)
        assert int(before) <= created.timestamp() <= after
    assert [r["organization"] for r in records] == ["acme", None]
    shown = cli("inbox", "show", records[0]["id"], "--json")
    assert json.loads(shown.out) == records[0]


@on_both_backends
def test_show_by_prefix_includes_dismissed_and_metadata(cli: Cli, people: Path) -> None:
    add_ok(cli, "org:acme")
    emit(cli)
    (record,) = inbox(cli, "carol")
    cli("inbox", "dismiss", record["id"][:8])
    shown = cli("inbox", "show", record["id"][:6].upper())
    assert shown.code == 0, shown.err
    fields = dict(line.split("\t", 1) for line in shown.lines)
    assert fields["id"] == record["id"]
    assert fields["kind"] == "repo_push"
    assert fields["target"] == "org:acme"
    assert fields["dismissed"] == "yes"
    assert json.loads(fields["metadata"]) == EVENT_DATA
    assert fields["message"] == (
        "Repository acme/web has been pushed with the following tags updated: latest"
    )


@on_both_backends
@pytest.mark.parametrize("command", ["show", "dismiss"])
def test_unknown_id_is_one_line_and_exit_2(cli: Cli, people: Path, command: str) -> None:
    add_ok(cli, "user:dave")
    emit(cli)
    (record,) = inbox(cli, "dave")
    args = ["inbox", command, "0000dead"] if command == "show" else [
        "inbox", "dismiss", record["id"], "0000dead",
    ]  # fmt: skip
    result = cli(*args)
    assert result.code == 2
    assert result.err == (
        "quaynotify: error: no notification with id '0000dead': "
        "run `quaynotify inbox --all` to list them\n"
    )
    assert inbox(cli, "dave") == [record]  # one bad id: nothing dismissed


@on_both_backends
def test_ambiguous_prefix_is_refused(cli: Cli, people: Path) -> None:
    add_ok(cli, "user:dave")
    for _ in range(17):  # 17 ids over 16 hex digits: two share their first character
        emit(cli)
    first = Counter(r["id"][0] for r in inbox(cli, "dave")).most_common(1)[0][0]
    result = cli("inbox", "show", first)
    assert result.code == 2
    assert result.err == (
        f"quaynotify: error: notification id prefix '{first}' is ambiguous: give more of it\n"
    )


@on_both_backends
def test_empty_inbox_does_not_create_the_database(cli: Cli, store: Store) -> None:
    result = cli("inbox", "--user", "dave")
    assert (result.code, result.out) == (0, "")
    assert result.err == "quaynotify: no undismissed notifications for dave\n"
    assert cli("inbox", "--user", "dave", "--json").out == "[]\n"
    assert not created(store)


@on_both_backends
def test_default_user_from_environment(
    cli: Cli, people: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_ok(cli, "user:dave")
    add_ok(cli, "user:erin")
    emit(cli)
    monkeypatch.setenv("QUAYNOTIFY_USER", "dave")
    monkeypatch.setenv("LOGNAME", "erin")
    (from_env,) = json.loads(cli("inbox", "--json").out)
    assert from_env == inbox(cli, "dave")[0]
    monkeypatch.delenv("QUAYNOTIFY_USER")
    (from_login,) = json.loads(cli("inbox", "--json").out)  # getpass: LOGNAME first
    assert from_login == inbox(cli, "erin")[0]


@on_both_backends
def test_dry_run_says_which_records_and_creates_none(cli: Cli, people: Path) -> None:
    add_ok(cli, "team:owners")
    result = cli(
        "emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]',
        "--dry-run", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    (preview,) = json.loads(result.out)
    assert preview["method"] == "quay_notification"
    assert preview["target"] == "notification area: 2 records for team owners (alice, bob)"
    assert preview["body"]["records"] == [
        {"target_kind": "user", "target": "alice"},
        {"target_kind": "user", "target": "bob"},
    ]
    assert preview["body"]["metadata"] == EVENT_DATA
    assert inbox(cli, "alice") == []


# -- messages: Quay's old-UI bell wording ------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("build_queued", "A build has been queued for repository acme/web"),
        ("build_start", "A build has been started for repository acme/web"),
        ("build_success", "A build has succeeded for repository acme/web"),
        ("build_failure", "A build has failed for repository acme/web"),
        ("build_cancelled", "A build was cancelled for repository acme/web"),
        ("vulnerability_found", "A Unknown vulnerability was detected in repository acme/web"),
        ("repo_mirror_sync_started", "Repository Mirror started for TEST NOTIFICATION"),
        ("repo_mirror_sync_success", "Repository Mirror successful for TEST NOTIFICATION"),
        ("repo_mirror_sync_failed", "Repository Mirror unsuccessful for TEST NOTIFICATION"),
    ],
)
def test_each_kind_has_its_bell_message(cli: Cli, people: Path, event: str, message: str) -> None:
    add_ok(cli, "user:dave", event=event)
    result = cli("emit", event, "--repo", "acme/web", "--sample")
    assert result.code == 0, result.err
    (line,) = cli("inbox", "--user", "dave").lines
    assert line.split("\t")[2:] == [event, "acme/web", message]


def test_push_without_tags_has_the_short_message(cli: Cli, people: Path) -> None:
    add_ok(cli, "user:dave")
    emit(cli, tags="[]")
    (line,) = cli("inbox", "--user", "dave").lines
    assert line.split("\t")[-1] == "Repository acme/web has been pushed"


# -- concurrency -------------------------------------------------------------------------------


@on_both_backends
def test_concurrent_deliveries_create_every_record_exactly_once(
    cli: Cli, people: Path, store: Store
) -> None:
    rules = {f"u{i:02d}": str(uuid.uuid4()) for i in range(20)}
    people.write_text(
        PEOPLE
        + "".join(
            f'\n[[rule]]\nid = "{rule_id}"\nrepository = "acme/web"\nevent = "repo_push"\n'
            f'method = "quay_notification"\nconfig = {{ target = "user:{user}" }}\n'
            for user, rule_id in rules.items()
        )
    )
    outcome = emit(cli, "--concurrency", "8")
    deliveries = {d["rule_id"]: d for d in outcome["deliveries"]}
    assert len(deliveries) == 20
    assert all(d["status"] == "succeeded" for d in deliveries.values())

    assert sorted(rows(store, "SELECT target, delivery_id FROM inbox")) == sorted(
        (user, deliveries[rule_id]["id"]) for user, rule_id in rules.items()
    )
    for user in rules:
        assert len(inbox(cli, user)) == 1


def test_image_expiry_is_refused_when_the_rule_is_added(cli: Cli, people: Path) -> None:
    result = add(cli, "user:dave", event="repo_image_expiry")
    assert result.code == 2
    assert result.err == (
        "quaynotify: error: Unsupported event for quay_notification: the notification area has"
        " no kind for repo_image_expiry (Quay has no in-app notification for it either): use"
        " another method, e.g. email or webhook\n"
    )
    assert people.read_text() == PEOPLE


@on_both_backends
def test_team_gone_when_sending_succeeds_and_says_so(cli: Cli, people: Path) -> None:
    add_ok(cli, "team:owners")
    people.write_text(people.read_text().replace('owners = ["alice", "bob", "alice"]\n', ""))
    (delivery,) = emit(cli)["deliveries"]
    assert delivery["status"] == "succeeded"
    assert attempt_message(delivery) == (
        "team owners is no longer in [teams.acme]: no record created"
        " (counted as a success, as Quay does)"
    )
    assert inbox(cli, "alice") == []
    assert cli("config", "check").code == 3
