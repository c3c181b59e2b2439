"""System tools the tests drive for real (shells, tmux, mandoc, man): a test that needs one
that is missing is skipped, naming the Debian package to install, unless
QUAYNOTIFY_REQUIRE_TOOLS=1 (as .ci/run sets) makes it fail instead."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE = "QUAYNOTIFY_REQUIRE_TOOLS"


def need(tool: str, *, package: str | None = None) -> None:
    """Skip the test unless `tool` is on PATH; fail instead when tools are required."""
    if shutil.which(tool) is not None:
        return
    install = f"apt-get install {package or tool}"
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{tool} is not installed ({REQUIRE}=1): {install}")
    pytest.skip(f"{tool} is not installed: {install} (or run .ci/run, which installs it)")
