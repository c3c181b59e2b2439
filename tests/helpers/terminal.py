"""The terminal harness: run the installed command on a real terminal and see what it wrote
there, raw (on a pseudo-terminal of its own), or as a person sees it (a pane of our own tmux
server: its screen and its title, or a shell typed into)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from helpers.cli import CONSOLE
from helpers.tools import need

# Forks onto a new pseudo-terminal (its controlling terminal) and relays what the command shows
# there; a fresh process, since pytest has threads and forking it would copy them half-done.
# After `seconds` the command is killed (its own child, by id) and what it showed is kept.
PTY_RELAY = """\
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
shown, deadline = b"", time.monotonic() + float(sys.argv[1])
while (left := deadline - time.monotonic()) > 0:
    if select.select([fd], [], [], left)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
else:
    os.kill(pid, 9)
sys.stdout.buffer.write(shown)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) % 256)
"""


def terminal_env(**changes: str) -> dict[str, str]:
    """The test's environment (its config and state) as a terminal would have it; the colour
    variables only when given."""
    env = {**os.environ, "TERM": "xterm-256color", "SHELL": "/bin/sh", **changes}
    for name in ("NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"):
        if changes.get(name) is None:
            env.pop(name, None)
    return env


def on_a_terminal(args: list[str], *, code: int = 0, seconds: float = 50, **env: str) -> str:
    """Everything the command writes to a real terminal (stdout and stderr both), raw, with
    the terminal's CR LF line ends."""
    proc = subprocess.run(
        [sys.executable, "-c", PTY_RELAY, str(seconds), CONSOLE, *args],
        env=terminal_env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=seconds + 10,
    )
    shown = proc.stdout.decode(errors="replace")
    assert proc.returncode == code, (proc.returncode, shown, proc.stderr)
    return shown


def run_in_terminal(*args: str, code: int = 0) -> str:
    """What the command showed on a wide terminal without colour, CSI sequences removed."""
    text = on_a_terminal(list(args), code=code, COLUMNS="400", LINES="50", NO_COLOR="1")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text.replace("\r\n", "\n"))


class Tmux:
    """A tmux server of our own (its own socket, no user config)."""

    def __init__(self, socket: Path, env: Mapping[str, str] | None = None) -> None:
        need("tmux")
        self.socket = socket
        self.env = dict(env) if env is not None else terminal_env()

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", os.devnull, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    def screen(self, args: list[str], *, width: int = 150, height: int = 30) -> list[str]:
        """Run the command in a new pane; the lines of the screen it leaves (blank ones
        dropped). The pane signals a channel when the command is done (tmux keeps the signal
        until someone waits), then holds the screen open with cat: no polling, no delays."""
        command = f"{shlex.join([CONSOLE, *args])}; tmux wait-for -S done; exec cat"
        self("new-session", "-d", "-x", str(width), "-y", str(height), command)
        self("wait-for", "done")
        return self.lines()

    def lines(self) -> list[str]:
        """The lines on the pane's screen now, blank ones dropped."""
        return [line.rstrip() for line in self("capture-pane", "-p").splitlines() if line.strip()]

    def title(self) -> str:
        """The pane's title, which a program sets with OSC 0 or OSC 2."""
        return self("display-message", "-p", "#{pane_title}").rstrip("\n")

    def close(self) -> None:
        if self.socket.exists():
            self("kill-server")


class Shell:
    """An interactive shell in a pane of `tmux`, typed into as a person types."""

    PROMPT = "QN> "

    def __init__(self, tmux: Tmux, command: str, setup: str) -> None:
        """Start `command` (e.g. "zsh -f"), type `setup`, which must set PS1 to PROMPT."""
        self.tmux = tmux
        tmux("new-session", "-d", "-x", "200", "-y", "50", command)
        tmux("send-keys", "-l", setup + "\n")
        self.wait_for(lambda screen: screen.splitlines()[-1:] == [self.PROMPT.rstrip()], "prompt")

    def screen(self) -> str:
        return "\n".join(self.tmux.lines())

    def wait_for(self, ready: Callable[[str], bool], what: str) -> str:
        """Poll the screen until `ready` (the shell works at its own pace; no fixed delays)."""
        deadline = time.monotonic() + 20
        while True:
            screen = self.screen()
            if ready(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"{what} never appeared; the screen:\n{screen}")
            time.sleep(0.05)

    def complete(self, line: str, ready: Callable[[str], bool]) -> str:
        """Type `line` at the prompt, press TAB once, return the screen once `ready`."""
        self.tmux("send-keys", "-l", line)
        self.wait_for(lambda screen: f"{self.PROMPT}{line.rstrip()}" in screen, "the typed line")
        self.tmux("send-keys", "Tab")
        return self.wait_for(ready, f"completion of {line!r}")
