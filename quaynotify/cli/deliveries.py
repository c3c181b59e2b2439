"""What the commands that deliver share (emit, replay, rule test): the options of a run and
the report of what happened to each delivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from quaynotify.cli.views import delivery_view, detail
from quaynotify.errors import ExitCode

if TYPE_CHECKING:
    from quaynotify.config.load import Config
    from quaynotify.delivery.plan import Outcome, Run
    from quaynotify.delivery.workers import Stop
    from quaynotify.output import Output
    from quaynotify.store.journal import DeliveryRecord


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

SoftFail = Annotated[
    bool,
    typer.Option(
        "--soft-fail",
        envvar="QUAYNOTIFY_SOFT_FAIL",
        show_envvar=False,
        help="Exit 0 when deliveries failed or were skipped as disabled, with one warning line "
        "saying how many and how to list them; usage, config and state errors keep their exit "
        "status [env: QUAYNOTIFY_SOFT_FAIL=1].",
    ),
]


@dataclass(frozen=True)
class RunOptions:
    """--dry-run, --concurrency, --max-attempts and --deadline, as given."""

    dry_run: bool = False
    concurrency: int | None = None
    max_attempts: int | None = None
    deadline: float | None = None

    def run(
        self,
        config: Config,
        stop: Stop,
        progress: Callable[[DeliveryRecord], None] | None = None,
        retries: Callable[[str], None] | None = None,
    ) -> Run:
        """The run these options ask for, the config's [delivery] filling in the rest;
        `retries` hears each retry as it happens (Output.note: on stderr, unless -q)."""
        from quaynotify.delivery.plan import Run
        from quaynotify.delivery.retry import RetryPolicy

        policy = RetryPolicy.from_settings(config.settings.delivery, max_attempts=self.max_attempts)
        return Run(
            self.dry_run,
            policy,
            self.concurrency,
            self.deadline,
            progress=progress,
            stop=stop,
            retries=retries,
        )


def report(
    out: Output, outcome: Outcome, *, many_events: bool = False, soft_fail: bool = False
) -> int:
    """Print what happened to each delivery; return the exit status. The deliveries of a
    replay or a stream are of many events and repositories: each names its own, and the
    document none. With `soft_fail`, failed and skipped deliveries exit 0, said in one line;
    what could not even be planned (`outcome.problems`) still exits 1."""
    if outcome.dry_run:
        return _report_previews(out, outcome)
    _report_filtered(out, outcome)
    if not outcome.matched and outcome.repository:
        out.note(f"no rule matches {outcome.event} on {outcome.repository}: nothing sent")
    for problem in (*outcome.problems, *outcome.warnings):
        out.warn(problem)
    if out.as_json:
        deliveries = [delivery_view(d) for d in outcome.deliveries]
        if many_events:
            out.json({"deliveries": deliveries})
        else:
            out.json(
                {
                    "event": outcome.event,
                    "repository": outcome.repository,
                    "deliveries": deliveries,
                    "filtered": [
                        {"rule_id": f.rule_id, "reason": f.reason} for f in outcome.filtered
                    ],
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
    if soft_fail and not outcome.ok and not outcome.problems:
        _soft_failed(out, outcome)
        return int(ExitCode.OK)
    return int(ExitCode.OK if outcome.ok else ExitCode.FAILED)


def _soft_failed(out: Output, outcome: Outcome) -> None:
    """The one line that says, under --soft-fail, what the exit status no longer does: not
    silenced by --quiet, as it is then the only trace of the failure."""
    failed = sum(1 for d in outcome.deliveries if not d.ok)
    total = len(outcome.deliveries)
    out.problem(
        f"warning: {failed} of {total} deliver{'y' if total == 1 else 'ies'} did not succeed "
        "(exit status 0 under --soft-fail): see `quaynotify log --failed`"
    )


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
    _report_filtered(out, outcome)
    if not outcome.matched and outcome.repository:
        out.note(f"no rule matches {outcome.event} on {outcome.repository}: nothing would be sent")
    return int(ExitCode.OK)


def _report_filtered(out: Output, outcome: Outcome) -> None:
    """One line per reason a rule's event filter stopped the event (rules of the same
    filter and value share it): "1 rule skipped: ref-regex 'refs/heads/main' did not
    match refs/heads/dev"."""
    from collections import Counter

    for reason, n in Counter(f.reason for f in outcome.filtered).items():
        out.note(f"{n} rule{'s' if n != 1 else ''} skipped: {reason}")
