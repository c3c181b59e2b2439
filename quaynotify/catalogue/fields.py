"""The fields of event data, shared by the event declarations that name them."""

from __future__ import annotations

from quaynotify.catalogue.event import Field
from quaynotify.catalogue.filters import PRIORITIES

_PRIORITY = Field("priority", "string", "--set vulnerability.priority=High", "/".join(PRIORITIES))
# fmt: off
_FIELDS: dict[str, Field] = {f.name: f for f in (
    Field("updated_tags", "list of strings", """--set 'updated_tags=["latest"]'""",
          "the tags the push updated"),
    Field("message", "string", """--set "message='quay.io/acme/web' with tag pattern 'latest'\"""",
          "what the mirror did: '<source>' with tag pattern '<patterns>'[: <error>]"),
    Field("tags", "list of strings", """--set 'tags=["latest"]'""", "the tags concerned"),
    Field("vulnerability", "object",
          """--set 'vulnerability={"id": "CVE-2024-3094", "priority": "Critical"}'""",
          "id, description, link, priority, has_fix", (_PRIORITY,),
          ("id", "description", "link", "priority")),
    Field("image", "string", "--set image=sha256:...", "the affected image"),
    Field("vulnerabilities", "list of objects",
          """--set 'vulnerabilities=[{"id": "CVE-2024-3094", "priority": "High"}]'""",
          "several vulnerabilities, most severe first"),
    Field("vulnerable_index_report_created", "string",
          """--set 'vulnerable_index_report_created="true"'""",
          "a new index report: fires whatever the rule's level"),
    Field("build_id", "string", "--set build_id=4b8f1c2e-5d7a-4e0b-9a3c-1f2e3d4c5b6a",
          "the build's UUID"),
    Field("build_name", "string", "--set build_name=42d4a62", "the build's display name"),
    Field("docker_tags", "list of strings", """--set 'docker_tags=["latest"]'""",
          "the tags the build pushes"),
    Field("trigger_id", "string", "--set trigger_id=1245634", "the build trigger's id"),
    Field("trigger_kind", "string", "--set trigger_kind=github",
          "github, gitlab, bitbucket or custom-git"),
    Field("trigger_metadata", "object", "--set trigger_metadata.ref=refs/heads/main",
          "ref (matched by ref-regex), commit, default_branch, commit_info", (),
          ("ref", "commit", "default_branch", "git_url")),
    Field("image_id", "string", "--set image_id=sha256:...", "the built image"),
    Field("manifest_digests", "list of strings", """--set 'manifest_digests=["sha256:..."]'""",
          "the pushed manifests"),
    Field("error_message", "string", "--set 'error_message=Step 3 failed'", "why it failed"),
    Field("is_manual", "boolean", "--set is_manual=true", "started by a user, not a trigger"),
    Field("manual_user", "string", "--set manual_user=alice", "the user who started it"),
    Field("trigger_manual", "boolean", "--set trigger_manual=true", "a trigger run by hand"),
    Field("expiring_in", "string", "--set 'expiring_in=7 days'", 'Quay\'s form: "<days> days"'),
    Field("notification_uuid", "string", "--set notification_uuid=...", "the rule it is for"),
)}
# fmt: on


def fields(names: str) -> tuple[Field, ...]:
    """The fields named, space-separated, in that order."""
    return tuple(_FIELDS[name] for name in names.split())
