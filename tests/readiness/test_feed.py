"""Readiness in the calendar feeds: a go/no-go milestone still to be held carries the release's
verdict and what blocks it, and the feed's ETag changes when the verdict does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.readiness import services as readiness
from releases import services
from tests.calendars import conftest as calendar_fixtures
from tests.calendars.conftest import HOST, events_by_uid, parse_strictly
from tests.conftest import PASSWORD

from .conftest import walk

# The feed helpers of tests/calendars: a token, a GET of its feed, SITE_URL set.
feed = calendar_fixtures.feed
make_token = calendar_fixtures.make_token
_site = calendar_fixtures._site

RUN = "https://ci.example.com/run/7"


@pytest.fixture
def deciding(frozen, manager, candidate, green, sign_all, policy, soon):
    """``deciding()``: a Payments release in testing, GO (green candidate, every sign-off
    fresh), with its go/no-go meeting two days before the go-live; returns the milestone."""

    def make(**fields):
        release = frozen(**fields)
        gate = services.milestone_create(
            actor=manager, release=release, kind="go_no_go", at=soon - timedelta(days=2)
        )
        green(candidate(release))
        walk(release, manager, "testing")
        sign_all(release)
        return gate

    return make


def description(response, milestone) -> str:
    assert response.status_code == 200, response.content
    events = events_by_uid(parse_strictly(response.content))
    return str(events[f"milestone-{milestone.pk}@{HOST}"]["DESCRIPTION"])


def current(milestone):
    return milestone.release.candidates.order_by("-id").first()


def test_a_go_no_go_of_a_ready_release_reads_go(feed, make_token, manager, deciding):
    gate = deciding()
    lines = description(feed(make_token(manager)), gate).splitlines()
    assert lines[:3] == [
        f"Go/no-go of {gate.release.name}",
        "Done: no",
        "Readiness: GO",
    ]


def test_a_go_no_go_names_the_failing_check_that_makes_it_no_go(
    feed, make_token, manager, deciding, check
):
    gate = deciding()
    build = current(gate)
    check(build, "integration-tests", "failed", url=RUN)
    text = description(feed(make_token(manager)), gate)
    assert (
        f"Readiness: NO-GO — Required checks: integration-tests failed on {build.version}"
        in text.splitlines()
    )


def test_a_pending_verdict_names_what_it_waits_for(
    feed, make_token, manager, make_release, policy, soon
):
    release = walk(make_release(), manager, "planned")
    gate = services.milestone_create(
        actor=manager, release=release, kind="go_no_go", at=soon - timedelta(days=2)
    )
    text = description(feed(make_token(manager)), gate)
    assert "Readiness: PENDING — Required checks: No release candidate reported yet" in text


def test_a_held_go_no_go_and_other_milestones_carry_no_verdict(
    feed, make_token, manager, deciding, soon
):
    gate = deciding()
    services.milestone_update(actor=manager, milestone=gate, done=True)
    freeze = services.milestone_create(
        actor=manager, release=gate.release, kind="code_freeze", at=soon - timedelta(days=5)
    )
    response = feed(make_token(manager))
    assert "Readiness:" not in description(response, gate)
    assert "Readiness:" not in description(response, freeze)


def test_a_draft_release_shows_no_verdict(feed, make_token, manager, make_release, soon):
    release = make_release()  # not on its way to go live yet, as on the go/no-go board
    gate = services.milestone_create(
        actor=manager, release=release, kind="go_no_go", at=soon - timedelta(days=2)
    )
    assert "Readiness:" not in description(feed(make_token(manager)), gate)


def test_a_new_failing_check_changes_the_etag(feed, make_token, manager, deciding, check):
    gate = deciding()
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    check(current(gate), "integration-tests", "failed", url=RUN)
    response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "Readiness: NO-GO" in description(response, gate)


def test_a_waiver_changes_the_etag_back_to_go(feed, make_token, manager, deciding, check, carol):
    gate = deciding()
    check(current(gate), "integration-tests", "failed", url=RUN)
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    readiness.waiver_record(
        actor=carol,
        candidate=current(gate),
        gate="checks",
        reason="Known flake in the sandbox, tracked in PAY-9.",
        password=PASSWORD,
    )
    response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Readiness: GO" in description(response, gate).splitlines()


def test_the_verdicts_cost_the_same_queries_for_one_and_several_go_no_go_meetings(
    feed, make_token, manager, deciding, check
):
    gate = deciding()
    check(current(gate), "integration-tests", "failed", url=RUN)
    raw = make_token(manager)
    feed(raw)

    def count() -> tuple[int, int, int]:
        with CaptureQueriesContext(connection) as full:
            response = feed(raw)
        with CaptureQueriesContext(connection) as not_modified:
            assert feed(raw, headers={"If-None-Match": response["ETag"]}).status_code == 304
        return len(full), len(not_modified), response.content.count(b"Readiness: ")

    few, few_304, shown = count()
    for _ in range(3):
        deciding()
    many, many_304, more = count()
    assert (shown, more) == (1, 4)
    assert (many, many_304) == (few, few_304)


@pytest.mark.parametrize(
    ("change", "verdict"),
    [
        pytest.param("rejection", "NO-GO", id="a-sign-off-rejects"),
        pytest.param("blocker", "NO-GO", id="a-scope-item-becomes-a-blocker"),
        pytest.param("policy", "PENDING", id="the-gate-policy-asks-another-check"),
        pytest.param("prerequisite", "NO-GO", id="a-prerequisite-is-cancelled"),
    ],
)
def test_whatever_changes_the_verdict_changes_the_etag(
    feed, make_token, manager, deciding, change, verdict, sign, priya, make_release, soon
):
    gate = deciding()
    release = gate.release
    if change == "prerequisite":  # needed first, going live the day before: pending until then
        other = make_release(name="Search 2.1", go_live=soon - timedelta(days=1))
        services.dependency_create(actor=manager, release=release, depends_on=other)
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    if change == "rejection":
        sign(priya, release, "product", decision="reject", comment="Copy not final.")
    elif change == "blocker":
        # Flags set straight in the database, as a tracker sync might: no updated_at moves.
        release.scope_items.update(blocker=True)
    elif change == "policy":
        release.team.gate_policy.required_checks = ["unit-tests", "e2e"]
        release.team.gate_policy.save()
    else:
        type(other).objects.filter(pk=other.pk).update(
            state="cancelled", sequence=other.sequence + 1
        )
    response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 200, change  # not 304: the verdict changed
    assert f"Readiness: {verdict}" in description(response, gate)
