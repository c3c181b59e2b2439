"""Editing the config file in place: rule add/remove/enable/disable under a lock, written to a
temp file, fsynced and renamed, mode 0600, with the user's comments and layout kept. A config
that is a symlink (into a dotfiles repository, say) is edited at its target."""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quaynotify.config.file import atomic_write, locked
from quaynotify.config.load import Rule, parse, read_bytes
from quaynotify.errors import NotFoundError, QuaynotifyError

# -- public edits -------------------------------------------------------------------------------


def add_rule(path: Path, rule: Rule) -> None:
    """Insert the rule as a new [[rule]] block after the last one (or at the end)."""
    with locked(path) as target:
        text = _read_text(path, target)
        block = render_rule(rule)
        doc = tomllib.loads(text) if text else {}
        expected = {**doc, "rule": [*doc.get("rule", []), _as_table(rule)]}
        lines = _scan(text)
        blocks = list(_rule_blocks(lines))
        if blocks:
            # After the last rule, before whatever follows it: rules stay together.
            at = blocks[-1].end
            head = "".join(line.text for line in lines[:at])
            tail = "".join(line.text for line in lines[at:])
            with contextlib.suppress(_Mismatch):
                new = _ensure_newline(head) + "\n" + block + tail
                _write_checked(path, target, new, expected)
                return
        end = _ensure_newline(text) + ("\n" if text.strip() else "") + block
        try:
            _write_checked(path, target, end, expected)
        except _Mismatch as exc:  # pragma: no cover - our bug, not the user's input
            raise QuaynotifyError(f"refusing to write {path}: {exc}") from None


def remove_rules(path: Path, ids: Sequence[str]) -> None:
    """Delete the rules with these exact ids: from their [[rule]] header to their last key.
    Comments around them stay (they may introduce what follows; nothing the user wrote is
    lost to a remove)."""
    wanted = set(ids)

    def edit(lines: list[_Line], blocks: list[_Block], tables: list[dict[str, Any]]) -> None:
        for block, table in reversed(list(zip(blocks, tables, strict=True))):
            if table.get("id") in wanted:
                start = block.start
                del lines[start : block.end]
                # Two blank lines where the rule was: keep one.
                if 0 < start < len(lines) and lines[start - 1].blank and lines[start].blank:
                    del lines[start]

    def expect(doc: dict[str, Any]) -> dict[str, Any]:
        kept = [t for t in doc.get("rule", []) if t.get("id") not in wanted]
        rest = {k: v for k, v in doc.items() if k != "rule"}
        return {**rest, "rule": kept} if kept else rest

    _edit(path, ids, edit, expect)


def set_enabled(path: Path, rule_id: str, enabled: bool) -> None:
    """Write `enabled = false` after the rule's last key, or take it out (true is the
    default: it leaves no noise)."""

    def edit(lines: list[_Line], blocks: list[_Block], tables: list[dict[str, Any]]) -> None:
        for block, table in zip(blocks, tables, strict=True):
            if table.get("id") != rule_id:
                continue
            body = range(block.start + 1, block.body_end)
            for index in reversed(body):
                if _ENABLED.match(lines[index].text) and lines[index].kind == "content":
                    del lines[index]
            if not enabled:
                last = max(
                    (i for i in range(block.start, block.body_end) if lines[i].kind != "blank"),
                    default=block.start,
                )
                last = max(
                    (i for i in range(block.start, last + 1) if lines[i].kind != "comment"),
                    default=block.start,
                )
                lines.insert(last + 1, _Line("enabled = false\n", "content"))

    def expect(doc: dict[str, Any]) -> dict[str, Any]:
        rules = []
        for table in doc.get("rule", []):
            if table.get("id") == rule_id:
                table = {k: v for k, v in table.items() if k != "enabled"}
                if not enabled:
                    table["enabled"] = False
            rules.append(table)
        return {**doc, "rule": rules}

    _edit(path, [rule_id], edit, expect)


def render_rule(rule: Rule) -> str:
    """The [[rule]] block for a rule, its config an inline table, as a person writes one."""
    import tomli_w

    def line(key: str, value: Any) -> str:
        return tomli_w.dumps({key: value}).rstrip("\n")

    lines = ["[[rule]]", line("id", rule.id), line("repository", rule.repository)]
    lines += [line("event", rule.event), line("method", rule.method)]
    if rule.title:
        lines.append(line("title", rule.title))
    for key, table in (("config", rule.config), ("event_config", rule.event_config)):
        if table or key == "config":
            inner = ", ".join(line(k, v) for k, v in table.items())
            lines.append(f"{key} = {{ {inner} }}" if inner else f"{key} = {{}}")
    if not rule.enabled:
        lines.append("enabled = false")
    return "\n".join(lines) + "\n"


# -- the text -----------------------------------------------------------------------------------

_HEADER = re.compile(r"[ \t]*\[(\[?)[ \t]*([^\[\]#]+?)[ \t]*\]\]?[ \t]*(#.*)?\r?\n?")
_ENABLED = re.compile(r"[ \t]*enabled[ \t]*=")


@dataclass
class _Line:
    text: str
    kind: str  # blank | comment | content | string (inside a multi-line string) | header
    header: str = ""  # the table name, for headers ("rule" for [[rule]])
    array: bool = False  # [[...]] rather than [...]

    @property
    def blank(self) -> bool:
        return self.kind == "blank"


@dataclass(frozen=True)
class _Block:
    """One [[rule]]: its header line, where its own keys end (before a [rule.x] sub-table
    or the comments that introduce the next table), and where the whole block ends."""

    start: int
    body_end: int
    end: int


def _scan(text: str) -> list[_Line]:
    """Classify each line, following multi-line strings so that a "[[rule]]" inside one is
    not taken for a header."""
    lines: list[_Line] = []
    open_delimiter: str | None = None
    for raw in text.splitlines(keepends=True):
        if open_delimiter is not None:
            close = _find_close(raw, 0, open_delimiter)
            if close < 0:
                lines.append(_Line(raw, "string"))
                continue
            open_delimiter = _open_string_after(raw, close)
            lines.append(_Line(raw, "content"))
            continue
        stripped = raw.strip()
        if not stripped:
            lines.append(_Line(raw, "blank"))
        elif stripped.startswith("#"):
            lines.append(_Line(raw, "comment"))
        elif (match := _HEADER.fullmatch(raw)) is not None:
            name = re.sub(r"[ \t]+", "", match[2])
            lines.append(_Line(raw, "header", name, bool(match[1])))
        else:
            open_delimiter = _open_string_after(raw, 0)
            lines.append(_Line(raw, "content"))
    return lines


def _find_close(line: str, start: int, delimiter: str) -> int:
    """The index just past the closing `delimiter` of a multi-line string, or -1."""
    i = start
    while True:
        found = line.find(delimiter, i)
        if found < 0:
            return -1
        if delimiter == '"""' and _escaped(line, found):
            i = found + 1
            continue
        end = found + 3
        while line.startswith(delimiter[0], end):  # up to two quotes may close with it
            end += 1
        return end


def _escaped(line: str, index: int) -> bool:
    backslashes = len(line[:index]) - len(line[:index].rstrip("\\"))
    return backslashes % 2 == 1


def _open_string_after(line: str, start: int) -> str | None:
    """Scan a line from `start`: the delimiter of a multi-line string left open, or None."""
    i = start
    while i < len(line):
        c = line[i]
        if c == "#":
            return None
        for delimiter in ('"""', "'''"):
            if line.startswith(delimiter, i):
                close = _find_close(line, i + 3, delimiter)
                if close < 0:
                    return delimiter
                i = close
                break
        else:
            if c in "\"'":
                i += 1
                while i < len(line) and line[i] != c:
                    i += 2 if c == '"' and line[i] == "\\" else 1
            i += 1
    return None


def _rule_blocks(lines: list[_Line]) -> Iterator[_Block]:
    headers = [i for i, line in enumerate(lines) if line.kind == "header"]
    for n, start in enumerate(headers):
        if not (lines[start].array and lines[start].header == "rule"):
            continue
        # The block runs to the next header that is not one of its own sub-tables.
        later = [h for h in headers[n + 1 :] if not lines[h].header.startswith("rule.")]
        nxt = later[0] if later else len(lines)
        own = [h for h in headers[n + 1 :] if h < nxt]
        body_end = own[0] if own else nxt
        end = _trim_trailing(lines, start, nxt)
        yield _Block(start, min(body_end, end), end)


def _trim_trailing(lines: list[_Line], start: int, end: int) -> int:
    """Blank and comment lines at the end of a block introduce what follows: not the block's."""
    while end > start + 1 and lines[end - 1].kind in ("blank", "comment"):
        end -= 1
    return end


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _as_table(rule: Rule) -> dict[str, Any]:
    return tomllib.loads(render_rule(rule))["rule"][0]  # type: ignore[no-any-return]


# -- doing it safely ----------------------------------------------------------------------------

Edit = Callable[[list[_Line], list[_Block], list[dict[str, Any]]], None]


def _edit(
    path: Path, ids: Sequence[str], edit: Edit, expect: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    with locked(path) as target:
        text = _read_text(path, target)
        doc = tomllib.loads(text) if text else {}
        tables = doc.get("rule", [])
        present = {t.get("id") for t in tables}
        missing = [i for i in ids if i not in present]
        if missing:
            # Another process changed the file between our read and our lock.
            raise NotFoundError(f"no rule with id {missing[0]!r} in {path}")
        expected = expect(doc)
        lines = _scan(text)
        blocks = list(_rule_blocks(lines))
        if len(blocks) == len(tables):
            edit(lines, blocks, tables)
            new = "".join(line.text for line in lines)
            with contextlib.suppress(_Mismatch):
                _write_checked(path, target, new, expected)
                return
        # A layout the line editor does not follow (rules as an inline array, say): let the
        # round-trip TOML editor do it, which keeps comments but may move them.
        _write_checked(path, target, _tomlkit_edit(text, ids, expected), expected)


class _Mismatch(Exception):
    pass


def _write_checked(path: Path, target: Path, text: str, expected: dict[str, Any]) -> None:
    """Write `text` to `target` only if it parses to exactly the document the edit means
    (`path`, the config as the user named it, is for messages)."""
    try:
        got = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _Mismatch(str(exc)) from None
    if got != expected:
        raise _Mismatch("the edit changed more than it should")
    parse(text.encode("utf-8"), path)  # the same checks as every load
    atomic_write(target, path, text)


def _tomlkit_edit(text: str, ids: Sequence[str], expected: dict[str, Any]) -> str:
    import tomlkit

    doc = tomlkit.parse(text)
    wanted = {t.get("id"): t for t in expected.get("rule", [])}
    aot = doc["rule"]
    for index in reversed(range(len(aot))):
        rule_id = aot[index].get("id")
        if rule_id not in wanted:
            del aot[index]
        elif rule_id in ids:
            table = aot[index]
            table.pop("enabled", None)
            if wanted[rule_id].get("enabled") is False:
                table["enabled"] = False
    if not len(aot):
        del doc["rule"]
    new = tomlkit.dumps(doc)
    if tomllib.loads(new) != expected:  # pragma: no cover - our bug, not the user's input
        raise QuaynotifyError(f"refusing to write {new!r}: the edit did not take")
    return new


def _read_text(path: Path, target: Path) -> str:
    """The current text of `target`, checked: an edit never starts from a file it cannot
    parse (`path`, the config as the user named it, is for messages)."""
    data = read_bytes(target)
    if data is None:
        return ""
    parse(data, path)
    return data.decode("utf-8")
