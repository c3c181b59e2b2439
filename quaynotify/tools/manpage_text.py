"""The man page's prose: what the command tree, the catalogue and the registry cannot say
(description, secrets, network, files, environment, exit status, examples, completion)."""

from __future__ import annotations

from quaynotify.errors import ExitCode

EXIT_STATUS: dict[ExitCode, str] = {
    ExitCode.OK: "Success: every selected delivery succeeded, or no rule matched the event "
    "(a note on standard error says so).",
    ExitCode.FAILED: "One or more deliveries failed after their retries, or were skipped "
    "because the failure breaker disabled their rule. `emit --soft-fail` and `replay "
    "--soft-fail` exit 0 instead, with one warning line naming how many did not succeed and "
    "`quaynotify log --failed`; every other status is kept.",
    ExitCode.USAGE: "Usage error or bad input: an unknown command, option, event, method or "
    "id, a missing or mistyped event field, an invalid rule.",
    ExitCode.CONFIG: "The config file or the state database is unusable: unreadable, not "
    "valid TOML, or not understood.",
    ExitCode.INTERNAL: "Internal error: a bug. Run again with `--debug` to see the traceback, "
    "and please report it.",
    ExitCode.INTERRUPTED: "Interrupted by Ctrl-C (SIGINT) or SIGTERM. During delivery no new "
    "attempt starts, attempts in flight get about a second to finish, and every delivery is "
    "journaled: as it ended, or as `interrupted` (`replay --failed` sends those, with the "
    "same delivery id). A second Ctrl-C stops waiting at once.",
}

ENVIRONMENT: dict[str, str] = {
    "QUAYNOTIFY_CONFIG": "The config file, when `--config` is not given.",
    "QUAYNOTIFY_STATE_DIR": "The state directory, when `--state-dir` is not given.",
    "QUAYNOTIFY_STATE_URL": "A PostgreSQL state shared across machines, when `--state-url` "
    "is not given (before `[state] url` in the config): `postgresql://USER:PASSWORD@HOST:PORT/"
    "DBNAME?sslmode=...`, or an `env:NAME` or `file:PATH` reference to one. Needs `pip "
    "install 'quaynotify[postgres]'`. What cannot reach the database is kept in the local "
    "state and uploaded by the next run that reaches it, or by `state sync`.",
    "QUAYNOTIFY_SOFT_FAIL": "1 (or true, yes, on): `emit` and `replay` run as with "
    "`--soft-fail`, exiting 0 where deliveries failed or were skipped as disabled; 0 (or "
    "empty) is off.",
    "QUAYNOTIFY_USER": "Whose notifications `inbox` shows when `--user` is not given (else "
    "the login name).",
    "QUAYNOTIFY_DEBUG": "Any value but empty or 0: show a traceback when something goes wrong, "
    "as `--debug` does.",
    "NO_COLOR": "Any value but empty: no colour or other text styling (https://no-color.org).",
    "CLICOLOR": "0: no colour or other text styling.",
    "CLICOLOR_FORCE": "Any value but empty or 0: colour on a terminal even where TERM says it "
    "has none. NO_COLOR wins over it. Output that is not a terminal stays tab-separated text.",
    "XDG_CONFIG_HOME, XDG_STATE_HOME": "Where the default config file and state directory "
    "are (see FILES).",
    "SSL_CERT_FILE": "A file of CA certificates to trust over TLS (webhook, slack, hipchat, "
    "flowdock, SMTP) where no `ca_bundle` is set, with or without a client certificate. What "
    "is trusted, in order: the `ca_bundle` of [webhook] or [smtp]; else SSL_CERT_FILE and "
    "SSL_CERT_DIR; else the operating system's trust store (through truststore on macOS and "
    "Windows; elsewhere the system's certificates, found as truststore finds them); else "
    "certifi's bundle. Verification is never turned off.",
    "SSL_CERT_DIR": "A directory of CA certificates under their hashed names (as `openssl "
    "rehash` makes them), trusted as SSL_CERT_FILE is; both count when both are set.",
}

FILES: dict[str, str] = {
    "~/.config/quaynotify/config.toml": "The config file: rules and settings, TOML "
    "(`$XDG_CONFIG_HOME/quaynotify/config.toml`; on other systems `quaynotify config path` "
    "prints it). Commands that change it edit it in place, keeping comments and layout, under "
    "a lock (`.config.toml.lock` beside it), and write it with mode 0600. `emit` never writes "
    "it, so it can be kept in git.",
    "~/.local/state/quaynotify/state.db": "The state database (SQLite): the journal of "
    "deliveries and attempts, rule health (failure counts, the failure breaker), the "
    "notification area and e-mail authorizations (`$XDG_STATE_HOME/quaynotify/state.db`). "
    "With a PostgreSQL state, it keeps what could not reach that database until it can.",
}

DESCRIPTION = (
    "A rule says: when EVENT happens in repository NAMESPACE/NAME, notify via METHOD with this "
    "config. Rules live in a TOML file. Events are emitted by shell scripts and CI steps; "
    "every matching rule is delivered concurrently, each with its own retries, before `emit` "
    "returns, and every delivery is journaled so that it can be inspected (`log`) and "
    "replayed (`replay`). The events, the methods and their payloads are those of Quay's "
    "repository notifications.",
    "Results go to standard output, diagnostics and progress to standard error. On a "
    "terminal results are tables; piped, they are tab-separated lines with no header and no "
    "truncation; with `--json`, one JSON document. Secret values are masked in every output "
    "unless `--show-secrets` is given, as are a password and query values in a URL of a "
    "rule's config. Errors are one line, `quaynotify: error: ...`.",
    "Data cannot drive the terminal: control characters are shown as Python's repr shows "
    "them (ESC as `\\x1b`; in a table cell or a field, a tab as `\\t` and a newline as "
    "`\\n`), and text that looks like markup is shown as written. `--json` keeps values "
    "exact. With `--json`, `emit` and `rule test` print an object with `event`, `repository` "
    "and `deliveries`; `replay` prints one with `deliveries` only, each naming its own event "
    "and repository.",
)

SECRETS = (
    "A secret value (marked secret below) may be written literally or as a reference resolved "
    "at send time: `env:NAME` reads environment variable NAME, `file:PATH` reads a regular "
    "file of at most 64 KiB. Whitespace around a value read from either (the newline that "
    "`echo` leaves) is not part of the secret; a line break or other control character inside "
    "one is refused. Secrets are masked by value: every secret the command reads, in the "
    "forms messages write it in (each of its lines; as Python, JSON and percent-encoding "
    "write it), is replaced by `********` wherever it appears, in output, error lines, "
    "tracebacks and the journal, whoever wrote the message (a library, a receiver's reason "
    "phrase, an SMTP reply). "
    "HipChat's and Flowdock's public services have shut down; their methods remain for "
    "self-hosted servers and payload parity: point `api_url` at the server."
)

NETWORK = (
    "`[delivery] timeout` bounds a whole attempt: looking up the name, connecting, the TLS "
    "handshake, sending and reading the answer (an SMTP session likewise), so a receiver "
    "sending one byte a second cannot stretch it; an attempt started near `--deadline` gets "
    "only the time left. Of an HTTP response, the status line, the headers and at most the "
    "first 64 KiB of the body are read, as sent (never decompressed); the body is not shown.",
    "TLS is always verified. What is trusted is the same for every method: see SSL_CERT_FILE "
    "under ENVIRONMENT. An encrypted client key needs `client_key_password`; OpenSSL never "
    "prompts for it.",
    "`[webhook] hostname_blocklist` lists host names, addresses and networks (`10.0.0.0/8`) "
    "that no HTTP method (webhook, slack, hipchat, flowdock) may reach. It matches addresses, "
    "however a URL writes them (`127.1`, `0x7f000001`, `[::ffff:127.0.0.1]`); a name blocks "
    "itself and its addresses; an entry for this machine (localhost, 127.0.0.1, ::1) blocks "
    "all of loopback, 0.0.0.0 and ::. Literal addresses are refused by `rule add` and `config "
    "check`; every request is checked on the address it connects to, so DNS rebinding does "
    "not get round it, and a refusal is not retried. Behind a proxy (HTTPS_PROXY) only the "
    "names and literal addresses in URLs can be checked; SMTP is not covered.",
)

EXAMPLES: dict[str, str] = {
    "Notify Slack when a build of the main branch fails:": "quaynotify rule add --repo "
    "acme/web --event build_failure --method slack --url env:SLACK_WEBHOOK_URL "
    "--ref-regex refs/heads/main",
    "Emit the event from a CI job; the exit status says whether every delivery succeeded:": (
        'quaynotify emit build_failure --repo acme/web --set "build_id=$CI_JOB_ID" '
        '--set "trigger_metadata.ref=refs/heads/$CI_COMMIT_BRANCH"'
    ),
    "See exactly what would be sent, sending nothing:": "quaynotify emit repo_push --repo "
    "acme/web --sample --dry-run",
    "Send Quay's test notification to one rule:": "quaynotify rule test 7c1d",
    "Look at failed deliveries and deliver them again once the receiver is fixed:": "quaynotify "
    "log --failed\nquaynotify replay --failed --since 2h",
    "Tab-separated output composes with the usual tools:": "quaynotify rule list --event "
    "repo_push | cut -f1 | xargs -n1 quaynotify rule disable",
}

COMPLETION = (
    "The package installs completion scripts for bash "
    "(`share/bash-completion/completions/quaynotify`), zsh "
    "(`share/zsh/site-functions/_quaynotify`) and fish "
    "(`share/fish/vendor_completions.d/quaynotify.fish`) under its installation prefix. "
    "They complete commands, options, event names, method names and the rule ids of the "
    "config file in use. Where the shell does not look in that prefix, load the script from "
    "the shell's startup file, e.g. for zsh add the directory to `fpath` before `compinit`."
)
