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

    def config(self) -> Config:
        """The config file, loaded once per command."""
        if self._config is None:
            from quaynotify.config import load as config

            self._config = config.load(self.config_file())
        return self._config

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


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
