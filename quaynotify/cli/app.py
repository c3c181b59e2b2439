"""The Typer app: the global options, and the root command that builds only the command being
run."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quaynotify.cli import print_version
from quaynotify.cli.common import Globals, globals_of

if TYPE_CHECKING:
    from typer._click import Command, Context

SETTINGS: dict[str, Any] = dict(
    name="quaynotify",
    help="Quay's repository notifications on the command line.\n\n"
    "Keep rules (event + repository + method + config) in a TOML file, emit events from "
    "scripts and CI, and every matching rule is delivered, with retries, before the command "
    "returns. Every delivery is journaled.\n\n"
    "The options below are accepted after the command too, at any depth (`quaynotify rule "
    "list --quiet`); given both before and after it, the one after the command wins.\n\n"
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
            help=(
                "Config file [env: QUAYNOTIFY_CONFIG; default: see `quaynotify config path`]; "
                "a file named here must exist, except for `rule add`, which creates it."
            ),
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
    g = ctx.ensure_object(Globals)  # run() hands in its own, to read --debug when it ends
    g.config_path, g.state_dir, g.state_url = config, state_dir, state_url
    g.as_json, g.quiet, g.show_secrets, g.debug = as_json, quiet, show_secrets, debug


# The root's option (its parameter's name) -> the attribute of Globals it sets. --version sets
# none: it prints and exits.
GLOBALS: dict[str, str] = {
    "config": "config_path",
    "state_dir": "state_dir",
    "state_url": "state_url",
    "as_json": "as_json",
    "quiet": "quiet",
    "show_secrets": "show_secrets",
    "debug": "debug",
}
# Kept as written (Click's \b marker): rewrapped, an option's name could break at a hyphen.
EPILOG = """\b
Global options are accepted here too, meaning what they mean before the
command (see `quaynotify --help`); given both, the one after it wins:
{names}."""


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
                accepting_globals(command, self.params)
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


class GlobalOption(typer.core.TyperOption):
    """A root option as a command (or group) below the root accepts it: parsed by Click with
    the command's own options, so a value it takes is never mistaken for an option and
    nothing after `--` is read; it sets the root's Globals as the same option before the
    command does. Its help is the root's (one line in each command's --help says so), while
    completion still offers it."""

    def get_help_record(self, ctx: Context) -> tuple[str, str] | None:
        return None


def accepting_globals(command: Command, root_params: list[Any]) -> None:
    """Give `command` and every command below it the root's options, but those whose names
    it has already (a command's own --json means the same as the global one)."""
    taken = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    clones = [
        _after_command(p)
        for p in root_params
        if p.name in (*GLOBALS, "version") and not taken & {*p.opts, *p.secondary_opts}
    ]
    command.params.extend(clones)
    names = ", ".join(
        "/".join(sorted(p.opts, key=len)) for p in root_params if p.name in (*GLOBALS, "version")
    )
    command.epilog = EPILOG.format(
        names=textwrap.fill(names, 72, break_on_hyphens=False, break_long_words=False)
    )
    for sub in getattr(command, "commands", {}).values():
        accepting_globals(sub, root_params)


def _after_command(option: Any) -> GlobalOption:
    """A copy of the root's `option` (opts, type, metavar, eagerness) that sets Globals."""
    clone = GlobalOption.__new__(GlobalOption)
    clone.__dict__.update(option.__dict__)
    attribute, then = GLOBALS.get(option.name), option.callback
    # Its own parameter name, so that it can clash with no parameter of the command; and
    # it is handed to no command function (they take their own parameters only).
    clone.name, clone.expose_value = f"global_{option.name}", False

    def callback(ctx: Any, param: Any, value: Any) -> Any:
        # The defaults (None, False) are what the root has already: only a given one counts.
        if attribute is not None and value is not None and value is not False:
            setattr(globals_of(ctx), attribute, value)
        if then is not None and not ctx.resilient_parsing:  # --version (not while completing)
            return then(ctx, param, value)
        return value

    clone.callback = callback
    return clone


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
