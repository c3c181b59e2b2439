"""The command line: the Typer app and the one error boundary around every command."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from quaynotify.errors import ExitCode, QuaynotifyError


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI; every outcome leaves through here with a documented exit code."""
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        # Scripts ask this to check what is installed: the whole command line is the root's
        # eager --version, answered here before Typer is loaded (a third of the time).
        print_version()
        return int(ExitCode.OK)

    import typer

    from quaynotify import masking
    from quaynotify.cli import complete
    from quaynotify.cli.app import command
    from quaynotify.cli.common import Globals
    from quaynotify.cli.interrupt import handled
    from quaynotify.output import Output

    masking.forget_all()  # one command, one set of secrets (run() may be called many times)
    given = Globals()  # what Click parsed: a `--title --debug` is a title, not --debug
    env_debug = os.environ.get("QUAYNOTIFY_DEBUG") not in (None, "", "0")
    out = Output()
    try:
        with handled():
            _check_utf8(args)
            if os.environ.get(complete.COMPLETE_VAR):
                complete.enable()
            root = command()
            code = root.main(args=args, prog_name="quaynotify", standalone_mode=False, obj=given)
        return int(code or 0)
    except QuaynotifyError as exc:
        if given.debug or env_debug:
            _traceback()
        out.error(exc.message)
        return int(exc.exit_code)
    except typer.TyperException as exc:  # Click's usage errors, vendored by Typer
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            # `quaynotify` or `quaynotify rule` alone: the help, not an error line
            sys.stderr.write(ctx.get_help() + "\n")
        else:
            out.error(_usage_message(exc))
        return int(getattr(exc, "exit_code", ExitCode.USAGE) or ExitCode.USAGE)
    except (KeyboardInterrupt, typer.Abort):
        out.error("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`quaynotify log | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:
        from quaynotify.masking import scrub

        if given.debug or env_debug:
            _traceback()
        out.error(
            f"internal error: {type(exc).__name__}: {scrub(str(exc))} "
            "(run again with --debug to see the traceback, and please report it)"
        )
        return int(ExitCode.INTERNAL)


def print_version() -> None:
    """What `--version` prints, wherever on the command line Click finds it."""
    from quaynotify import __version__

    print(f"quaynotify {__version__}")


def _traceback() -> None:
    from quaynotify.masking import scrub

    sys.stderr.write(scrub(traceback.format_exc()))


def _check_utf8(args: Sequence[str]) -> None:
    """Arguments come from the OS as bytes; one that is not UTF-8 cannot be journaled, shown
    or sent, so it is refused before anything happens."""
    for index, arg in enumerate(args):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            from quaynotify.errors import UsageError

            raw = arg.encode("utf-8", "surrogateescape")
            shown = raw.decode("utf-8", "replace")
            if arg.startswith("--") and "=" in arg:
                shown = f"{shown!r} (in {arg.split('=', 1)[0]})"
            elif index and args[index - 1].startswith("-"):
                shown = f"{shown!r} (after {args[index - 1]})"
            else:
                shown = repr(shown)
            byte = arg[exc.start].encode("utf-8", "surrogateescape")
            raise UsageError(
                f"argument {shown} is not valid UTF-8 (byte 0x{byte.hex()}): pass it as UTF-8 text"
            ) from None


def _usage_message(exc: Exception) -> str:
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "quaynotify"
    return f"{message} (see `{path} --help`)"
