"""Where the state lives: `--state-url`, else `$QUAYNOTIFY_STATE_URL`, else the config's
`[state] url`; with none of them, SQLite in the state directory. A URL may be an `env:` or
`file:` reference to one, and its password is masked wherever it is shown."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from quaynotify.config.settings import StateSettings
from quaynotify.errors import ConfigError, DeliveryError
from quaynotify.paths import STATE_URL_ENV


@dataclass(frozen=True)
class Location:
    """A PostgreSQL state: its URL (references resolved), its schema, and what named it."""

    url: str
    schema: str | None
    source: str  # "--state-url", "QUAYNOTIFY_STATE_URL" or "[state] url"


def state_location(
    option: str | None, settings: Callable[[], StateSettings], *, named: str = "--state-url"
) -> Location | None:
    """The PostgreSQL state asked for, or None for the local SQLite state. `settings` is
    called only when the config is needed: for its [state] table. `named` is the option
    `option` came from, for messages (`state copy` takes its URL as --to)."""
    state = settings()
    for value, source in (
        (option, named),
        (os.environ.get(STATE_URL_ENV), STATE_URL_ENV),
        (state.url, "[state] url"),
    ):
        if not value:
            continue  # (the local state imports none of what a URL needs)
        from quaynotify.methods.base import resolve_secret
        from quaynotify.store.postgres import is_state_url, mask_state_url

        try:
            url = resolve_secret(value, source)
        except DeliveryError as exc:
            raise ConfigError(f"{exc}: set it to a PostgreSQL URL") from None
        if not is_state_url(url):
            raise ConfigError(
                f"{source} must be a PostgreSQL URL, postgresql://USER:PASSWORD@HOST:PORT/"
                f"DBNAME, got {mask_state_url(url)!r}"
            )
        return Location(url, state.schema or None, source)
    return None
