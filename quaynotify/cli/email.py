"""`quaynotify email`: authorize an address for a repository's `email` rules, confirm it, list."""

from __future__ import annotations

from typing import Annotated

import typer

from quaynotify.cli.common import JsonOption, globals_of

app = typer.Typer(
    help="Authorize e-mail addresses for `email` rules: an address must confirm a mailed code "
    "for a repository before a rule may send to it (as in Quay).\n\n"
    "Example: quaynotify email authorize acme/web dev@example.com",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="email")


@app.command("authorize")
def authorize(
    ctx: typer.Context,
    repository: Annotated[
        str, typer.Argument(metavar="NS/NAME", help="Repository, NAMESPACE/NAME.")
    ],
    address: Annotated[str, typer.Argument(metavar="ADDRESS", help="The e-mail address.")],
    as_json: JsonOption = False,
) -> None:
    """Mail a confirmation code to ADDRESS for repository NS/NAME (uses the [smtp] table).

    Running it again re-sends the same code; an address already confirmed gets nothing.

    Example: quaynotify email authorize acme/web dev@example.com
    """
    from quaynotify.services import authorization as emailauth

    g = globals_of(ctx)
    out = g.output(as_json)
    result = emailauth.authorize(g.store(), g.config().settings.methods, repository, address)
    if out.as_json:
        out.json({**result.authorization.view(), "sent": result.sent})
    elif not result.sent:
        out.note(f"{address} is already authorized for {repository}: nothing sent")
    else:
        again = "" if result.new_code else " again"
        out.note(
            f"sent the confirmation code{again} to {address} for {repository}: "
            "run `quaynotify email confirm CODE` with the code from that e-mail"
        )


@app.command("confirm")
def confirm(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The code from the e-mail.")],
    as_json: JsonOption = False,
) -> None:
    """Confirm an address with the code mailed by `email authorize` (again is harmless).

    Example: quaynotify email confirm 7KQ2M9XW4TZB8N3R
    """
    from quaynotify.services import authorization as emailauth

    g = globals_of(ctx)
    out = g.output(as_json)
    record, already = emailauth.confirm(g.store(), code)
    if out.as_json:
        out.json(record.view())
        return
    out.note(
        f"{record.email} {'was already' if already else 'is now'} authorized to receive"
        f" notifications for repository {record.repository}"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    repo: Annotated[str | None, typer.Option("--repo", help="Only this repository.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List e-mail authorizations: repository, address, confirmed (never the code).

    Example: quaynotify email list --repo acme/web
    """
    from quaynotify.services import authorization as emailauth

    g = globals_of(ctx)
    out = g.output(as_json)
    records = emailauth.authorizations(g.store(), repo)
    if out.as_json:
        out.json([r.view() for r in records])
        return
    out.table(
        ["REPOSITORY", "EMAIL", "CONFIRMED"],
        [[r.repository, r.email, "yes" if r.confirmed else "no"] for r in records],
    )
