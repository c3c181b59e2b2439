"""System tools the tests drive for real (shells, tmux, mandoc, man, PostgreSQL): a test that
needs one that is missing is skipped, naming what installs it, unless
QUAYNOTIFY_REQUIRE_TOOLS=1 (as .ci/run sets) makes it fail instead."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

REQUIRE = "QUAYNOTIFY_REQUIRE_TOOLS"


def need(tool: str, *, package: str | None = None) -> None:
    """Skip the test unless `tool` is on PATH; fail instead when tools are required."""
    if shutil.which(tool) is not None:
        return
    missing(tool, f"apt-get install {package or tool}")


def missing(what: str, install: str) -> NoReturn:
    """Skip the test, `what` being absent and `install` the command that brings it; fail
    instead when tools are required."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{what} is not installed ({REQUIRE}=1): {install}")
    pytest.skip(f"{what} is not installed: {install} (or run .ci/run, which installs it)")
