"""Event data: what a receiver gets. Quay's common repository fields (from the repository and
[server]) with the event's own fields merged over them, in the order Quay writes them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from quaynotify.catalogue.events import Event
from quaynotify.errors import UsageError

# Quay's rule for a namespace or a repository name. Nested names are not accepted, so that a
# typo such as "acme/web/x" is caught rather than notified about.
_NAME_PATTERN = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"


def parse_repository(repository: str) -> tuple[str, str]:
    parts = repository.split("/")
    if len(parts) != 2:
        raise UsageError(
            f"repository '{repository}' must be NAMESPACE/NAME with exactly one '/', e.g. acme/web"
        )
    for what, part, shortest in (("namespace", parts[0], 2), ("name", parts[1], 1)):
        if not re.fullmatch(_NAME_PATTERN, part):
            raise UsageError(
                f"invalid repository {what} '{part}' in '{repository}': use lowercase letters"
                " and digits, separated by single '.', '_' or '-'"
            )
        if not shortest <= len(part) <= 255:
            raise UsageError(f"repository {what} '{part}' must be {shortest} to 255 characters")
    return parts[0], parts[1]


COMMON_FIELDS = ("repository", "namespace", "name", "docker_url", "homepage")


def known_fields(event: Event) -> frozenset[str]:
    """The top-level names the event's data may hold: Quay's common repository fields, the
    event's own, and whatever its sample or defaults carry."""
    names = {*COMMON_FIELDS, *event.ordered_fields(), *event.sample_template}
    names.update(event.default_template)
    if event.repo_key is not None:
        names.add(event.repo_key)
    return frozenset(names)


def unknown_field_warnings(event: Event, given: Mapping[str, str]) -> list[str]:
    """One line per field given (name -> where: "--set", "--data") that the event does not
    have: most likely a typo, which Quay would silently ignore; with a did-you-mean."""
    import difflib

    known = known_fields(event)
    lines = []
    for name, where in given.items():
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = (
            f"; did you mean {close[0]}?"
            if close
            else (f"; `quaynotify events {event.name}` lists its fields")
        )
        lines.append(f"{where} {name}: {event.name} has no field {name!r}{hint} (sent as given)")
    return lines


def common_fields(
    namespace: str, name: str, *, hostname: str, scheme: str, subpage: str | None = None
) -> dict[str, Any]:
    repository = f"{namespace}/{name}"
    homepage = f"{scheme}://{hostname}/repository/{repository}"
    if subpage:
        homepage += subpage if subpage.startswith("/") else "/" + subpage
    return {
        "repository": repository,
        "namespace": namespace,
        "name": name,
        "docker_url": f"{hostname}/{repository}",
        "homepage": homepage,
    }


def build_event_data(
    event: Event,
    repository: str,
    fields: Mapping[str, Any],
    *,
    hostname: str,
    scheme: str,
    defaults: bool = True,
) -> dict[str, Any]:
    """Common fields, then (unless `defaults` is false, as for sample data) the event's
    defaults, then `fields` over them."""
    if not defaults:
        return _event_data(event, repository, dict(fields), hostname, scheme)
    own = event.defaults()
    if event.repo_key is not None:
        own[event.repo_key] = parse_repository(repository)[1]
    merged = own | dict(fields)
    # Quay's producers write their fields in a fixed order (build_id first), whichever of them
    # came from our defaults; anything else follows in the order given.
    ordered = {name: merged[name] for name in event.ordered_fields() if name in merged} | merged
    return _event_data(event, repository, ordered, hostname, scheme)


def sample_event_data(
    event: Event, repository: str, event_config: Mapping[str, Any], *, hostname: str, scheme: str
) -> dict[str, Any]:
    """Quay's Test Notification data: the common fields and the sample, without our defaults."""
    return _event_data(event, repository, event.sample(event_config), hostname, scheme)


def _event_data(
    event: Event, repository: str, own: dict[str, Any], hostname: str, scheme: str
) -> dict[str, Any]:
    namespace, name = parse_repository(repository)
    subpage = event.subpage(own)
    data = common_fields(namespace, name, hostname=hostname, scheme=scheme, subpage=subpage)
    given = own.get("repository", repository)
    if given != repository:
        # The journal, the rules chosen and the payload must name one repository. Other
        # common keys may be overridden, as in Quay (a build's own `namespace`, a homepage
        # pointing at the CI job).
        raise UsageError(
            f"field 'repository' is {given!r}, but the event is for {repository}: the"
            " repository comes from --repo; drop it from --set/--data, or give --repo the"
            " repository meant"
        )
    return data | own
