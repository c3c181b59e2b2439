"""`quaynotify emit`: build an event and deliver it to every matching rule."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quaynotify.cli.common import JsonOption, globals_of
from quaynotify.errors import ExitCode

if TYPE_CHECKING:
    from quaynotify.delivery import Outcome
    from quaynotify.output import Output


def register(app: typer.Typer) -> None:
    app.command("emit")(emit)


def emit(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(help="Event name (see `quaynotify events`).")],
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
            help="Set one field: KEY=VALUE, VALUE is JSON if it parses, else a string; "
            "dotted keys nest. Repeatable; applied after --data.",
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
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what would be sent (secrets masked); send nothing."),
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, help="Deliveries at once [default: config, 8]."),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option("--max-attempts", min=1, help="Attempts per delivery [default: config, 3]."),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline",
            min=0.001,
            help="Overall budget in seconds: no attempt starts after it.",
            metavar="SECONDS",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Emit EVENT for a repository: deliver it to every matching rule before returning.

    Exit status: 0 when every delivery succeeded (or no rule matched), 1 when one failed.

    Example: quaynotify emit repo_push --repo acme/web --set 'updated_tags=["latest"]'
    """
    from quaynotify import delivery
    from quaynotify.events import get_event
    from quaynotify.inputs import merge_fields, parse_data, parse_set

    g = globals_of(ctx)
    out = g.output(as_json)
    conf = g.config()
    event_def = get_event(event)
    assignments = parse_set(set_ or [])
    fields: dict[str, Any] = event_def.sample({}) if sample else {}
    if data is not None:
        fields.update(parse_data(data))
    fields = merge_fields(fields, assignments)
    policy = delivery.RetryPolicy.from_settings(conf.delivery, max_attempts=max_attempts)
    outcome = delivery.emit(
        conf,
        g.state(),
        event,
        repo,
        fields,
        sample=sample,
        performer=performer,
        dry_run=dry_run,
        policy=policy,
        concurrency=concurrency,
        deadline=deadline,
    )
    raise typer.Exit(report(out, outcome))


def report(out: Output, outcome: Outcome) -> int:
    """Print what happened to each delivery; return the exit status."""
    if outcome.previews or (outcome.matched and not outcome.deliveries):
        return _report_previews(out, outcome)
    if not outcome.matched:
        out.note(f"no rule matches {outcome.event} on {outcome.repository}: nothing sent")
    if out.as_json:
        out.json(
            {
                "event": outcome.event,
                "repository": outcome.repository,
                "deliveries": [delivery_view(d) for d in outcome.deliveries],
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
        elif not d.ok:
            tries = f"{len(d.attempts)} attempt{'s' if len(d.attempts) != 1 else ''}"
            out.warn(f"delivery {d.id} to rule {d.rule_id} failed after {tries}: {d.error}")
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
            out.line(json.dumps(p.body, indent=2, ensure_ascii=False))
    if not outcome.matched:
        out.note(f"no rule matches {outcome.event} on {outcome.repository}: nothing would be sent")
    return int(ExitCode.OK)


def detail(d: Any) -> str:
    if d.error:
        return str(d.error)
    return d.attempts[-1].message if d.attempts else ""


def delivery_view(d: Any, *, with_attempts: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": d.id,
        "event": d.event,
        "repository": d.repository,
        "rule_id": d.rule_id,
        "method": d.method,
        "status": d.status,
        "error": d.error,
        "performer": d.performer,
        "created": d.created,
        "updated": d.updated,
        "attempt_count": len(d.attempts),
    }
    if with_attempts:
        view["attempts"] = [
            {
                "number": a.number,
                "started": a.started,
                "duration": round(a.duration, 6),
                "ok": a.ok,
                "status": a.status,
                "message": a.message,
            }
            for a in d.attempts
        ]
    return view
