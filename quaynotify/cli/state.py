"""`quaynotify state`: where the state lives and what it holds; copying the local journal into
a shared PostgreSQL state; uploading what was kept while that state could not be reached."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from quaynotify.cli.common import JsonOption, globals_of
from quaynotify.errors import UsageError

if TYPE_CHECKING:
    from quaynotify.cli.common import Globals
    from quaynotify.store import Store

app = typer.Typer(
    help="Where the state lives (SQLite here, or PostgreSQL shared across machines), and "
    "moving it.\n\nExample: quaynotify state info",
    no_args_is_help=True,
)

NOT_SHARED = (
    "the state is the local SQLite one: set --state-url, QUAYNOTIFY_STATE_URL or "
    "[state] url to a PostgreSQL database to share it"
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="state")


@app.command("info")
def info(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the backend, its location (password masked), the schema version and how many
    deliveries, attempts, notifications and authorizations it holds.

    Example: QUAYNOTIFY_STATE_URL=env:DATABASE_URL quaynotify state info
    """
    from quaynotify.errors import ExitCode, StateUnreachable
    from quaynotify.store import COUNTED

    g = globals_of(ctx)
    store = g.store()
    backend = store.backend
    down: StateUnreachable | None = None
    try:
        version: int | None = backend.version()
        counts: dict[str, int | None] = {**store.counts()}
    except StateUnreachable as exc:
        if store.spool is None:
            raise
        # What waits in the spool is worth seeing most when the database cannot be reached.
        down, version, counts = exc, None, dict.fromkeys(COUNTED)
    view = {
        "backend": backend.kind,
        "location": backend.where,
        "schema": getattr(backend, "schema", None),
        "schema_version": version,
        **counts,
    }
    if store.spool is not None:
        view["spooled"] = len(store.spool.kept())  # batches waiting for `state sync`
    out = g.output(as_json)
    if down is not None:
        out.warn(str(down))
    if out.as_json:
        out.json(view)
    else:
        out.fields([(key.replace("_", " "), "-" if v is None else v) for key, v in view.items()])
    if down is not None:
        raise typer.Exit(int(ExitCode.CONFIG))  # the state is not usable: a script must know


@app.command("sync")
def sync(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Upload what was kept in the local state while the shared PostgreSQL state could not
    be reached (each batch exactly once; any run that reaches it does this too).

    Example: quaynotify state sync
    """
    g = globals_of(ctx)
    store = _shared(g)
    synced = store.sync()
    out = g.output(as_json)
    if out.as_json:
        out.json(synced.__dict__)
    elif synced.batches or synced.skipped:
        out.note(
            f"uploaded {synced.deliveries} deliveries and {synced.notifications} notifications "
            f"to {store.backend.where}"
            + (f" ({synced.skipped} batches were there already)" if synced.skipped else "")
        )
    else:
        out.note(f"nothing to upload: {store.backend.where} has everything")


@app.command("copy")
def copy(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="PostgreSQL URL to copy into, or an env:/file: reference to one.",
            metavar="URL",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Copy the local SQLite state (journal, rule health, notifications, authorizations)
    into a PostgreSQL state; what it holds already is not copied again.

    Example: quaynotify state copy --to env:DATABASE_URL
    """
    from quaynotify.config.state import state_location
    from quaynotify.paths import state_dir
    from quaynotify.store import open_store
    from quaynotify.store.copy import copy_state

    g = globals_of(ctx)
    target = state_location(to, lambda: g.config().settings.state, named="--to") if to else None
    if target is None:
        raise UsageError("--to must be a PostgreSQL URL, postgresql://USER:PASSWORD@HOST/DBNAME")
    local = open_store(state_dir(g.state_dir))
    shared = open_store(state_dir(g.state_dir), target.url, target.schema)
    copied = copy_state(local.backend, shared.backend)
    out = g.output(as_json)
    if out.as_json:
        out.json({"to": shared.backend.where, "copied": copied})
        return
    what = ", ".join(f"{n} {name}" for name, n in copied.items())
    out.note(f"copied {what} from {local.backend.where} to {shared.backend.where}")


def _shared(g: Globals) -> Store:
    store = g.store()
    if store.spool is None:
        raise UsageError(NOT_SHARED)
    return store
