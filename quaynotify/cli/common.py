"""What every command shares: the global options, and getting config, state and output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quaynotify.output import Output

if TYPE_CHECKING:
    from quaynotify.config.load import Config
    from quaynotify.store import Store


@dataclass
class Globals:
    config_path: Path | None = None
    state_dir: Path | None = None
    as_json: bool = False
    quiet: bool = False
    show_secrets: bool = False
    debug: bool = False
    state_url: str | None = None
    _config: Config | None = field(default=None, init=False, repr=False)

    def config_file(self) -> Path:
        from quaynotify.paths import config_path

        return config_path(self.config_path)

    def config(self, creating: bool = False) -> Config:
        """The config file, loaded once per command.

        A file named on purpose (--config, QUAYNOTIFY_CONFIG) that is not there is a mistake
        (a typo, a wrong mount), not an empty config: only the default location may not exist
        yet. A command that writes the config (`creating`) may create it at a named path whose
        directory exists."""
        if self._config is None:
            from quaynotify.config import load as config

            conf = config.load(self.config_file())
            if not conf.exists and (named := self._config_named()) is not None:
                _check_absent(conf.path, named, creating)
            self._config = conf
        return self._config

    def _config_named(self) -> str | None:
        """How the config's path was named, or None for the default location."""
        import os

        from quaynotify.paths import CONFIG_ENV

        if self.config_path is not None:
            return "--config"
        return CONFIG_ENV if os.environ.get(CONFIG_ENV) else None

    def store(self) -> Store:
        """The state: PostgreSQL where --state-url, QUAYNOTIFY_STATE_URL or [state] url
        says, spooling to the state dir while it cannot be reached; else SQLite there."""
        from quaynotify.config.state import state_location
        from quaynotify.paths import state_dir
        from quaynotify.store import open_store

        where = state_location(self.state_url, lambda: self.config().settings.state)
        directory = state_dir(self.state_dir)
        if where is None:
            return open_store(directory)
        return open_store(directory, where.url, where.schema)

    def output(self, as_json: bool = False) -> Output:
        return Output(
            as_json=self.as_json or as_json, quiet=self.quiet, show_secrets=self.show_secrets
        )


def _check_absent(path: Path, named: str, creating: bool) -> None:
    from quaynotify.errors import ConfigError

    if not creating:
        raise ConfigError(
            f"config {path} does not exist: create it with `quaynotify rule add ...`, "
            f"or fix the path given with {named}"
        )
    if not path.parent.is_dir():
        raise ConfigError(
            f"config {path} cannot be created: its directory {path.parent} does not exist; "
            f"create the directory, or fix the path given with {named}"
        )


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
