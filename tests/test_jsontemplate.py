"""Tests for quaynotify.render.jsontemplate: Quay's `${jsonpath}` webhook body templates."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

from quaynotify.errors import ExitCode, QuaynotifyError, ValidationError
from quaynotify.render.jsontemplate import (
    TemplateApplyError,
    TemplateParseError,
    parse,
    render,
    validate,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

NESTED = {"first": {"second": {"third": 42}}}
TAGS = {"tags": ["latest", "prod", "foo"]}

# repo_push data as Quay sends it, with two tags and with one.
PUSH = {
    "repository": "ns/repo",
    "namespace": "ns",
    "name": "repo",
    "docker_url": "host/ns/repo",
    "homepage": "https://host/repository/ns/repo",
    "updated_tags": ["latest", "foo"],
}
PUSH_ONE_TAG = {**PUSH, "updated_tags": ["latest"]}


def _json_error(text: str) -> str:
    try:
        json.loads(text)
    except ValueError as exc:
        return str(exc)
    raise AssertionError("expected invalid JSON")


# Quay's own table, util/test/test_jsontemplate.py.
@pytest.mark.parametrize(
    ("template", "data", "expected"),
    [
        pytest.param("{}", {}, {}, id="empty object"),
        pytest.param('{"hello": "world"}', {}, {"hello": "world"}, id="no expression"),
        pytest.param('{"hello": "${thing}"}', {"thing": 1234}, {"hello": 1234}, id="direct"),
        pytest.param(
            '{"hello": "cool-${thing}"}', {"thing": "beans"}, {"hello": "cool-beans"}, id="inline"
        ),
        pytest.param('{"hello": "${first.second.third}"}', NESTED, {"hello": 42}, id="nested"),
        pytest.param(
            '{"hello": "${first.second.third} is the answer"}',
            NESTED,
            {"hello": "42 is the answer"},
            id="nested inline",
        ),
        pytest.param(
            '{"hello": "${first.doesnotexist.third}"}', NESTED, {"hello": None}, id="unknown child"
        ),
        pytest.param('{"hello": "${first[2]}"}', {"first": [1, 2, 42]}, {"hello": 42}, id="index"),
        pytest.param(
            '{"hello": "${first[2]}"}', {"first": [1, 2]}, {"hello": None}, id="index outside"
        ),
        pytest.param(
            '{"hello": ["${first[1]}", "${first[0]}"]}',
            {"first": [1, 2]},
            {"hello": [2, 1]},
            id="array to list",
        ),
        pytest.param(
            '{"hello": "hey-${first[2]}"}',
            {"first": [1, 2]},
            {"hello": "hey-(none)"},
            id="index outside inline",
        ),
        pytest.param(
            '{"hello": "${tags[*]}"}', TAGS, {"hello": ["latest", "prod", "foo"]}, id="multiple"
        ),
        pytest.param(
            '{"hello": "tags: ${tags[*]}"}',
            TAGS,
            {"hello": "tags: latest,prod,foo"},
            id="multiple inline",
        ),
    ],
)
def test_quay_table(template: str, data: Any, expected: Any) -> None:
    assert parse(template).apply(data) == expected
    assert render(template, data) == expected


# The cases checked against Quay, and the other rules of its template language.
@pytest.mark.parametrize(
    ("template", "data", "expected"),
    [
        pytest.param('"${updated_tags}"', PUSH, ["latest", "foo"], id="whole list"),
        pytest.param('"x ${updated_tags}"', PUSH, "x latest,foo", id="inline list joined"),
        pytest.param('"${updated_tags[*]}"', PUSH_ONE_TAG, "latest", id="one match is scalar"),
        pytest.param('{"${name}": "v"}', PUSH, {"repo": "v"}, id="key templated"),
        pytest.param('"${repository}${name}"', PUSH, "ns/reporepo", id="two expressions"),
        pytest.param('"$name"', PUSH, "$name", id="no braces is literal"),
        pytest.param('"${name"', PUSH, "${name", id="unclosed is literal"),
        pytest.param('"x ${name"', PUSH, "x ${name", id="unclosed inline is literal"),
        pytest.param("42", PUSH, 42, id="number template"),
        pytest.param('"${name}"', PUSH, "repo", id="string template"),
        pytest.param("null", PUSH, None, id="null template"),
        pytest.param(
            '[1, true, null, 1.5, "${name}"]', PUSH, [1, True, None, 1.5, "repo"], id="list"
        ),
        pytest.param(
            '{"a": {"b": ["${namespace}", {"${name}": "${updated_tags[0]}"}]}}',
            PUSH,
            {"a": {"b": ["ns", {"repo": "latest"}]}},
            id="recursive",
        ),
        pytest.param('"${ first . second }"', {"first": {"second": 7}}, 7, id="whitespace"),
        pytest.param('"${$.name}"', PUSH, "repo", id="root"),
        pytest.param('"${`this`.name}"', PUSH, "repo", id="this"),
        pytest.param('"${$}"', {"a": 1}, {"a": 1}, id="whole data"),
        pytest.param('"${missing}"', PUSH, None, id="no match is null"),
        pytest.param('"${a}"', {"a": None}, None, id="null value"),
        pytest.param('"${a}"', {"a": False}, False, id="false kept"),
        pytest.param('"${a}"', {"a": {"b": 1}}, {"b": 1}, id="object kept"),
        pytest.param('"${a}"', {"a": [1, 2]}, [1, 2], id="list of numbers whole"),
        pytest.param('"${a[*]}"', {"a": [1, 2]}, [1, 2], id="numbers from several matches"),
        pytest.param('"${a[*]}"', {"a": []}, None, id="star on empty list"),
        pytest.param('{"${n}": 1}', {"n": 5}, {5: 1}, id="number key kept"),
        pytest.param('{"${missing}": 1}', {}, {None: 1}, id="missing key is None"),
        pytest.param('{"${a}": 1, "${b}": 2}', {"a": "k", "b": "k"}, {"k": 2}, id="last key wins"),
        pytest.param('"}${name}{"', PUSH, "}repo{", id="braces around"),
        pytest.param('"${a}}"', {"a": "x"}, "x}", id="closing brace after"),
        pytest.param('"$${a}"', {"a": "x"}, "$x", id="dollar before"),
        # Deviation: Quay's re.match("^...$") treats this as whole-string and fails on `name}`.
        pytest.param('"${name}\\n"', PUSH, "repo\n", id="trailing newline is inline"),
    ],
)
def test_semantics(template: str, data: Any, expected: Any) -> None:
    result = render(template, data)
    assert result == expected
    assert type(result) is type(expected)


# Inline values that are not a list of two or more come out as Python's str().
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["x"], "['x']", id="one-element list"),
        pytest.param([], "[]", id="empty list"),
        pytest.param([1], "[1]", id="one-number list"),
        pytest.param([None], "[None]", id="list of null"),
        pytest.param({"a": 1}, "{'a': 1}", id="dict"),
        pytest.param({"k": None, "t": True}, "{'k': None, 't': True}", id="dict python spelling"),
        pytest.param(True, "True", id="true"),
        pytest.param(False, "False", id="false"),
        pytest.param(None, "(none)", id="null is missing"),
        pytest.param(1234, "1234", id="int"),
        pytest.param(1.5, "1.5", id="float"),
        pytest.param(1.0, "1.0", id="float whole"),
        pytest.param("s", "s", id="string"),
        pytest.param(["a", "b"], "a,b", id="strings joined"),
        pytest.param(["a", ""], "a,", id="empty string joined"),
    ],
)
def test_inline_python_spelling(value: Any, expected: str) -> None:
    assert render('"<${v}>"', {"v": value}) == f"<{expected}>"


def test_inline_several_matches_joined() -> None:
    assert render('"${a.b} ${c[*].d}"', {"a": {"b": 1}, "c": [{"d": "x"}, {"d": "y"}]}) == "1 x,y"


# Data-dependent failures: Quay raises TypeError at send time, we raise TemplateApplyError.
@pytest.mark.parametrize(
    ("template", "data", "message"),
    [
        pytest.param(
            '"x ${a}"',
            {"a": [1, 2]},
            "For expression `a`: cannot join a list inline unless every element is a string "
            "(found int)",
            id="inline list of numbers",
        ),
        pytest.param(
            '"x ${a[*]}"',
            {"a": ["s", None, {"k": 1}]},
            "For expression `a[*]`: cannot join a list inline unless every element is a string "
            "(found NoneType, dict)",
            id="inline matches not strings",
        ),
        pytest.param(
            '{"${a}": 1}',
            {"a": ["x", "y"]},
            "Object key `${a}` renders to a list, which cannot be a JSON object key",
            id="list key",
        ),
        pytest.param(
            '{"${a}": 1}',
            {"a": {"b": 1}},
            "Object key `${a}` renders to a dict, which cannot be a JSON object key",
            id="dict key",
        ),
    ],
)
def test_apply_errors(template: str, data: Any, message: str) -> None:
    validate(template)  # the data decides, so the template itself is accepted
    with pytest.raises(TemplateApplyError) as info:
        render(template, data)
    assert str(info.value) == message


def test_apply_error_is_not_a_validation_error() -> None:
    assert not issubclass(TemplateApplyError, ValidationError)
    assert issubclass(TemplateApplyError, QuaynotifyError)
    assert issubclass(TemplateParseError, ValidationError)
    assert TemplateParseError("x").exit_code is ExitCode.USAGE


def test_value_error_beats_key_error() -> None:
    # Quay's dict comprehension renders the value before inserting the key.
    with pytest.raises(TemplateApplyError, match="cannot join"):
        render('{"${k}": "x ${v}"}', {"k": [1, 2], "v": [1, 2]})


# Quay's error messages .
@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param(
            '{"hello": "}',
            "Could not parse template: Unterminated string starting at: line 1 column 11 (char 10)",
            id="invalid json",
        ),
        pytest.param("{", "Could not parse template: " + _json_error("{"), id="truncated json"),
        pytest.param("   ", "Could not parse template: " + _json_error("   "), id="blank json"),
        pytest.param('{"hello": "${}"}', "Empty expression found", id="empty expression"),
        pytest.param('"a ${} b"', "Empty expression found", id="empty inline expression"),
        pytest.param('{"${}": 1}', "Empty expression found", id="empty key expression"),
        pytest.param(
            '{"hello": "${;;}"}',
            "For expression `;;`: Error on line 1, col 0: Unexpected character: ;",
            id="lexer error",
        ),
        pytest.param(
            '"${..a}"',
            "For expression `..a`: Parse error at 1:0 near token .. (DOUBLEDOT)",
            id="parser error",
        ),
        pytest.param(
            '{"hello": "${first[}"}',
            "For expression `first[`: Parse error near the end of string!",
            id="unfinished index",
        ),
        pytest.param(
            '"${ }"',
            "For expression ` `: Parse error near the end of string!",
            id="blank expression goes to the parser",
        ),
        pytest.param(
            '{"${;;}": "${..a}"}',
            "For expression `;;`: Error on line 1, col 0: Unexpected character: ;",
            id="first error in document order",
        ),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    for attempt in (lambda: parse(template), lambda: validate(template)):
        with pytest.raises(TemplateParseError) as info:
            attempt()
        assert str(info.value) == message
        assert info.value.message == message


def test_union_is_accepted_without_warnings() -> None:
    # `|` is jsonpath-rw syntax; jsonpath-ng deprecates it, which must not reach our users.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert render('"${a|b}"', {"a": 1, "b": 2}) == [1, 2]


def test_parent_operator() -> None:
    # jsonpath-ng's `parent` (jsonpath-rw rejects it) works below the root and fails above it.
    assert render('"${a.b.`parent`.c}"', {"a": {"b": 1, "c": 2}}) == 2
    with pytest.raises(TemplateParseError, match=r"^For expression ``parent``: the lookup failed"):
        validate('"${`parent`}"')


def test_unknown_named_operator() -> None:
    # Only `this` (and jsonpath-ng's `parent`) exist; the position after "at" is the library's.
    with pytest.raises(TemplateParseError) as info:
        validate('"${`nope`}"')
    assert str(info.value).startswith("For expression ``nope``: Unknown named operator `nope` at ")


@pytest.mark.parametrize(
    "template",
    ["{}", '{"hello": "${thing}"}', '"x ${a[*]} ${b.c}"', "42", '"${name"', '["${$}"]'],
)
def test_validate_accepts(template: str) -> None:
    validate(template)  # raises on failure


def test_validate_turns_apply_error_into_parse_error() -> None:
    # Applied to {}, the key is the whole (empty) data: Quay gives an HTTP 500 here.
    with pytest.raises(TemplateParseError) as info:
        validate('{"${$}": 1}')
    assert (
        str(info.value) == "Object key `${$}` renders to a dict, which cannot be a JSON object key"
    )


def test_empty_template_means_no_template() -> None:
    data = {"name": "repo"}
    validate("")
    assert parse("").apply(data) is data
    assert render("", data) is data


def test_expressions_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonpath_ng.parser

    calls: list[str] = []
    real_parse = jsonpath_ng.parser.parse

    def counting_parse(expression: str) -> Any:
        calls.append(expression)
        return real_parse(expression)

    monkeypatch.setattr(jsonpath_ng.parser, "parse", counting_parse)
    # A fresh name, so no earlier parse in this process has compiled it already.
    probe = f"probe_{uuid.uuid4().hex}"
    text = f'{{"${{{probe}}}": ["${{{probe}}}", "x ${{{probe}}}"]}}'
    first = parse(text)
    second = parse(text)
    for template in (first, second, first):
        assert template.apply({probe: "v"}) == {"v": ["v", "x v"]}
    assert calls == [probe]


def test_apply_does_not_change_template_or_data() -> None:
    template = parse('{"k": ["${a}", "${a}"]}')
    data = {"a": {"b": [1]}}
    first = template.apply(data)
    assert first == {"k": [{"b": [1]}, {"b": [1]}]}
    assert template.apply({"a": 2}) == {"k": [2, 2]}
    assert data == {"a": {"b": [1]}}


def test_import_does_not_load_jsonpath() -> None:
    code = (
        "import sys, quaynotify.render.jsontemplate\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonpath_ng', 'ply')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
