"""Masking secrets by value: every secret value the process handles is remembered, and
`scrub()` replaces it, or a recognisable part of it, wherever it appears in a text.

Masking by value covers what masking by place cannot: a message built by a library (httpx,
h11, ssl, smtplib) that repeats a header, a URL or a password it was given. Whatever is
journaled or printed passes through `scrub()` first."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

MASK = "********"
# Parts shorter than this are not masked on their own: they would mask ordinary words. A
# whole secret of any length is masked where code knows it is one (mask_secret, mask_url).
MIN_PART = 4

_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None


def remember(value: str) -> None:
    """Mask `value` from now on, in every form a message may show it in: as given, stripped,
    each of its lines, and as Python's repr, JSON and percent-encoding write it."""
    global _pattern
    if not value or not isinstance(value, str):
        return
    forms = {value, value.strip(), *(line.strip() for line in value.splitlines())}
    for form in list(forms):
        forms.add(repr(form)[1:-1])
        forms.add(repr(form.encode("utf-8", "surrogateescape"))[2:-1])
        forms.add(json.dumps(form)[1:-1])
        forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
        forms.add(quote(form, safe=""))
        forms.add(quote(form, safe="/:@"))
    forms = {f for f in forms if len(f) >= MIN_PART and f != MASK}
    with _lock:
        if forms <= _known:
            return
        _known.update(forms)
        _pattern = None


def scrub(text: str) -> str:
    """`text` with every remembered secret replaced by the mask."""
    if not text or not _known:
        return text
    global _pattern
    pattern = _pattern
    if pattern is None:
        with _lock:
            # Longest first: a secret's longer form wins over a line of it.
            alternatives = sorted(_known, key=len, reverse=True)
            pattern = _pattern = re.compile("|".join(map(re.escape, alternatives)))
    return pattern.sub(MASK, text)


def forget_all() -> None:
    """Forget every remembered secret (for tests: one process runs many commands)."""
    global _pattern
    with _lock:
        _known.clear()
        _pattern = None


def _every(name: str) -> bool:
    return True


def mask_url(
    url: str,
    secrets: tuple[str, ...] = (),
    *,
    secret_param: Callable[[str], bool] = _every,
    bare_user_is_secret: bool = True,
) -> str:
    """A URL safe to print: the `secrets` given, a userinfo password and the values of the
    query parameters that `secret_param` names (all of them, unless told) replaced by a mask.
    A userinfo without a password (`https://TOKEN@host/`) is masked whole unless
    `bare_user_is_secret` is false (`postgresql://user@host/`). An unparsable URL is masked
    whole."""
    for secret in secrets:
        if secret:
            url = url.replace(secret, MASK)
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        if colon:
            netloc = f"{user}:{MASK}@{host}"
        elif bare_user_is_secret:
            netloc = f"{MASK}@{host}"
    # Each parameter kept as it was written, its value masked where it is a secret:
    # re-encoding would show sslrootcert=/etc/ssl/ca.pem as %2Fetc%2Fssl%2Fca.pem.
    query = "&".join(
        f"{key}={MASK}" if secret_param(unquote_plus(key)) else f"{key}{eq}{value}"
        for key, eq, value in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
