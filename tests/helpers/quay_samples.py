"""Quay's event data, transcribed once: the sample each event's Test Notification sends (in
Quay's key order), and data shaped as Quay's producers build it in production."""

from __future__ import annotations

from typing import Any

BUILDS = ("build_queued", "build_start", "build_success", "build_failure", "build_cancelled")
MIRRORS = ("repo_mirror_sync_started", "repo_mirror_sync_success", "repo_mirror_sync_failed")
BUILD_ID = "0d6b5a8e-3f1c-4e2a-9b7d-5c4e3f2a1b0c"
TRIGGER_ID = "8f0c2a1e-6b5d-4c3e-a2f1-0e9d8c7b6a5f"


def common(
    repository: str = "acme/web", *, host: str = "quay.example.com", build: str | None = None
) -> dict[str, Any]:
    """Quay's common repository fields, in Quay's order (a build's homepage is the build's)."""
    namespace, name = repository.split("/")
    homepage = f"https://{host}/repository/{repository}"
    return {
        "repository": repository,
        "namespace": namespace,
        "name": name,
        "docker_url": f"{host}/{repository}",
        "homepage": homepage + (f"/build/{build}" if build else ""),
    }


# -- the samples ------------------------------------------------------------------------------

# commit_info.date is the time of sending (Quay's time.mktime(now)): a test checks the value it
# got, then puts this placeholder in its place to compare the rest.
COMMIT_DATE = "<commit date>"
TRIGGER_METADATA = {
    "default_branch": "master",
    "ref": "refs/heads/somebranch",
    "commit": "42d4a62c53350993ea41069e9f2cfdefb0df097d",
}
COMMIT_INFO = {
    "url": "http://path/to/the/commit",
    "message": "Some commit message",
    "date": COMMIT_DATE,
    "author": {
        "username": "fakeauthor",
        "url": "http://path/to/fake/author/in/scm",
        "avatar_url": "http://www.gravatar.com/avatar/fakehash",
    },
}
BUILD_SAMPLE = {
    "build_id": "fake-build-id",
    "build_name": "some-fake-build",
    "docker_tags": ["latest", "foo", "bar"],
    "trigger_id": "1245634",
    "trigger_kind": "GitHub",
    "trigger_metadata": TRIGGER_METADATA,
}
WITH_COMMIT = {**BUILD_SAMPLE, "trigger_metadata": {**TRIGGER_METADATA, "commit_info": COMMIT_INFO}}


def vulnerability_sample(priority: str = "Unknown") -> dict[str, Any]:
    """The vulnerability_found sample; its priority follows the rule's level (none: Unknown)."""
    return {
        "tags": ["latest", "prod", "foo", "bar", "baz"],
        "image": "some-image-id",
        "vulnerability": {
            "id": "CVE-FAKE-CVE",
            "description": "A futurist vulnerability",
            "link": "https://security-tracker.debian.org/tracker/CVE-FAKE-CVE",
            "priority": priority,
        },
    }


# Each event's sample for a rule with no event config.
SAMPLES: dict[str, dict[str, Any]] = {
    "repo_push": {"updated_tags": ["latest", "foo"], "pruned_image_count": 3},
    "build_queued": {"is_manual": False, **WITH_COMMIT},
    "build_start": BUILD_SAMPLE,
    "build_success": {**BUILD_SAMPLE, "image_id": "1245657346"},
    "build_failure": {**WITH_COMMIT, "error_message": "This is a fake error message"},
    "build_cancelled": {**BUILD_SAMPLE, "image_id": "1245657346"},
    "vulnerability_found": vulnerability_sample(),
    **{name: {"message": "TEST NOTIFICATION"} for name in MIRRORS},
    "repo_image_expiry": {"tags": ["latest", "v1"], "expiring_in": "None days"},
}


def assert_commit_date(date: object, before: float) -> None:
    """A sample's commit_info.date: a whole number of seconds, taken while the test ran."""
    import time

    assert isinstance(date, float) and date.is_integer(), date
    assert int(before) <= date <= time.time()


# -- production-shaped data, in the order Quay's producers build it -----------------------------

GIT_METADATA = {
    "commit": "3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
    "ref": "refs/heads/main",
    "default_branch": "main",
    "git_url": "git@github.com:acme/web.git",
    "commit_info": {
        "short_sha": "3f9c2d1",
        "url": "https://github.com/acme/web/commit/3f9c2d1e",
        "message": "Fix the build",
        "date": "2024-05-01T12:00:00Z",
        "author": {"username": "alice", "url": "https://github.com/alice"},
    },
}
BUILDER = {  # buildman/jobutil/buildjob.py send_notification
    "build_id": BUILD_ID,
    "build_name": "3f9c2d1",
    "docker_tags": ["latest", "main"],
    "trigger_id": TRIGGER_ID,
    "trigger_kind": "github",
    "trigger_metadata": GIT_METADATA,
}
MIRROR_SOURCE = "'quay.io/acme/upstream' with tag pattern 'v*,latest'"
PRODUCTION: dict[str, dict[str, Any]] = {
    "repo_push": {"updated_tags": ["v1.2.3"]},
    "build_queued": {  # endpoints/building.py: the audit-log metadata
        "build_id": BUILD_ID,
        "docker_tags": ["latest", "main"],
        "repo": "web",
        "namespace": "acme",
        "is_manual": False,
        "manual_user": None,
        "trigger_id": TRIGGER_ID,
        "trigger_kind": "github",
        "trigger_metadata": GIT_METADATA,
    },
    "build_start": BUILDER,
    "build_success": {
        **BUILDER,
        "image_id": "sha256:9a8b7c6d",
        "manifest_digests": ["sha256:1f2e3d4c"],
    },
    "build_failure": {**BUILDER, "error_message": "Step 3/7: RUN make returned 2"},
    "build_cancelled": BUILDER,
    "vulnerability_found": {
        "tags": ["latest", "v1.2.3"],
        "vulnerability": {
            "id": "CVE-2024-3094",
            "description": "xz backdoor",
            "link": "https://nvd.nist.gov/vuln/detail/CVE-2024-3094",
            "priority": "Critical",
            "has_fix": True,
        },
    },
    "repo_mirror_sync_started": {"message": MIRROR_SOURCE},
    "repo_mirror_sync_success": {"message": MIRROR_SOURCE},
    "repo_mirror_sync_failed": {"message": f"{MIRROR_SOURCE}: PARTIAL SYNC"},
    "repo_image_expiry": {
        "notification_uuid": "7c1d0e4a-2b3c-4d5e-8f9a-0b1c2d3e4f5a",
        "tags": ["nightly-2024-05-01", "nightly-2024-05-02"],
        "expiring_in": "7 days",
    },
}
