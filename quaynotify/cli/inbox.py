"""`quaynotify inbox`: the notification area where quay_notification rules deliver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from quaynotify.cli.common import JsonOption, globals_of
from quaynotify.cli.views import when

if TYPE_CHECKING:
    from quaynotify.services.inbox import Inbox
    from quaynotify.store.inbox import InboxRecord

# No help= here: the callback's docstring (with its example) is the group's help.
app = typer.Typer()

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        envvar="QUAYNOTIFY_USER",
        metavar="NAME",
        help="Whose notifications [default: $QUAYNOTIFY_USER, else your login name].",
        show_default=False,
        show_envvar=False,
    ),
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="inbox")


@app.callback(invoke_without_command=True)
def inbox(
    ctx: typer.Context,
    user: UserOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include dismissed notifications.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List a user's notifications, newest first: records for them, and records for the
    organisations they administer ([orgs.NAME] admins in the config).

    With --json, each has the shape of Quay's notification view (id, organization, kind,
    created, metadata, dismissed).

    Example: quaynotify inbox --user alice --all
    """
    if ctx.invoked_subcommand is not None:
        return
    from quaynotify.methods.quay_notification import DIRECTORY

    g = globals_of(ctx)
    out = g.output(as_json)
    name = _who(user)
    orgs = g.config().settings.methods[DIRECTORY].administered_by(name)
    area = _inbox(ctx)
    records = area.visible(name, orgs, include_dismissed=all_)
    if out.as_json:
        out.json([view(r) for r in records])
        return
    if not records:
        out.note(f"no {'' if all_ else 'undismissed '}notifications for {name}")
        return
    columns = ["ID", "CREATED", "KIND", "REPOSITORY", "MESSAGE"]
    rows: list[list[Any]] = [
        [r.id, when(r.created), r.kind, r.repository or "", area.message(r)] for r in records
    ]
    if all_:
        columns.append("DISMISSED")
        for row, r in zip(rows, records, strict=True):
            row.append("yes" if r.dismissed else "no")
    out.table(columns, rows)


@app.command("show")
def show(
    ctx: typer.Context,
    notification_id: Annotated[
        str, typer.Argument(help="Notification id (any unique prefix).", show_default=False)
    ],
    as_json: JsonOption = False,
) -> None:
    """Show one notification, dismissed or not, with its event data.

    Example: quaynotify inbox show 3f2a
    """
    g = globals_of(ctx)
    out = g.output(as_json)
    area = _inbox(ctx)
    r = area.get(notification_id)
    if out.as_json:
        out.json(view(r))
        return
    out.fields(
        [
            ("id", r.id),
            ("created", when(r.created)),
            ("kind", r.kind),
            ("message", area.message(r)),
            ("repository", r.repository or ""),
            ("target", f"{r.target_kind}:{r.target}"),
            ("dismissed", "yes" if r.dismissed else "no"),
            ("delivery", r.delivery_id or ""),
            ("metadata", dict(r.metadata)),
        ]
    )


@app.command("dismiss")
def dismiss(
    ctx: typer.Context,
    notification_ids: Annotated[
        list[str],
        typer.Argument(help="Notification ids (any unique prefix).", show_default=False),
    ],
) -> None:
    """Dismiss notifications; an organisation's is dismissed for every admin (as in Quay).

    Example: quaynotify inbox dismiss 3f2a 9b1c
    """
    out = globals_of(ctx).output()
    dismissed = _inbox(ctx).dismiss(notification_ids)
    if out.as_json:
        out.json({"dismissed": [r.id for r in dismissed]})
        return
    for r in dismissed:
        out.note(f"dismissed {r.id}")


# -- helpers ------------------------------------------------------------------------------------


def _inbox(ctx: typer.Context) -> Inbox:
    from quaynotify.services.inbox import Inbox

    return Inbox(globals_of(ctx).store())


def _who(user: str | None) -> str:
    if user:
        return user
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        from quaynotify.errors import UsageError

        raise UsageError(
            "cannot tell whose notifications to show: pass --user NAME or set QUAYNOTIFY_USER"
        ) from None


def view(r: InboxRecord) -> dict[str, Any]:
    """Quay's notification view (`notification_view`): created is an RFC 2822 date."""
    from email.utils import formatdate

    return {
        "id": r.id,
        "organization": r.organization,
        "kind": r.kind,
        "created": formatdate(r.created),
        "metadata": dict(r.metadata),
        "dismissed": r.dismissed,
    }
