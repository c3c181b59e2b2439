"""`quaynotify emit`: build an event, or read a stream of them, and deliver each to every
matching rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    from quaynotify.catalogue.event import Event
    from quaynotify.cli.common import Globals
    from quaynotify.output import Output


def register(app: typer.Typer) -> None:
    app.command("emit")(emit)


EventArgument = Annotated[
    str | None,
    typer.Argument(
        help="Event name (see `quaynotify events`); required unless --from.",
        show_default=False,
        autocompletion=complete.events,
    ),
]
RepoOption = Annotated[
    str | None,
    typer.Option(
        "--repo", help="Repository, NAMESPACE/NAME; required unless --from.", show_default=False
    ),
]
DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="Event fields as a JSON object: inline, @FILE, or @- for stdin.",
        metavar="JSON|@FILE|@-",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Set one field: KEY=VALUE, VALUE is JSON if it parses, else a string (a field "
        "that holds a string keeps numbers as written); dotted keys nest. Repeatable; "
        "applied after --data.",
        metavar="KEY=VALUE",
    ),
]
SampleOption = Annotated[
    bool, typer.Option("--sample", help="Start from Quay's sample data for the event.")
]
PerformerOption = Annotated[
    str | None,
    typer.Option("--performer", help='Who did it ("NAME pushed ..." in messages).'),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help='Emit the events of a JSON-lines file (- for stdin), one {"event": ..., '
        '"repository": ..., "data": {...}, "performer": ...} per line, instead of EVENT.',
        metavar="FILE|-",
    ),
]


def emit(
    ctx: typer.Context,
    event: EventArgument = None,
    repo: RepoOption = None,
    data: DataOption = None,
    set_: SetOption = None,
    sample: SampleOption = False,
    performer: PerformerOption = None,
    from_: FromOption = None,
    dry_run: DryRun = False,
    concurrency: Concurrency = None,
    max_attempts: MaxAttempts = None,
    deadline: Deadline = None,
    soft_fail: SoftFail = False,
    as_json: JsonOption = False,
) -> None:
    """Emit EVENT for a repository: deliver it to every matching rule before returning.

    With --from FILE (- for stdin), emit every event of a JSON-lines stream instead: every
    line is checked before anything is sent.

    Exit status: 0 when every delivery succeeded (or no rule matched), 1 when one failed
    (0 with --soft-fail, and a warning).

    Example: quaynotify emit repo_push --repo acme/web --set 'updated_tags=["latest"]'
    """
    g = globals_of(ctx)
    options = RunOptions(dry_run, concurrency, max_attempts, deadline)
    if from_ is not None:
        _refuse_beside_a_stream(
            {"EVENT": event, "--repo": repo, "--data": data, "--set": set_}
            | {"--sample": sample, "--performer": performer}
        )
        raise typer.Exit(_emit_stream(g, from_, options, as_json, soft_fail))
    if event is None:
        ctx.fail("Missing argument 'EVENT'.")
    if repo is None:
        ctx.fail("Missing option '--repo'.")
    one = OneEvent(event, repo, data, set_ or [], sample, performer)
    raise typer.Exit(_emit_one(g, one, options, as_json, soft_fail))


def _refuse_beside_a_stream(given: dict[str, object]) -> None:
    for name, value in given.items():
        if value is not None and value is not False:
            raise UsageError(
                "--from reads each event's name, repository and data from the stream: "
                f"it cannot be combined with {name}"
            )


@dataclass(frozen=True)
class OneEvent:
    """The event `emit EVENT --repo NS/NAME` builds, as given on the command line."""

    name: str
    repository: str
    data: str | None
    assignments: list[str]
    sample: bool
    performer: str | None


def _emit_one(
    g: Globals, one: OneEvent, options: RunOptions, as_json: bool, soft_fail: bool
) -> int:
    from quaynotify.catalogue.events import get_event
    from quaynotify.delivery import plan as delivery
    from quaynotify.inputs import merge_fields, parse_data, parse_set

    out = g.output(as_json)
    conf = g.config()
    event = get_event(one.name)
    assignments = parse_set(one.assignments, event.string_paths())
    fields: dict[str, Any] = event.sample({}) if one.sample else {}
    data = parse_data(one.data) if one.data is not None else {}
    fields.update(data)
    fields = merge_fields(fields, assignments)
    # the event is checked first: a bad one is one error line, with no warning before it
    event_data = delivery.make_event_data(conf, event, one.repository, fields, sample=one.sample)
    _warn_unknown_fields(out, event, data, assignments)
    with graceful() as stop:
        outcome = delivery.emit(
            conf,
            g.store(),
            event,
            one.repository,
            event_data,
            performer=one.performer,
            run=options.run(conf, stop, retries=out.note),
        )
    return report(out, outcome, soft_fail=soft_fail)


def _warn_unknown_fields(
    out: Output, event: Event, data: dict[str, Any], assignments: list[tuple[list[str], Any]]
) -> None:
    """A field the event does not have (--set buid_name=x) is sent, as Quay would ignore it
    without a word: a warning with a did-you-mean says so."""
    from quaynotify.catalogue.data import unknown_field_warnings

    given = dict.fromkeys(data, "--data") | {path[0]: "--set" for path, _ in assignments}
    for line in unknown_field_warnings(event, given):
        out.warn(line)


def _emit_stream(
    g: Globals, from_: str, options: RunOptions, as_json: bool, soft_fail: bool
) -> int:
    from quaynotify.delivery import plan as delivery
    from quaynotify.delivery.stream import parse_stream, plan_stream
    from quaynotify.inputs import read_text_arg

    out = g.output(as_json)
    conf = g.config()
    store = g.store()
    source = "standard input" if from_ == "-" else from_
    events = parse_stream(read_text_arg(f"@{from_}", "--from"), source)
    planned = plan_stream(conf, store, events, source)
    with graceful() as stop, out.progress(len(planned), "emitting") as tick:
        outcome = delivery.execute(
            conf, store, planned, run=options.run(conf, stop, tick, out.note)
        )
    if not planned:
        would = "would be " if options.dry_run else ""
        out.note(f"no rule matches an event of {source}: nothing {would}sent")
    return report(out, outcome, many_events=True, soft_fail=soft_fail)
