"""Start-up cost, measured on the installed command in a subprocess: `--help`, `--version` and
`rule list` import neither httpx, ssl, jinja2 nor pydantic, and `--version` loads only the
standard library, Typer and quaynotify."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import CONSOLE

import quaynotify

PYTHON = sys.executable
ENTRY_POINTS = {
    "python -m quaynotify": [PYTHON, "-m", "quaynotify"],
    "console script": [CONSOLE],
}
FORBIDDEN = {"httpx", "httpcore", "ssl", "_ssl", "jinja2", "pydantic", "pydantic_core"}
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


def test_help_lists_the_commands() -> None:
    proc = subprocess.run([PYTHON, "-m", "quaynotify", "--help"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: quaynotify ")
    for command in ("rule", "emit", "log", "events", "methods", "config"):
        assert f"  {command} " in proc.stdout
