"""quaynotify's benchmarks, each a ratio against a baseline measured in the same run.

    python benchmarks/run.py            # full run: median of 7 repetitions after one warm-up
    python benchmarks/run.py --quick    # 3 repetitions
    python benchmarks/run.py --only emit,fanout --reps 5

Everything is end to end: the installed `quaynotify` console script runs as a subprocess with
QUAYNOTIFY_CONFIG and QUAYNOTIFY_STATE_DIR in a temporary directory, against a local receiver
running in its own process (benchmarks/receiver.py); the PostgreSQL rows start a server of
their own (the test suite's, tests/helpers/postgres.py), and are skipped with a note when
PostgreSQL or psycopg is missing. Baselines are subprocesses too, so both sides pay for
interpreter start-up. Measured and baseline runs alternate (ABBA...), so drift on
a busy machine hits both. Prints a table and writes the results as JSON (default
benchmarks/results.json). Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FANOUT_RULES = 1000
STALL_RULES = 20
MANY_RULES = 10_000
PARALLEL_EMITS = 20
EVENT_ARGS = ["repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]']

# One-shot baselines, run as `python -c ...` subprocesses.
ONE_POST = """\
import sys, httpx
headers = {"Content-Type": "application/json"}
r = httpx.post(sys.argv[1], content=sys.argv[2].encode(), headers=headers)
sys.exit(0 if r.is_success else 1)
"""
CLIENT_POOL = """\
import sys, uuid, httpx
from concurrent.futures import ThreadPoolExecutor
base, body, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
with httpx.Client(limits=limits) as client, ThreadPoolExecutor(8) as pool:
    def post(i):
        headers = {"Content-Type": "application/json", "webhook-id": str(uuid.uuid4())}
        return client.post(f"{base}/{i}", content=body, headers=headers).is_success
    sys.exit(0 if all(pool.map(post, range(n))) else 1)
"""
CLIENT_LOOP = """\
import sys, uuid, httpx
base, body, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
with httpx.Client() as client:
    for i in range(n):
        headers = {"Content-Type": "application/json", "webhook-id": str(uuid.uuid4())}
        if not client.post(f"{base}/{i}", content=body, headers=headers).is_success:
            sys.exit(1)
"""
TOML_LOAD = "import sys, tomllib; tomllib.load(open(sys.argv[1], 'rb'))"
ARGPARSE_VERSION = """\
import argparse
parser = argparse.ArgumentParser(prog="minimal")
parser.add_argument("--version", action="version", version="minimal 1.0")
parser.parse_args()
"""


@dataclass
class Result:
    name: str
    description: str
    unit: str  # "s" (lower is better) or "deliveries/s" (higher is better)
    measured: float  # median
    baseline: float  # median
    ratio: float
    target: str
    passed: bool
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: str = ""
    informational: bool = False  # context for the row above; no target, never fails the run
    skipped: bool = False  # could not run here (notes say why); never fails the run


# -- the receiver -------------------------------------------------------------------------------


class Receiver:
    """benchmarks/receiver.py in its own process, and its control endpoints."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "receiver.py")],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2:
            self.close()
            raise SystemExit("benchmarks: the receiver did not start")
        self.port, self.dead_port = int(line[0]), int(line[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.dead_url = f"http://127.0.0.1:{self.dead_port}/hook"
        self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def _get(self, path: str) -> dict[str, object]:
        self._conn.request("GET", path)
        result: dict[str, object] = json.loads(self._conn.getresponse().read())
        return result

    def reset(self) -> None:
        self._get("/_reset")

    def wait(self, n: int, timeout: float = 15.0) -> list[float]:
        """Receipt times (time.monotonic) once `n` requests arrived, or all after `timeout`."""
        times = self._get(f"/_wait?n={n}&timeout={timeout}")["times"]
        assert isinstance(times, list)
        return sorted(float(t) for t in times)

    def expect(self, n: int, what: str) -> None:
        got = len(self.wait(n, timeout=5.0))
        if got != n:
            raise SystemExit(f"benchmarks: {what}: the receiver got {got} requests, expected {n}")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# -- running and timing -------------------------------------------------------------------------


# CPU seconds (user + system) of every timed subprocess, by label: on a busy machine CPU time
# is steadier than wall time, so results.json keeps it beside the wall times.
CPU: dict[str, list[float]] = {}


def timed(cmd: Sequence[str], env: dict[str, str], what: str) -> float:
    """Wall time of one subprocess, output discarded (piped output is TSV, never a terminal)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            message = err.read().decode(errors="replace").strip()
            raise SystemExit(f"benchmarks: {what} exited {proc.returncode}: {message}")
    CPU.setdefault(what, []).append(usage.ru_utime + usage.ru_stime)
    return elapsed


def timed_together(cmd: Sequence[str], n: int, env: dict[str, str], what: str) -> float:
    """Wall time from starting `n` copies of one subprocess at once until the last one exits;
    their CPU seconds are added up."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err) for _ in range(n)
        ]
        cpu, failed = 0.0, 0
        for proc in procs:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
            failed += proc.returncode != 0
        elapsed = time.perf_counter() - start
        if failed:
            err.seek(0)
            message = err.read().decode(errors="replace").strip()
            raise SystemExit(f"benchmarks: {failed} of {n} {what} failed: {message}")
    CPU.setdefault(what, []).append(cpu)
    return elapsed


def compare(
    measured: Callable[[], float], baseline: Callable[[], float], reps: int
) -> tuple[list[float], list[float]]:
    """One warm-up each (page cache, .pyc, state database), then `reps` alternating runs."""
    ms, bs = interleave([measured, baseline], reps)
    return ms, bs


def interleave(runs: Sequence[Callable[[], float]], reps: int) -> list[list[float]]:
    """Warm each up once, then `reps` rounds, each starting with the next one in turn."""
    for run in runs:
        run()
    samples: list[list[float]] = [[] for _ in runs]
    for i in range(reps):
        for k in range(len(runs)):
            j = (i + k) % len(runs)
            samples[j].append(runs[j]())
    return samples


def summarize(
    name: str,
    description: str,
    ms: list[float],
    bs: list[float],
    target: str,
    met: Callable[[float, float], bool],
    *,
    per_run: int | None = None,
    notes: str = "",
    informational: bool = False,
) -> Result:
    """Medians of both sides and their ratio; with `per_run`, as throughput (per_run / time).
    `met(measured, ratio)` says whether the target is met."""
    m, b, unit = statistics.median(ms), statistics.median(bs), "s"
    if per_run:
        m, b, unit = per_run / m, per_run / b, "deliveries/s"
    return Result(
        name=name,
        description=description,
        unit=unit,
        measured=m,
        baseline=b,
        ratio=m / b,
        target=target,
        passed=met(m, m / b),
        samples={"measured_s": ms, "baseline_s": bs},
        notes=notes,
        informational=informational,
    )


def skipped(name: str, description: str, target: str, why: str) -> Result:
    """A row that cannot be measured on this machine, and why."""
    return Result(name, description, "s", 0.0, 0.0, 0.0, target, True, notes=why, skipped=True)


# -- PostgreSQL ---------------------------------------------------------------------------------


class Postgres:
    """The test suite's PostgreSQL server (tests/helpers/postgres.py: a cluster in a temporary
    directory, run as `nobody` when we are root), started on first use; or why it cannot be."""

    def __init__(self) -> None:
        self.server: Any = None
        self.missing: str | None = None
        self._started = False

    def database(self) -> str | None:
        """The URL of a fresh database, or None (then `missing` says why)."""
        if not self._started:
            self._started = True
            self.server, self.missing = self._launch()
        return None if self.server is None else str(self.server.database())

    @staticmethod
    def _launch() -> tuple[Any, str | None]:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return None, "psycopg is not installed: pip install -e '.[postgres]'"
        sys.path.insert(0, str(HERE.parent / "tests"))
        try:
            from helpers.postgres import PostgresServer, find_bindir
        except ImportError as exc:  # the helper's own imports (pytest): the test extra
            return None, f"the test suite's helpers cannot be imported ({exc}): install '.[test]'"
        bindir = find_bindir()
        if bindir is None:
            return None, (
                "PostgreSQL's server binaries (initdb, postgres) are not installed: "
                "apt-get install postgresql"
            )
        return PostgresServer.launch(bindir), None

    @staticmethod
    def deliveries(url: str) -> int:
        """How many deliveries the database's journal holds."""
        import psycopg

        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute("SELECT COUNT(*) FROM delivery").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


# -- config files -------------------------------------------------------------------------------


def rule_block(repository: str, event: str, url: str, title: str | None = None) -> str:
    lines = ["[[rule]]", f'id = "{uuid.uuid4()}"', f'repository = "{repository}"']
    lines += [f'event = "{event}"', 'method = "webhook"']
    if title:
        lines.append(f'title = "{title}"')
    lines.append(f'config = {{ url = "{url}" }}')
    return "\n".join(lines) + "\n"


def write_config(path: Path, blocks: Sequence[str]) -> Path:
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


class Bench:
    def __init__(self, root: Path, reps: int) -> None:
        self.root = root
        self.reps = reps
        exe = Path(sys.executable).parent / "quaynotify"
        found = str(exe) if exe.exists() else shutil.which("quaynotify")
        if not found:
            raise SystemExit(
                "benchmarks: the quaynotify command is not installed beside this Python: "
                "run with the project's virtualenv, e.g. .venv/bin/python benchmarks/run.py"
            )
        self.quaynotify = found
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["NO_PROXY"] = "127.0.0.1,localhost"
        # Unbuffered stdio turns every line of `rule list` into a system call: not how it runs.
        env.pop("PYTHONUNBUFFERED", None)
        # Installed packages have compiled bytecode; an editable checkout run with
        # PYTHONDONTWRITEBYTECODE recompiles every module on every start. Cache it for both
        # sides in the temporary directory (the warm-up run fills it), never in the tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        for key in (
            "QUAYNOTIFY_CONFIG",
            "QUAYNOTIFY_STATE_DIR",
            "QUAYNOTIFY_STATE_URL",
            "QUAYNOTIFY_DEBUG",
        ):
            env.pop(key, None)
        self.base_env = env
        self.receiver = Receiver(env)
        self.postgres = Postgres()

    def env(self, scenario: str, config: Path) -> dict[str, str]:
        state = self.root / scenario / "state"
        state.mkdir(parents=True, exist_ok=True)
        return {
            **self.base_env,
            "QUAYNOTIFY_CONFIG": str(config),
            "QUAYNOTIFY_STATE_DIR": str(state),
        }

    def config_path(self, scenario: str) -> Path:
        (self.root / scenario).mkdir(parents=True, exist_ok=True)
        return self.root / scenario / "config.toml"

    def body(self, env: dict[str, str]) -> str:
        """The exact JSON body quaynotify sends for the event (from --dry-run), for baselines."""
        out = subprocess.run(
            [self.quaynotify, "--json", "emit", *EVENT_ARGS, "--dry-run"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.dumps(json.loads(out)[0]["body"])

    # -- the benchmarks ---------------------------------------------------------------------

    def emit(self) -> list[Result]:
        hook = f"{self.receiver.url}/hook"
        config = write_config(self.config_path("emit"), [rule_block("acme/web", "repo_push", hook)])
        env = self.env("emit", config)
        body = self.body(env)

        def run(cmd: list[str], what: str) -> float:
            self.receiver.reset()
            elapsed = timed(cmd, env, what)
            self.receiver.expect(1, what)
            return elapsed

        ms, bs = compare(
            lambda: run([self.quaynotify, "emit", *EVENT_ARGS], "quaynotify emit"),
            lambda: run([sys.executable, "-c", ONE_POST, hook, body], "one httpx.post"),
            self.reps,
        )
        return [
            summarize(
                "emit, 1 webhook",
                "`quaynotify emit` to one local webhook vs a one-shot `httpx.post` script",
                ms,
                bs,
                "ratio <= 1",
                lambda m, r: r <= 1.0,
            )
        ]

    def fanout(self) -> list[Result]:
        hook = f"{self.receiver.url}/hook"
        blocks = [rule_block("acme/web", "repo_push", f"{hook}/{i}") for i in range(FANOUT_RULES)]
        config = write_config(self.config_path("fanout"), blocks)
        env = self.env("fanout", config)
        body = self.body(env)

        def run(cmd: list[str], what: str) -> float:
            self.receiver.reset()
            elapsed = timed(cmd, env, what)
            self.receiver.expect(FANOUT_RULES, what)
            return elapsed

        ms, bs, ps = interleave(
            [
                lambda: run([self.quaynotify, "emit", *EVENT_ARGS], "quaynotify emit (fan-out)"),
                lambda: run(
                    [sys.executable, "-c", CLIENT_LOOP, hook, body, str(FANOUT_RULES)],
                    "httpx.Client loop",
                ),
                lambda: run(
                    [sys.executable, "-c", CLIENT_POOL, hook, body, str(FANOUT_RULES)],
                    "httpx.Client, 8 threads",
                ),
            ],
            self.reps,
        )
        return [
            summarize(
                f"fan-out, {FANOUT_RULES} rules",
                f"`quaynotify emit` (CLI end to end, concurrency 8, journaled) to {FANOUT_RULES} "
                "webhook rules vs one httpx.Client posting the same bodies in a loop "
                "(both subprocesses; throughput includes start-up)",
                ms,
                bs,
                "throughput ratio >= 0.8",
                lambda m, r: r >= 0.8,
                per_run=FANOUT_RULES,
            ),
            summarize(
                "  (context) vs 8 threads",
                "the same quaynotify runs vs the same bodies posted by 8 threads sharing one "
                "httpx.Client (quaynotify's concurrency without quaynotify): how much of the gap "
                "is the threads themselves",
                ms,
                ps,
                "none: context",
                lambda m, r: True,
                per_run=FANOUT_RULES,
                informational=True,
            ),
        ]

    def stall(self) -> list[Result]:
        """Time from process start to the 19th receipt, with and without a hanging endpoint."""
        healthy = STALL_RULES - 1
        hook = f"{self.receiver.url}/hook"
        # The hanging rule comes first, so it takes a worker before any healthy delivery starts.
        dead = [rule_block("acme/web", "repo_push", self.receiver.dead_url)]
        ok = [rule_block("acme/web", "repo_push", f"{hook}/{i}") for i in range(healthy)]
        env_dead = self.env("stall", write_config(self.config_path("stall"), dead + ok))
        env_ok = self.env("stall-baseline", write_config(self.config_path("stall-baseline"), ok))

        def run(env: dict[str, str], hangs: bool) -> float:
            self.receiver.reset()
            start = time.monotonic()
            proc = subprocess.Popen(
                [self.quaynotify, "emit", *EVENT_ARGS],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                times = self.receiver.wait(healthy, timeout=15.0)
            finally:
                if hangs:
                    proc.kill()  # it would wait out 3 attempts x 10 s on the hanging endpoint
                code = proc.wait(timeout=60)
            if len(times) < healthy:
                raise SystemExit(f"benchmarks: stall: only {len(times)} of {healthy} delivered")
            if not hangs and code != 0:
                raise SystemExit(f"benchmarks: stall baseline: quaynotify emit exited {code}")
            return times[healthy - 1] - start

        ms, bs = compare(lambda: run(env_dead, True), lambda: run(env_ok, False), self.reps)
        return [
            summarize(
                f"stall, {STALL_RULES} rules, 1 hangs",
                f"process start to the {healthy}th receipt (receiver side) when 1 of "
                f"{STALL_RULES} endpoints accepts and never answers vs {healthy} healthy rules",
                ms,
                bs,
                "measured < 1 s",
                lambda m, r: m < 1.0,
            )
        ]

    def many_rules(self) -> list[Result]:
        events = ["build_failure", "build_success", "repo_push", "vulnerability_found"]
        blocks = [
            rule_block(
                f"org{i}/repo{i}",
                events[i % len(events)],
                f"https://hooks.example.com/org{i}/repo{i}",
                title=f"rule {i}",
            )
            for i in range(MANY_RULES)
        ]
        blocks.append(rule_block("acme/web", "repo_push", f"{self.receiver.url}/hook"))
        config = write_config(self.config_path("many"), blocks)
        env = self.env("many", config)
        load = [sys.executable, "-c", TOML_LOAD, str(config)]

        def emit() -> float:
            self.receiver.reset()
            elapsed = timed([self.quaynotify, "emit", *EVENT_ARGS], env, "emit (10k rules)")
            self.receiver.expect(1, "emit (10k rules)")
            return elapsed

        results = []
        ms, bs = compare(emit, lambda: timed(load, env, "tomllib.load (vs emit)"), self.reps)
        results.append(
            summarize(
                f"emit, {MANY_RULES:,} rules",
                f"`quaynotify emit` delivering to 1 webhook among {MANY_RULES + 1:,} rules vs "
                "`python -c 'tomllib.load(...)'` of the same file",
                ms,
                bs,
                "ratio <= 1.5",
                lambda m, r: r <= 1.5,
                notes="target is ours: the TOML parse is the floor",
            )
        )
        ms, bs = compare(
            lambda: timed([self.quaynotify, "rule", "list"], env, "rule list (10k rules)"),
            lambda: timed(load, env, "tomllib.load (vs rule list)"),
            self.reps,
        )
        results.append(
            summarize(
                f"rule list, {MANY_RULES:,} rules",
                f"`quaynotify rule list` (piped: TSV) of {MANY_RULES + 1:,} rules vs "
                "`python -c 'tomllib.load(...)'` of the same file",
                ms,
                bs,
                "ratio <= 1.5",
                lambda m, r: r <= 1.5,
                notes="target is ours: the TOML parse is the floor",
            )
        )
        return results

    def state_sides(self, scenario: str) -> tuple[str, dict[str, str], dict[str, str]] | None:
        """A fresh PostgreSQL database (None without one), and the environments of an emit
        to one local webhook with its state there and with its state in SQLite."""
        url = self.postgres.database()
        if url is None:
            return None
        hook = f"{self.receiver.url}/hook"
        config = write_config(
            self.config_path(scenario), [rule_block("acme/web", "repo_push", hook)]
        )
        on_postgres = {**self.env(scenario, config), "QUAYNOTIFY_STATE_URL": url}
        return url, on_postgres, self.env(f"{scenario}-sqlite", config)

    def pg_emit(self) -> list[Result]:
        name, target = "emit, PostgreSQL state", "ratio <= 1.3"
        description = (
            "`quaynotify emit` to one local webhook with the state in PostgreSQL (a local "
            "server, over TCP with a password) vs the same with the state in SQLite"
        )
        sides = self.state_sides("pg-emit")
        if sides is None:
            return [skipped(name, description, target, f"skipped: {self.postgres.missing}")]
        url, on_postgres, on_sqlite = sides

        def run(env: dict[str, str], what: str) -> float:
            self.receiver.reset()
            elapsed = timed([self.quaynotify, "emit", *EVENT_ARGS], env, what)
            self.receiver.expect(1, what)
            return elapsed

        ms, bs = compare(
            lambda: run(on_postgres, "emit (PostgreSQL state)"),
            lambda: run(on_sqlite, "emit (SQLite state)"),
            self.reps,
        )
        self.journaled(url, self.reps + 1, "emit (PostgreSQL state)")
        return [
            summarize(name, description, ms, bs, target, lambda m, r: r <= 1.3),
            self.round_trips(url, on_postgres),
        ]

    def round_trips(self, url: str, env: dict[str, str]) -> Result:
        """What an emit costs across a network: the times it waits for the database (counted
        by a proxy, tests/helpers/roundtrips.py), against the fewest a journaled delivery
        can cost: connecting (TLS refused, SCRAM login) and one INSERT."""
        import psycopg
        from helpers.roundtrips import counting  # on sys.path since self.postgres started

        with counting(url) as (proxy, through):
            timed(
                [self.quaynotify, "emit", *EVENT_ARGS],
                {**env, "QUAYNOTIFY_STATE_URL": through},
                "emit through the round-trip counter",
            )
            self.receiver.reset()
            emit = proxy.total()
            proxy.reset()
            with psycopg.connect(through, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO upload (batch, created) VALUES (%s, 0)", (uuid.uuid4().hex,)
                )
            floor = proxy.total()
        return Result(
            name="  round trips per emit",
            description="the emit above, its waits for the PostgreSQL server, vs connecting "
            "and one INSERT with psycopg",
            unit="round trips",
            measured=emit,
            baseline=floor,
            ratio=emit / floor,
            target="(context)",
            passed=True,
            informational=True,
        )

    def pg_parallel(self) -> list[Result]:
        n = PARALLEL_EMITS
        name, target = f"{n} parallel emits, PostgreSQL", "throughput ratio >= 1.0"
        description = (
            f"{n} `quaynotify emit` processes started at once, each to one local webhook, "
            "sharing a PostgreSQL state vs sharing a SQLite state (one state directory): "
            "start of the first to exit of the last"
        )
        sides = self.state_sides("pg-parallel")
        if sides is None:
            return [skipped(name, description, target, f"skipped: {self.postgres.missing}")]
        url, on_postgres, on_sqlite = sides

        def run(env: dict[str, str], what: str) -> float:
            self.receiver.reset()
            elapsed = timed_together([self.quaynotify, "emit", *EVENT_ARGS], n, env, what)
            self.receiver.expect(n, what)
            return elapsed

        ms, bs = compare(
            lambda: run(on_postgres, f"{n} emits (PostgreSQL state)"),
            lambda: run(on_sqlite, f"{n} emits (SQLite state)"),
            self.reps,
        )
        self.journaled(url, (self.reps + 1) * n, f"{n} emits (PostgreSQL state)")
        return [summarize(name, description, ms, bs, target, lambda m, r: r >= 1.0, per_run=n)]

    def journaled(self, url: str, expected: int, what: str) -> None:
        """Every run journaled in PostgreSQL: none fell back to the local spool (which a
        run does, with a warning, when the database cannot be reached)."""
        found = self.postgres.deliveries(url)
        if found != expected:
            raise SystemExit(
                f"benchmarks: {what}: the PostgreSQL journal holds {found} deliveries, "
                f"expected {expected}: some runs did not reach the database"
            )

    def version(self) -> list[Result]:
        env = self.base_env
        ms, bs = compare(
            lambda: timed([self.quaynotify, "--version"], env, "quaynotify --version"),
            lambda: timed([sys.executable, "-c", ARGPARSE_VERSION, "--version"], env, "argparse"),
            self.reps,
        )
        return [
            summarize(
                "--version",
                "`quaynotify --version` vs a minimal argparse program printing a version",
                ms,
                bs,
                "ratio <= 2",
                lambda m, r: r <= 2.0,
                notes="target is ours",
            )
        ]


BENCHMARKS: dict[str, Callable[[Bench], list[Result]]] = {
    "emit": Bench.emit,
    "fanout": Bench.fanout,
    "stall": Bench.stall,
    "many": Bench.many_rules,
    "version": Bench.version,
    "pg-emit": Bench.pg_emit,
    "pg-parallel": Bench.pg_parallel,
}


# -- reporting ----------------------------------------------------------------------------------


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms"
    if unit == "round trips":
        return f"{value:.0f}"
    return f"{value:,.{0 if value >= 100 else 1}f} {unit}"


def table(results: Sequence[Result]) -> str:
    header = ["benchmark", "measured", "baseline", "ratio", "target", "result"]
    rows = [
        [
            r.name,
            fmt(r.measured, r.unit),
            fmt(r.baseline, r.unit),
            f"{r.ratio:.2f}",
            r.target,
            "info" if r.informational else "pass" if r.passed else "FAIL",
        ]
        if not r.skipped
        else [r.name, "-", "-", "-", r.target, "skip"]
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 7")
    parser.add_argument("--reps", type=int, help="repetitions per side (median is reported)")
    parser.add_argument(
        "--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}", metavar="NAMES"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=HERE / "results.json",
        help="JSON results file",
        metavar="PATH",
    )
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 7)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(BENCHMARKS)}")

    results: list[Result] = []
    load_before = os.getloadavg()
    if load_before[0] > (os.cpu_count() or 1):
        print(
            f"benchmarks: warning: load average {load_before[0]:.1f} on {os.cpu_count()} CPUs: "
            "other work will make these numbers noisy",
            file=sys.stderr,
        )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="quaynotify-bench-") as tmp:
        bench = Bench(Path(tmp), reps)
        try:
            for name in names:
                print(f"running {name} ({reps} reps + 1 warm-up) ...", file=sys.stderr, flush=True)
                results.extend(BENCHMARKS[name](bench))
        finally:
            bench.receiver.close()
            bench.postgres.close()
    total = time.perf_counter() - started

    print(table(results))
    for r in results:
        if r.skipped:
            print(f"{r.name}: {r.notes}", file=sys.stderr)
    print(f"\nmedian of {reps} repetitions after 1 warm-up; total {total:.0f} s", file=sys.stderr)
    report = {
        "repetitions": reps,
        "warmups": 1,
        "total_seconds": round(total, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "quaynotify": subprocess.run(
            [bench.quaynotify, "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "results": [asdict(r) for r in results],
        # user + system CPU of each timed subprocess; the first sample is the warm-up
        "cpu_seconds": {
            label: {"median": statistics.median(v[1:] or v), "samples": v}
            for label, v in CPU.items()
        },
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}", file=sys.stderr)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
