"""Turns command-line values into event fields: --data JSON|@FILE|@-, --set KEY=VALUE."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from quaynotify.errors import UsageError

MAX_DATA_BYTES = 10 * 1024 * 1024  # event data larger than this is a mistake, not an event
# Objects and lists nested deeper than this are a mistake too (Quay's deepest field, a build's
# trigger_metadata.commit_info.author, is 4 levels), and would exhaust the recursion limit of
# whatever walks them later: checking field types, rendering, json.dumps.
MAX_DEPTH = 100


class NestingError(ValueError):
    """JSON (or TOML) nested more than MAX_DEPTH levels deep."""


def read_text_arg(value: str, option: str) -> str:
    """`@FILE` reads the file, `@-` reads stdin, anything else is the value itself."""
    if not value.startswith("@"):
        return value
    source = value[1:]
    if source == "-":
        raw = sys.stdin.buffer.read(MAX_DATA_BYTES + 1)
        where = "standard input"
    else:
        path = Path(source).expanduser()
        where = str(path)
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_DATA_BYTES + 1)
        except IsADirectoryError:
            raise UsageError(f"{option} {value}: {path} is a directory, not a file") from None
        except OSError as exc:
            raise UsageError(f"{option} {value}: cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_DATA_BYTES:
        raise UsageError(f"{option}: {where} is larger than {MAX_DATA_BYTES // (1024 * 1024)} MiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{option}: {where} is not UTF-8 text (byte {exc.start})") from None


def parse_data(value: str) -> dict[str, Any]:
    """--data: a JSON object, inline or from @FILE / @- (stdin)."""
    text = read_text_arg(value, "--data")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_DATA_BYTES:
        raise UsageError(f"--data is larger than {MAX_DATA_BYTES // (1024 * 1024)} MiB")
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--data is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            """: pass an object, e.g. --data '{"updated_tags": ["latest"]}'"""
        ) from None
    except ValueError as exc:
        raise UsageError(f"--data: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(
            f"--data must be a JSON object, got {type(data).__name__}: "
            """e.g. --data '{"updated_tags": ["latest"]}'"""
        )
    return data


def parse_set(
    assignments: Sequence[str], strings: Collection[str] = ()
) -> list[tuple[list[str], Any]]:
    """--set KEY=VALUE: the value is JSON when it parses as JSON, else a string; a dotted key
    nests (trigger_metadata.ref=refs/heads/main). At a path in `strings` (fields the event
    declares as strings) a number or boolean stays the string it was written as, so that
    `--set build_id=$CI_PIPELINE_ID` gives "12345", not 12345."""
    parsed = []
    for item in assignments:
        key, sep, raw = item.partition("=")
        path = key.strip().split(".")
        if not sep or not all(path):
            raise UsageError(
                f"--set {item!r}: expected KEY=VALUE, e.g. --set build_id=abc123 or "
                "--set trigger_metadata.ref=refs/heads/main"
            )
        try:
            value: Any = loads(raw)
        except NestingError as exc:  # JSON, surely meant as such, but absurd
            raise UsageError(f"--set {'.'.join(path)}: {exc}") from None
        except ValueError:  # not JSON (or NaN): the text itself
            value = raw
        if isinstance(value, int | float) and ".".join(path) in strings:
            value = raw  # bool is an int too
        parsed.append((path, value))
    return parsed


def loads(text: str) -> Any:
    """json.loads for input that must become valid JSON again and be stored: NaN and Infinity
    (which JSON does not have), lone surrogates (which UTF-8 cannot hold) and nesting deeper
    than MAX_DEPTH (NestingError) are ValueErrors, like malformed JSON."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise NestingError(f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
    if too_deep(value, MAX_DEPTH):
        raise NestingError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    check_text(value)
    return value


def too_deep(value: Any, limit: int) -> bool:
    """Whether objects and lists nest more than `limit` levels deep in `value` (walked a level
    at a time, without recursion: the point is to refuse what recursion cannot walk)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return bool(level)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def check_text(value: Any, where: str = "") -> None:
    """Raise ValueError when a string in `value` (keys included) is not encodable as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"{where or 'the JSON'} holds a lone surrogate escape (e.g. \\ud800), "
                    "which is not text"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def merge_fields(
    base: Mapping[str, Any], assignments: Sequence[tuple[list[str], Any]]
) -> dict[str, Any]:
    """`base` with each --set applied in order, creating nested objects as needed."""
    result: dict[str, Any] = json.loads(json.dumps(base))  # a deep copy of plain JSON data
    for path, value in assignments:
        target = result
        for i, part in enumerate(path[:-1]):
            child = target.get(part)
            if child is None:
                child = target[part] = {}
            elif not isinstance(child, dict):
                dotted = ".".join(path[: i + 1])
                raise UsageError(
                    f"--set {'.'.join(path)}: {dotted} is not an object, cannot set a key in it"
                )
            target = child
        target[path[-1]] = value
    return result


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str, *, now: float) -> float:
    """--since: a duration ago (90s, 30m, 2h, 7d, 1w) or an ISO 8601 date or date-time
    (local time unless it says otherwise); returns epoch seconds."""
    import datetime as dt
    import re

    text = value.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text)
    if match:
        return now - float(match[1]) * _UNITS[match[2]]
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {value!r}: expected a duration like 30m, 2h, 7d or a date like "
            "2026-11-27 or 2026-11-27T09:30"
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # naive means local time
    return when.timestamp()
