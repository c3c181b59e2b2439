"""The line editor behind rule add/remove/enable/disable, on layouts a person may write:
multi-line strings that look like headers, sub-tables, inline arrays of rules."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from quaynotify.config.edit import add_rule, remove_rules, set_enabled
from quaynotify.config.load import Rule

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"

TRICKY = f'''# rules
[[rule]]
id = "{A}"
repository = "acme/web"
event = "repo_push"
method = "webhook"
# the template looks like a header inside, on purpose
config = {{ url = "https://h.example/x" }}

[rule.event_config]

[[rule]]
id = "{B}"
repository = "acme/web"
event = "repo_push"
method = "webhook"

[rule.config]
url = "https://h.example/y"
template = """
{{"a": "[[rule]]",
[[rule]]
"b": "${{name}}"}}"""

# after the rules
[journal]
keep_days = 3
'''


def doc(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(TRICKY)
    return path


def test_remove_skips_headers_inside_multiline_strings(tricky: Path) -> None:
    remove_rules(tricky, [A])
    text = tricky.read_text()
    assert [r["id"] for r in doc(tricky)["rule"]] == [B]  # type: ignore[index]
    assert "# the template looks like a header inside, on purpose" not in text
    assert text.startswith("# rules\n")
    assert text.endswith("# after the rules\n[journal]\nkeep_days = 3\n")


def test_remove_takes_the_sub_tables_along(tricky: Path) -> None:
    remove_rules(tricky, [B])
    text = tricky.read_text()
    assert "h.example/y" not in text and "[rule.config]" not in text
    assert doc(tricky)["journal"] == {"keep_days": 3}
    assert [r["id"] for r in doc(tricky)["rule"]] == [A]  # type: ignore[index]


def test_disable_goes_into_the_rules_own_table_not_a_sub_table(tricky: Path) -> None:
    set_enabled(tricky, B, False)
    rules = doc(tricky)["rule"]
    assert rules[1]["enabled"] is False  # type: ignore[index]
    assert "enabled" not in rules[1]["config"]  # type: ignore[index]
    set_enabled(tricky, B, True)
    assert tricky.read_text() == TRICKY


def test_add_goes_after_the_last_rule_before_what_follows(tricky: Path) -> None:
    rule = Rule("cccccccc-0000-4000-8000-000000000003", "acme/api", "repo_push", "webhook",
                {"url": "https://h.example/z"})  # fmt: skip
    add_rule(tricky, rule)
    text = tricky.read_text()
    assert text.index(rule.id) < text.index("# after the rules")
    assert [r["id"] for r in doc(tricky)["rule"]] == [A, B, rule.id]  # type: ignore[index]


def test_an_inline_array_of_rules_falls_back_to_the_round_trip_editor(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "# inline\nrule = [\n"
        f'  {{ id = "{A}", repository = "a/b", event = "repo_push", method = "webhook",'
        ' config = { url = "https://h.example/x" } },\n'
        f'  {{ id = "{B}", repository = "a/b", event = "repo_push", method = "webhook",'
        ' config = { url = "https://h.example/y" } },\n]\n'
    )
    remove_rules(path, [A])
    assert [r["id"] for r in doc(path)["rule"]] == [B]  # type: ignore[index]
    assert path.read_text().startswith("# inline\n")
    set_enabled(path, B, False)
    assert doc(path)["rule"][0]["enabled"] is False  # type: ignore[index]
