"""`quaynotify events` and `quaynotify methods`: what can be emitted and how it is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from quaynotify.cli import complete
from quaynotify.cli.common import JsonOption, globals_of

if TYPE_CHECKING:
    from quaynotify.output import Output


def register(app: typer.Typer) -> None:
    app.command("events")(events)
    app.command("methods")(methods)


def events(
    ctx: typer.Context,
    event: Annotated[
        str | None,
        typer.Argument(
            help="Show this event in detail.",
            show_default=False,
            autocompletion=complete.events,
        ),
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Print Quay's sample data for EVENT.")
    ] = False,
    repo: Annotated[
        str, typer.Option("--repo", help="Repository for the sample's common fields.")
    ] = "namespace/repository",
    as_json: JsonOption = False,
) -> None:
    """List the events, or show one: title, level, summary, fields, filter.

    Example: quaynotify events build_failure --sample
    """
    from quaynotify.catalogue.data import sample_event_data
    from quaynotify.catalogue.events import get_event

    g = globals_of(ctx)
    out = g.output(as_json)
    if event is None:
        if sample:
            raise typer.BadParameter("--sample needs an EVENT", param_hint="--sample")
        _list_events(out)
        return
    e = get_event(event)
    if sample:
        server = g.config().settings.server
        out.json(sample_event_data(e, repo, {}, hostname=server.hostname, scheme=server.scheme))
    elif out.as_json:
        out.json(_event_view(e))
    else:
        out.fields(
            [
                ("event", e.name),
                ("title", e.title),
                ("description", e.description),
                ("filter", e.filter_key or "none"),
            ]
            + [
                (f"required {f.name}", f"{f.kind}: {f.description} ({f.example})")
                for f in e.required
            ]
            + [(f"optional {f.name}", f"{f.kind}: {f.description}") for f in e.optional]
        )


def _list_events(out: Output) -> None:
    from quaynotify.catalogue.events import EVENTS

    if out.as_json:
        out.json([_event_view(e) for e in EVENTS.values()])
        return
    out.table(
        ["EVENT", "TITLE", "REQUIRED FIELDS", "FILTER"],
        [
            [e.name, e.title, ", ".join(f.name for f in e.required), e.filter_key or ""]
            for e in EVENTS.values()
        ],
    )


def _event_view(e: Any) -> dict[str, Any]:
    return {
        "name": e.name,
        "title": e.title,
        "description": e.description,
        "required": [{"name": f.name, "kind": f.kind, "example": f.example} for f in e.required],
        "optional": [{"name": f.name, "kind": f.kind} for f in e.optional],
        "filter": e.filter_key,
    }


def methods(
    ctx: typer.Context,
    method: Annotated[
        str | None,
        typer.Argument(
            help="Show this method in detail.",
            show_default=False,
            autocompletion=complete.methods,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the delivery methods, or show one method's config keys.

    Example: quaynotify methods webhook
    """
    from quaynotify.methods import METHODS, get_method

    out = globals_of(ctx).output(as_json)
    chosen = [get_method(method)] if method else list(METHODS.values())
    views: list[dict[str, Any]] = [
        {
            "name": m.name,
            "title": m.title,
            "config": [
                {"name": f.name, "required": f.required, "secret": f.secret, "help": f.help}
                for f in m.fields
            ],
        }
        for m in chosen
    ]
    if out.as_json:
        out.json(views if method is None else views[0])
    elif method is None:
        out.table(
            ["METHOD", "TITLE", "CONFIG"],
            [[v["name"], v["title"], ", ".join(f["name"] for f in v["config"])] for v in views],
        )
    else:
        m = chosen[0]
        out.fields(
            [("method", m.name), ("title", m.title)]
            + [
                (
                    f.name,
                    f"{'required' if f.required else 'optional'}"
                    f"{', secret' if f.secret else ''}: {f.help}",
                )
                for f in m.fields
            ]
        )
