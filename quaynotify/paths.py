"""Where the config file and the state directory live: platformdirs plus overrides."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "quaynotify"
CONFIG_ENV = "QUAYNOTIFY_CONFIG"
STATE_DIR_ENV = "QUAYNOTIFY_STATE_DIR"


def config_path(override: str | os.PathLike[str] | None = None) -> Path:
    """`--config`, else `$QUAYNOTIFY_CONFIG`, else the platform's config dir."""
    chosen = override or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def state_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """`--state-dir`, else `$QUAYNOTIFY_STATE_DIR`, else the platform's state dir."""
    chosen = override or os.environ.get(STATE_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME))
