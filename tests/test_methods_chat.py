"""The chat methods (slack, hipchat, flowdock): Quay's payloads for every event, validation
with Quay's messages, secrets resolved at send time and never shown, and the CLI end to end."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.cli import Cli
from helpers.configs import add_rule, rule_toml, write_config
from helpers.quay_samples import common
from helpers.state import stored_bytes
from pytest_httpserver import HTTPServer
from slack_sdk.models.attachments import Attachment
from werkzeug import Request

from quaynotify import __version__
from quaynotify.catalogue.data import sample_event_data
from quaynotify.catalogue.events import EVENTS, get_event
from quaynotify.errors import DeliveryError, ValidationError
from quaynotify.methods import get_method, parse_method_settings
from quaynotify.methods.base import MASK, Method, Notification, SendContext
from quaynotify.store import Store

DELIVERY_ID = "0b9a3f7e-5c1d-4e2a-9f00-000000000001"
SLACK_PATH = "/services/T0QUAY000/B0NOTIFY0/s3cr3tSlackT0ken"
TOKEN = "t0kenHipchatFlowdock42"
ANY_PATH = re.compile(".*")
LEVELS = ("info", "warning", "error", "success", "primary", "critical")
# level -> (Slack colour, HipChat colour), as Quay's Slack and HipChat methods map them
COLOURS = {
    "info": ("#ffffff", "gray"),
    "warning": ("warning", "yellow"),
    "error": ("danger", "red"),
    "success": ("good", "green"),
    "primary": ("good", "purple"),
    "critical": ("#ffffff", "gray"),  # not a level: the fallback colours
}


def html_for(event: str, homepage: str) -> str:
    """A message that exercises every slackify rule: newlines and runs of spaces, <br>, bold,
    italics, a link, an entity, an image, and a non-ASCII character (JSON-escaped on the wire)."""
    return (
        f'<b>{event}</b>  in\n<a href="{homepage}">acme/web</a> &amp; caf\u00e9'
        '<br><i>done</i><img src="x.png">'
    )


def mrkdwn_for(event: str, homepage: str) -> str:
    """Quay's slackify of html_for, worked out by hand, with the text escaped
    as Slack's mrkdwn wants it ("&amp;"), so that event data cannot form Slack syntax."""
    return f"*{event}* in <{homepage}|acme/web> &amp; caf\u00e9\n_done_"


def notification(event: str, *, level: str | None = None, html: str | None = None) -> Notification:
    from quaynotify.render.messages import slackify

    e = EVENTS[event]
    data = sample_event_data(e, "acme/web", {}, hostname="quay.example.com", scheme="https")
    html = html_for(event, data["homepage"]) if html is None else html
    return Notification(
        delivery_id=DELIVERY_ID,
        event=event,
        repository="acme/web",
        data=data,
        summary=e.summary(data),
        level=level or e.level(data),
        html=html,
        text="plain text",
        mrkdwn=slackify(html, escape=True),
    )


def make(name: str, config: Mapping[str, Any], doc: Mapping[str, Any] | None = None) -> Method:
    settings = parse_method_settings(doc or {})
    return get_method(name).from_config(config, settings, repository="acme/web")


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False) as c:
        yield c


def send(method: Method, n: Notification, client: httpx.Client) -> None:
    sent = method.send(n, SendContext(timeout=5.0, client=client))
    assert sent.status == 200


def only_request(server: HTTPServer) -> Request:
    assert len(server.log) == 1, "exactly one attempt"
    return server.log[0][0]


def assert_posted(request: Request, path: str, body: Any) -> None:
    assert request.method == "POST"
    assert request.path == path
    assert request.query_string == b""
    # Quay's json.dumps: default separators, ASCII escapes, keys in Quay's order
    assert request.get_data() == json.dumps(body).encode("ascii")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"quaynotify/{__version__}"
    assert request.headers["webhook-id"] == DELIVERY_ID


def slack_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(n: Notification, colour: str, text: str) -> dict[str, Any]:
    summary = slack_escaped(n.summary)
    return {
        "text": summary,
        "username": "quaynotify",
        "attachments": [
            {"fallback": summary, "text": text, "color": colour, "mrkdwn_in": ["text"]}
        ],
    }


def hipchat_body(n: Notification, colour: str) -> dict[str, Any]:
    return {
        "color": colour,
        "message": n.html,
        "notify": n.level == "error",
        "message_format": "html",
    }


def flowdock_body(n: Notification, sender: str = "admin@example.com") -> dict[str, Any]:
    return {
        "source": "Quay",
        "from_address": sender,
        "subject": n.summary,
        "content": n.html,
        "from_name": "acme",
        "project": "acme web",
        "tags": [f"#{n.event}"],
        "link": n.data["homepage"],
    }


def assert_slack_sdk_accepts(attachment: dict[str, Any]) -> None:
    """Slack's own model validates the attachment (colour, mrkdwn_in) and gives it back."""
    # The SDK's keyword for the wire key mrkdwn_in is markdown_in.
    kwargs = {("markdown_in" if k == "mrkdwn_in" else k): v for k, v in attachment.items()}
    as_slack = Attachment(**kwargs).to_dict()  # raises SlackObjectFormationError when invalid
    assert as_slack.pop("fields") == []
    assert as_slack == {k: v for k, v in attachment.items() if v}  # the SDK drops empty values


# -- payloads for every event ---------------------------------------------------------------------


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_slack_payload(event: str, httpserver: HTTPServer, client: httpx.Client) -> None:
    httpserver.expect_oneshot_request(SLACK_PATH, method="POST").respond_with_data("ok")
    n = notification(event)
    send(make("slack", {"url": httpserver.url_for(SLACK_PATH)}), n, client)
    request = only_request(httpserver)
    expected = slack_body(n, COLOURS[n.level][0], mrkdwn_for(event, n.data["homepage"]))
    assert_posted(request, SLACK_PATH, expected)
    assert "Authorization" not in request.headers
    assert_slack_sdk_accepts(expected["attachments"][0])


HOSTILE = "<!channel> <https://evil.example/login|Click> & <@U123> <!subteam^S1>"


def hostile(value: Any) -> Any:
    """Every string of the event data (keys aside) replaced by Slack syntax that pings and
    disguises a link, and every list given one such string."""
    if isinstance(value, str):
        return HOSTILE
    if isinstance(value, list):
        return [hostile(v) for v in value] or [HOSTILE]
    if isinstance(value, dict):
        return {k: hostile(v) for k, v in value.items()}
    return value


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_no_slack_syntax_from_event_data_survives_in_any_field(event: str) -> None:
    from quaynotify.render.messages import messages

    e = EVENTS[event]
    common = {"repository", "namespace", "name", "docker_url", "homepage"}
    data = sample_event_data(e, "acme/web", {}, hostname="quay.example.com", scheme="https")
    data = {k: v if k in common else hostile(v) for k, v in data.items()}
    m = messages(event, data, performer=HOSTILE, hostname="quay.example.com", scheme="https")
    n = Notification(DELIVERY_ID, event, "acme/web", data, m.summary, e.level(data),
                     m.html, m.text, m.mrkdwn, HOSTILE)  # fmt: skip
    body = make("slack", {"url": "https://hooks.slack.com/services/T0/B0/x"}).preview(n).body
    for text in strings(body):
        assert "<!" not in text and "<@" not in text, text
        assert "<https://evil" not in text and "|Click>" not in text, text
    assert_slack_sdk_accepts(body["attachments"][0])


def test_a_mention_in_the_summary_reaches_slack_escaped(
    cli: Cli, config_file: Path, httpserver: HTTPServer
) -> None:
    slack = httpserver.url_for(SLACK_PATH)
    write_config(
        config_file, rule_toml("slack", id="s", event="repo_mirror_sync_started", url=slack)
    )
    httpserver.expect_request(SLACK_PATH).respond_with_data("ok")
    message = "<!channel> <https://evil.example/login|Click>"
    result = cli("emit", "repo_mirror_sync_started", "--repo", "acme/web", "--set",
                 f"message={message}")  # fmt: skip
    assert result.code == 0, result.err
    body = json.loads(only_request(httpserver).get_data())
    escaped = "&lt;!channel&gt; &lt;https://evil.example/login|Click&gt;"
    assert body["text"] == f"Repository Mirror started for {escaped}"
    assert body["attachments"][0]["fallback"] == body["text"]
    assert_slack_sdk_accepts(body["attachments"][0])


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_hipchat_payload(event: str, httpserver: HTTPServer, client: httpx.Client) -> None:
    path = "/v2/room/12345/notification"
    httpserver.expect_oneshot_request(path, method="POST").respond_with_data("", status=204)
    n = notification(event)
    config = {"room_id": "12345", "notification_token": TOKEN, "api_url": httpserver.url_for("/")}
    method = make("hipchat", config)
    assert method.send(n, SendContext(timeout=5.0, client=client)).status == 204
    request = only_request(httpserver)
    assert_posted(request, path, hipchat_body(n, COLOURS[n.level][1]))
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in request.url


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_flowdock_payload(event: str, httpserver: HTTPServer, client: httpx.Client) -> None:
    path = f"/v1/messages/team_inbox/{TOKEN}"
    httpserver.expect_oneshot_request(path, method="POST").respond_with_data("{}")
    n = notification(event)
    send(make("flowdock", {"flow_api_token": TOKEN, "api_url": httpserver.url_for("")}), n, client)
    request = only_request(httpserver)
    assert_posted(request, path, flowdock_body(n))
    assert "Authorization" not in request.headers


@pytest.mark.parametrize("level", LEVELS)
def test_colour_and_notify_by_level(level: str) -> None:
    n = notification("repo_push", level=level)
    slack = make("slack", {"url": "https://hooks.slack.com/services/T0/B0/x"}).preview(n).body
    hipchat = make("hipchat", {"room_id": "1", "notification_token": "t"}).preview(n).body
    assert slack["attachments"][0]["color"] == COLOURS[level][0]
    assert_slack_sdk_accepts(slack["attachments"][0])
    assert hipchat["color"] == COLOURS[level][1]
    assert hipchat["notify"] is (level == "error")


def test_quay_levels_of_sample_events_give_quays_colours() -> None:
    # repo_push is primary: Slack good and HipChat purple, not info
    push = make("slack", {"url": "https://h.example/x"}).preview(notification("repo_push"))
    assert push.body["attachments"][0]["color"] == "good"
    failure = make("hipchat", {"room_id": "1", "notification_token": "t"})
    assert failure.preview(notification("build_failure")).body == hipchat_body(
        notification("build_failure"), "red"
    )
    assert failure.preview(notification("build_failure")).body["notify"] is True


def test_flowdock_sender_comes_from_smtp_settings() -> None:
    n = notification("build_success")
    method = make("flowdock", {"flow_api_token": "t"}, {"smtp": {"sender": "quay@acme.test"}})
    assert method.preview(n).body == flowdock_body(n, "quay@acme.test")


@pytest.mark.parametrize("method", ["hipchat", "flowdock"])
def test_api_url_trailing_slashes_and_path_prefix(
    method: str, httpserver: HTTPServer, client: httpx.Client
) -> None:
    httpserver.expect_request(
        "/chat/api/v2/room/7/notification" if method == "hipchat"
        else f"/chat/api/v1/messages/team_inbox/{TOKEN}",
        method="POST",
    ).respond_with_data("")  # fmt: skip
    config = (
        {"room_id": "7", "notification_token": TOKEN}
        if method == "hipchat"
        else {"flow_api_token": TOKEN}
    )
    config["api_url"] = httpserver.url_for("/chat/api///")
    send(make(method, config), notification("repo_push"), client)
    assert "//v" not in only_request(httpserver).path


@pytest.mark.parametrize(
    ("method", "config", "target"),
    [
        ("hipchat", {"room_id": "12345", "notification_token": TOKEN},
         "POST https://api.hipchat.com/v2/room/12345/notification"),
        ("flowdock", {"flow_api_token": TOKEN},
         f"POST https://api.flowdock.com/v1/messages/team_inbox/{MASK}"),
        ("slack", {"url": f"https://hooks.slack.com{SLACK_PATH}"}, f"POST {MASK}"),
        ("slack", {"url": "env:QN_SLACK_URL"}, "POST env:QN_SLACK_URL"),
    ],
)  # fmt: skip
def test_preview_masks_secrets(method: str, config: dict[str, str], target: str) -> None:
    preview = make(method, config).preview(notification("repo_push"))
    assert preview.target == target
    shown = json.dumps([preview.target, dict(preview.headers), preview.body])
    assert TOKEN not in shown
    assert SLACK_PATH.rsplit("/", 1)[1] not in shown
    if method == "hipchat":
        assert preview.headers["Authorization"] == MASK


# -- validation -----------------------------------------------------------------------------------

SLACK_INVALID = (
    "Invalid Slack Callback URL: it must be an http(s) URL with a host, "
    "e.g. https://hooks.slack.com/services/T000/B000/XXXX"
)
HIPCHAT_ROOM = "We require the HipChat room number, not name (digits only, e.g. 12345)."


@pytest.mark.parametrize(
    ("method", "config", "message"),
    [
        ("slack", {}, "Missing Slack Callback URL"),
        ("slack", {"url": ""}, "Missing Slack Callback URL"),
        ("slack", {"url": "ftp://hooks.slack.com/services/T0/B0/s3cr3t"}, SLACK_INVALID),
        ("slack", {"url": "hooks.slack.com/services/T0/B0/s3cr3t"}, SLACK_INVALID),
        ("slack", {"url": "https:///services/T0/B0/s3cr3t"}, SLACK_INVALID),
        ("slack", {"url": "https://hooks.slack.com:99999/s3cr3t"}, SLACK_INVALID),
        ("slack", {"url": 42}, SLACK_INVALID),
        ("slack", {"url": "https://h/x", "room_id": "1"},
         "unknown config key 'room_id' for method slack: expected url"),
        ("hipchat", {}, "Missing Hipchat Room Notification Token"),
        ("hipchat", {"room_id": "12"}, "Missing Hipchat Room Notification Token"),
        ("hipchat", {"room_id": "12", "notification_token": ""},
         "Missing Hipchat Room Notification Token"),
        ("hipchat", {"notification_token": "t"}, "Missing Hipchat Room ID"),
        ("hipchat", {"notification_token": "t", "room_id": ""}, "Missing Hipchat Room ID"),
        ("hipchat", {"notification_token": "t", "room_id": "dev-room"},
         f"Invalid Hipchat Room ID 'dev-room': {HIPCHAT_ROOM}"),
        ("hipchat", {"notification_token": "t", "room_id": "12a"},
         f"Invalid Hipchat Room ID '12a': {HIPCHAT_ROOM}"),
        ("hipchat", {"notification_token": "t", "room_id": "12\n"},
         f"Invalid Hipchat Room ID '12\\n': {HIPCHAT_ROOM}"),
        ("hipchat", {"notification_token": "t", "room_id": "\uff11\uff12"},
         f"Invalid Hipchat Room ID '\uff11\uff12': {HIPCHAT_ROOM}"),
        ("hipchat", {"notification_token": "t", "room_id": True},
         f"Invalid Hipchat Room ID 'True': {HIPCHAT_ROOM}"),
        ("hipchat", {"notification_token": "t", "room_id": "1", "api_url": "ftp://h"},
         "Invalid Hipchat API URL 'ftp://h': api_url must be an http(s) URL with a host, "
         "e.g. https://api.hipchat.com"),
        ("hipchat", {"notification_token": "t", "room_id": "1", "api_url": "ftp://u:pw@h"},
         f"Invalid Hipchat API URL 'ftp://u:{MASK}@h': api_url must be an http(s) URL with a "
         "host, e.g. https://api.hipchat.com"),
        ("hipchat", {"notification_token": "t", "room_id": "1", "api_url": "https://h/?a=1"},
         "Invalid Hipchat API URL 'https://h/?a=********': api_url must be a base URL without "
         "a query or fragment, e.g. https://api.hipchat.com"),
        ("flowdock", {}, "Missing Flowdock API Token"),
        ("flowdock", {"flow_api_token": ""}, "Missing Flowdock API Token"),
        ("flowdock", {"flow_api_token": "t", "api_url": "api.example.com"},
         "Invalid Flowdock API URL 'api.example.com': api_url must be an http(s) URL with a "
         "host, e.g. https://api.flowdock.com"),
        ("flowdock", {"flow_api_token": "t", "api_url": 8080},
         "Invalid Flowdock API URL '8080': api_url must be a string, "
         "e.g. https://api.flowdock.com"),
        ("flowdock", {"flow_api_token": "t", "room_id": "1"},
         "unknown config key 'room_id' for method flowdock: expected flow_api_token, api_url"),
    ],
)  # fmt: skip
def test_validation_messages(method: str, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(method, config)
    assert str(info.value) == message
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    ("method", "config"),
    [
        ("slack", {"url": "https://hooks.slack.com/services/T0/B0/x"}),
        ("slack", {"url": "http://127.0.0.1:8080/hook"}),  # Quay has no blocklist for Slack
        ("slack", {"url": "env:UNSET_SLACK_URL"}),  # resolved only at send time
        ("slack", {"url": "file:/does/not/exist"}),
        ("hipchat", {"room_id": "12345", "notification_token": "env:UNSET_TOKEN"}),
        ("hipchat", {"room_id": 12345, "notification_token": "t", "api_url": "http://h:8080/"}),
        ("flowdock", {"flow_api_token": "file:/does/not/exist"}),
        ("flowdock", {"flow_api_token": "t", "api_url": "https://flowdock.example.com/api/"}),
    ],
)
def test_valid_configs(method: str, config: dict[str, Any]) -> None:
    assert make(method, config).config == config


# -- secrets: resolved at send time, never shown ------------------------------------------------


def test_references_are_resolved_at_each_send(
    httpserver: HTTPServer, client: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QN_SLACK_URL", raising=False)
    token_file = tmp_path / "flowdock-token"
    slack = make("slack", {"url": "env:QN_SLACK_URL"})
    flowdock = make(
        "flowdock", {"flow_api_token": f"file:{token_file}", "api_url": httpserver.url_for("/")}
    )
    # provided only after the methods were built: nothing is read before sending
    monkeypatch.setenv("QN_SLACK_URL", httpserver.url_for(SLACK_PATH))
    token_file.write_text(TOKEN + "\n")
    httpserver.expect_ordered_request(SLACK_PATH).respond_with_data("ok")
    httpserver.expect_ordered_request(f"/v1/messages/team_inbox/{TOKEN}").respond_with_data("ok")
    httpserver.expect_ordered_request("/other").respond_with_data("ok")
    send(slack, notification("repo_push"), client)
    send(flowdock, notification("repo_push"), client)
    monkeypatch.setenv("QN_SLACK_URL", httpserver.url_for("/other"))
    send(slack, notification("repo_push"), client)
    assert [r.path for r, _ in httpserver.log] == [
        SLACK_PATH, f"/v1/messages/team_inbox/{TOKEN}", "/other"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "config", "setup", "message"),
    [
        ("slack", {"url": "env:QN_SLACK_URL"}, {},
         "url refers to environment variable QN_SLACK_URL, which is not set"),
        ("slack", {"url": "env:QN_SLACK_URL"}, {"QN_SLACK_URL": "ftp://h/s3cr3t"},
         "Invalid Slack Callback URL from env:QN_SLACK_URL: it must be an http(s) URL with a "
         "host, e.g. https://hooks.slack.com/services/T000/B000/XXXX"),
        ("hipchat", {"room_id": "1", "notification_token": "env:QN_TOKEN"}, {},
         "notification_token refers to environment variable QN_TOKEN, which is not set"),
        ("flowdock", {"flow_api_token": "file:{empty}"}, {},
         "flow_api_token file:{empty} is empty"),
    ],
)  # fmt: skip
def test_unusable_secret_at_send_time_is_not_retried(
    method: str,
    config: dict[str, str],
    setup: dict[str, str],
    message: str,
    client: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    config = {k: v.format(empty=empty) for k, v in config.items()}
    monkeypatch.delenv("QN_SLACK_URL", raising=False)
    monkeypatch.delenv("QN_TOKEN", raising=False)
    for name, value in setup.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(DeliveryError) as info:
        make(method, config).send(notification("repo_push"), SendContext(5.0, client))
    assert str(info.value) == message.format(empty=empty)
    assert info.value.retryable is False
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize("method", ["slack", "hipchat", "flowdock"])
def test_failure_message_hides_secrets(
    method: str, httpserver: HTTPServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = httpserver.url_for("/").rstrip("/")
    config, shown = {
        "slack": ({"url": "env:QN_SLACK_URL"}, f"Slack to url: {base}/{MASK}"),
        "hipchat": (
            {"room_id": "9", "notification_token": "env:QN_TOKEN", "api_url": base},
            f"hipchat to url: {base}/v2/room/9/notification",
        ),
        "flowdock": (
            {"flow_api_token": "env:QN_TOKEN", "api_url": base},
            f"flowdock to url: {base}/v1/messages/team_inbox/{MASK}",
        ),
    }[method]
    monkeypatch.setenv("QN_SLACK_URL", httpserver.url_for(SLACK_PATH))
    monkeypatch.setenv("QN_TOKEN", TOKEN)
    httpserver.expect_request(ANY_PATH).respond_with_data("boom", status=500)
    with pytest.raises(DeliveryError) as info:
        make(method, config).send(notification("build_failure"), SendContext(5.0, client))
    assert str(info.value) == f"500 response for {shown}"
    assert (info.value.status, info.value.retryable, info.value.transient) == (500, True, True)
    assert len(httpserver.log) == 1  # one attempt: retrying is the delivery loop's job
    for secret in (TOKEN, SLACK_PATH, "s3cr3tSlackT0ken"):
        assert secret not in str(info.value)


def test_connection_error_hides_the_slack_url(client: httpx.Client) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SLACK_PATH}"
    with pytest.raises(DeliveryError) as info:
        make("slack", {"url": url}).send(notification("repo_push"), SendContext(5.0, client))
    assert str(info.value).endswith(f": Slack to url: http://127.0.0.1:{port}/{MASK}")
    assert "s3cr3tSlackT0ken" not in str(info.value)
    assert info.value.transient


# -- end to end through the CLI ------------------------------------------------------------------


def emit(cli: Cli, *extra: str) -> tuple[int, str]:
    result = cli(
        "emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]',
        "--max-attempts", "1", *extra,
    )  # fmt: skip
    return result.code, result.out + result.err


def delivered_notification(config_file: Path) -> Notification:
    """The Notification delivery builds for the emitted event (its HTML is render's)."""
    from quaynotify.config import load as config
    from quaynotify.delivery import plan as delivery

    conf = config.load(config_file)
    push = get_event("repo_push")
    data = delivery.make_event_data(conf, push, "acme/web", {"updated_tags": ["latest"]})
    return delivery.plan(conf, conf.rules, push, data)[0].notification


DATA = common(host="quay.io") | {"updated_tags": ["latest"]}


def test_cli_slack(
    cli: Cli, httpserver: HTTPServer, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quaynotify.render.messages import slackify

    add_rule(cli, "slack", "--url", "env:QN_SLACK_URL")
    monkeypatch.setenv("QN_SLACK_URL", httpserver.url_for(SLACK_PATH))
    httpserver.expect_oneshot_request(SLACK_PATH, method="POST").respond_with_data("ok")
    code, output = emit(cli)
    assert code == 0, output
    n = delivered_notification(config_file)
    assert (n.data, n.summary) == (DATA, "Repository acme/web updated")
    body = json.loads(only_request(httpserver).get_data())
    assert body == slack_body(n, "good", slackify(n.html, escape=True))
    assert "pushed" in body["attachments"][0]["text"] or "Push of" in body["attachments"][0]["text"]
    assert_slack_sdk_accepts(body["attachments"][0])


def test_cli_hipchat(cli: Cli, httpserver: HTTPServer, config_file: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "hipchat-token"
    token_file.write_text(TOKEN)
    add_rule(
        cli, "hipchat", "--room-id", "12345", "--notification-token", f"file:{token_file}",
        "--api-url", httpserver.url_for("/"),
    )  # fmt: skip
    path = "/v2/room/12345/notification"
    httpserver.expect_oneshot_request(path, method="POST").respond_with_data("", status=204)
    code, output = emit(cli)
    assert code == 0, output
    request = only_request(httpserver)
    n = delivered_notification(config_file)
    assert json.loads(request.get_data()) == hipchat_body(n, "purple")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.query_string == b""


def test_cli_flowdock(cli: Cli, httpserver: HTTPServer, config_file: Path) -> None:
    config_file.write_text('[smtp]\nsender = "quay@acme.test"\n')
    add_rule(cli, "flowdock", "--flow-api-token", TOKEN, "--api-url", httpserver.url_for("/"))
    path = f"/v1/messages/team_inbox/{TOKEN}"
    httpserver.expect_oneshot_request(path, method="POST").respond_with_data("{}")
    code, output = emit(cli)
    assert code == 0, output
    n = delivered_notification(config_file)
    assert n.data == DATA
    body = json.loads(only_request(httpserver).get_data())
    assert body == flowdock_body(n, "quay@acme.test")
    assert TOKEN not in output


@pytest.mark.parametrize("method", ["slack", "hipchat", "flowdock"])
def test_cli_failure_keeps_secrets_out_of_output_and_journal(
    method: str, cli: Cli, httpserver: HTTPServer, store: Store, state_dir: Path
) -> None:
    """On both backends: the journal as stored (files and rows) holds no secret."""
    options = {
        "slack": ["--url", httpserver.url_for(SLACK_PATH)],
        "hipchat": ["--room-id", "1", "--notification-token", TOKEN,
                    "--api-url", httpserver.url_for("/")],
        "flowdock": ["--flow-api-token", TOKEN, "--api-url", httpserver.url_for("/")],
    }[method]  # fmt: skip
    rule_id = add_rule(cli, method, *options)
    httpserver.expect_request(ANY_PATH).respond_with_data("boom", status=500)
    code, output = emit(cli)
    assert code == 1
    assert "500 response for" in output
    assert len(httpserver.log) == 1
    preview = cli("emit", "repo_push", "--repo", "acme/web", "--sample", "--dry-run", "--json")
    assert preview.code == 0, preview.err
    log = cli("log", "--json")
    show = cli("rule", "show", rule_id, "--json")
    everything = output + preview.out + preview.err + log.out + log.err + show.out + show.err
    assert "500 response for" in log.out
    for secret in (TOKEN, "s3cr3tSlackT0ken", SLACK_PATH):
        assert secret not in everything
        assert secret.encode() not in stored_bytes(store, state_dir)
