"""The config file: where it is, what it holds, and in-place edits that keep
the user's comments and layout, written under a lock, atomically, mode 0600."""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import CONSOLE, Cli, one_error
from pytest_httpserver import HTTPServer

ID1 = "11111111-1111-4111-8111-111111111111"
ID2 = "22222222-2222-4222-8222-222222222222"
ID3 = "33333333-3333-4333-8333-333333333333"

# A hand-written file: comments everywhere, blank lines, odd key order and spacing, tables
# before and after the rules. Each rule's block runs from its header to its last key line; the
# comment above rule 3's header introduces rule 3 and is not part of rule 2.
HEAD = """\
# quaynotify rules for acme: kept in git, reviewed like code
#   (an indented comment line)

[server]   # Quay's SERVER_HOSTNAME and PREFERRED_URL_SCHEME
scheme = "https"            # odd order: scheme before hostname
hostname = "quay.example.com"

[delivery]
# retry fast in CI
backoff = 0
max_attempts    =   2   # odd spacing


# ---------------- rules ----------------
"""
RULE1 = f"""\
[[rule]]
# the CI hook: first rule
method = "webhook"   # method before id: odd key order
event = "repo_push"
id = "{ID1}"
repository = "acme/web"
config = {{ url = "http://127.0.0.1:9/a" }}
"""
SEP12 = "\n"
RULE2 = f"""\
[[rule]]
id = "{ID2}"
repository = "acme/api"
event = "build_failure"
# a comment inside the second rule
method = "webhook"
title = "Broken builds"
config = {{ url = "http://127.0.0.1:9/b" }}
event_config = {{ "ref-regex" = "refs/heads/main" }}
"""
SEP23 = "\n# the third rule: paused during the migration\n"
RULE3 = f"""\
[[rule]]
id = "{ID3}"
repository = "acme/web"
event = "repo_mirror_sync_failed"
method = "webhook"
config = {{ url = "http://127.0.0.1:9/c" }}
enabled = false   # see INC-42
"""
TAIL = """
[journal]   # a table after the rules
keep_days = 7   # one week

# trailing comment at the end of the file
"""
ADD = ("rule", "add", "--repo", "acme/web", "--method", "webhook")
MINIMAL_RULE = (
    f'[[rule]]\nid = "{ID1}"\nrepository = "a/b"\nevent = "repo_push"\nmethod = "webhook"\n'
)
ORIGINAL = HEAD + RULE1 + SEP12 + RULE2 + SEP23 + RULE3 + TAIL
BLOCKS = {ID1: RULE1, ID2: RULE2, ID3: RULE3}


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def rule_span(text: str, rule_id: str) -> tuple[int, int]:
    """Line range of a rule's block in `text`: its [[rule]] header to its last key line."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(rf'id\s*=\s*"{rule_id}"', line))
    start = max(i for i in range(at + 1) if lines[i].strip() == "[[rule]]")
    end = at
    for i in range(at + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if re.match(r"\s*[\w\"'-]+\s*=", lines[i]):
            end = i
    return start, end + 1


def assert_only_rule_changed(before: str, after: str, rule_id: str, *, removed: bool) -> None:
    """Everything outside the rule's block is byte-identical (blank lines at the seam of a
    removal aside), and every comment line outside it is still there, untouched."""
    start, end = rule_span(before, rule_id)
    lines = before.splitlines(keepends=True)
    prefix = "".join(lines[:start]).rstrip("\n")
    suffix = "".join(lines[end:]).lstrip("\n")
    assert after.startswith(prefix), "text before the edited rule changed"
    assert after.endswith(suffix), "text after the edited rule changed or moved"
    middle = after[len(prefix) : len(after) - len(suffix)]
    if removed:
        assert middle.strip() == "", f"the removed rule left text behind: {middle!r}"
    else:
        assert f'"{rule_id}"' in middle
    outside = "".join(lines[:start] + lines[end:])
    for comment in comment_lines(outside):
        assert comment in after.splitlines(), f"lost comment line {comment!r}"


def rules_of(path: Path) -> dict[str, dict[str, object]]:
    return {r["id"]: r for r in tomllib.loads(path.read_text())["rule"]}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def hand_written(config_file: Path) -> Path:
    config_file.write_text(ORIGINAL)
    return config_file


def test_the_hand_written_file_is_a_valid_config(cli: Cli, hand_written: Path) -> None:
    result = cli("rule", "list")
    assert result.code == 0, result.err
    assert [line.split("\t")[:5] for line in result.lines] == [
        [ID1, "acme/web", "repo_push", "webhook", "enabled"],
        [ID2, "acme/api", "build_failure", "webhook", "enabled"],
        [ID3, "acme/web", "repo_mirror_sync_failed", "webhook", "disabled"],
    ]
    start = ORIGINAL[: ORIGINAL.index(RULE2)].count("\n")
    assert rule_span(ORIGINAL, ID2) == (start, start + RULE2.count("\n"))


# -- where the config is ------------------------------------------------------------------------


def test_config_path_defaults_to_the_platform_config_dir(
    cli: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUAYNOTIFY_CONFIG")
    result = cli("config", "path")
    assert result.code == 0
    expected = isolated / "home" / "xdg_config_home" / "quaynotify" / "config.toml"
    assert result.out == f"{expected}\n"
    assert not expected.exists(), "`config path` must not create the file"


def test_config_path_follows_the_environment_then_the_option(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUAYNOTIFY_CONFIG", str(tmp_path / "from-env.toml"))
    assert cli("config", "path").out == f"{tmp_path / 'from-env.toml'}\n"
    option = tmp_path / "from-option.toml"
    assert cli("--config", str(option), "config", "path").out == f"{option}\n"


def test_config_option_is_the_file_every_command_uses(
    cli: Cli, tmp_path: Path, config_file: Path
) -> None:
    other = tmp_path / "deep" / "er" / "config.toml"
    other.parent.mkdir(parents=True)
    added = cli("--config", str(other), *ADD, "--event", "repo_push", "--url", "http://h/")
    assert added.code == 0, added.err
    assert config_file.read_bytes() == b"", "QUAYNOTIFY_CONFIG was used instead of --config"
    assert list(rules_of(other)) == [added.out.strip()]
    assert cli("rule", "list").out == ""
    assert cli("--config", str(other), "rule", "list").out.startswith(added.out.strip())


# -- what it holds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "docker_url", "homepage"),
    [
        (
            '[server]\nhostname = "quay.example.com"\nscheme = "https"\n',
            "quay.example.com/acme/web",
            "https://quay.example.com/repository/acme/web",
        ),
        (
            '[server]\nscheme = "http"\nhostname = "registry.local:8080"\n',
            "registry.local:8080/acme/web",
            "http://registry.local:8080/repository/acme/web",
        ),
    ],
)
def test_server_table_builds_docker_url_and_homepage(
    cli: Cli, config_file: Path, server: str, docker_url: str, homepage: str
) -> None:
    config_file.write_text(server)
    cli(*ADD, "--event", "repo_push", "--url", "http://127.0.0.1:9/hook")
    emit = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    result = cli(*emit, "--dry-run", "--json")
    assert result.code == 0, result.err
    (preview,) = json.loads(result.out)
    assert preview["body"]["docker_url"] == docker_url
    assert preview["body"]["homepage"] == homepage


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('[server]\nscheme = "ftp"\n', "scheme"),
        ("[server]\nport = 443\n", "port"),
        ("[delivery]\nmax_attempts = 0\n", "max_attempts"),
        ('[delivery]\ntimeout = "10"\n', "timeout"),
        ("[delivery]\nbackoff = -1\n", "backoff"),
        ('[delivery]\nretry_on = "sometimes"\n', "retry_on"),
        ("[delivery]\nretries = 3\n", "retries"),
        ("[rules]\n", "rules"),
        ('delivery = "fast"\n', "delivery"),
        ('[[rule]]\nrepository = "acme/web"\nevent = "repo_push"\nmethod = "webhook"\n', "id"),
        (
            f'[[rule]]\nid = "{ID1}"\nrepository = "acme/web"\nevent = "repo_pushed"\n'
            'method = "webhook"\n',
            "repo_pushed",
        ),
        (
            f'[[rule]]\nid = "{ID1}"\nrepository = "acme/web"\nevent = "repo_push"\n'
            'method = "webhook"\ncolour = "red"\n',
            "colour",
        ),
        (2 * MINIMAL_RULE, ID1),  # the same id twice
    ],
)
def test_a_config_that_does_not_make_sense_is_exit_3_naming_the_problem(
    cli: Cli, config_file: Path, text: str, names: str
) -> None:
    config_file.write_text(text)
    result = cli("rule", "list")
    assert (result.code, result.out) == (3, "")
    assert result.err.count("\n") == 1 and result.err.startswith("quaynotify: error: ")
    assert str(config_file) in result.err and names in result.err


def test_delivery_table_is_read(cli: Cli, config_file: Path, httpserver: HTTPServer) -> None:
    config_file.write_text("[delivery]\nmax_attempts = 2\nbackoff = 0\n")
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    cli(*ADD, "--event", "repo_push", "--url", httpserver.url_for("/hook"))
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    assert result.code == 1
    assert len(httpserver.log) == 2


# -- editing in place: comments and layout survive ----------------------------------------------


def test_add_only_inserts_the_new_rule(cli: Cli, hand_written: Path) -> None:
    result = cli(
        *ADD,
        *("--event", "build_success", "--url", "http://127.0.0.1:9/new"),
        *("--title", "Green builds", "--ref-regex", "refs/tags/"),
    )
    assert result.code == 0, result.err
    after = hand_written.read_text()
    ops = difflib.SequenceMatcher(None, ORIGINAL.splitlines(), after.splitlines()).get_opcodes()
    assert [op[0] for op in ops if op[0] != "equal"] == ["insert"], "an original line changed"
    (insert,) = [op for op in ops if op[0] == "insert"]
    inserted = "\n".join(after.splitlines()[insert[3] : insert[4]])
    assert "[[rule]]" in inserted and result.out.strip() in inserted
    assert comment_lines(after) == comment_lines(ORIGINAL)
    new = rules_of(hand_written)[result.out.strip()]
    assert new == {
        "id": result.out.strip(),
        "repository": "acme/web",
        "event": "build_success",
        "method": "webhook",
        "title": "Green builds",
        "config": {"url": "http://127.0.0.1:9/new"},
        "event_config": {"ref-regex": "refs/tags/"},
    }


@pytest.mark.parametrize(
    "rule_id",
    [
        ID1,
        ID2,
        ID3,
    ],
)
def test_remove_takes_out_only_that_rule(cli: Cli, hand_written: Path, rule_id: str) -> None:
    result = cli("rule", "remove", rule_id[:8])
    assert result.code == 0, result.err
    after = hand_written.read_text()
    assert rule_id not in after
    assert_only_rule_changed(ORIGINAL, after, rule_id, removed=True)
    assert set(rules_of(hand_written)) == {ID1, ID2, ID3} - {rule_id}


@pytest.mark.parametrize(
    "rule_id",
    [
        ID1,
        ID2,
    ],
)
def test_disable_changes_only_that_rule(cli: Cli, hand_written: Path, rule_id: str) -> None:
    result = cli("rule", "disable", rule_id[:6])
    assert result.code == 0, result.err
    after = hand_written.read_text()
    assert_only_rule_changed(ORIGINAL, after, rule_id, removed=False)
    ops = difflib.SequenceMatcher(None, ORIGINAL.splitlines(), after.splitlines()).get_opcodes()
    changed = [op for op in ops if op[0] != "equal"]
    assert [op[0] for op in changed] == ["insert"]
    assert re.fullmatch(r"enabled\s*=\s*false", after.splitlines()[changed[0][3]].strip())
    assert rules_of(hand_written)[rule_id]["enabled"] is False
    assert f"{rule_id}\tacme" in cli("rule", "list").out
    assert "\tdisabled\t" in next(ln for ln in cli("rule", "list").lines if rule_id in ln)


def test_enable_changes_only_that_rule(cli: Cli, hand_written: Path) -> None:
    result = cli("rule", "enable", ID3[:6])
    assert result.code == 0, result.err
    after = hand_written.read_text()
    assert_only_rule_changed(ORIGINAL, after, ID3, removed=False)
    assert rules_of(hand_written)[ID3].get("enabled", True) is True
    assert "\tenabled\t" in next(ln for ln in cli("rule", "list").lines if ID3 in ln)


def test_disable_then_enable_gives_back_the_original_bytes(cli: Cli, hand_written: Path) -> None:
    assert cli("rule", "disable", ID2).code == 0
    assert cli("rule", "enable", ID2).code == 0
    assert hand_written.read_text() == ORIGINAL


def test_enabling_an_enabled_rule_does_not_rewrite_the_file(cli: Cli, hand_written: Path) -> None:
    before = hand_written.stat()
    assert cli("rule", "enable", ID1).code == 0
    after = hand_written.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize(
    ("command", "rule_id", "removed"),
    [("disable", ID1, False), ("remove", ID2, True), ("enable", ID3, False)],
)
def test_edits_after_an_add_still_change_only_their_rule(
    cli: Cli, hand_written: Path, command: str, rule_id: str, removed: bool
) -> None:
    added = cli(*ADD, "--event", "repo_push", "--url", "http://127.0.0.1:9/new")
    assert added.code == 0, added.err
    before = hand_written.read_text()
    assert cli("rule", command, rule_id).code == 0
    assert_only_rule_changed(before, hand_written.read_text(), rule_id, removed=removed)


def test_a_long_session_of_edits_keeps_every_comment_outside_the_edited_rules(
    cli: Cli, hand_written: Path
) -> None:
    added = cli(*ADD, "--event", "repo_push", "--url", "http://127.0.0.1:9/new").out.strip()
    for args in (("disable", ID1), ("enable", ID1), ("remove", ID3), ("remove", added)):
        assert cli("rule", *args).code == 0
    after = hand_written.read_text()
    kept = comment_lines(HEAD + RULE1 + RULE2 + TAIL)
    assert [c for c in comment_lines(after) if c in kept] == kept
    assert set(rules_of(hand_written)) == {ID1, ID2}


# -- how it is written --------------------------------------------------------------------------


def test_a_new_config_is_created_with_mode_0600(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    path.parent.mkdir()
    result = cli("--config", str(path), *ADD, "--event", "repo_push", "--url", "http://h/")
    assert result.code == 0, result.err
    assert mode(path) == 0o600


@pytest.mark.parametrize(
    "args",
    [
        (*ADD, "--event", "repo_push", "--url", "http://127.0.0.1:9/hook"),
        ("rule", "remove", ID2),
        ("rule", "disable", ID1),
        ("rule", "enable", ID3),
    ],
    ids=["add", "remove", "disable", "enable"],
)
def test_every_edit_writes_mode_0600_by_atomic_rename(
    cli: Cli, hand_written: Path, args: tuple[str, ...]
) -> None:
    hand_written.chmod(0o644)
    before = hand_written.stat()
    result = cli(*args)
    assert result.code == 0, result.err
    assert mode(hand_written) == 0o600
    # A new inode: written elsewhere and renamed over the file, never rewritten in place.
    assert hand_written.stat().st_ino != before.st_ino
    leftovers = [p.name for p in hand_written.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_concurrent_adds_are_serialised_by_the_lock(config_file: Path) -> None:
    config_file.write_text(HEAD)
    procs = [
        subprocess.Popen(
            [CONSOLE, *ADD, "--event", "repo_push", "--url", f"http://127.0.0.1:9/{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        ids.append(out.strip())
    assert sorted(rules_of(config_file)) == sorted(ids), "an add was lost: the lock failed"
    assert config_file.read_text().startswith(HEAD)
    assert mode(config_file) == 0o600


# -- emit never writes it -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "repo", "extra"),
    [
        (200, "acme/web", ()),
        (500, "acme/web", ()),
        (200, "acme/web", ("--dry-run",)),
        (200, "acme/other", ()),
    ],
    ids=["delivered", "failed-and-disabled", "dry-run", "nothing-matches"],
)
def test_emit_never_writes_the_config(
    cli: Cli,
    config_file: Path,
    httpserver: HTTPServer,
    status: int,
    repo: str,
    extra: tuple[str, ...],
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=status)
    config_file.write_text(
        "# mine\n[delivery]\nbackoff = 0\nmax_attempts = 1\ndisable_after = 1\n\n"
        f'[[rule]]\nid = "{ID1}"\nrepository = "acme/web"\nevent = "repo_push"\n'
        f'method = "webhook"\nconfig = {{ url = "{httpserver.url_for("/hook")}" }}\n'
    )
    config_file.chmod(0o644)
    before_bytes, before = config_file.read_bytes(), config_file.stat()
    args = ["emit", "repo_push", "--repo", repo, "--set", 'updated_tags=["v1"]', *extra]
    result = cli(*args)
    assert result.code == (1 if status == 500 else 0), result.err
    after = config_file.stat()
    assert config_file.read_bytes() == before_bytes
    assert (after.st_mtime_ns, after.st_ino, mode(config_file)) == (
        before.st_mtime_ns,
        before.st_ino,
        0o644,
    )
    if status == 500:  # the failure breaker disabled the rule: in the state, not the file
        assert "disabled" in result.err
        assert "\tdisabled" in cli("rule", "list").out
        assert config_file.read_bytes() == before_bytes


# -- a config that is a symlink (a dotfiles repository) or a hard link ---------------------------

EDITS = {
    "add": (*ADD, "--event", "repo_push", "--url", "http://127.0.0.1:9/new"),
    "remove": ("rule", "remove", ID2),
    "disable": ("rule", "disable", ID1),
    "enable": ("rule", "enable", ID3),
}


def assert_written_through(link: Path, target: Path, command: str) -> None:
    """`link` is still the same symlink, and the edit is in `target`, made beside it."""
    assert link.is_symlink(), "the link was replaced by a regular file"
    assert link.read_text() == target.read_text()
    text = target.read_text()
    assert text != ORIGINAL, "the target was not edited"
    if command == "remove":
        assert ID2 not in text
    elif command == "disable":
        assert rules_of(target)[ID1]["enabled"] is False
    assert mode(target) == 0o600
    assert (target.parent / f".{target.name}.lock").exists(), "the lock is not beside the target"
    assert not (link.parent / f".{link.name}.lock").exists(), "a lock was made beside the link"
    litter = [p.name for p in (*target.parent.iterdir(), *link.parent.iterdir())]
    assert [name for name in litter if name.endswith(".tmp")] == []


@pytest.mark.parametrize("command", list(EDITS))
def test_an_edit_writes_through_a_symlink_to_its_target(
    cli: Cli, config_file: Path, tmp_path: Path, command: str
) -> None:
    target = tmp_path / "dotfiles" / "quaynotify.toml"
    target.parent.mkdir()
    target.write_text(ORIGINAL)
    config_file.unlink()
    config_file.symlink_to(Path("dotfiles") / "quaynotify.toml")  # relative, as ln -s makes
    result = cli(*EDITS[command])
    assert result.code == 0, result.err
    assert_written_through(config_file, target, command)


@pytest.mark.parametrize("command", ["add", "disable"])
def test_an_edit_follows_a_chain_of_symlinks(
    cli: Cli, config_file: Path, tmp_path: Path, command: str
) -> None:
    # config.toml -> links/hop (absolute) -> ../dotfiles/quaynotify.toml (relative to links/)
    target = tmp_path / "dotfiles" / "quaynotify.toml"
    target.parent.mkdir()
    target.write_text(ORIGINAL)
    hop = tmp_path / "links" / "hop"
    hop.parent.mkdir()
    hop.symlink_to(Path("..") / "dotfiles" / "quaynotify.toml")
    config_file.unlink()
    config_file.symlink_to(hop)
    result = cli(*EDITS[command])
    assert result.code == 0, result.err
    assert hop.is_symlink()
    assert_written_through(config_file, target, command)


def test_a_dangling_symlink_gets_its_target_created(
    cli: Cli, config_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "dotfiles" / "quaynotify" / "config.toml"  # the directory is new too
    config_file.unlink()
    config_file.symlink_to(target)
    # a named config that is not there is an error for a reader, not an empty config
    assert one_error(cli("rule", "list"), 3).endswith(
        "or fix the path given with QUAYNOTIFY_CONFIG"
    )
    result = cli(*EDITS["add"])
    assert result.code == 0, result.err
    assert config_file.is_symlink() and config_file.readlink() == target
    assert list(rules_of(target)) == [result.out.strip()]
    assert mode(target) == 0o600


def test_a_hard_linked_config_is_refused_not_forked(
    cli: Cli, hand_written: Path, tmp_path: Path
) -> None:
    other = tmp_path / "dotfiles.toml"
    os.link(hand_written, other)
    for args in EDITS.values():
        result = cli(*args)
        assert (result.code, result.out) == (3, ""), result.err
        assert result.err == (
            f"quaynotify: error: config {hand_written} has 2 hard links: writing it would "
            "leave the other names with the old rules; make them symbolic links to it "
            "(ln -sf), then try again\n"
        )
        assert hand_written.read_text() == ORIGINAL
        assert os.path.samefile(hand_written, other)


# -- a full disk or a file-size limit while writing ----------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, mounted for the test (it needs root, as in CI)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("filling a disk for real needs a small tmpfs, and mounting one needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_while_writing_is_exit_3_and_the_config_is_intact(
    cli: Cli, small_disk: Path
) -> None:
    config = small_disk / "config.toml"
    config.write_text(ORIGINAL)
    fd = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="No space left on device"):
            while True:
                os.write(fd, b"x" * 4096)
    finally:
        os.close(fd)
    result = cli("--config", str(config), *EDITS["add"])
    assert (result.code, result.out) == (3, ""), result.err
    assert result.err == (
        f"quaynotify: error: cannot write config {config}: No space left on device; "
        "it was left unchanged\n"
    )
    assert config.read_text() == ORIGINAL
    assert [p.name for p in small_disk.iterdir() if p.name.endswith(".tmp")] == []


def test_a_file_size_limit_while_writing_is_exit_3_and_the_config_is_intact(
    hand_written: Path,
) -> None:
    # RLIMIT_FSIZE makes a write past the limit fail with EFBIG (SIGXFSZ ignored, as a shell's
    # `ulimit -f` under a supervisor leaves it): the new text is longer than the old.
    limit = len(hand_written.read_bytes()) + 10
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from quaynotify.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *EDITS["add"]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert (done.returncode, done.stdout) == (3, ""), done.stderr
    assert done.stderr == (
        f"quaynotify: error: cannot write config {hand_written}: File too large; "
        "it was left unchanged\n"
    )
    assert hand_written.read_text() == ORIGINAL
    assert [p.name for p in hand_written.parent.iterdir() if p.name.endswith(".tmp")] == []


MISSING_READERS = {
    "emit": ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]'),
    "rule list": ("rule", "list"),
    "rule show": ("rule", "show", "7c1d"),
    "log": ("log",),
    "config check": ("config", "check"),
}


@pytest.mark.parametrize("args", list(MISSING_READERS.values()), ids=list(MISSING_READERS))
@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_a_named_config_that_does_not_exist_is_exit_3(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], where: str
) -> None:
    """A mistyped --config or QUAYNOTIFY_CONFIG fails the job (exit 3, one line naming the
    path and the fix), whichever command reads it: emit used to say "no rule matches", exit 0."""
    missing = tmp_path / "ci" / "quaynotfiy.toml"
    if where == "env":
        monkeypatch.setenv("QUAYNOTIFY_CONFIG", str(missing))
        named, argv = "QUAYNOTIFY_CONFIG", args
    elif where == "before":
        named, argv = "--config", ("--config", str(missing), *args)
    else:
        named, argv = "--config", (*args, "--config", str(missing))
    assert one_error(cli(*argv), 3) == (
        f"config {missing} does not exist: create it with `quaynotify rule add ...`, "
        f"or fix the path given with {named}"
    )
    assert not missing.parent.exists(), "a reader created something"


def test_rule_add_creates_a_named_config_only_in_a_directory_that_exists(
    cli: Cli, tmp_path: Path
) -> None:
    """rule add is the way to create a config: at a named path whose directory exists, it
    creates the file; a missing directory is more likely a typo, and is refused (exit 3)."""
    typo = tmp_path / "ci" / "quaynotify.toml"
    args = (*ADD, "--event", "repo_push", "--url", "http://h/")
    assert one_error(cli("--config", str(typo), *args), 3) == (
        f"config {typo} cannot be created: its directory {typo.parent} does not exist; "
        "create the directory, or fix the path given with --config"
    )
    assert not typo.parent.exists()
    typo.parent.mkdir()
    added = cli("--config", str(typo), *args)
    assert added.code == 0, added.err
    assert list(rules_of(typo)) == [added.out.strip()]


def test_the_default_config_location_may_be_absent(
    cli: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --config or QUAYNOTIFY_CONFIG, a config not created yet is a config without
    rules: emit finds nothing to do (exit 0), and nothing is created."""
    monkeypatch.delenv("QUAYNOTIFY_CONFIG")
    result = cli("rule", "list")
    assert (result.code, result.out) == (0, ""), result.err
    assert not (isolated / "home" / "xdg_config_home" / "quaynotify").exists()
