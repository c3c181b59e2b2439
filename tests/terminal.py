"""The terminal harness: run the installed command on a real terminal and see what it wrote
there, raw (a pty from script(1)), or as a person sees it (a pane of our own tmux server:
its screen and its title)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

QUAYNOTIFY = str(Path(sys.executable).parent / "quaynotify")


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: .ci/run installs it")


def terminal_env(**changes: str) -> dict[str, str]:
    """The test's environment (its config and state) as a terminal would have it; the colour
    variables only when given."""
    env = {**os.environ, "TERM": "xterm-256color", "SHELL": "/bin/sh", **changes}
    for name in ("NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"):
        if changes.get(name) is None:
            env.pop(name, None)
    return env


def on_a_terminal(args: list[str], *, code: int = 0, **env: str) -> str:
    """Everything the command writes to a real terminal (stdout and stderr both), raw, with
    the terminal's CR LF line ends."""
    need("script")
    command = shlex.join([QUAYNOTIFY, *args])
    proc = subprocess.run(
        ["script", "-qec", command, os.devnull],
        env=terminal_env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == code, proc
    return proc.stdout.decode()


class Tmux:
    """A tmux server of our own (its own socket, no user config)."""

    def __init__(self, socket: Path) -> None:
        need("tmux")
        self.socket = socket

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", os.devnull, *args],
            env=terminal_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    def screen(self, args: list[str], *, width: int = 150, height: int = 30) -> list[str]:
        """Run the command in a new pane; the lines of the screen it leaves (blank ones
        dropped). The pane signals a channel when the command is done (tmux keeps the signal
        until someone waits), then holds the screen open with cat: no polling, no delays."""
        command = f"{shlex.join([QUAYNOTIFY, *args])}; tmux wait-for -S done; exec cat"
        self("new-session", "-d", "-x", str(width), "-y", str(height), command)
        self("wait-for", "done")
        return [line.rstrip() for line in self("capture-pane", "-p").splitlines() if line.strip()]

    def title(self) -> str:
        """The pane's title, which a program sets with OSC 0 or OSC 2."""
        return self("display-message", "-p", "#{pane_title}").rstrip("\n")

    def close(self) -> None:
        if self.socket.exists():
            self("kill-server")
