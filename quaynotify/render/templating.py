"""The templates/ directory and the Jinja environments over it: the one settings every
rendering shares (strict, autoescaped for HTML), and the templates that need none of an event
message's helpers (the e-mail authorization's confirmation mail), rendered as written."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).with_name("templates")


def environment(*, html: bool, **options: Any) -> jinja2.Environment:
    """A Jinja environment over templates/: an undefined value is an error, and with `html`
    every {{ value }} is escaped unless a helper made it markup."""
    import jinja2  # tens of milliseconds: only commands that render pay for it

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
        **options,
    )


def render(name: str, values: Mapping[str, Any]) -> str:
    """Template `name` rendered with `values`; every value is escaped in a `.html.j2` one."""
    return _environment(html=name.endswith(".html.j2")).get_template(name).render(values)


@functools.cache
def _environment(*, html: bool) -> jinja2.Environment:
    return environment(html=html, keep_trailing_newline=True)
