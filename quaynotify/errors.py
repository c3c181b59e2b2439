"""The error classes every layer raises and the exit codes the CLI maps them to."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # one or more deliveries failed or were skipped as disabled
    USAGE = 2  # usage or bad input
    CONFIG = 3  # config or state unusable
    INTERNAL = 4
    INTERRUPTED = 130


class QuaynotifyError(Exception):
    """An error the user can act on: printed as one line, exits with `exit_code`."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(QuaynotifyError):
    """Bad input on the command line: unknown names, malformed values, missing fields."""

    exit_code = ExitCode.USAGE


class ValidationError(UsageError):
    """A rule's method or event config is invalid (Quay's messages)."""


class NotFoundError(UsageError):
    """An id or name given on the command line matches nothing (or more than one thing)."""


class ConfigError(QuaynotifyError):
    """The config file cannot be read, parsed or understood."""

    exit_code = ExitCode.CONFIG


class StateError(QuaynotifyError):
    """The state database cannot be opened or used."""

    exit_code = ExitCode.CONFIG


class StateUnreachable(StateError):
    """A shared state database cannot be reached (down, refusing, or the connection lost):
    what was to be written there is kept in the local state, to be uploaded later."""


class Interrupted(QuaynotifyError):
    """Ctrl-C or SIGTERM: what was delivered is journaled; exits 130."""

    exit_code = ExitCode.INTERRUPTED


class DeliveryError(QuaynotifyError):
    """One attempt of a delivery failed; `retryable` says whether trying again can help.

    `status` is the HTTP status (or SMTP reply code) when there was one, `retry_after` the
    delay the receiver asked for, in seconds. Messages never contain a secret.
    """

    exit_code = ExitCode.FAILED

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        status: int | None = None,
        retry_after: float | None = None,
        transient: bool = False,
        timed_out: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        # transient: timeouts, connection errors, 408/425/429/5xx (retry_on = "transient")
        self.transient = transient
        self.timed_out = timed_out  # the timeout, in seconds, when the attempt ran out of it
