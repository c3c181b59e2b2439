"""`quaynotify config`: where the config file is, and whether it is sound."""

from __future__ import annotations

import typer

from quaynotify.cli.common import globals_of
from quaynotify.errors import ConfigError

app = typer.Typer(
    help="Locate and check the config file.\n\nExample: quaynotify config check",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="config")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the path of the config file in use (it may not exist yet).

    Example: $EDITOR "$(quaynotify config path)"
    """
    g = globals_of(ctx)
    out, where = g.output(), g.config_file()
    if out.as_json:
        out.json({"path": str(where), "exists": where.is_file()})
        return
    out.line(str(where))


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Check the config file and validate every rule as `rule add` would.

    Example: quaynotify config check
    """
    from quaynotify.config import load as cfg

    g = globals_of(ctx)
    conf = g.config()  # a file named on purpose must exist: only the default may be absent
    problems = cfg.check(conf)
    out = g.output()
    if len(problems) == 1:
        raise ConfigError(f"{conf.path}: {problems[0]}")
    for problem in problems:
        out.problem(problem)
    if problems:
        raise ConfigError(f"{conf.path}: {len(problems)} problems")
    if out.as_json:
        out.json({"path": str(conf.path), "exists": conf.exists, "rules": len(conf.rules)})
        return
    state = "does not exist yet" if not conf.exists else f"{len(conf.rules)} rule(s), all valid"
    out.note(f"{conf.path}: {state}")
