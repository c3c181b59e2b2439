"""`quaynotify rule ...`: add, list, show, remove, enable, disable, reset and test rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from quaynotify.cli import complete
from quaynotify.cli.common import JsonOption, globals_of
from quaynotify.cli.method_options import (
    MethodOptionsCommand,
    method_config_from,
    taking_method_options,
)
from quaynotify.cli.views import rule_view, status

if TYPE_CHECKING:
    from quaynotify.config.load import Rule
    from quaynotify.store.health import RuleHealth

app = typer.Typer(
    help="Manage notification rules (event + repository + method + config).\n\n"
    "Example: quaynotify rule add --repo acme/web --event build_failure --method slack "
    "--url env:SLACK_WEBHOOK_URL",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="rule")


Ids = Annotated[
    list[str],
    typer.Argument(
        help="Rule ids (any unique prefix).",
        show_default=False,
        autocompletion=complete.rule_ids,
    ),
]
Id = Annotated[
    str,
    typer.Argument(
        help="Rule id (any unique prefix).", show_default=False, autocompletion=complete.rule_ids
    ),
]


# The event config filters `rule add` takes (each event has at most one).
RefRegex = Annotated[
    str | None,
    typer.Option(
        "--ref-regex",
        help="Build events: fire only when the git ref matches this regular expression "
        "(matched at the start, as Quay does).",
    ),
]
Level = Annotated[
    str | None,
    typer.Option(
        "--level",
        help="vulnerability_found: minimum severity, a name (Critical, High, Medium, Low, "
        "Negligible, Unknown) or its index 0-5.",
    ),
]
Days = Annotated[
    int | None,
    typer.Option("--days", help="repo_image_expiry: notify this many days before expiry."),
]
EventName = Annotated[
    str,
    typer.Option(
        "--event", help="Event name (see `quaynotify events`).", autocompletion=complete.events
    ),
]
MethodName = Annotated[
    str,
    typer.Option(
        "--method",
        help="Method name (see `quaynotify methods`).",
        autocompletion=complete.methods,
    ),
]


@app.command("add", cls=MethodOptionsCommand)
@taking_method_options
def add(
    ctx: typer.Context,
    repo: Annotated[str, typer.Option("--repo", help="Repository, NAMESPACE/NAME.")],
    event: EventName,
    method: MethodName,
    title: Annotated[str | None, typer.Option("--title", help="Optional title.")] = None,
    ref_regex: RefRegex = None,
    level: Level = None,
    days: Days = None,
    as_json: JsonOption = False,
    **method_options: str | None,
) -> None:
    """Add a rule; print its id.

    The rule is checked as Quay checks it (same messages) and never written when invalid.

    Example: quaynotify rule add --repo acme/web --event repo_push --method webhook
    --url https://ci.example.com/hook
    """
    from quaynotify.config import edit as configedit
    from quaynotify.config import load as cfg
    from quaynotify.services import authorization as emailauth

    g = globals_of(ctx)
    out = g.output(as_json)
    conf = g.config(creating=True)
    method_config = method_config_from(method, method_options)
    event_config: dict[str, Any] = {"ref-regex": ref_regex, "level": level, "days": days}
    rule = cfg.new_rule(
        conf,
        repository=repo,
        event=event,
        method=method,
        method_config=method_config,
        event_config={k: v for k, v in event_config.items() if v is not None},
        title=title,
        authorized=emailauth.checker(g.store()),
    )
    configedit.add_rule(conf.path, rule)
    if out.as_json:
        out.json(rule_view(rule, None, out))
    else:
        out.line(rule.id)
        out.note(f"added rule {rule.id}: {rule.event} on {rule.repository} via {rule.method}")


@app.command("list")
def list_(
    ctx: typer.Context,
    repo: Annotated[str | None, typer.Option("--repo", help="Only this repository.")] = None,
    event: Annotated[
        str | None,
        typer.Option("--event", help="Only this event.", autocompletion=complete.events),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", help="Only this method.", autocompletion=complete.methods),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List rules, in file order.

    With --json, each rule has its id, then the shape of Quay's notification view (uuid, the
    same id; title, event, method, config, event_config, number_of_failures), plus
    repository and enabled.

    Example: quaynotify rule list --repo acme/web
    """
    from quaynotify.catalogue.events import get_event
    from quaynotify.methods import get_method

    g = globals_of(ctx)
    out = g.output(as_json)
    if event is not None:
        get_event(event)  # an unknown name is a typo, not an empty list
    if method is not None:
        get_method(method)
    rules = [
        r
        for r in g.config().rules
        if (repo is None or r.repository == repo)
        and (event is None or r.event == event)
        and (method is None or r.method == method)
    ]
    health = _health(ctx, rules)
    if out.as_json:
        out.json([rule_view(r, health.get(r.id), out) for r in rules])
        return
    out.table(
        ["ID", "REPOSITORY", "EVENT", "METHOD", "STATUS", "TITLE"],
        [
            [r.id, r.repository, r.event, r.method, status(r, health.get(r.id)), r.title or ""]
            for r in rules
        ],
    )


@app.command("show")
def show(ctx: typer.Context, rule_id: Id, as_json: JsonOption = False) -> None:
    """Show one rule with its config (secrets masked) and health.

    Example: quaynotify rule show 7c1d
    """
    g = globals_of(ctx)
    out = g.output(as_json)
    rule = g.config().find_rule(rule_id)
    health = _health(ctx, [rule]).get(rule.id)
    view = rule_view(rule, health, out)
    if out.as_json:
        out.json(view)
        return
    out.fields(
        [
            ("id", rule.id),
            ("repository", rule.repository),
            ("event", rule.event),
            ("method", rule.method),
            ("title", rule.title or ""),
            ("config", view["config"]),
            ("event_config", view["event_config"]),
            ("status", status(rule, health)),
            ("failures", view["number_of_failures"]),
            ("last_error", health.last_error if health and health.last_error else ""),
        ]
    )


@app.command("remove")
def remove(ctx: typer.Context, rule_ids: Ids) -> None:
    """Remove rules from the config file (comments and layout elsewhere are kept).

    Example: quaynotify rule remove 7c1d 9f2e
    """
    from quaynotify.config import edit as configedit

    g = globals_of(ctx)
    conf = g.config()
    rules = [conf.find_rule(i) for i in rule_ids]
    configedit.remove_rules(conf.path, [r.id for r in rules])
    out = g.output()
    if out.as_json:
        out.json({"removed": [r.id for r in rules]})
        return
    for r in rules:
        out.note(f"removed rule {r.id}")


@app.command("enable")
def enable(ctx: typer.Context, rule_id: Id) -> None:
    """Enable a rule that was disabled with `rule disable`.

    Example: quaynotify rule enable 7c1d
    """
    _set_enabled(ctx, rule_id, True)


@app.command("disable")
def disable(ctx: typer.Context, rule_id: Id) -> None:
    """Disable a rule in the config file: emit no longer selects it.

    Example: quaynotify rule disable 7c1d
    """
    _set_enabled(ctx, rule_id, False)


def _set_enabled(ctx: typer.Context, rule_id: str, enabled: bool) -> None:
    from quaynotify.config import edit as configedit

    g = globals_of(ctx)
    conf = g.config()
    rule = conf.find_rule(rule_id)
    if rule.enabled != enabled:
        configedit.set_enabled(conf.path, rule.id, enabled)
    out = g.output()
    if out.as_json:
        out.json({"id": rule.id, "enabled": enabled, "changed": rule.enabled != enabled})
        return
    out.note(f"rule {rule.id} is {'enabled' if enabled else 'disabled'}")


@app.command("reset")
def reset(ctx: typer.Context, rule_id: Id) -> None:
    """Clear a rule's failure count and re-enable it after the failure breaker disabled it.

    Example: quaynotify rule reset 7c1d
    """
    g = globals_of(ctx)
    rule = g.config().find_rule(rule_id)
    g.store().health.reset(rule.id)
    out = g.output()
    if out.as_json:
        out.json({"id": rule.id, "number_of_failures": 0, "enabled": rule.enabled})
        return
    out.note(f"rule {rule.id}: failures cleared, enabled")


@app.command("test")
def test(ctx: typer.Context, rule_id: Id, as_json: JsonOption = False) -> None:
    """Deliver the event's sample data to this one rule now (Quay's "Test Notification").

    The rule's event filter is skipped, as is the failure breaker; a success re-enables a
    rule the breaker disabled.

    Example: quaynotify rule test 7c1d
    """
    from quaynotify.cli.deliveries import report
    from quaynotify.cli.interrupt import graceful
    from quaynotify.delivery import plan as delivery

    g = globals_of(ctx)
    out = g.output(as_json)
    conf = g.config()
    rule = conf.find_rule(rule_id)
    with graceful() as stop:
        outcome = delivery.dispatch(
            conf,
            g.store(),
            [rule],
            rule.event,
            rule.repository,
            delivery.sample_data(conf, rule),
            performer=None,
            run=delivery.Run(stop=stop, retries=out.note),
            honour_breaker=False,
        )
    raise typer.Exit(report(out, outcome))


# -- helpers ------------------------------------------------------------------------------------


def _health(ctx: typer.Context, rules: list[Rule]) -> dict[str, RuleHealth]:
    store = globals_of(ctx).store()
    if not rules or not store.exists():
        return {}  # nothing has been delivered yet: do not create the database to say so
    return store.health.of([r.id for r in rules])
