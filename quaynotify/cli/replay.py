"""`quaynotify replay`: deliver journaled deliveries again, to each rule's current config."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from quaynotify.cli import complete
from quaynotify.cli.common import JsonOption, globals_of
from quaynotify.cli.deliveries import (
    Concurrency,
    Deadline,
    DryRun,
    MaxAttempts,
    RunOptions,
    SoftFail,
    report,
)
from quaynotify.cli.interrupt import graceful
from quaynotify.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)


def _moved_to_emit(value: str | None) -> None:
    """`replay --from FILE` used to emit a stream of new events: say where that went."""
    if value is not None:
        raise UsageError(
            f"`replay --from` moved to `emit --from`: run `quaynotify emit --from "
            f"{shlex.quote(value)}` (replay only sends journaled deliveries again)"
        )


DeliveryIds = Annotated[
    list[str] | None,
    typer.Argument(help="Journaled delivery ids (any unique prefix).", show_default=False),
]
FailedOption = Annotated[
    bool, typer.Option("--failed", help="Every delivery that did not succeed.")
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="With --failed: only those since WHEN (30m, 2h, 7d, or an ISO date-time).",
        metavar="WHEN",
    ),
]
RuleOption = Annotated[
    str | None,
    typer.Option(
        "--rule",
        metavar="ID",
        help="With --failed: only this rule's deliveries.",
        autocompletion=complete.rule_ids,
    ),
]
MovedFromOption = Annotated[
    str | None,
    typer.Option("--from", hidden=True, is_eager=True, callback=_moved_to_emit),
]


def replay(
    ctx: typer.Context,
    delivery_ids: DeliveryIds = None,
    failed: FailedOption = False,
    since: SinceOption = None,
    rule: RuleOption = None,
    dry_run: DryRun = False,
    concurrency: Concurrency = None,
    max_attempts: MaxAttempts = None,
    deadline: Deadline = None,
    soft_fail: SoftFail = False,
    as_json: JsonOption = False,
    from_: MovedFromOption = None,
) -> None:
    """Deliver journaled deliveries again, to each rule's current config, with the same
    delivery id (receivers can de-duplicate).

    A replayed delivery that succeeds is no longer listed by `log --failed`.

    Example: quaynotify replay --failed --since 2h
    """
    import time

    from quaynotify.delivery import plan as delivery
    from quaynotify.delivery import replay as rp
    from quaynotify.inputs import parse_since

    if delivery_ids and (failed or since or rule):
        raise UsageError("give delivery ids or --failed, not both")
    if (since or rule) and not failed:
        raise UsageError("--since and --rule select failed deliveries: add --failed")
    if not delivery_ids and not failed:
        raise UsageError("give delivery ids or --failed: see `quaynotify replay --help`")
    g = globals_of(ctx)
    out = g.output(as_json)
    conf = g.config()
    store = g.store()
    records = rp.journaled(
        store,
        delivery_ids or [],
        since=None if since is None else parse_since(since, now=time.time()),
        rule_id=None if rule is None else conf.find_rule(rule).id,
    )
    plan = rp.plan_records(conf, store, records)
    options = RunOptions(dry_run, concurrency, max_attempts, deadline)
    with graceful() as stop, out.progress(len(plan.planned), "replaying") as tick:
        run = options.run(conf, stop, tick, out.note)
        outcome = delivery.execute(conf, store, plan.planned, run=run, problems=plan.problems)
    if not plan.planned and not plan.problems:
        out.note("nothing to replay")
    raise typer.Exit(report(out, outcome, many_events=True, soft_fail=soft_fail))
