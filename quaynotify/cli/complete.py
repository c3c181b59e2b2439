"""Shell completion: the candidates for event names, method names and rule ids."""

from __future__ import annotations

from pathlib import Path

import typer

# Click's protocol: the shell scripts in completions/ run `quaynotify` with this variable set
# (complete_bash, complete_zsh, complete_fish) and read the candidates from its stdout.
COMPLETE_VAR = "_QUAYNOTIFY_COMPLETE"


def enable() -> None:
    """The app is built with add_completion=False (no --install-completion), so Typer never
    registers its shell classes and the protocol would answer "Shell bash not supported".
    Called only when a shell is asking: plain commands stay free of the import."""
    from typer._completion_classes import completion_init

    completion_init()


def events(incomplete: str) -> list[tuple[str, str]]:
    """Event names, with their titles as descriptions."""
    try:
        from quaynotify.catalogue.events import EVENTS

        return [(e.name, e.title) for e in EVENTS.values() if e.name.startswith(incomplete)]
    except Exception:  # a completion must never print a traceback into the user's prompt
        return []


def methods(incomplete: str) -> list[tuple[str, str]]:
    """Method names, with their titles as descriptions."""
    try:
        from quaynotify.methods import METHODS

        return [(m.name, m.title) for m in METHODS.values() if m.name.startswith(incomplete)]
    except Exception:
        return []


def rule_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Rule ids from the config file in use (`--config`, else QUAYNOTIFY_CONFIG, else the
    default), described as "EVENT on REPOSITORY via METHOD". Read with tomllib alone and never
    validated: a broken or missing file offers nothing rather than failing."""
    try:
        return [
            (rule_id, about)
            for rule_id, about in _rules(_config_file(ctx))
            if rule_id.startswith(incomplete)
        ]
    except Exception:
        return []


def _config_file(ctx: typer.Context) -> Path:
    from quaynotify.cli.common import globals_of
    from quaynotify.paths import config_path

    # Completing runs no command: a --config after the command is in Globals (the root's
    # callbacks set it while parsing), one before it in the root's own parameters.
    override = globals_of(ctx).config_path or ctx.find_root().params.get("config")
    return config_path(override)


def _rules(path: Path) -> list[tuple[str, str]]:
    import tomllib

    with path.open("rb") as f:
        document = tomllib.load(f)
    found = []
    for raw in document.get("rule", []):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            continue
        event, repo, method = (raw.get(k, "?") for k in ("event", "repository", "method"))
        about = f"{event} on {repo} via {method}"
        if isinstance(raw.get("title"), str) and raw["title"]:
            about += f" ({raw['title']})"
        found.append((raw["id"], about))
    return found
