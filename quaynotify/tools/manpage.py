"""The man page, quaynotify(1): roff generated from the command tree, the event catalogue and
the method registry, around the prose of manpage_text.py (files, environment, exit status)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer

from quaynotify import __version__
from quaynotify.errors import ExitCode
from quaynotify.tools.manpage_text import (
    COMPLETION,
    DESCRIPTION,
    ENVIRONMENT,
    EXAMPLES,
    EXIT_STATUS,
    FILES,
    NETWORK,
    SECRETS,
)

# Fixed, not the clock: regenerating the page must give the same bytes. Move it on a release.
DATE = "2026-11-27"
WIDTH = 80  # source lines (mandoc's style limit)
EXAMPLE_WIDTH = 68  # an 80-column terminal less the page's and the example's indent


def render() -> str:
    """The whole page, as roff."""
    from quaynotify.cli.app import app

    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="quaynotify", **root.context_settings)
    lines = [
        f'.TH QUAYNOTIFY 1 {DATE} "quaynotify {__version__}" "User Commands"',
        # No hyphenation and a ragged right margin: options, field names and examples are
        # copied from the page, and a hyphen added at a line break would end up in the copy.
        ".nh",
        ".ad l",
        ".SH NAME",
        f"quaynotify \\- {_inline(_paragraphs(root.help or '')[0].rstrip('.'))}",
        ".SH SYNOPSIS",
        ".PP",
        "\\fBquaynotify\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".br",
        "\\fBquaynotify \\-\\-version\\fR",
        ".br",
        "\\fBquaynotify\\fR [\\fICOMMAND\\fR]... \\fB\\-\\-help\\fR",
        ".SH DESCRIPTION",
    ]
    for paragraph in [*_paragraphs(root.help or "")[1:], *DESCRIPTION]:
        lines += _paragraph(paragraph)
    lines += [".SH OPTIONS", *_options(root, ctx, with_help=True), ".SH COMMANDS"]
    for path, command, sub in _walk(root, ctx):
        lines += _command(path, command, sub)
    lines += _events()
    lines += _methods()
    lines += [".SH NETWORK", *(line for p in NETWORK for line in _paragraph(p))]
    lines += [".SH FILES", *_tagged((f"\\fI{_esc(p)}\\fR", t) for p, t in FILES.items())]
    lines += [".SH ENVIRONMENT"]
    lines += _tagged((f"\\fB{_esc(n)}\\fR", t) for n, t in ENVIRONMENT.items())
    lines += [".SH EXIT STATUS"]
    lines += _tagged((f"\\fB{int(code)}\\fR", EXIT_STATUS[code]) for code in ExitCode)
    lines += [".SH EXAMPLES"]
    for intro, example in EXAMPLES.items():
        lines += [*_paragraph(intro), *_example(example)]
    lines += [".SH SHELL COMPLETION", *_paragraph(COMPLETION)]
    # A heading starts a paragraph already: mandoc warns about a .PP right after one.
    kept = [
        line
        for i, line in enumerate(lines)
        if not (line == ".PP" and lines[i - 1].startswith((".SH", ".SS")))
    ]
    return "\n".join(kept) + "\n"


# -- the command tree ---------------------------------------------------------------------------


def _walk(
    command: Any, ctx: typer.Context, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any, typer.Context]]:
    """Every command and group below the root, depth first, in the order `--help` lists them."""
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        sub_ctx = typer.Context(sub, info_name=name, parent=ctx, **sub.context_settings)
        yield (*path, name), sub, sub_ctx
        if hasattr(sub, "list_commands"):
            yield from _walk(sub, sub_ctx, (*path, name))


def _params(command: Any, ctx: typer.Context) -> list[Any]:
    """A command's own parameters: the global options it accepts too are described once,
    under OPTIONS."""
    from quaynotify.cli.app import GlobalOption

    return [
        p
        for p in command.get_params(ctx)
        if not getattr(p, "hidden", False) and not isinstance(p, GlobalOption)
    ]


def _is_help(param: Any) -> bool:
    return "--help" in getattr(param, "opts", ())


def _metavar(param: Any) -> str:
    if param.metavar:
        return str(param.metavar)
    name = str(param.name).strip("_").upper()
    if param.nargs == -1:
        return f"{name.removesuffix('S')}..."
    return name


def _synopsis(command: Any, ctx: typer.Context, path: tuple[str, ...] = ()) -> list[str]:
    """One line per form: required options spelled out, the others as [OPTIONS]."""
    words = [f"\\fB{_esc(' '.join(('quaynotify', *path)))}\\fR"]
    params = [p for p in _params(command, ctx) if not _is_help(p)]
    optional = False
    for p in params:
        if p.param_type_name == "option":
            if p.required:
                words.append(f"\\fB{_esc(p.opts[0])}\\fR \\fI{_esc(_metavar(p))}\\fR")
            else:
                optional = True
    if optional:
        words.append("[\\fIOPTIONS\\fR]")
    for p in params:
        if p.param_type_name == "argument":
            word = f"\\fI{_esc(_metavar(p))}\\fR"
            words.append(word if p.required else f"[{word}]")
    forms = []
    groups = hasattr(command, "list_commands")
    if not groups or getattr(command, "invoke_without_command", False) or params:
        forms.append(" ".join(words))
    if groups:
        forms.append(f"{words[0]} \\fICOMMAND\\fR ...")
    return [line for form in forms for line in (".PP", form)]


def _options(command: Any, ctx: typer.Context, *, with_help: bool = False) -> list[str]:
    tagged = []
    for p in _params(command, ctx):
        if _is_help(p) and not with_help:
            continue
        record = p.get_help_record(ctx)
        text = record[1] if record else ""
        if p.param_type_name == "argument":
            tag = f"\\fI{_esc(_metavar(p))}\\fR"
        else:
            short_first = sorted((*p.opts, *p.secondary_opts), key=lambda o: o.startswith("--"))
            names = ", ".join(f"\\fB{_esc(o)}\\fR" for o in short_first)
            flag = getattr(p, "is_flag", False) or getattr(p, "count", False)
            tag = names if flag else f"{names} \\fI{_esc(_metavar(p))}\\fR"
        tagged.append((tag, text))
    return _tagged(tagged)


def _command(path: tuple[str, ...], command: Any, ctx: typer.Context) -> list[str]:
    lines = [f'.SS "{_esc(" ".join(path))}"', *_synopsis(command, ctx, path)]
    for paragraph in _paragraphs(command.help or ""):
        lines += _paragraph(paragraph)
    if hasattr(command, "list_commands"):
        names = [n for n in command.list_commands(ctx) if not command.get_command(ctx, n).hidden]
        lines += _paragraph("Commands: " + ", ".join(f"`{n}`" for n in names) + ".")
    return lines + _options(command, ctx)


# -- events and methods -------------------------------------------------------------------------


def _events() -> list[str]:
    from quaynotify.catalogue.events import EVENTS

    lines = [".SH EVENTS"]
    lines += _paragraph(
        "Every event's data holds Quay's common fields `repository`, `namespace`, `name`, "
        "`docker_url` and `homepage`, built from `--repo` and the [server] table, with the "
        "event's own fields merged over them. Pass fields with `--data` or `--set`, or start "
        "from Quay's sample data with `--sample`; `quaynotify events EVENT --sample` prints it."
    )
    for e in EVENTS.values():
        level = e.fixed_level or "from the vulnerability's priority"
        filter_ = f"`{e.filter_key}` (event config)" if e.filter_key else "none"
        lines += [f".SS {e.name}"]
        lines += _paragraph(f"{e.title}: {e.description}. Level: {level}. Filter: {filter_}.")
        lines += _paragraph(f"Summary: {e.summary_format}")
        fields = [(f, "required") for f in e.required] + [(f, "optional") for f in e.optional]
        lines += _tagged(
            (
                f"\\fB{_esc(f.name)}\\fR ({_esc(f.kind)}, {which})",
                f"{f.description}. Example: `{f.example}`",
            )
            for f, which in fields
        )
    return lines


def _methods() -> list[str]:
    from quaynotify.methods import METHODS

    lines = [".SH METHODS", *_paragraph(SECRETS)]
    for m in METHODS.values():
        lines += [f".SS {m.name}", *_paragraph(f"{m.title}.")]
        tagged = []
        for f in m.fields:
            kind = ", ".join(["required" if f.required else "optional"] + ["secret"] * f.secret)
            option = f" Set with `rule add {f.flag}`."
            tagged.append((f"\\fB{_esc(f.name)}\\fR ({kind})", f"{_sentence(f.help)}{option}"))
        lines += _tagged(tagged)
    return lines


# -- roff ---------------------------------------------------------------------------------------

_PROSE = re.compile(r"[(]?[A-Za-z]+[,.;:)]*")
_CHARS = {"\\": "\\e", "-": "\\-", "'": "\\(aq", "`": "\\(ga", "^": "\\(ha", "~": "\\(ti"}


def _esc(text: str) -> str:
    """Text safe on a roff line: escapes, ASCII only, no control character at the start."""
    out = "".join(_CHARS.get(c, c) if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return "\\&" + out if out.startswith((".", "'")) else out


def _inline(text: str) -> str:
    """Escaped text with `code spans` in bold."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unmatched backquote: leave them all as they are
        return _esc(text)
    return "".join(_esc(p) if i % 2 == 0 else f"\\fB{_esc(p)}\\fR" for i, p in enumerate(parts))


def _paragraphs(help_text: str) -> list[str]:
    """Click's help text as paragraphs: blank-line separated, cut at \\f as Click does."""
    text = help_text.split("\f", 1)[0]
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _paragraph(text: str) -> list[str]:
    if text.startswith("Example:"):
        # A docstring wraps a long example anywhere: join it, and fold it where the shell can.
        command = " ".join(text.removeprefix("Example:").split())
        return [".PP", "Example:", *_example(command)]
    if text.startswith("\b"):  # Click's marker: keep the lines as they are
        return [".PP", ".nf", *(_esc(line) for line in text[1:].strip().splitlines()), ".fi"]
    return [".PP", *_wrap(_inline(" ".join(text.split())))]


def _example(command: str) -> list[str]:
    """Commands to copy, folded with backslashes to fit an 80-column terminal."""
    lines = [folded for line in command.splitlines() for folded in _fold(line)]
    return [".RS 4", ".EX", *(_esc(line) for line in lines), ".EE", ".RE"]


def _fold(line: str, width: int = EXAMPLE_WIDTH) -> list[str]:
    """Break a long shell command at spaces outside quotes, continuing with a backslash."""
    if len(line) <= width or line.endswith("\\"):
        return [line]
    words, word, quote = [], "", ""
    for c in line:
        if c == " " and not quote:
            words.append(word)
            word = ""
            continue
        word += c
        if c in "'\"" and quote in ("", c):
            quote = "" if quote else c
    words.append(word)
    lines = [words[0]]
    for w in words[1:]:
        if len(lines[-1]) + 1 + len(w) + 2 > width and lines[-1].strip():
            lines[-1] += " \\"
            lines.append("  " + w)
        else:
            lines[-1] += " " + w
    return lines


def _tagged(items: Any) -> list[str]:
    lines = []
    for tag, text in items:
        lines += [".TP", tag, *_wrap(_inline(_sentence(" ".join(text.split()))))]
    return lines


def _wrap(line: str) -> list[str]:
    """A filled text line split at spaces into source lines of at most WIDTH bytes (roff
    joins them again). A word that is not plain prose starts with \\%, so no source line
    starts with a control character."""
    lines: list[str] = []
    for word in line.split(" "):
        if not _PROSE.fullmatch(word):
            word = "\\%" + word  # an option, a name or a URL: never hyphenate it
        if lines and len(lines[-1]) + 1 + len(word) <= WIDTH:
            lines[-1] += " " + word
        else:
            lines.append(word)
    # roff takes a period at the end of a source line for the end of a sentence
    return [line + "\\&" if line.endswith(("e.g.", "i.e.")) else line for line in lines]


def _sentence(text: str) -> str:
    return text if not text or text.endswith(".") else text + "."
