"""What every command shares: the global options, and getting config, state and output."""

from __future__ import annotations

from dataclasses import dataclass
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

    def config_file(self) -> Path:
        from quaynotify.paths import config_path

        return config_path(self.config_path)

    def config(self) -> Config:
        from quaynotify.config import load as config

        return config.load(self.config_file())

    def store(self) -> Store:
        from quaynotify.paths import state_dir
        from quaynotify.store import open_store

        return open_store(state_dir(self.state_dir))

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
