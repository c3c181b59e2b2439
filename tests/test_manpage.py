"""The man page: fresh, reproducible, clean under mandoc and man, and naming every command,
option, event, event field, method, method config key, environment variable and exit status."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer
from helpers.tools import need

from quaynotify import __version__
from quaynotify.catalogue.events import EVENTS
from quaynotify.cli.app import GlobalOption, app
from quaynotify.errors import ExitCode
from quaynotify.methods import METHODS
from quaynotify.tools import manpage

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "man" / "quaynotify.1"
SECTIONS = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "COMMANDS",
    "EVENTS",
    "METHODS",
    "FILES",
    "ENVIRONMENT",
    "EXIT STATUS",
    "EXAMPLES",
]
VARIABLES = [
    "QUAYNOTIFY_CONFIG",
    "QUAYNOTIFY_STATE_DIR",
    "QUAYNOTIFY_USER",
    "QUAYNOTIFY_DEBUG",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
]


@pytest.fixture(scope="module")
def roff() -> str:
    return PAGE.read_text(encoding="utf-8")


def _section(roff: str, heading: str) -> str:
    """The roff source from `heading` (an .SH or .SS line) to the next heading of its level."""
    level = heading.split()[0]
    start = roff.index(heading + "\n")
    following = [m.start() for m in re.finditer(rf"^(?:\.SH|{re.escape(level)}) ", roff, re.M)]
    end = next((i for i in following if i > start), len(roff))
    return roff[start:end]


def _commands() -> list[tuple[tuple[str, ...], typer.Context, object]]:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="quaynotify", **root.context_settings)
    return [(path, sub, command) for path, command, sub in manpage._walk(root, ctx)]


def test_checked_in_page_is_fresh(roff: str) -> None:
    assert roff == manpage.render(), (
        "man/quaynotify.1 is stale: run `python -m quaynotify.tools.shellfiles` and commit it"
    )


def test_page_is_reproducible_and_dated_by_the_source_not_the_clock() -> None:
    first = manpage.render()
    assert manpage.render() == first
    assert first.startswith(
        f'.TH QUAYNOTIFY 1 {manpage.DATE} "quaynotify {__version__}" "User Commands"\n'
    )


def test_mandoc_lint_is_clean() -> None:
    need("mandoc")
    proc = subprocess.run(
        ["mandoc", "-T", "lint", "-W", "style", str(PAGE)], capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_man_renders_it_without_warnings() -> None:
    need("man", package="man-db")
    env = {**os.environ, "LANG": "C.UTF-8", "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}
    proc = subprocess.run(
        ["man", "--warnings=all", "-l", str(PAGE)], capture_output=True, text=True, env=env
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "quaynotify - Quay's repository notifications on the command line" in proc.stdout
    # Options render as ASCII hyphen-minus, so they can be copied from the page.
    assert "--show-secrets" in proc.stdout
    assert "\u2010" not in re.sub(r"[a-z]\u2010\n\s*", "", proc.stdout)  # only prose hyphenates


def test_every_section_is_there(roff: str) -> None:
    headings = re.findall(r'^\.SH "?([^"\n]+)"?$', roff, re.M)
    assert [h for h in headings if h in SECTIONS] == SECTIONS


def test_every_command_has_a_subsection_with_every_option_and_argument(roff: str) -> None:
    commands = _section(roff, ".SH COMMANDS")
    for path, ctx, command in _commands():
        text = _section(commands, f'.SS "{" ".join(path)}"')
        assert f"\\fB{manpage._esc(' '.join(('quaynotify', *path)))}\\fR" in text  # synopsis
        for param in command.get_params(ctx):  # type: ignore[attr-defined]
            if "--help" in getattr(param, "opts", ()) or getattr(param, "hidden", False):
                continue
            if isinstance(param, GlobalOption):  # a global option, under OPTIONS (below)
                continue
            if param.param_type_name == "argument":
                assert f"\\fI{manpage._esc(manpage._metavar(param))}\\fR" in text, param.name
            else:
                for opt in param.opts:
                    assert f"\\fB{manpage._esc(opt)}\\fR" in text, (path, opt)


def test_global_options_are_listed(roff: str) -> None:
    options = _section(roff, ".SH OPTIONS")
    for opt in ["--config", "--state-dir", "--json", "--quiet", "-q", "--show-secrets", "--debug"]:
        assert f"\\fB{manpage._esc(opt)}\\fR" in options
    assert "\\fB\\-\\-version\\fR" in options and "\\fB\\-h\\fR, \\fB\\-\\-help\\fR" in options


def test_global_options_are_described_once_and_said_to_work_after_the_command(
    roff: str,
) -> None:
    """Every command accepts the global options, and the page says so once, in DESCRIPTION,
    rather than listing them again under each command."""
    description = _section(roff, ".SH DESCRIPTION")
    assert "accepted after the command too" in description
    commands = _section(roff, ".SH COMMANDS")
    for opt in ["--config", "--state-dir", "--state-url", "--show-secrets", "--debug"]:
        assert f".TP\n\\fB{manpage._esc(opt)}\\fR" not in commands, opt  # no option entry
    assert f".TP\n\\fB{manpage._esc('--state-url')}\\fR" in _section(roff, ".SH OPTIONS")


def test_every_event_is_described_with_its_fields(roff: str) -> None:
    events = _section(roff, ".SH EVENTS")
    for event in EVENTS.values():
        text = _section(events, f".SS {event.name}")
        assert manpage._esc(event.title) in text
        for field in (*event.required, *event.optional):
            assert f"\\fB{manpage._esc(field.name)}\\fR ({field.kind}" in text, field.name


def test_every_method_is_described_with_its_config_keys(roff: str) -> None:
    methods = _section(roff, ".SH METHODS")
    for method in METHODS.values():
        text = _section(methods, f".SS {method.name}")
        for field in method.fields:
            required = "required" if field.required else "optional"
            assert f"\\fB{manpage._esc(field.name)}\\fR ({required}" in text, field.name


def test_environment_names_every_variable_the_program_reads(roff: str) -> None:
    environment = _section(roff, ".SH ENVIRONMENT")
    declared = {
        param.envvar
        for _, _, command in _commands()
        for param in command.params  # type: ignore[attr-defined]
        if isinstance(param.envvar, str)
    }
    for name in [*VARIABLES, *sorted(declared)]:
        assert f"\\fB{manpage._esc(name)}\\fR" in environment, name


def test_exit_status_lists_every_code(roff: str) -> None:
    status = _section(roff, ".SH EXIT STATUS")
    assert re.findall(r"^\\fB(\d+)\\fR$", status, re.M) == [str(int(c)) for c in ExitCode]
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]


def test_examples_are_commands_a_shell_can_run(roff: str) -> None:
    examples = re.findall(r"^\.EX\n(.*?)^\.EE$", roff, re.M | re.S)
    assert len(examples) >= len(manpage.EXAMPLES)
    for block in examples:
        text = block.replace("\\-", "-").replace("\\(aq", "'").replace("\\e", "\\")
        assert "quaynotify" in text
        for line in text.splitlines():
            assert len(line) <= manpage.EXAMPLE_WIDTH, line  # fits an 80-column terminal
            assert "\\" not in line.rstrip(" \\"), line  # a backslash only to continue


@pytest.mark.parametrize(
    ("text", "roff"),
    [
        ("--config", "\\-\\-config"),
        ("a\\b", "a\\eb"),
        ("Quay's", "Quay\\(aqs"),
        (".hidden", "\\&.hidden"),
        ("'quoted'", "\\(aqquoted\\(aq"),
        ("`tick`", "\\(gatick\\(ga"),
        ("^refs~1", "\\(harefs\\(ti1"),
        ("caf\u00e9", "caf\\[u00E9]"),
    ],
)
def test_escaping(text: str, roff: str) -> None:
    assert manpage._esc(text) == roff


def test_no_text_line_starts_with_a_control_character_or_holds_a_raw_hyphen(roff: str) -> None:
    for number, line in enumerate(roff.splitlines(), start=1):
        if line.startswith(".TH "):
            continue  # the date
        if not line.startswith("."):
            assert not line.startswith("'"), number
        assert re.search(r"(?<!\\)-", line) is None, (number, line)
        assert line.isascii(), (number, line)


def test_paragraphs_keep_examples_whole_and_escape_code_spans() -> None:
    lines = manpage._paragraph(
        "Example: quaynotify rule add --repo acme/web --event repo_push\n"
        "--method webhook --url https://ci.example.com/hook"
    )
    assert lines[:4] == [".PP", "Example:", ".RS 4", ".EX"]
    assert lines[4:-2] == [
        "quaynotify rule add \\-\\-repo acme/web \\-\\-event repo_push \\-\\-method \\e",
        "  webhook \\-\\-url https://ci.example.com/hook",
    ]
    assert manpage._paragraph("See `quaynotify events`.") == [
        ".PP",
        "See \\%\\fBquaynotify \\%events\\fR\\&.",
    ]


# -- packaging ----------------------------------------------------------------------------------

SHARED_DATA = {
    "share/man/man1/quaynotify.1": "man/quaynotify.1",
    "share/bash-completion/completions/quaynotify": "completions/quaynotify.bash",
    "share/zsh/site-functions/_quaynotify": "completions/_quaynotify",
    "share/fish/vendor_completions.d/quaynotify.fish": "completions/quaynotify.fish",
}


def test_the_wheel_installs_the_man_page_and_completions_under_share(tmp_path: Path) -> None:
    """What `pipx install .` (or pip) puts under the environment's prefix: man finds the page
    from PATH, pipx links it into PIPX_MAN_DIR."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path)]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-build-isolation")  # else pip fetches hatchling to build with
    proc = subprocess.run([*command, str(ROOT)], capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("quaynotify-*.whl")
    data = f"quaynotify-{__version__}.data/data/"
    with zipfile.ZipFile(wheel) as archive:
        shared = sorted(n.removeprefix(data) for n in archive.namelist() if n.startswith(data))
        assert shared == sorted(SHARED_DATA)
        for installed, source in SHARED_DATA.items():
            assert archive.read(data + installed) == (ROOT / source).read_bytes(), installed
