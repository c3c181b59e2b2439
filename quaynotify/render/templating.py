"""Templates of templates/ that need none of an event message's helpers (the e-mail
authorization's confirmation mail): HTML ones autoescaped, text ones as written."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from quaynotify.render.messages import TEMPLATES

if TYPE_CHECKING:
    import jinja2


def render(name: str, values: Mapping[str, Any]) -> str:
    """Template `name` rendered with `values`; every value is escaped in a `.html.j2` one."""
    return _environment(html=name.endswith(".html.j2")).get_template(name).render(values)


@functools.cache
def _environment(*, html: bool) -> jinja2.Environment:
    import jinja2  # tens of milliseconds: only commands that render pay for it

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,
    )
