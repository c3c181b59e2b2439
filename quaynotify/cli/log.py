"""`quaynotify log`: the journal of deliveries, and every attempt of one."""

from __future__ import annotations

from typing import Annotated

import typer

from quaynotify.cli import complete
from quaynotify.cli.common import JsonOption, globals_of
from quaynotify.cli.views import JOURNAL_COLUMNS, journal_row, when

app = typer.Typer()


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="log")


FailedOption = Annotated[
    bool, typer.Option("--failed", help="Only deliveries that did not succeed.")
]
RuleOption = Annotated[
    str | None,
    typer.Option(
        "--rule", help="Only this rule (any unique id prefix).", autocompletion=complete.rule_ids
    ),
]
EventOption = Annotated[
    str | None,
    typer.Option("--event", help="Only this event.", autocompletion=complete.events),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Only those since WHEN (30m, 2h, 7d, or an ISO date-time), as `replay "
        "--failed --since` selects them: by their last update.",
        metavar="WHEN",
    ),
]
RepoOption = Annotated[
    str | None, typer.Option("--repo", help="Only this repository.", metavar="NS/NAME")
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="At most this many.")]


@app.callback(invoke_without_command=True)
def log(
    ctx: typer.Context,
    failed: FailedOption = False,
    rule: RuleOption = None,
    event: EventOption = None,
    since: SinceOption = None,
    repo: RepoOption = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List deliveries, newest first; `log show ID` shows every attempt of one.

    Example: quaynotify log --failed --since 2h --repo acme/web
    """
    if ctx.invoked_subcommand is not None:
        return
    import time

    from quaynotify.catalogue.data import parse_repository
    from quaynotify.catalogue.events import get_event
    from quaynotify.cli.views import delivery_view
    from quaynotify.inputs import parse_since

    g = globals_of(ctx)
    out = g.output(as_json)
    rule_id = None
    if rule is not None:
        rule_id = g.config().find_rule(rule).id
    if event is not None:
        get_event(event)
    if repo is not None:
        parse_repository(repo)
    after = None if since is None else parse_since(since, now=time.time())
    records = g.store().journal.deliveries(
        failed=failed, rule_id=rule_id, event=event, since=after, repository=repo, limit=limit
    )
    if out.as_json:
        out.json([delivery_view(d, with_attempts=False) for d in records])
        return
    out.table(JOURNAL_COLUMNS, [journal_row(d) for d in records])


@app.command("show")
def show(
    ctx: typer.Context,
    delivery_id: Annotated[str, typer.Argument(help="Delivery id (any unique prefix).")],
    as_json: JsonOption = False,
) -> None:
    """Show one delivery: its event data and every attempt.

    Example: quaynotify log show 3f2a
    """
    from quaynotify.cli.views import delivery_view

    g = globals_of(ctx)
    out = g.output(as_json)
    d = g.store().journal.delivery(delivery_id)
    if out.as_json:
        out.json({**delivery_view(d), "data": d.data})
        return
    out.fields(
        [
            ("delivery", d.id),
            ("event", d.event),
            ("repository", d.repository),
            ("rule", d.rule_id),
            ("method", d.method),
            ("status", d.status),
            ("error", d.error or ""),
            ("performer", d.performer or ""),
            ("data", d.data),
        ]
    )
    out.line()
    out.table(
        ["ATTEMPT", "STARTED", "DURATION", "OK", "STATUS", "MESSAGE"],
        [
            [
                a.number,
                when(a.started),
                f"{a.duration:.3f}s",
                "yes" if a.ok else "no",
                a.status or "",
                a.message,
            ]
            for a in d.attempts
        ],
    )
