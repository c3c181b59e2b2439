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
_FAILED = (
    "INSERT INTO rule_health (rule_id, failures, disabled, last_error, updated)"
    " VALUES (?, 1, 0, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET"
    " failures = rule_health.failures + 1, last_error = excluded.last_error,"
    " updated = excluded.updated RETURNING failures, disabled"
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
        count: the receiver did not fail. Returns the ids of the rules this disabled."""
        newly_disabled: list[str] = []
        now = time.time()
        successes: list[tuple[str, float]] = []
        for d in deliveries:  # in order: the breaker counts consecutive failures
            if d.status in ("skipped", INTERRUPTED):
                continue
            if d.ok:
                successes.append((d.rule_id, now))
                continue
            _succeeded(tx, successes)
            failures, disabled = tx.execute(_FAILED, (d.rule_id, d.error, now)).fetchone()
            if disable_after > 0 and failures >= disable_after and not disabled:
                tx.execute("UPDATE rule_health SET disabled = 1 WHERE rule_id = ?", (d.rule_id,))
                newly_disabled.append(d.rule_id)
        _succeeded(tx, successes)
        return newly_disabled


def _succeeded(tx: Transaction, successes: list[tuple[str, float]]) -> None:
    """Reset the breaker of rules that just delivered (and empty the list)."""
    tx.executemany(_SUCCEEDED, successes)
    successes.clear()
