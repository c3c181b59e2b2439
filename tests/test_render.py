"""Messages for every event against Quay's templates, with every value escaped for the format
it lands in (HTML, Slack mrkdwn, plain text), and Quay's slackify."""

from __future__ import annotations

import html.parser
import re
import subprocess
import sys
from typing import Any

import pytest
from helpers.quay_samples import BUILDS, MIRRORS

from quaynotify.catalogue.data import build_event_data, sample_event_data
from quaynotify.catalogue.events import EVENTS, get_event
from quaynotify.errors import UsageError
from quaynotify.render.messages import Messages, messages, one_line, safe_url, slackify

HOSTNAME = "quay.example.com"
HOST = {"hostname": HOSTNAME, "scheme": "https"}
APP = "https://quay.example.com"
REPO = f'<a href="{APP}/repository/acme/web">acme/web</a>'
REPO_TEXT = f"acme/web ({APP}/repository/acme/web)"
BUILD_LINK = f'<a href="{APP}/repository/acme/web/build/fake-build-id">Build fake-bu</a>'
BUILD_TEXT = f"Build fake-bu ({APP}/repository/acme/web/build/fake-build-id)"
COMMIT = "42d4a62c53350993ea41069e9f2cfdefb0df097d"
# Markup a plain-text message must never contain: a tag, or an entity.
MARKUP = re.compile(r"<[a-zA-Z/!]|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def tag(name: str) -> str:
    return f'<a href="{APP}/repository/acme/web?tag={name}&amp;tab=tags">{name}</a>'


def data_for(event: str, fields: dict[str, Any]) -> dict[str, Any]:
    return build_event_data(EVENTS[event], "acme/web", fields, hostname=HOSTNAME, scheme="https")


def sample(event: str) -> dict[str, Any]:
    """Quay's Test Notification data: the event's sample over the common fields."""
    return sample_event_data(get_event(event), "acme/web", {}, hostname=HOSTNAME, scheme="https")


def render(event: str, fields: dict[str, Any], performer: str | None = None) -> Messages:
    return messages(event, data_for(event, fields), performer=performer, **HOST)


class Elements(html.parser.HTMLParser):
    """The tags and attributes an HTML message holds."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_safe_html(source: str) -> None:
    for name, attrs in Elements(source).tags:
        assert name in ("a", "b", "br"), source
        if name == "a":
            assert set(attrs) == {"href"}, source
            assert re.match(r"https?://", attrs["href"] or ""), source
        else:
            assert attrs == {}, source


# --- every event, from its sample data -----------------------------------------------------------


@pytest.mark.parametrize("event", list(EVENTS))
@pytest.mark.parametrize("performer", [None, "alice"])
def test_every_sample_renders_summary_html_and_text(event: str, performer: str | None) -> None:
    data = sample(event)
    result = messages(event, data, performer=performer, **HOST)
    assert result.summary == get_event(event).summary(data)
    assert "\n" not in result.summary
    assert_safe_html(result.html)
    assert not MARKUP.search(result.text), result.text
    if event not in MIRRORS:  # Quay's mirror template names no repository
        assert REPO in result.html
        assert REPO_TEXT in result.text


@pytest.mark.parametrize(
    ("event", "html", "text"),
    [
        (
            "repo_push",
            f"Push of {tag('latest')}, {tag('foo')} in repository {REPO}",
            f"Push of latest, foo in repository {REPO_TEXT}",
        ),
        *(
            (
                name,
                f"{BUILD_LINK} {word} for change 42d4a62 for repository {REPO}",
                f"{BUILD_TEXT} {word} for change 42d4a62 for repository {REPO_TEXT}",
            )
            for name, word in (
                ("build_start", "started"),
                ("build_success", "completed"),
                ("build_cancelled", "canceled"),  # one l, as Quay's template has it
            )
        ),
        (
            "build_failure",
            f'{BUILD_LINK} failure for change <a href="http://path/to/the/commit">42d4a62</a>'
            ' to branch somebranch by <a href="http://path/to/fake/author/in/scm">fakeauthor</a>'
            f" for repository {REPO}<br>This is a fake error message",
            f"{BUILD_TEXT} failure for change 42d4a62 (http://path/to/the/commit) to branch"
            " somebranch by fakeauthor (http://path/to/fake/author/in/scm) for repository"
            f" {REPO_TEXT}\nThis is a fake error message",
        ),
        (
            "build_queued",
            f'{BUILD_LINK} queued for change <a href="http://path/to/the/commit">42d4a62</a>'
            ' to branch somebranch by <a href="http://path/to/fake/author/in/scm">fakeauthor</a>'
            f" for repository {REPO}",
            f"{BUILD_TEXT} queued for change 42d4a62 (http://path/to/the/commit) to branch"
            " somebranch by fakeauthor (http://path/to/fake/author/in/scm) for repository"
            f" {REPO_TEXT}",
        ),
        (
            "vulnerability_found",
            'A <a href="https://security-tracker.debian.org/tracker/CVE-FAKE-CVE">Unknown'
            " vulnerability</a> (CVE-FAKE-CVE) was detected in tags/manifests"
            f" {tag('latest')}, {tag('prod')}, {tag('foo')} (and 2 more) in repository {REPO}",
            "A Unknown vulnerability (https://security-tracker.debian.org/tracker/CVE-FAKE-CVE)"
            " (CVE-FAKE-CVE) was detected in tags/manifests latest, prod, foo (and 2 more)"
            f" in repository {REPO_TEXT}",
        ),
        *((name, "TEST NOTIFICATION", "TEST NOTIFICATION") for name in MIRRORS),
        (
            "repo_image_expiry",
            f"The following tags of repository {REPO} are due to expire in None days:<br>"
            f"{tag('latest')}, {tag('v1')}",
            f"The following tags of repository {REPO_TEXT} are due to expire in None days:\n"
            "latest, v1",
        ),
    ],
)
def test_sample_messages_are_quays_content(event: str, html: str, text: str) -> None:
    result = messages(event, sample(event), performer=None, **HOST)
    assert (result.html, result.text) == (html, text)


# --- repo_push -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("performer", "tags", "html", "text"),
    [
        (
            "alice",
            ["latest", "foo"],
            f"<b>alice</b> pushed {tag('latest')}, {tag('foo')} in repository {REPO}",
            f"alice pushed latest, foo in repository {REPO_TEXT}",
        ),
        (
            None,
            ["latest"],
            f"Push of {tag('latest')} in repository {REPO}",
            f"Push of latest in repository {REPO_TEXT}",
        ),
        (
            "acme+ci",  # a robot: Quay shows a wrench icon, we show the name alone
            [],
            f"<b>acme+ci</b> pushed repository {REPO}",
            f"acme+ci pushed repository {REPO_TEXT}",
        ),
        (None, [], f"Push of repository {REPO}", f"Push of repository {REPO_TEXT}"),
        ("", [], f"Push of repository {REPO}", f"Push of repository {REPO_TEXT}"),
    ],
)
def test_repo_push(performer: str | None, tags: list[str], html: str, text: str) -> None:
    result = render("repo_push", {"updated_tags": tags}, performer)
    assert (result.summary, result.html, result.text) == ("Repository acme/web updated", html, text)


# --- builds --------------------------------------------------------------------------------------

_INFO = {
    "url": "https://git.example.com/acme/web/commit/42d4a62",
    "message": "Fix it",
    "author": {"username": "bob", "url": "https://git.example.com/bob"},
}
_COMMIT_LINK = '<a href="https://git.example.com/acme/web/commit/42d4a62">42d4a62</a>'
_COMMIT_TEXT = "42d4a62 (https://git.example.com/acme/web/commit/42d4a62)"


@pytest.mark.parametrize(
    ("fields", "middle_html", "middle_text"),
    [
        pytest.param(
            {"ref": "refs/heads/main", "commit": COMMIT, "commit_info": _INFO},
            f'change {_COMMIT_LINK} to branch main by <a href="https://git.example.com/bob">'
            "bob</a>",
            f"change {_COMMIT_TEXT} to branch main by bob (https://git.example.com/bob)",
            id="commit_info-with-author",
        ),
        pytest.param(
            {"ref": "refs/tags/v1.2", "commit": COMMIT, "commit_info": {"url": _INFO["url"]}},
            f"change {_COMMIT_LINK} to tag v1.2",
            f"change {_COMMIT_TEXT} to tag v1.2",
            id="commit_info-tag-without-author",
        ),
        pytest.param(
            # Quay shows ref.split('/')[2]: the branch feature/x reads "feature"
            {"ref": "refs/heads/feature/x", "commit": COMMIT, "commit_info": {"url": _INFO["url"]}},
            f"change {_COMMIT_LINK} to branch feature",
            f"change {_COMMIT_TEXT} to branch feature",
            id="commit_info-nested-branch",
        ),
        pytest.param(
            # Quay fails on a commit_info without a ref; we leave the ref out
            {"commit": COMMIT, "commit_info": {"url": _INFO["url"]}},
            f"change {_COMMIT_LINK}",
            f"change {_COMMIT_TEXT}",
            id="commit_info-without-ref",
        ),
        pytest.param(
            {"ref": "refs/heads/main", "commit": COMMIT},
            "change 42d4a62",
            "change 42d4a62",
            id="metadata-without-commit_info",
        ),
        pytest.param({}, "change to github repository", "change to github repository", id="kind"),
    ],
)
def test_build_trigger_cases(fields: dict[str, Any], middle_html: str, middle_text: str) -> None:
    result = render(
        "build_success",
        {
            "build_id": "4b8f1c2e-5d7a",
            "trigger_id": "1245634",
            "trigger_kind": "github",
            "trigger_metadata": fields,
        },
    )
    link = f'<a href="{APP}/repository/acme/web/build/4b8f1c2e-5d7a">Build 4b8f1c2</a>'
    assert result.html == f"{link} completed for {middle_html} for repository {REPO}"
    assert result.text == (
        f"Build 4b8f1c2 ({APP}/repository/acme/web/build/4b8f1c2e-5d7a) completed for"
        f" {middle_text} for repository {REPO_TEXT}"
    )
    assert result.summary == "Build succeeded for repository acme/web [4b8f1c2]"


@pytest.mark.parametrize(
    ("event", "word"),
    [
        (e, w)
        for e, w in zip(
            BUILDS, ("queued", "started", "completed", "failure", "canceled"), strict=True
        )
    ],
)
def test_uploaded_dockerfile_with_an_error_message(event: str, word: str) -> None:
    result = render(event, {"build_id": "abcdef0123", "error_message": "Step 3/7 failed"})
    link = f'<a href="{APP}/repository/acme/web/build/abcdef0123">Build abcdef0</a>'
    assert result.html == (
        f"{link} {word} for uploaded Dockerfile for repository {REPO}<br>Step 3/7 failed"
    )
    assert result.text == (
        f"Build abcdef0 ({APP}/repository/acme/web/build/abcdef0123) {word} for uploaded"
        f" Dockerfile for repository {REPO_TEXT}\nStep 3/7 failed"
    )


def test_a_multi_line_error_message_keeps_its_lines_in_the_text() -> None:
    result = render("build_failure", {"build_id": "b1", "error_message": "one\r\ntwo\rthree"})
    assert result.text.endswith(f"for repository {REPO_TEXT}\none\ntwo\nthree")
    assert result.html.endswith(f"{REPO}<br>one\ntwo\nthree")


# --- vulnerabilities -----------------------------------------------------------------------------

_FIVE = ["latest", "prod", "foo", "bar", "baz"]
_CVE = {"id": "CVE-2024-3094", "priority": "Critical", "link": "https://nvd.example/CVE-2024-3094"}


@pytest.mark.parametrize(
    ("fields", "html", "text"),
    [
        pytest.param(
            {"tags": _FIVE, "vulnerability": _CVE},
            'A <a href="https://nvd.example/CVE-2024-3094">Critical vulnerability</a>'
            " (CVE-2024-3094) was detected in tags/manifests"
            f" {tag('latest')}, {tag('prod')}, {tag('foo')} (and 2 more) in repository {REPO}",
            "A Critical vulnerability (https://nvd.example/CVE-2024-3094) (CVE-2024-3094) was"
            f" detected in tags/manifests latest, prod, foo (and 2 more) in repository {REPO_TEXT}",
            id="single-more-than-three-tags",
        ),
        pytest.param(
            {"tags": ["v1", "v2", "v3"], "vulnerability": {"priority": "Low"}},
            "A Low vulnerability was detected in tags/manifests"
            f" {tag('v1')}, {tag('v2')}, {tag('v3')} in repository {REPO}",
            f"A Low vulnerability was detected in tags/manifests v1, v2, v3 in repository"
            f" {REPO_TEXT}",
            id="single-three-tags-no-link-no-id",
        ),
        pytest.param(
            {
                "tags": [*_FIVE, "qux"],
                "vulnerability": _CVE,
                "vulnerabilities": [
                    {"priority": "High"},
                    {"priority": "High"},
                    {"priority": "Low"},
                ],
            },
            "3 vulnerabilities were detected in tags"
            f" {tag('latest')}, {tag('prod')}, {tag('foo')} (and 3 more) in repository {REPO}",
            f"3 vulnerabilities were detected in tags latest, prod, foo (and 3 more) in"
            f" repository {REPO_TEXT}",
            id="list",
        ),
        pytest.param(
            {"tags": [], "vulnerability": {"priority": "High", "id": "CVE-1"}},
            f"A High vulnerability (CVE-1) was detected in tags/manifests in repository {REPO}",
            f"A High vulnerability (CVE-1) was detected in tags/manifests in repository"
            f" {REPO_TEXT}",
            id="no-tags",
        ),
    ],
)
def test_vulnerability_found(fields: dict[str, Any], html: str, text: str) -> None:
    result = render("vulnerability_found", fields)
    assert (result.html, result.text) == (html, text)


def test_vulnerability_list_summary_is_quays() -> None:
    result = render(
        "vulnerability_found",
        {
            "tags": ["a", "b"],
            "vulnerability": _CVE,
            "vulnerabilities": [{"priority": "High"}, {"priority": "High"}, {"priority": "Low"}],
        },
    )
    assert result.summary == (
        "2 High and 1 more vulnerabilities were detected in repository acme/web in 2 tags"
    )


# --- mirror and image expiry ---------------------------------------------------------------------

_MIRROR_MESSAGE = "'quay.io/acme/web' with tag pattern 'latest,v*': PARTIAL SYNC"


@pytest.mark.parametrize("event", MIRRORS)
@pytest.mark.parametrize(
    ("performer", "html", "text"),
    [
        (None, _MIRROR_MESSAGE.replace("'", "&#39;"), _MIRROR_MESSAGE),
        (
            "alice",
            "<b>alice</b> " + _MIRROR_MESSAGE.replace("'", "&#39;"),
            "alice " + _MIRROR_MESSAGE,
        ),
    ],
)
def test_mirror_events_show_the_message(
    event: str, performer: str | None, html: str, text: str
) -> None:
    result = render(event, {"message": _MIRROR_MESSAGE}, performer)
    assert (result.html, result.text) == (html, text)


@pytest.mark.parametrize(
    ("fields", "html", "text"),
    [
        (
            {"tags": ["v1", "v2"], "expiring_in": "7 days"},
            f"The following tags of repository {REPO} are due to expire in 7 days:<br>"
            f"{tag('v1')}, {tag('v2')}",
            f"The following tags of repository {REPO_TEXT} are due to expire in 7 days:\nv1, v2",
        ),
        (
            {"tags": ["v1"], "expiring_in": ""},
            f"The following tags of repository {REPO} are due to expire:<br>{tag('v1')}",
            f"The following tags of repository {REPO_TEXT} are due to expire:\nv1",
        ),
    ],
)
def test_repo_image_expiry(fields: dict[str, Any], html: str, text: str) -> None:
    result = render("repo_image_expiry", fields)
    assert (result.summary, result.html, result.text) == (
        "Repository acme/web image(s) expiring",
        html,
        text,
    )


# --- hostile data --------------------------------------------------------------------------------

SCRIPT = "<script>alert('x')</script>"
JS = "javascript:alert(document.cookie)"


def test_values_are_escaped_in_html_and_verbatim_in_text() -> None:
    result = render(
        "build_failure",
        {
            "build_id": 'x"><img src=x onerror=alert(1)>',
            "trigger_id": "t",
            "trigger_kind": "github",
            "trigger_metadata": {
                "ref": "refs/heads/a&b<i>",
                "commit": "<b>bold",
                "commit_info": {
                    "url": 'https://git.example.com/c?a=1&b="2"',
                    "author": {"username": SCRIPT, "url": "https://git.example.com/u"},
                },
            },
            "error_message": 'AT&T said <br> & "no"',
        },
        performer=SCRIPT,
    )
    assert_safe_html(result.html)
    assert "<script" not in result.html and "<img" not in result.html
    assert result.html == (
        # the homepage built from that build id holds spaces: no link
        "Build x&#34;&gt;&lt;img failure for change"
        ' <a href="https://git.example.com/c?a=1&amp;b=&#34;2&#34;">&lt;b&gt;bold</a>'
        ' to branch a&amp;b&lt;i&gt; by <a href="https://git.example.com/u">'
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</a>"
        f" for repository {REPO}<br>AT&amp;T said &lt;br&gt; &amp; &#34;no&#34;"
    )
    # The text part is never read as HTML: the data stands as it was written.
    assert result.text.endswith(
        'failure for change <b>bold (https://git.example.com/c?a=1&b="2") to branch a&b<i>'
        f" by {SCRIPT} (https://git.example.com/u) for repository {REPO_TEXT}\n"
        'AT&T said <br> & "no"'
    )


@pytest.mark.parametrize(
    "url",
    [
        JS,
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "//evil.example/x",
        "/relative/path",
        "https://",
        "https://exa mple.com/",
        "http://[::1",
        "https://x.example/\x9b2J",
        "https://x.example/\u2028",
        "",
    ],
)
def test_unsafe_urls_from_data_are_shown_as_text_not_links(url: str) -> None:
    result = render(
        "build_failure",
        {
            "build_id": "b1",
            "homepage": url,
            "trigger_id": "t",
            "trigger_metadata": {
                "ref": "refs/heads/main",
                "commit": COMMIT,
                "commit_info": {"url": url, "author": {"username": "bob", "url": url}},
            },
        },
    )
    assert result.html == (
        f"Build b1 failure for change 42d4a62 to branch main by bob for repository {REPO}"
    )
    assert result.text == (
        f"Build b1 failure for change 42d4a62 to branch main by bob for repository {REPO_TEXT}"
    )
    vulnerability = render(
        "vulnerability_found", {"tags": [], "vulnerability": {"priority": "High", "link": url}}
    )
    assert vulnerability.html.startswith("A High vulnerability was detected")
    assert safe_url(url) is None


@pytest.mark.parametrize(
    "url", ["https://x.example", "HTTP://X.EXAMPLE/a?b=c&d=e#f", "https://[::1]:8443/"]
)
def test_http_urls_are_links(url: str) -> None:
    assert safe_url(url) == url


def test_tag_names_and_repository_are_quoted_in_urls_and_escaped_in_html() -> None:
    data = data_for("repo_push", {"updated_tags": ['a&b"<x>', "v 1/2?"]})
    data["repository"] = 'acme/we"b'
    result = messages("repo_push", data, performer="a&b", **HOST)
    assert_safe_html(result.html)
    base = f"{APP}/repository/acme/we%22b"
    assert result.html == (
        f'<b>a&amp;b</b> pushed <a href="{base}?tag=a%26b%22%3Cx%3E&amp;tab=tags">'
        f'a&amp;b&#34;&lt;x&gt;</a>, <a href="{base}?tag=v%201%2F2%3F&amp;tab=tags">v 1/2?</a>'
        f' in repository <a href="{base}">acme/we&#34;b</a>'
    )
    assert result.text == f'a&b pushed a&b"<x>, v 1/2? in repository acme/we"b ({base})'


def test_control_characters_never_reach_a_message() -> None:
    escape = "\x1b]8;;https://evil.example\x07click\x1b[2J"
    result = render("repo_mirror_sync_failed", {"message": f"bad{escape}\u2028next"}, "al\x1bice")
    for part in (result.summary, result.html, result.text):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", part), repr(part)
    assert result.text == "al\ufffdice bad\ufffd]8;;https://evil.example\ufffdclick\ufffd[2J\nnext"
    assert result.summary == (
        "Repository Mirror failed for bad\ufffd]8;;https://evil.example\ufffdclick\ufffd[2J next"
    )


@pytest.mark.parametrize(
    ("message", "summary"),
    [
        ("one\ntwo", "Repository Mirror started for one two"),
        ("one \r\n  two\n\nthree", "Repository Mirror started for one two three"),
        ("tab\tkept,  spaces  kept", "Repository Mirror started for tab\tkept,  spaces  kept"),
        ("x\u2029y\x85z\x0bw\x0cv", "Repository Mirror started for x y z w v"),
    ],
)
def test_summary_stays_on_one_line(message: str, summary: str) -> None:
    result = render("repo_mirror_sync_started", {"message": message})
    assert result.summary == summary
    assert len(result.summary.splitlines()) == 1
    assert one_line(summary) == summary  # idempotent: a later header_text changes nothing


# --- bad input -----------------------------------------------------------------------------------


def test_data_the_event_refuses_is_a_usage_error() -> None:
    data = data_for("build_success", {"build_id": "b1"})
    del data["build_id"]
    with pytest.raises(UsageError, match="build_success needs field 'build_id'"):
        messages("build_success", data, performer=None, **HOST)


def test_an_unknown_event_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown event 'repo_pish'"):
        messages("repo_pish", {}, performer=None, **HOST)


# --- slackify ------------------------------------------------------------------------------------

# repo_push as Quay's events/repo_push.html renders it for devtable pushing latest and foo to
# devtable/simple on host h: its newlines, its tags icon, its unescaped "&". user_reference and
# repository_reference are the plain forms of the reference's [verified] run (no avatars).
QUAY_PUSH_HTML = (
    "\n<b>devtable</b> pushed\n\n\n\n"
    ' <img src="https://h/static/img/icons/tags.png" alt="tags">\n'
    ' <a href="https://h/repository/devtable/simple?tag=latest&tab=tags">latest</a>,'
    ' <a href="https://h/repository/devtable/simple?tag=foo&tab=tags">foo</a> in\n\n\n'
    ' repository <a href="https://h/repository/devtable/simple">devtable/simple</a>'
)
VERIFIED_HEAD = (
    " *devtable* pushed  <https://h/repository/devtable/simple?tag=latest&tab=tags|latest>, "
)
VERIFIED_TAIL = " in repository <https://h/repository/devtable/simple|devtable/simple>"


def test_slackify_reproduces_quays_verified_example() -> None:
    result = slackify(QUAY_PUSH_HTML)
    assert result.startswith(VERIFIED_HEAD)  # the leading and the doubled space kept
    assert result.endswith(VERIFIED_TAIL)
    assert result == (
        VERIFIED_HEAD
        + "<https://h/repository/devtable/simple?tag=foo&tab=tags|foo>"
        + VERIFIED_TAIL
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a<br>b", "a\nb"),
        ("a <br> b", "a \n b"),
        ("a<BR>b<br/>c<br />d", "abcd"),  # only the exact lowercase "<br>"
        ("a\nb\n\nc", "a b c"),
        ("  two  spaces\t\tand tabs ", " two spaces and tabs "),
        ("<i>it</i> <b>b</b> <strong>s</strong>", "_it_ *b* *s*"),
        ('<a href="https://x/?a=1&amp;b=2">x &amp; y</a>', "<https://x/?a=1&b=2|x & y>"),
        ("<a>no href</a>", "<|no href>"),
        ("<a href>bare</a>", "<None|bare>"),  # Quay's "%s" of a valueless attribute
        ('<img src="x.png" alt="tags"><span>kept</span><p>text</p>', "kepttext"),
        ("&lt;script&gt; &#39;q&#39; &quot;d&quot; &copy;", "<script> 'q' \"d\" \u00a9"),
        ("<!-- gone -->x<?pi?>", "x"),
        # Quay never closes its parser: text after the last tag that holds an unterminated
        # "&..." is held back for more input, and lost
        ("AT&T", ""),
        ("<b>AT</b>&T", "*AT*"),
        ("AT&amp;T", "AT&T"),  # ours is escaped, so it is kept
    ],
)
def test_slackify_follows_quays_algorithm(source: str, expected: str) -> None:
    assert slackify(source) == expected


def test_slackify_of_our_html() -> None:
    push = render("repo_push", {"updated_tags": ["latest", "foo"]}, "alice")
    assert slackify(push.html) == (
        f"*alice* pushed <{APP}/repository/acme/web?tag=latest&tab=tags|latest>,"
        f" <{APP}/repository/acme/web?tag=foo&tab=tags|foo>"
        f" in repository <{APP}/repository/acme/web|acme/web>"
    )
    failure = messages("build_failure", sample("build_failure"), performer=None, **HOST)
    assert slackify(failure.html) == (
        f"<{APP}/repository/acme/web/build/fake-build-id|Build fake-bu> failure for change"
        " <http://path/to/the/commit|42d4a62> to branch somebranch by"
        " <http://path/to/fake/author/in/scm|fakeauthor> for repository"
        f" <{APP}/repository/acme/web|acme/web>\nThis is a fake error message"
    )


def test_slackify_decodes_escaped_data_as_quay_does_and_escape_mode_keeps_it_inert() -> None:
    result = render("repo_mirror_sync_failed", {"message": "<!channel> & <https://x|y> *b*"})
    assert result.html == "&lt;!channel&gt; &amp; &lt;https://x|y&gt; *b*"
    assert slackify(result.html) == "<!channel> & <https://x|y> *b*"
    assert slackify(result.html, escape=True) == "&lt;!channel&gt; &amp; &lt;https://x|y&gt; *b*"
    push = render("repo_push", {"updated_tags": ["a>b"]})
    assert slackify(push.html, escape=True) == (
        f"Push of <{APP}/repository/acme/web?tag=a%3Eb&tab=tags|a&gt;b>"
        f" in repository <{APP}/repository/acme/web|acme/web>"
    )
    assert (
        slackify('<a href="https://x/?a=<b>|c">t</a>', escape=True)
        == "<https://x/?a=%3Cb%3E%7Cc|t>"
    )


# --- start-up cost -------------------------------------------------------------------------------


def test_importing_render_and_slackify_do_not_load_jinja2() -> None:
    code = (
        "import sys\n"
        "import quaynotify.render.messages as r\n"
        "assert r.slackify('<b>x</b>') == '*x*'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jinja2', 'markupsafe')))\n"
        "r.messages('repo_mirror_sync_started', {'message': 'm', 'repository': 'a/b'},"
        " performer=None, hostname='h', scheme='https')\n"
        "print('jinja2' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == ["[]", "True"]
