"""An event's messages: the one-line summary, the HTML and plain-text messages (templates/
beside this module) and Quay's slackify of the HTML into Slack mrkdwn."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from quaynotify.catalogue.events import Event, get_event

if TYPE_CHECKING:
    import jinja2


# What str.splitlines splits on: none of these may survive in the one-line summary.
_LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")
# Control characters other than tab and the line breaks: ESC starts terminal escape
# sequences, and none of them belongs in a message.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_TEXT_BREAKS = re.compile(r"\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Browsers strip or skip these inside a URL ("java\tscript:" runs as javascript:).
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Messages:
    """What every method sends for one event."""

    summary: str  # one line, Quay's exact wording (the e-mail subject, Slack and Flowdock text)
    html: str  # Quay's events/*.html content, every value from the data escaped
    text: str  # the same content without tags or entities: e-mail text parts and terminals
    mrkdwn: str  # the HTML in Slack mrkdwn, escaped so that event data cannot ping a channel


def messages(
    event: Event | str,
    data: Mapping[str, Any],
    *,
    performer: str | None,
    hostname: str,
    scheme: str,
) -> Messages:
    """Render `event`'s messages for its event data (delivery hands the Event it already
    has; a name is looked up). Raises UsageError for data the event does not accept (as
    Event.summary does)."""
    ev = event if isinstance(event, Event) else get_event(event)
    summary = one_line(ev.summary(data))
    name, view = _view(ev, data, performer, _clean(f"{scheme}://{hostname}"))
    html = _environment(html=True).get_template(name).render(view)
    text = _environment(html=False).get_template(name).render(view)
    return Messages(summary=summary, html=html, text=text, mrkdwn=slackify(html, escape=True))


def one_line(value: str) -> str:
    """`value` on one line: a line break in event data (a mirror message, say) must not split
    a summary, whether it becomes an e-mail subject or a row of a table. Otherwise Quay's
    wording is kept as it is, but for control characters, replaced as in every message."""
    return _CONTROLS.sub("\ufffd", _LINE_BREAKS.sub(" ", value))


def _clean(value: str) -> str:
    """A value from event data, safe to show anywhere: line breaks as "\\n", other control
    characters replaced. Newlines are kept: a build's error message may have several lines."""
    return _CONTROLS.sub("\ufffd", _TEXT_BREAKS.sub("\n", value))


def _s(value: Any) -> str:
    return "" if value is None else _clean(str(value))


def safe_url(value: Any) -> str | None:
    """`value` if it may be an href: an absolute http(s) URL with a host and nothing a browser
    would strip or reinterpret. Anything else (javascript:, data:, relative, or with spaces or
    control characters inside) is shown as text instead, never as a link."""
    if not isinstance(value, str) or _NOT_IN_URL.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


class _Values:
    """The values a message view is given (catalogue.event.ViewValues): cleaned text, and
    tags linked on the configured host."""

    def __init__(self, repository_url: str) -> None:
        self.repository_url = repository_url

    def text(self, value: Any) -> str:
        return _s(value)

    def tags(self, names: Any) -> list[tuple[str, str]]:
        # Quay's repository_tag_reference; the tag is quoted as a query value.
        if not isinstance(names, list | tuple):
            return []
        shown = [_s(name) for name in names]
        url = self.repository_url
        return [(name, f"{url}?tag={quote(name, safe='')}&tab=tags") for name in shown]


def _view(
    event: Event, data: Mapping[str, Any], performer: str | None, app: str
) -> tuple[str, dict[str, Any]]:
    """The template to render and its values: every string cleaned, every URL built or
    checked here or in the event's view, so that the templates only lay the words out."""
    repository = _s(data.get("repository"))
    # Quay's repository_reference as a plain link: its avatar <img> needs an avatar service.
    # Quay's tags icon ({app}/static/img/icons/tags.png) is left out too: the configured host
    # need not serve Quay's static files, mail clients block or break remote images, and
    # slackify drops it anyway.
    repository_url = f"{app}/repository/{quote(repository, safe='/')}"
    view: dict[str, Any] = {
        "performer": _s(performer) or None,
        "repository": repository,
        "repository_url": repository_url,
    }
    own = event.message.view(data, _Values(repository_url))
    return event.message.template, view | own


# -- the two renderings of the same templates ---------------------------------------------------


@functools.cache
def _environment(*, html: bool) -> jinja2.Environment:
    """The templates hold no markup of their own: what a link, a user or a line break looks
    like comes from these helpers, so the HTML and the text message cannot drift apart."""
    from quaynotify.render.templating import environment

    env = environment(html=html, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(_html_helpers() if html else _text_helpers())
    return env


def _html_helpers() -> dict[str, Any]:
    from markupsafe import Markup, escape

    def link(url: Any, text: str) -> Markup:
        href = safe_url(url)
        if href is None:
            return escape(text)
        return Markup('<a href="{}">{}</a>').format(href, text)

    def tag_links(tags: Iterable[tuple[str, str]]) -> Markup:
        return Markup(", ").join(link(url, name) for name, url in tags)

    def user(name: str) -> Markup:
        # Quay's user_reference without the avatar (this tool knows no avatar service).
        return Markup("<b>{}</b>").format(name)

    return {"link": link, "tag_links": tag_links, "user": user, "br": Markup("<br>")}


def _text_helpers() -> dict[str, Any]:
    def link(url: Any, text: str) -> str:
        href = safe_url(url)
        return text if href is None else f"{text} ({href})"

    def tag_links(tags: Iterable[tuple[str, str]]) -> str:
        # The repository's link follows them; a URL per tag would bury the sentence.
        return ", ".join(name for name, _ in tags)

    def user(name: str) -> str:
        return name

    return {"link": link, "tag_links": tag_links, "user": user, "br": "\n"}


# -- Slack --------------------------------------------------------------------------------------


def slackify(html: str, *, escape: bool = False) -> str:
    """Quay's SlackMethod.format_for_slack, quirks included: newlines become spaces, whitespace
    runs collapse (leading and doubled spaces stay), only the exact "<br>" becomes a newline;
    then links become <href|text>, <b>/<strong> *, <i> _, other tags vanish, entities decode.

    Decoded text may hold "<!channel>" or "<https://x|y>", which Slack acts on. `escape=True`
    (not Quay's) escapes &, < and > in text and percent-encodes <, > and | in hrefs."""
    message = html.replace("\n", " ")
    message = re.sub(r"\s+", " ", message)
    message = message.replace("<br>", "\n")
    adjuster = _slack_adjuster(escape)
    adjuster.feed(message)
    # Quay never calls close(): text after the last tag that ends in an unterminated "&..."
    # is held back and lost. Our HTML escapes every "&", so it never ends that way.
    return "".join(adjuster.result)


_SLACK_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_SLACK_HREF = str.maketrans({"<": "%3C", ">": "%3E", "|": "%7C"})


def _slack_adjuster(escape: bool) -> Any:
    from html.parser import HTMLParser

    class SlackAdjuster(HTMLParser):
        """Quay's SlackAdjuster (notifications/notificationmethod.py)."""

        def __init__(self) -> None:
            super().__init__()
            self.result: list[str] = []

        def handle_data(self, data: str) -> None:
            self.result.append(data.translate(_SLACK_TEXT) if escape else data)

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                # Quay's "<%s|" % href: an href without a value shows as "None".
                href = next((value for name, value in attrs if name == "href"), "")
                self.result.append(f"<{_slack_href(href) if escape else href}|")
            elif tag == "i":
                self.result.append("_")
            elif tag in ("b", "strong"):
                self.result.append("*")

        def handle_endtag(self, tag: str) -> None:
            if tag == "a":
                self.result.append(">")
            elif tag in ("b", "strong"):
                self.result.append("*")
            elif tag == "i":
                self.result.append("_")

    return SlackAdjuster()


def _slack_href(href: str | None) -> str | None:
    return None if href is None else href.translate(_SLACK_HREF)
