"""The Typer app: global options and the command groups."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer

from quaynotify import __version__
from quaynotify.cli.common import Globals

SETTINGS: dict[str, Any] = dict(
    name="quaynotify",
    help="Quay's repository notifications on the command line.\n\n"
    "Keep rules (event + repository + method + config) in a TOML file, emit events from "
    "scripts and CI, and every matching rule is delivered, with retries, before the command "
    "returns. Every delivery is journaled.\n\n"
    "Example: quaynotify emit build_failure --repo acme/web --set build_id=$CI_JOB_ID",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"quaynotify {__version__}")
        raise typer.Exit(0)


def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file [env: QUAYNOTIFY_CONFIG; default: see `quaynotify config path`].",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Directory of the state database (journal, rule health) "
            "[env: QUAYNOTIFY_STATE_DIR].",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but results and errors.")
    ] = False,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Do not mask secret values in output.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show a traceback when something goes wrong.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = Globals(config, state_dir, as_json, quiet, show_secrets, debug)


# Top-level command name -> the module of quaynotify.cli whose register() adds it, in the
# order `--help` lists them. Modules are imported only for the commands being built.
COMMANDS: dict[str, str] = {
    "rule": "rule",
    "emit": "emit",
    "replay": "emit",
    "log": "log",
    "inbox": "inbox",
    "events": "catalogue",
    "methods": "catalogue",
    "config": "config_cmd",
    "email": "email",
}


def make_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with just the command `only` (turning every command's
    signature into Click's objects is most of the CLI's start-up: one is enough to run one)."""
    new = typer.Typer(**SETTINGS)
    new.callback()(main)
    modules = [COMMANDS[only]] if only in COMMANDS else COMMANDS.values()
    for module in dict.fromkeys(modules):
        importlib.import_module(f"quaynotify.cli.{module}").register(new)
    return new


app = make_app()


def name_placeholders(command: Any) -> Any:
    """Give every option and argument without a metavar its name in capitals (`--repo REPO`,
    `RULE_ID...`), where Click would show `<str>` or the parameter's Python name."""
    for param in command.params:
        if param.metavar is not None or getattr(param, "is_flag", False) or not param.name:
            continue
        name = param.name.upper()
        if param.param_type_name == "argument":
            name += "..." if param.nargs != 1 else ""
            name = name if param.required else f"[{name}]"
        param.metavar = name
    for sub in getattr(command, "commands", {}).values():
        name_placeholders(sub)
    return command
