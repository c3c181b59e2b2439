"""Command lines that messages tell users to run, for the code below the CLI that names them
(a method's validation, a service's error)."""

from __future__ import annotations

import shlex


def authorize_command(repository: str, address: str) -> str:
    """The command that mails a confirmation code for `address` and `repository`."""
    return f"quaynotify email authorize {shlex.quote(repository)} {shlex.quote(address)}"
