"""`quaynotify emit`: build an event and deliver it to every matching rule."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quaynotify.cli import complete
from quaynotify.cli.common import JsonOption, globals_of
from quaynotify.cli.interrupt import graceful
from quaynotify.cli.views import delivery_view, detail
from quaynotify.errors import ExitCode

if TYPE_CHECKING:
    from quaynotify.delivery.plan import Outcome
    from quaynotify.output import Output


def register(app: typer.Typer) -> None:
    app.command("emit")(emit)
    app.command("replay")(replay)


DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print what would be sent (secrets masked); send nothing.")
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency", min=1, metavar="N", help="Deliveries at once [default: config, 8]."
    ),
]
MaxAttempts = Annotated[
    int | None,
    typer.Option(
        "--max-attempts", min=1, metavar="N", help="Attempts per delivery [default: config, 3]."
    ),
]


def _deadline(value: float | None) -> float | None:
    # FloatRange lets nan through: every comparison with it is false.
    if value is not None and value != value:
        raise typer.BadParameter("nan is not a number of seconds")
    return value


Deadline = Annotated[
    float | None,
    typer.Option(
        "--deadline",
        min=0.001,
        max=86400,
        callback=_deadline,
        help="Overall budget in seconds, at most 86400 (a day): no attempt starts after it, "
        "and the command returns by it.",
        metavar="SECONDS",
    ),
]


def emit(
    ctx: typer.Context,
    event: Annotated[
        str,
        typer.Argument(
            help="Event name (see `quaynotify events`).", autocompletion=complete.events
        ),
    ],
    repo: Annotated[str, typer.Option("--repo", help="Repository, NAMESPACE/NAME.")],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="Event fields as a JSON object: inline, @FILE, or @- for stdin.",
            metavar="JSON|@FILE|@-",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Set one field: KEY=VALUE, VALUE is JSON if it parses, else a string (a field "
            "that holds a string keeps numbers as written); dotted keys nest. Repeatable; "
            "applied after --data.",
            metavar="KEY=VALUE",
        ),
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Start from Quay's sample data for the event.")
    ] = False,
    performer: Annotated[
        str | None,
        typer.Option("--performer", help='Who did it ("NAME pushed ..." in messages).'),
    ] = None,
    dry_run: DryRun = False,
    concurrency: Concurrency = None,
    max_attempts: MaxAttempts = None,
    deadline: Deadline = None,
    as_json: JsonOption = False,
) -> None:
    """Emit EVENT for a repository: deliver it to every matching rule before returning.

    Exit status: 0 when every delivery succeeded (or no rule matched), 1 when one failed.

    Example: quaynotify emit repo_push --repo acme/web --set 'updated_tags=["latest"]'
    """
    from quaynotify.catalogue.events import get_event
    from quaynotify.delivery import plan as delivery
    from quaynotify.delivery.retry import RetryPolicy
    from quaynotify.inputs import merge_fields, parse_data, parse_set

    g = globals_of(ctx)
    out = g.output(as_json)
    conf = g.config()
    event_def = get_event(event)
    assignments = parse_set(set_ or [], event_def.string_paths())
    fields: dict[str, Any] = event_def.sample({}) if sample else {}
    if data is not None:
        fields.update(parse_data(data))
    fields = merge_fields(fields, assignments)
    policy = RetryPolicy.from_settings(conf.delivery, max_attempts=max_attempts)
    with graceful() as stop:
        run = delivery.Run(dry_run, policy, concurrency, deadline, stop=stop)
        outcome = delivery.emit(
            conf, g.state(), event_def, repo, fields, sample=sample, performer=performer, run=run
        )
    raise typer.Exit(report(out, outcome))


def replay(
    ctx: typer.Context,
    delivery_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Journaled delivery ids (any unique prefix).", show_default=False),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Every delivery that did not succeed.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="With --failed: only those since WHEN (30m, 2h, 7d, or an ISO date-time).",
            metavar="WHEN",
        ),
    ] = None,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule",
            metavar="ID",
            help="With --failed: only this rule's deliveries.",
            autocompletion=complete.rule_ids,
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help='Emit the events of a JSON-lines file (- for stdin), one {"event": ..., '
            '"repository": ..., "data": {...}} per line.',
            metavar="FILE|-",
        ),
    ] = None,
    dry_run: DryRun = False,
    concurrency: Concurrency = None,
    max_attempts: MaxAttempts = None,
    deadline: Deadline = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver journaled deliveries again, to each rule's current config, with the same
    delivery id (receivers can de-duplicate); or emit a stream of events from a file.

    A replayed delivery that succeeds is no longer listed by `log --failed`.

    Example: quaynotify replay --failed --since 2h
    """
    import time

    from quaynotify.delivery import plan as delivery
    from quaynotify.delivery import replay as rp
    from quaynotify.delivery.retry import RetryPolicy
    from quaynotify.errors import UsageError
    from quaynotify.inputs import parse_since, read_text_arg

    g = globals_of(ctx)
    out = g.output(as_json)
    conf = g.config()
    state = g.state()
    if from_ is not None:
        if delivery_ids or failed or since or rule:
            raise UsageError("--from emits new events: it cannot be combined with ids or --failed")
        source = "standard input" if from_ == "-" else from_
        events = rp.parse_stream(read_text_arg(f"@{from_}", "--from"), source)
        plan = rp.plan_stream(conf, state, events, source)
    else:
        if delivery_ids and (failed or since or rule):
            raise UsageError("give delivery ids or --failed, not both")
        if (since or rule) and not failed:
            raise UsageError("--since and --rule select failed deliveries: add --failed")
        records = rp.journaled(
            state,
            delivery_ids or [],
            failed=failed,
            since=None if since is None else parse_since(since, now=time.time()),
            rule_id=None if rule is None else conf.find_rule(rule).id,
        )
        plan = rp.plan_records(conf, state, records)
    policy = RetryPolicy.from_settings(conf.delivery, max_attempts=max_attempts)
    with graceful() as stop, out.progress(len(plan.planned), "replaying") as tick:
        run = delivery.Run(dry_run, policy, concurrency, deadline, progress=tick, stop=stop)
        outcome = delivery.execute(
            conf, state, plan.planned, event="replay", run=run, problems=plan.problems
        )
    if not plan.planned and not plan.problems:
        out.note("nothing to replay")
    raise typer.Exit(report(out, outcome, replayed=True))


def report(out: Output, outcome: Outcome, *, replayed: bool = False) -> int:
    """Print what happened to each delivery; return the exit status. A replay's deliveries
    are of many events and repositories: each names its own, and the document none."""
    if outcome.dry_run:
        return _report_previews(out, outcome)
    if not outcome.matched and outcome.repository:
        out.note(f"no rule matches {outcome.event} on {outcome.repository}: nothing sent")
    for problem in outcome.problems:
        out.warn(problem)
    if out.as_json:
        deliveries = [delivery_view(d) for d in outcome.deliveries]
        if replayed:
            out.json({"deliveries": deliveries})
        else:
            out.json(
                {
                    "event": outcome.event,
                    "repository": outcome.repository,
                    "deliveries": deliveries,
                }
            )
    elif outcome.deliveries:
        out.table(
            ["DELIVERY", "RULE", "METHOD", "STATUS", "ATTEMPTS", "DETAIL"],
            [
                [d.id, d.rule_id, d.method, d.status, len(d.attempts), detail(d)]
                for d in outcome.deliveries
            ],
        )
    for d in outcome.deliveries:
        if d.status == "skipped":
            out.warn(f"skipped delivery {d.id}: {d.error}")
        elif not d.ok:  # failed, or any status to come (interrupted): say which
            tries = f"{len(d.attempts)} attempt{'s' if len(d.attempts) != 1 else ''}"
            why = f": {d.error}" if d.error else ""
            out.warn(f"delivery {d.id} to rule {d.rule_id} {d.status} after {tries}{why}")
    for rule_id in outcome.newly_disabled:
        out.warn(
            f"rule {rule_id} is now disabled after repeated failures: "
            f"run `quaynotify rule reset {rule_id}` once the receiver is fixed"
        )
    return int(ExitCode.OK if outcome.ok else ExitCode.FAILED)


def _report_previews(out: Output, outcome: Outcome) -> int:
    if out.as_json:
        out.json(
            [
                {"method": p.method, "target": p.target, "headers": dict(p.headers), "body": p.body}
                for p in outcome.previews
            ]
        )
    else:
        for i, p in enumerate(outcome.previews):
            if i:
                out.line()
            out.line(f"# {p.method}: {p.target}")
            for name, value in p.headers.items():
                out.line(f"{name}: {value}")
            out.line()
            body = p.body if isinstance(p.body, str) else json.dumps(p.body, indent=2)
            out.line(body)
    if not outcome.matched and outcome.repository:
        out.note(f"no rule matches {outcome.event} on {outcome.repository}: nothing would be sent")
    return int(ExitCode.OK)
