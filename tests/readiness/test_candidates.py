"""CI reports builds and their checks: through the API with a team member's token."""

from __future__ import annotations

import pytest

from approvals import fingerprint as fp
from approvals import selectors
from approvals.models import AuditEvent, CheckReport, ReleaseCandidate
from releases import selectors as release_selectors
from releases.models import Team

DIGEST = "sha256:" + "ab12" * 16
BUILD = {
    "version": "4.3.0-rc.2",
    "commit_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
    "artifact_digest": DIGEST,
    "build_url": "https://ci.example.com/payments/812",
    "commits": {"first": "2026-11-20T09:12:00Z", "last": "2026-11-27T16:40:00+01:00"},
}


def post_build(api, user, release, **changes):
    return api.as_user(user).post(
        f"/api/v1/releases/{release.pk}/candidates/", {**BUILD, **changes}, format="json"
    )


def test_ci_reports_a_build_as_the_current_candidate(api, alice, make_release):
    release = make_release()
    response = post_build(api, alice, release)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["artifact_digest"], body["current"]) == (
        "4.3.0-rc.2",
        DIGEST,
        True,
    )
    candidate = ReleaseCandidate.objects.get()
    assert candidate.first_commit_at.isoformat() == "2026-11-20T09:12:00+00:00"
    assert candidate.last_commit_at.isoformat() == "2026-11-27T15:40:00+00:00"
    assert AuditEvent.objects.filter(action="candidate.report", release_id=release.pk).exists()


def test_a_newer_build_supersedes_the_older(api, alice, make_release):
    release = make_release()
    post_build(api, alice, release)
    post_build(api, alice, release, version="4.3.0-rc.3")
    listed = api.as_user(alice).get(f"/api/v1/releases/{release.pk}/candidates/").json()
    assert [(c["version"], c["current"]) for c in listed] == [
        ("4.3.0-rc.2", False),
        ("4.3.0-rc.3", True),
    ]


def test_a_version_is_reported_once(api, alice, make_release):
    release = make_release()
    post_build(api, alice, release)
    response = post_build(api, alice, release, commit_sha="0" * 40)
    assert response.status_code == 409
    assert response.json()["detail"].startswith(
        f"4.3.0-rc.2 was reported already for {release.name}"
    )
    assert ReleaseCandidate.objects.get().commit_sha == BUILD["commit_sha"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"artifact_digest": "sha256:abc"}, "artifact_digest", id="short-digest"),
        pytest.param({"artifact_digest": "md5:" + "a" * 64}, "artifact_digest", id="not-sha256"),
        pytest.param({"artifact_digest": "sha256:" + "G" * 64}, "artifact_digest", id="not-hex"),
        pytest.param({"commit_sha": "main"}, "commit_sha", id="branch-not-commit"),
        pytest.param({"build_url": "javascript:alert(1)"}, "build_url", id="script-url"),
        pytest.param({"commits": {"first": "2026-11-20T09:12:00"}}, "commits", id="naive-time"),
        pytest.param(
            {"commits": {"first": "2026-11-28T09:12:00Z", "last": "2026-11-20T09:12:00Z"}},
            "first_commit_at",
            id="first-after-last",
        ),
        pytest.param({"version": "x" * 101}, "version", id="long-version"),
    ],
)
def test_bad_builds_are_refused_naming_the_field(api, alice, make_release, changes, field):
    response = post_build(api, alice, make_release(), **changes)
    assert response.status_code == 400
    assert field in response.json()
    assert ReleaseCandidate.objects.count() == 0


def test_a_shipped_release_takes_no_builds(api, alice, make_release):
    release = make_release()
    type(release).objects.filter(pk=release.pk).update(state="released")
    assert post_build(api, alice, release).status_code == 409


@pytest.mark.parametrize("persona", ["outsider", "bob"])
def test_only_the_team_and_release_managers_report_builds(api, make_release, persona, request):
    response = post_build(api, request.getfixturevalue(persona), make_release())
    assert response.status_code == 403
    assert ReleaseCandidate.objects.count() == 0


def test_the_release_manager_reports_builds(api, manager, make_release):
    assert post_build(api, manager, make_release()).status_code == 201


def test_a_release_the_reader_may_not_see_is_not_found(api, outsider, make_release, db):
    private = Team.objects.create(name="Skunkworks", slug="skunk", is_private=True)
    release = make_release(team=private)
    assert release not in release_selectors.visible_releases(outsider)
    assert post_build(api, outsider, release).status_code == 404
    url = f"/api/v1/releases/{release.pk}/candidates/"
    assert api.as_user(outsider).get(url).status_code == 404


def test_anonymous_clients_get_401(api, make_release):
    assert api.post(f"/api/v1/releases/{make_release().pk}/candidates/", BUILD).status_code in (
        401,
        403,
    )


def test_a_new_build_makes_the_approvals_stale_saying_what_changed(
    frozen, candidate, sign_all, alice
):
    release = frozen()
    old = candidate(release, version="4.3.0-rc.2")
    sign_all(release)
    status = selectors.approval_status(
        selectors.with_approval_data(type(release).objects.all()).get(pk=release.pk)
    )
    assert status.complete
    new = candidate(release, version="4.3.0-rc.3")
    status = selectors.approval_status(
        selectors.with_approval_data(type(release).objects.all()).get(pk=release.pk)
    )
    assert not status.complete
    assert all(role.stale for role in status.roles)
    stale = status.roles[0].stale[0]
    assert fp.diff(stale.snapshot, status.snapshot)[0] == (
        f"New build 4.3.0-rc.3 ({new.artifact_digest[:11]}…) replaces {old.version}"
    )


# --- Checks ------------------------------------------------------------------------------------


def post_check(api, user, candidate, data, **kwargs):
    kwargs.setdefault("format", "json")
    return api.as_user(user).post(f"/api/v1/candidates/{candidate.pk}/checks/", data, **kwargs)


def test_ci_reports_a_check(api, alice, make_release, candidate):
    build = candidate(make_release())
    response = post_check(
        api,
        alice,
        build,
        {"name": "unit-tests", "status": "passed", "summary": "412 passed", "details": {"n": 1}},
    )
    assert response.status_code == 201, response.json()
    report = CheckReport.objects.get()
    assert (report.name, report.status, report.details) == ("unit-tests", "passed", {"n": 1})
    detail = api.as_user(alice).get(f"/api/v1/candidates/{build.pk}/").json()
    assert [c["name"] for c in detail["checks"]] == ["unit-tests"]
    assert detail["current"] is True


def test_a_check_for_a_superseded_build_is_a_conflict(api, alice, make_release, candidate):
    release = make_release()
    old = candidate(release)
    new = candidate(release)
    response = post_check(api, alice, old, {"name": "unit-tests", "status": "passed"})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"{old.version} is superseded by {new.version}: report to the current candidate."
    )
    assert CheckReport.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"name": "unit-tests", "status": "green"}, "status", id="unknown-status"),
        pytest.param({"name": "unit-tests"}, "status", id="no-status"),
        pytest.param({"name": "Unit Tests!", "status": "passed"}, "name", id="bad-name"),
        pytest.param(
            {"name": "unit-tests", "status": "passed", "details": {"x": "y" * 70_000}},
            "details",
            id="details-too-big",
        ),
        pytest.param(
            {"name": "unit-tests", "status": "passed", "url": "ftp://x"}, "url", id="bad-url"
        ),
    ],
)
def test_bad_checks_are_refused_naming_the_field(api, alice, make_release, candidate, data, field):
    response = post_check(api, alice, candidate(make_release()), data)
    assert response.status_code == 400
    assert field in response.json()
    assert CheckReport.objects.count() == 0


def test_an_outsider_cannot_report_checks(api, outsider, make_release, candidate):
    response = post_check(
        api, outsider, candidate(make_release()), {"name": "unit-tests", "status": "passed"}
    )
    assert response.status_code == 403
    assert CheckReport.objects.count() == 0
