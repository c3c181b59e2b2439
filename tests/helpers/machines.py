"""Machines sharing one state: each a HOME, config file and state directory of its own, all
pointed at one PostgreSQL URL (QUAYNOTIFY_STATE_URL), as a laptop and a fleet of CI runners
are. Every command runs as a real process (`python -m quaynotify ...`), so that tests can run
many at once and kill them.

The rules live in the config file, as in git: a rule added on one machine through `rule add`
reaches the others by `share_config` (the same file, so the same rule ids)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpers.cli import Result
from helpers.configs import REPO, rule_add

TIMEOUT = 120.0  # seconds a command gets: a failsafe against a hang, never reached when passing
PUSH = ("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]')
FAST = "[delivery]\nbackoff = 0\nmax_backoff = 0\nmax_attempts = 1\n"
# What a machine's processes must not inherit from the test run (or the developer's shell).
UNSET = ("QUAYNOTIFY_DEBUG", "QUAYNOTIFY_STATE_URL", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE")


class Machine:
    """One machine: `run(*args)` runs the CLI there and waits; `spawn(*args)` starts it."""

    def __init__(self, root: Path, name: str, url: str | None) -> None:
        self.name = name
        self.root = root / name
        self.home = self.root / "home"
        self.config = self.root / "config.toml"
        self.state_dir = self.root / "state"
        self.home.mkdir(parents=True)
        self.url = url
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_STATE_HOME=str(self.home / ".local" / "state"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            QUAYNOTIFY_CONFIG=str(self.config),
            QUAYNOTIFY_STATE_DIR=str(self.state_dir),
        )
        if url is not None:
            env["QUAYNOTIFY_STATE_URL"] = url
        self.env = env

    def __repr__(self) -> str:
        return f"Machine({self.name})"

    # -- running commands ---------------------------------------------------------------------

    def spawn(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """The command started, its output piped; `finish` it."""
        return subprocess.Popen(
            [sys.executable, "-m", "quaynotify", *args],
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        """The command run to its end."""
        return finish(self.spawn(*args, env=env))

    def ok(self, *args: str) -> Result:
        """The command, which must exit 0."""
        result = self.run(*args)
        assert result.code == 0, f"{self.name}: {args}: {result.code}\n{result.err}"
        return result

    def json(self, *args: str) -> Any:
        """The command's --json document (it must exit 0)."""
        return json.loads(self.ok(*args, "--json").out)

    # -- the config ---------------------------------------------------------------------------

    def write_config(self, text: str) -> None:
        self.config.write_text(text)
        self.config.chmod(0o600)

    def add_rule(self, method: str, *options: str, event: str = "repo_push") -> str:
        """A rule added here through `rule add`, which must accept it; its id."""
        return self.ok(*rule_add(method, *options, event=event)).out.strip()

    def share_config(self, *others: Machine) -> None:
        """The others get this machine's config file: the same rules, the same ids."""
        for other in others:
            shutil.copyfile(self.config, other.config)
            other.config.chmod(0o600)

    # -- what the state holds, as this machine sees it ----------------------------------------

    def info(self) -> dict[str, Any]:
        """`state info --json`."""
        document: dict[str, Any] = self.json("state", "info")
        return document

    def journal(self) -> list[dict[str, Any]]:
        """Every journaled delivery (`log --json`), newest first."""
        records: list[dict[str, Any]] = self.json("log", "--limit", "100000")
        return records

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        """One delivery with its attempts (`log show ID --json`)."""
        record: dict[str, Any] = self.json("log", "show", delivery_id)
        return record


def finish(proc: subprocess.Popen[str], timeout: float = TIMEOUT) -> Result:
    """Wait for a spawned command; its exit code and output (killed after `timeout`)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the command did not end within {timeout} s:\n{err}") from None
    return Result(proc.returncode, out, err)


class Fleet:
    """Machines made on demand, all sharing `url`: `fleet.machine("a")`."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.machines: dict[str, Machine] = {}

    def machine(self, name: str, *, url: str | None = "") -> Machine:
        """A new machine on the fleet's URL (another URL, or None for local SQLite state)."""
        assert name not in self.machines, f"machine {name} exists already"
        made = Machine(self.root, name, self.url if url == "" else url)
        self.machines[name] = made
        return made

    def __call__(self, *names: str) -> list[Machine]:
        return [self.machine(name) for name in names]


def query(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement run on the shared database, as the test's own client (autocommit);
    none for a statement that returns none."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description is not None else []


def tables(url: str) -> set[str]:
    """The tables of the database's public schema: none before quaynotify first uses it."""
    rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row[0] for row in rows}
