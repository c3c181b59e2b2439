"""Shell completion for real: the checked-in scripts in bash, zsh (autoloaded from $fpath, typed
under tmux) and fish, driving the installed `quaynotify` command; and the scripts are fresh."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import CONSOLE
from helpers.configs import rule_toml
from helpers.terminal import Shell, Tmux
from helpers.tools import need

from quaynotify.catalogue.events import EVENTS
from quaynotify.methods import METHODS
from quaynotify.tools import shellfiles

ROOT = Path(__file__).resolve().parent.parent
BASH = ROOT / shellfiles.COMPLETIONS["bash"]
ZSH = ROOT / shellfiles.COMPLETIONS["zsh"]
FISH = ROOT / shellfiles.COMPLETIONS["fish"]

SLACK_ID = "7c1d0e4a-1111-4111-8111-111111111111"
HOOK_ID = "9f2e5b3c-2222-4222-8222-222222222222"
OTHER_ID = "3b5a9d7e-3333-4333-8333-333333333333"
RULES = rule_toml(
    "slack", id=SLACK_ID, event="build_failure", title="Broken builds", url="env:SLACK_WEBHOOK_URL"
) + rule_toml(id=HOOK_ID, repo="acme/api", url="https://hooks.example.com/push")
EVENT_NAMES = sorted(EVENTS)
BUILD_EVENTS = sorted(name for name in EVENTS if name.startswith("build_"))
METHOD_NAMES = sorted(METHODS)


@pytest.fixture
def env(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The test's environment (config and state in its temp dir) with the installed command
    first on PATH, a config holding two rules, and an empty working directory (where a shell
    falls back to completing file names, it finds none)."""
    config_file.write_text(RULES)
    (config_file.parent / "empty").mkdir()
    monkeypatch.chdir(config_file.parent / "empty")
    bin_dir = Path(CONSOLE).parent
    assert Path(CONSOLE).exists(), f"no console script in {bin_dir}: pip install -e ."
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture
def other_config(isolated: Path) -> Path:
    path = isolated / "other.toml"
    path.write_text(
        rule_toml(id=OTHER_ID, repo="acme/other", url="https://hooks.example.com/other")
    )
    return path


@pytest.fixture
def broken_config(config_file: Path) -> Path:
    config_file.write_text('[[rule]]\nid = "7c1d\n')  # not TOML: an unterminated string
    return config_file


# -- bash ---------------------------------------------------------------------------------------


def bash_complete(env: dict[str, str], line: str) -> list[str]:
    """Source the script, look up the function it registered for `quaynotify` with
    `complete -p`, call it as bash would for `line` (cursor at the end), print COMPREPLY."""
    need("bash")
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = f"""
        source {shlex.quote(str(BASH))}
        spec=$(complete -p quaynotify) || exit 3
        fn=${{spec##*-F }}; fn=${{fn%% *}}
        COMP_WORDS=({" ".join(shlex.quote(w) for w in words)})
        COMP_CWORD={len(words) - 1}
        COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}
        "$fn" quaynotify "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    return [word for word in proc.stdout.splitlines() if word]


def test_bash_registers_a_function_for_quaynotify(env: dict[str, str]) -> None:
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"source {shlex.quote(str(BASH))}; complete -p"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "-F _quaynotify_completion quaynotify" in proc.stdout


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("quaynotify emit ", EVENT_NAMES),
        ("quaynotify emit build_", BUILD_EVENTS),
        ("quaynotify events vuln", ["vulnerability_found"]),
        ("quaynotify rule add --repo acme/web --event ", EVENT_NAMES),
        ("quaynotify rule add --event repo_push --method ", METHOD_NAMES),
        ("quaynotify rule list --method sl", ["slack"]),
        ("quaynotify log --event repo_", [n for n in EVENT_NAMES if n.startswith("repo_")]),
        ("quaynotify methods ", METHOD_NAMES),
        ("quaynotify rule show ", [SLACK_ID, HOOK_ID]),
        ("quaynotify rule remove 7c", [SLACK_ID]),
        ("quaynotify rule remove 7c1d 9", [HOOK_ID]),
        ("quaynotify rule test ", [SLACK_ID, HOOK_ID]),
        ("quaynotify log --rule ", [SLACK_ID, HOOK_ID]),
        ("quaynotify replay --failed --rule 9f", [HOOK_ID]),
        ("quaynotify rule dis", ["disable"]),
    ],
)
def test_bash_completes(env: dict[str, str], line: str, expected: list[str]) -> None:
    assert sorted(bash_complete(env, line)) == sorted(expected)


def test_bash_completes_rule_ids_of_the_config_given_with_config(
    env: dict[str, str], other_config: Path
) -> None:
    line = f"quaynotify --config {other_config} rule enable "
    assert bash_complete(env, line) == [OTHER_ID]


@pytest.mark.parametrize(
    "line",
    [
        "quaynotify rule enable --config {other} ",
        "quaynotify rule --config {other} enable ",
        "quaynotify rule enable --config={other} ",
        "quaynotify --config {config} rule enable --config {other} ",  # the one after wins
    ],
)
def test_bash_completes_rule_ids_of_a_config_given_after_the_command(
    env: dict[str, str], other_config: Path, config_file: Path, line: str
) -> None:
    line = line.format(other=other_config, config=config_file)
    assert bash_complete(env, line) == [OTHER_ID]


def test_bash_offers_the_global_options_after_the_command(env: dict[str, str]) -> None:
    assert bash_complete(env, "quaynotify rule list --qu") == ["--quiet"]
    assert bash_complete(env, "quaynotify state info --state-") == ["--state-dir", "--state-url"]


def test_bash_offers_no_rule_ids_from_a_broken_config_and_prints_nothing(
    env: dict[str, str], broken_config: Path
) -> None:
    assert bash_complete(env, "quaynotify rule show ") == []
    # The command itself still answers: events need no config.
    assert bash_complete(env, "quaynotify emit repo_p") == ["repo_push"]


def test_bash_offers_no_rule_ids_when_there_is_no_config(
    env: dict[str, str], config_file: Path
) -> None:
    config_file.unlink()
    assert bash_complete(env, "quaynotify rule show ") == []


# -- fish ---------------------------------------------------------------------------------------


def fish_complete(env: dict[str, str], line: str) -> dict[str, str]:
    """`complete -C LINE` in a fish with the script sourced: candidate -> description."""
    need("fish")
    quoted = "'" + line.replace("\\", "\\\\").replace("'", "\\'") + "'"
    script = f"source {shlex.quote(str(FISH))}; complete -C {quoted}"
    proc = subprocess.run(
        ["fish", "--no-config", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    offered = (entry.partition("\t") for entry in proc.stdout.splitlines() if entry)
    return {value: description for value, _, description in offered}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("quaynotify emit ", EVENT_NAMES),
        ("quaynotify events build_", BUILD_EVENTS),
        ("quaynotify rule add --event ", EVENT_NAMES),
        ("quaynotify rule add --method ", METHOD_NAMES),
        ("quaynotify methods web", ["webhook"]),
        ("quaynotify rule show ", [SLACK_ID, HOOK_ID]),
        ("quaynotify rule reset 9", [HOOK_ID]),
        ("quaynotify log --rule ", [SLACK_ID, HOOK_ID]),
    ],
)
def test_fish_completes(env: dict[str, str], line: str, expected: list[str]) -> None:
    assert sorted(fish_complete(env, line)) == sorted(expected)


def test_fish_describes_what_it_offers(env: dict[str, str]) -> None:
    assert fish_complete(env, "quaynotify emit build_fa") == {"build_failure": "Image build failed"}
    assert fish_complete(env, "quaynotify rule show 7") == {
        SLACK_ID: "build_failure on acme/web via slack (Broken builds)"
    }
    assert fish_complete(env, "quaynotify methods e") == {"email": "E-mail"}


def test_fish_honours_config_and_survives_a_broken_one(
    env: dict[str, str], other_config: Path, broken_config: Path
) -> None:
    assert list(fish_complete(env, f"quaynotify --config {other_config} rule show ")) == [OTHER_ID]
    # Nothing to offer: fish falls back to file names (none here), and prints no error.
    assert fish_complete(env, "quaynotify rule show ") == {}


# -- zsh, typed into a terminal -----------------------------------------------------------------


@pytest.fixture
def zsh(env: dict[str, str], tmp_path: Path) -> Iterator[Shell]:
    need("zsh")
    # $fpath holds a directory with the file as it is installed: share/zsh/site-functions
    site_functions = tmp_path / "site-functions"
    site_functions.mkdir()
    shutil.copy(ZSH, site_functions / "_quaynotify")
    tmux = Tmux(tmp_path / "tmux.sock", {**env, "TERM": "xterm-256color"})
    # The prompt is computed, so the echoed command line never looks like it.
    setup = (
        f"fpath=({shlex.quote(str(site_functions))} $fpath); autoload -Uz compinit; "
        'compinit -u -D; PS1="$(printf %s QN)> "'
    )
    try:
        yield Shell(tmux, "zsh -f", setup)
    finally:
        tmux.close()


def test_zsh_lists_event_names_on_the_first_tab(zsh: Shell) -> None:
    screen = zsh.complete("quaynotify emit ", lambda s: all(name in s for name in EVENT_NAMES))
    assert "build_failure" in screen and "Image build failed" in screen


def test_zsh_completes_a_method_name(zsh: Shell) -> None:
    zsh.complete(
        "quaynotify rule add --method quay_",
        lambda s: f"{Shell.PROMPT}quaynotify rule add --method quay_notification" in s,
    )


def test_zsh_lists_method_names(zsh: Shell) -> None:
    zsh.complete("quaynotify methods ", lambda s: all(name in s for name in METHOD_NAMES))


def test_zsh_lists_rule_ids_from_the_config(zsh: Shell) -> None:
    screen = zsh.complete("quaynotify rule show ", lambda s: SLACK_ID in s and HOOK_ID in s)
    assert "build_failure on acme/web via slack" in screen


def test_zsh_completes_a_rule_id_from_the_config_given_with_config(
    zsh: Shell, other_config: Path
) -> None:
    line = f"quaynotify --config {other_config} rule test "
    zsh.complete(line, lambda s: f"{Shell.PROMPT}{line}{OTHER_ID}" in s)


# -- the checked-in files -----------------------------------------------------------------------


@pytest.mark.parametrize("shell", sorted(shellfiles.COMPLETIONS))
def test_checked_in_script_is_fresh(shell: str) -> None:
    path = shellfiles.COMPLETIONS[shell]
    assert (ROOT / path).read_text(encoding="utf-8") == shellfiles.completion_script(shell), (
        f"{path} is stale: run `python -m quaynotify.tools.shellfiles` and commit the result"
    )


def test_zsh_file_starts_with_its_compdef_line() -> None:
    # compinit reads only the first line of each file in $fpath
    assert ZSH.read_text(encoding="utf-8").splitlines()[0] == "#compdef quaynotify"


def test_regenerating_writes_every_file_then_finds_nothing_stale(tmp_path: Path) -> None:
    (tmp_path / "config.toml").unlink()  # the suite's empty config: not a generated file
    assert shellfiles.main(["--root", str(tmp_path), "--check"]) == 1
    assert shellfiles.main(["--root", str(tmp_path)]) == 0
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted([*shellfiles.COMPLETIONS.values(), shellfiles.MAN_PAGE])
    assert shellfiles.main(["--root", str(tmp_path), "--check"]) == 0
    (tmp_path / shellfiles.COMPLETIONS["fish"]).write_text("# edited by hand\n")
    assert shellfiles.main(["--root", str(tmp_path), "--check"]) == 1


def test_completion_requests_answer_through_the_installed_command(env: dict[str, str]) -> None:
    """The protocol the scripts speak, without a shell: also the guard that it stays on even
    though the app has no --install-completion."""
    proc = subprocess.run(
        [CONSOLE],
        env={
            **env,
            "_QUAYNOTIFY_COMPLETE": "complete_bash",
            "COMP_WORDS": "quaynotify rule add --method w",
            "COMP_CWORD": "4",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "webhook\n", "")
