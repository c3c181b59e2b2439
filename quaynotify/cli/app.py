"""The Typer app: the global options, and the root command that builds only the command being
run."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quaynotify.cli import print_version
from quaynotify.cli.common import Globals

if TYPE_CHECKING:
    from typer._click import Command, Context

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
        print_version()
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
    state_url: Annotated[
        str | None,
        typer.Option(
            "--state-url",
            help="PostgreSQL URL of a state shared across machines, "
            "postgresql://USER:PASSWORD@HOST:PORT/DBNAME, or an env:/file: reference to one "
            "[env: QUAYNOTIFY_STATE_URL; default: [state] url, else SQLite in the state dir].",
            metavar="URL",
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
    ctx.obj = Globals(config, state_dir, as_json, quiet, show_secrets, debug, state_url)


# Top-level command name -> the module of quaynotify.cli whose register() adds it, in the
# order `--help` lists them.
COMMANDS: dict[str, str] = {
    "emit": "emit",
    "replay": "replay",
    "events": "catalogue",
    "methods": "catalogue",
    "rule": "rule",
    "log": "log",
    "inbox": "inbox",
    "config": "config_cmd",
    "email": "email",
    "state": "state",
}


class LazyGroup(typer.core.TyperGroup):
    """The root command: it knows its commands' names, and builds a command only when Click
    asks for it, importing just that command's module (turning every command's signature into
    Click's objects is most of the CLI's start-up). Running a command asks for that one;
    `--help`, completion and the man page ask for every one."""

    placeholders = False  # name the placeholders of what it builds (see name_placeholders)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            for name, command in _build(COMMANDS[cmd_name]).items():
                self.commands[name] = name_placeholders(command) if self.placeholders else command
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in COMMANDS:
            # Not a command: build them all, so that Click can suggest the nearest name.
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


def _build(module: str) -> dict[str, Command]:
    """The commands `module` registers, built as Typer builds the commands of an app."""
    holder = typer.Typer(**SETTINGS)
    importlib.import_module(f"quaynotify.cli.{module}").register(holder)
    return dict(typer.main.get_group(holder).commands)


app = typer.Typer(cls=LazyGroup, **SETTINGS)
app.callback()(main)


def command() -> LazyGroup:
    """The root command as `quaynotify` runs it, its placeholders named for `--help`."""
    root = typer.main.get_command(app)
    assert isinstance(root, LazyGroup)
    root.placeholders = True
    name_placeholders(root)
    return root


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
