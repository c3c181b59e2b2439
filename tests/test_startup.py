"""Start-up cost, measured on the installed command in a subprocess: `--help`, `--version` and
`rule list` import neither httpx, ssl, jinja2 nor pydantic, `--version` alone loads only the
standard library and quaynotify, and a command imports its own module of quaynotify.cli and
no other command's; `emit` imports only the methods its rules use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import CONSOLE, Cli
from pytest_httpserver import HTTPServer

import quaynotify

PYTHON = sys.executable
ENTRY_POINTS = {
    "python -m quaynotify": [PYTHON, "-m", "quaynotify"],
    "console script": [CONSOLE],
}
FORBIDDEN = {
    "httpx", "httpcore", "ssl", "_ssl", "jinja2", "pydantic", "pydantic_core", "psycopg"
}  # fmt: skip
# Typer, and what Typer itself imports whatever the command (its completion support and its
# doc annotations); rich and click are not among them.
COMMANDS = [("--help",), ("--version",), ("rule", "list")]
RULES = "".join(
    f'[[rule]]\nid = "{n}1111111-1111-4111-8111-111111111111"\nrepository = "acme/web"\n'
    f'event = "{event}"\nmethod = "webhook"\n'
    f'config = {{ url = "https://hooks.example.com/{n}", template = \'{{"t": "${{name}}"}}\' }}\n'
    f"{extra}\n"
    for n, event, extra in [
        (1, "repo_push", ""),
        (2, "build_failure", 'event_config = { "ref-regex" = "refs/heads/main" }'),
        (3, "vulnerability_found", 'event_config = { level = "1" }'),
        (4, "repo_image_expiry", "event_config = { days = 7 }\nenabled = false"),
    ]
)


def loaded_by(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `argv` with Python's import-time profiler on; the top-level modules it imported."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "imported package" not in line:
            modules.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert modules, f"no import profile in stderr: {proc.stderr[:500]}"
    return proc, modules


@pytest.fixture
def rules(config_file: Path) -> Path:
    config_file.write_text(RULES)
    return config_file


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_light_commands_do_not_import_heavy_modules(
    rules: Path, entry: str, command: tuple[str, ...]
) -> None:
    proc, modules = loaded_by([*ENTRY_POINTS[entry], *command])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert modules & FORBIDDEN == set()
    if command == ("rule", "list"):
        assert proc.stdout.count("\n") == 4 and "1111111-1111" in proc.stdout


def test_rule_list_with_a_journal_does_not_import_heavy_modules(
    rules: Path, state_dir: Path
) -> None:
    # SQLite only, on purpose: SQLite users never import psycopg, while a PostgreSQL state
    # needs it to read the rules' health.
    reset = subprocess.run(
        [CONSOLE, "rule", "reset", "1111"], capture_output=True, text=True, timeout=60
    )
    assert reset.returncode == 0, reset.stderr
    assert (state_dir / "state.db").exists()
    proc, modules = loaded_by([CONSOLE, "rule", "list"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert modules & FORBIDDEN == set()


# The profiler also lists imports that failed (the standard library probes for Jython's `org`),
# so the exact set comes from sys.modules: run the entry point in-process, as the console
# script and `python -m` do, then list what is loaded.
WRAPPER = """\
import runpy, sys
before = set(sys.modules)
how, target, *args = sys.argv[1:]
sys.argv = [target, *args]
code = 0
try:
    if how == "module":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(target, run_name="__main__")
except SystemExit as exit:
    code = exit.code
print("MODULES", *sorted({m.split(".")[0] for m in set(sys.modules) - before}), file=sys.stderr)
sys.exit(code)
"""
RUN_AS = {
    "python -m quaynotify": ["module", "quaynotify"],
    "console script": ["path", CONSOLE],
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_version_loads_only_the_standard_library_and_quaynotify(rules: Path, entry: str) -> None:
    proc = subprocess.run(
        [PYTHON, "-c", WRAPPER, *RUN_AS[entry], "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (0, f"quaynotify {quaynotify.__version__}\n")
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES "))
    modules = set(line.split()[1:])
    # `--version` alone answers before the CLI (Typer) is even loaded.
    allowed = set(sys.stdlib_module_names) | {"quaynotify"}
    assert sorted(modules - allowed) == []
    assert "quaynotify" in modules


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_version_prints_the_package_version(entry: str) -> None:
    proc = subprocess.run(
        [*ENTRY_POINTS[entry], "--version"], capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        f"quaynotify {quaynotify.__version__}\n",
        "",
    )


def test_version_anywhere_in_the_root_options_prints_the_same_line() -> None:
    """`--version` alone is answered before Typer loads; among other options Click answers it
    (the root's eager option): both print the one line."""
    for argv in (["--version"], ["--debug", "--version"], ["--quiet", "--version", "--json"]):
        proc = subprocess.run([CONSOLE, *argv], capture_output=True, text=True, timeout=60)
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            0,
            f"quaynotify {quaynotify.__version__}\n",
            "",
        ), argv


def test_help_lists_the_commands_in_order() -> None:
    proc = subprocess.run([PYTHON, "-m", "quaynotify", "--help"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: quaynotify ")
    listed = proc.stdout.split("\nCommands:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in listed if line.startswith("  ") and line.strip()]
    assert names == [
        "emit", "replay", "events", "methods", "rule", "log", "inbox", "config", "email", "state"
    ]  # fmt: skip


# -- only the command being run is built --------------------------------------------------------

# The modules of quaynotify.cli that hold commands; running one imports that one alone.
COMMAND_MODULES = {
    "emit", "replay", "catalogue", "rule", "log", "inbox", "config_cmd", "email", "state"
}  # fmt: skip
IN_PROCESS = """\
import sys
from quaynotify.cli import run
code = run(sys.argv[1:])
loaded = {m.split(".")[2] for m in sys.modules if m.startswith("quaynotify.cli.")}
print("CLI", *sorted(loaded), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]', "--dry-run"),
         "emit"),
        (("--json", "emit", "--from", "-", "--dry-run"), "emit"),
        (("replay", "--failed", "--dry-run"), "replay"),
        (("rule", "list"), "rule"),
        (("log",), "log"),
        (("events", "repo_push"), "catalogue"),
        (("inbox", "--user", "alice"), "inbox"),
        (("config", "path"), "config_cmd"),
        (("email", "list"), "email"),
        (("state", "info"), "state"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)  # fmt: skip
def test_a_command_imports_its_own_module_and_no_other_commands(
    rules: Path, argv: tuple[str, ...], module: str
) -> None:
    proc = subprocess.run(
        [PYTHON, "-c", IN_PROCESS, *argv], capture_output=True, text=True, timeout=60, input=""
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("CLI "))
    assert set(line.split()[1:]) & COMMAND_MODULES == {module}


def test_help_and_completion_see_every_command(cli: Cli) -> None:
    from quaynotify.cli.app import COMMANDS

    help_text = cli("--help").out
    assert all(f"\n  {name} " in help_text for name in COMMANDS)
    asking = {
        "_QUAYNOTIFY_COMPLETE": "complete_bash",
        "COMP_WORDS": "quaynotify ",
        "COMP_CWORD": "1",
    }
    proc = subprocess.run(
        [CONSOLE], capture_output=True, text=True, timeout=60, env={**os.environ, **asking}
    )
    assert proc.stdout.split() == list(COMMANDS), proc.stderr


def test_a_mistyped_command_is_answered_with_the_nearest_names(cli: Cli) -> None:
    result = cli("emti", "repo_push")
    assert result.code == 2
    assert "No such command 'emti'. Did you mean 'emit', 'email'?" in result.err


# -- only the methods its rules use are imported --------------------------------------------------

METHODS_LOADED = """\
import sys
from quaynotify.cli import run
code = run(sys.argv[1:])
loaded = {m.split(".")[2] for m in sys.modules if m.startswith("quaynotify.methods.")}
print("METHODS", *sorted(loaded), file=sys.stderr)
print("PSYCOPG", "psycopg" in sys.modules, file=sys.stderr)
sys.exit(code)
"""
# Every module of quaynotify.methods that is one method's own.
METHOD_MODULES = {"webhook", "quay_notification", "flowdock", "hipchat", "slack", "email"}


def methods_loaded(*argv: str) -> set[str]:
    """The method modules a command imports; it must not import psycopg (SQLite state)."""
    proc = subprocess.run(
        [PYTHON, "-c", METHODS_LOADED, *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "PSYCOPG False" in proc.stderr.splitlines()
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("METHODS "))
    return set(line.split()[1:])


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "sent"])
def test_emit_imports_only_the_methods_its_rules_use(
    config_file: Path, httpserver: HTTPServer, dry_run: bool
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    config_file.write_text(
        '[smtp]\nhost = "mail.example.com"\n\n[teams.acme]\nowners = ["alice"]\n\n'
        + RULES.replace("https://hooks.example.com/1", httpserver.url_for("/hook"))
    )
    argv = ["emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]']
    loaded = methods_loaded(*argv, *(["--dry-run"] if dry_run else []))
    assert loaded & METHOD_MODULES == {"webhook"}
    assert "smtp" not in loaded
    assert len(httpserver.log) == (0 if dry_run else 1)


def test_listing_the_methods_imports_every_one(rules: Path) -> None:
    assert methods_loaded("methods") >= METHOD_MODULES
