"""Quay's `${jsonpath}` JSON webhook body templates: parsing, validation and rendering."""

from __future__ import annotations

import functools
import json
import re
import warnings
from typing import TYPE_CHECKING, Any

from quaynotify.errors import QuaynotifyError, ValidationError

if TYPE_CHECKING:
    from jsonpath_ng.jsonpath import JSONPath

# Quay's pattern. Because the inside may not hold `}`, "${a}${b}" is two inline expressions and
# "${a" is plain text.
_EXPRESSION = re.compile(r"\$\{([^}]*)\}")
_MISSING = "(none)"


class TemplateParseError(ValidationError):
    """The template is not JSON or holds a bad expression (Quay's JSONTemplateParseException)."""


class TemplateApplyError(QuaynotifyError):
    """The event data does not fit the template (Quay raises TypeError at send time)."""


@functools.lru_cache(maxsize=512)
def _compile(expression: str) -> JSONPath:
    # Only the exact "${}" counts as empty; "${ }" goes to the parser, as in Quay.
    if not expression:
        raise TemplateParseError("Empty expression found")
    from jsonpath_ng.parser import parse as parse_jsonpath

    try:
        with warnings.catch_warnings():
            # `|` and `&` are plain jsonpath-rw syntax; jsonpath-ng's deprecation notice is noise.
            warnings.simplefilter("ignore", DeprecationWarning)
            return parse_jsonpath(expression)
    except Exception as exc:  # Quay turns any parser failure into a parse error
        # The lexer's messages end in a stray space (in jsonpath-rw too); the documented ones don't.
        detail = str(exc).rstrip()
        raise TemplateParseError(f"For expression `{expression}`: {detail}") from exc


def _collect(node: Any, paths: dict[str, JSONPath]) -> None:
    """Compile every expression in `node`, in the order Quay's trial apply meets them."""
    if isinstance(node, str):
        for match in _EXPRESSION.finditer(node):
            expression = match.group(1)
            if expression not in paths:
                paths[expression] = _compile(expression)
    elif isinstance(node, dict):
        for key, value in node.items():
            _collect(key, paths)
            _collect(value, paths)
    elif isinstance(node, list):
        for item in node:
            _collect(item, paths)


class JSONTemplate:
    """A parsed template (build it with `parse`); `apply` renders it against event data."""

    def __init__(self, document: Any, paths: dict[str, JSONPath], *, passthrough: bool = False):
        self._document = document
        self._paths = paths
        self._passthrough = passthrough

    def apply(self, data: Any) -> Any:
        """The webhook body for `data`; raises TemplateApplyError when the data does not fit."""
        if self._passthrough:
            return data
        return self._render(self._document, data)

    def _render(self, node: Any, data: Any) -> Any:
        if isinstance(node, str):
            return self._render_string(node, data)
        if isinstance(node, dict):
            rendered: dict[Any, Any] = {}
            for key, value in node.items():
                # Key before value, then the insert: the same order as Quay's dict comprehension,
                # so the same error wins. Non-string keys (a number, None) are kept as Quay keeps
                # them; json.dumps turns them into strings.
                new_key = self._render_string(key, data)
                new_value = self._render(value, data)
                try:
                    rendered[new_key] = new_value
                except TypeError:
                    raise TemplateApplyError(
                        f"Object key `{key}` renders to a {type(new_key).__name__}, "
                        "which cannot be a JSON object key"
                    ) from None
            return rendered
        if isinstance(node, list):
            return [self._render(item, data) for item in node]
        return node

    def _render_string(self, text: str, data: Any) -> Any:
        # fullmatch, not Quay's re.match("^...$"), whose `$` also matches before a final newline
        # and then slices the newline off instead of the `}`.
        whole = _EXPRESSION.fullmatch(text)
        if whole:
            return self._lookup(whole.group(1), data)
        return _EXPRESSION.sub(lambda match: self._inline(match.group(1), data), text)

    def _lookup(self, expression: str, data: Any) -> Any:
        try:
            found = self._paths[expression].find(data)
        except Exception as exc:  # e.g. `parent` above the root: jsonpath-ng asserts
            raise TemplateApplyError(
                f"For expression `{expression}`: the lookup failed ({exc!r})"
            ) from exc
        if not found:
            return None
        # One match is returned bare even when it came from `[*]`; several become a list.
        if len(found) == 1:
            return found[0].value
        return [match.value for match in found]

    def _inline(self, expression: str, data: Any) -> str:
        result = self._lookup(expression, data)
        if result is None:
            return _MISSING
        # Only lists of two or more are joined: ['x'], [] and dicts get Python's str(), as in Quay.
        if isinstance(result, list) and len(result) > 1:
            try:
                return ",".join(result)
            except TypeError:
                kinds = sorted({type(item).__name__ for item in result} - {"str"})
                raise TemplateApplyError(
                    f"For expression `{expression}`: cannot join a list inline unless every "
                    f"element is a string (found {', '.join(kinds)})"
                ) from None
        return str(result)


def parse(template: str) -> JSONTemplate:
    """Parse `template`, compiling every expression; raises TemplateParseError.

    The empty string means "no template" (what the UI sends for a blank field): the result
    passes the event data through unchanged. Any other text must be JSON; `42` and `"${name}"`
    are legal.
    """
    if template == "":
        return JSONTemplate(None, {}, passthrough=True)
    try:
        document = json.loads(template)
        paths: dict[str, JSONPath] = {}
        _collect(document, paths)
    except ValueError as exc:
        raise TemplateParseError(f"Could not parse template: {exc}") from exc
    except RecursionError:
        raise TemplateParseError("Could not parse template: it is nested too deeply") from None
    return JSONTemplate(document, paths)


def validate(template: str) -> None:
    """Check a template as Quay does when a rule is created: parse it, then apply it to {}."""
    try:
        parse(template).apply({})
    except TemplateApplyError as exc:
        # E.g. {"${$}": 1}: the key is the whole (empty) data, a dict. Quay lets the TypeError
        # escape as an HTTP 500; refusing the rule with the reason is the useful equivalent.
        raise TemplateParseError(exc.message) from exc


def render(template: str, data: Any) -> Any:
    """Parse `template` and apply it to `data`: the webhook body."""
    return parse(template).apply(data)
