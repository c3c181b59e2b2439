"""Rule health, the failure breaker's table: each rule's consecutive failed deliveries, and
whether that count has disabled it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quaynotify.store.journal import INTERRUPTED, DeliveryRecord

if TYPE_CHECKING:
    from quaynotify.store.db import Backend, Transaction

_SUCCEEDED = (
    "INSERT INTO rule_health (rule_id, failures, disabled, last_error, updated)"
    " VALUES (?, 0, 0, NULL, ?) ON CONFLICT (rule_id) DO UPDATE SET"
    " failures = 0, disabled = 0, last_error = NULL, updated = excluded.updated"
)
# One statement each, so that machines sharing the table never lose a count: the increment
# happens in the database, under the row's lock, and a rule is disabled by the one failure
# that finds it enabled at the threshold (RETURNING says whether it was this one).
_FAILED = (
    "INSERT INTO rule_health (rule_id, failures, disabled, last_error, updated)"
    " VALUES (?, 1, 0, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET"
    " failures = rule_health.failures + 1, last_error = excluded.last_error,"
    " updated = excluded.updated"
)
_DISABLE = (
    "UPDATE rule_health SET disabled = 1"
    " WHERE rule_id = ? AND disabled = 0 AND failures >= ? RETURNING rule_id"
)


@dataclass(frozen=True)
class RuleHealth:
    rule_id: str
    failures: int
    disabled: bool
    last_error: str | None


class Health:
    """The rule_health table."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def of(self, rule_ids: Sequence[str] | None = None) -> dict[str, RuleHealth]:
        """The health of these rules (every rule's by default) that have any, by rule id;
        none when the database has not been created (reading it does not create it)."""
        if not self._db.exists():
            return {}
        rows = self._db.read("SELECT rule_id, failures, disabled, last_error FROM rule_health")
        wanted = None if rule_ids is None else set(rule_ids)
        return {
            r[0]: RuleHealth(r[0], r[1], bool(r[2]), r[3])
            for r in rows
            if wanted is None or r[0] in wanted
        }

    def reset(self, rule_id: str) -> None:
        """Forget the rule's failures, and so re-enable it."""
        with self._db.write() as tx:
            tx.execute("DELETE FROM rule_health WHERE rule_id = ?", (rule_id,))

    @staticmethod
    def count(
        tx: Transaction, deliveries: Sequence[DeliveryRecord], disable_after: int
    ) -> list[str]:
        """Count finished deliveries towards their rules' breakers, in the transaction that
        journals them: a success resets its rule, a failure adds one, and the failure that
        reaches `disable_after` (when above 0) disables it. Skipped and interrupted ones do not
        count: the receiver did not fail. Returns the ids of the rules this disabled.

        Rules are counted in the order of their ids, each rule's deliveries in the order they
        finished: concurrent transactions lock the rows in the same order, never deadlocking."""
        by_rule: dict[str, list[DeliveryRecord]] = {}
        for d in deliveries:
            if d.status not in ("skipped", INTERRUPTED):
                by_rule.setdefault(d.rule_id, []).append(d)
        newly_disabled: list[str] = []
        now = time.time()
        successes: list[tuple[str, float]] = []
        for rule_id in sorted(by_rule):
            for d in by_rule[rule_id]:  # in order: the breaker counts consecutive failures
                if d.ok:
                    successes.append((rule_id, now))
                    continue
                _succeeded(tx, successes)
                tx.execute(_FAILED, (rule_id, d.error, now))
                if disable_after > 0 and tx.execute(_DISABLE, (rule_id, disable_after)).fetchall():
                    newly_disabled.append(rule_id)
        _succeeded(tx, successes)
        order = list(by_rule)  # as the deliveries came
        return sorted(newly_disabled, key=order.index)


def _succeeded(tx: Transaction, successes: list[tuple[str, float]]) -> None:
    """Reset the breaker of rules that just delivered (and empty the list)."""
    tx.executemany(_SUCCEEDED, successes)
    successes.clear()
