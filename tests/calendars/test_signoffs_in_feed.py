"""Sign-off deadlines in the feeds: when, what is missing, the personal feed, visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import DEFAULT_MEANING
from releases import services
from tests.approvals.conftest import make_user, walk
from tests.conftest import PASSWORD

from .conftest import HOST, events_by_uid, parse_strictly

pytestmark = pytest.mark.django_db


@pytest.fixture
def priya(db):
    from releases import roles

    return make_user("priya", roles.PRODUCT_APPROVERS)


@pytest.fixture
def frozen(make_release, manager, alice):
    """``frozen(gate=None, **fields)``: a release awaiting sign-off (scope frozen), with a
    go/no-go milestone at ``gate`` if given."""

    def make(gate=None, **fields):
        release = make_release(**fields)
        services.scope_item_create(
            actor=manager, release=release, title="Saved cards", ticket_key="PAY-1", owner=alice
        )
        if gate is not None:
            services.milestone_create(actor=manager, release=release, kind="go_no_go", at=gate)
        return walk(release, manager, "planned", "scope_frozen")

    return make


def signoff_events(response) -> dict:
    assert response.status_code == 200
    events = events_by_uid(parse_strictly(response.content))
    return {uid: event for uid, event in events.items() if uid.startswith("signoff-deadline-")}


def sign(user, release, role: str) -> None:
    from approvals import services as approvals

    approvals.signoff_record(
        actor=user,
        release=release,
        role=role,
        decision="approve",
        meaning=DEFAULT_MEANING[role],
        password=PASSWORD,
    )


def test_a_release_awaiting_sign_off_has_a_deadline_at_its_go_no_go(
    feed, make_token, manager, priya, frozen, soon
):
    gate = soon - timedelta(days=1)
    release = frozen(gate=gate, name="Payments", version="4.3")
    make_token_raw = make_token(manager)
    uid = f"signoff-deadline-{release.pk}@{HOST}"
    event = signoff_events(feed(make_token_raw))[uid]
    assert str(event["SUMMARY"]) == "Payments 4.3 — sign-off deadline"
    assert event.decoded("DTSTART") == gate
    description = str(event["DESCRIPTION"])
    assert "Product: 0 of 1 approvals, missing" in description
    assert "Legal: 0 of 1 approvals, missing" in description
    assert str(event["URL"]).endswith(f"/releases/{release.pk}/#signoffs")
    sequence = event["SEQUENCE"]

    sign(priya, release, "product")
    signed = signoff_events(feed(make_token_raw))[uid]
    assert "Product" not in str(signed["DESCRIPTION"])
    assert "Legal: 0 of 1" in str(signed["DESCRIPTION"])
    assert signed["SEQUENCE"] > sequence


def test_without_a_go_no_go_the_deadline_is_the_go_live(feed, make_token, manager, frozen, soon):
    release = frozen()
    event = signoff_events(feed(make_token(manager)))[f"signoff-deadline-{release.pk}@{HOST}"]
    assert event.decoded("DTEND") == soon
    assert "due by the go-live" in str(event["DESCRIPTION"])


def test_a_stale_approval_is_named_in_the_deadline(feed, make_token, manager, priya, frozen):
    release = frozen()
    sign(priya, release, "product")
    services.release_update(actor=manager, release=release, rollback_plan="Flip the flag back.")
    event = signoff_events(feed(make_token(manager)))[f"signoff-deadline-{release.pk}@{HOST}"]
    assert "stale: Priya Tester signed an earlier version" in str(event["DESCRIPTION"])


def test_releases_not_awaiting_sign_off_have_no_deadline(feed, make_token, manager, make_release):
    make_release()  # draft
    assert signoff_events(feed(make_token(manager))) == {}


def test_the_personal_feed_holds_the_users_pending_sign_offs(
    feed, make_token, manager, priya, frozen, alice
):
    release = frozen()
    uid = f"signoff-deadline-{release.pk}@{HOST}"
    raw = make_token(priya, mine=True)
    assert set(signoff_events(feed(raw))) == {uid}
    etag = feed(raw)["ETag"]
    sign(priya, release, "product")
    after = feed(raw, headers={"If-None-Match": etag})
    assert after.status_code == 200  # her sign-off changed the feed
    assert signoff_events(after) == {}
    # Alice is in none of the signing groups, and neither manages nor watches it.
    assert signoff_events(feed(make_token(alice), mine="1")) == {}
    release.watchers.add(alice)
    assert set(signoff_events(feed(make_token(alice), mine="1"))) == {uid}


def test_an_outsiders_token_does_not_see_a_private_teams_sign_off_deadline(
    feed, make_token, manager, payments, alice, outsider, frozen
):
    payments.is_private = True
    payments.save()
    release = frozen()
    uid = f"signoff-deadline-{release.pk}@{HOST}"
    assert uid in signoff_events(feed(make_token(alice)))
    assert signoff_events(feed(make_token(outsider))) == {}
    assert signoff_events(feed(make_token(outsider), release=str(release.pk))) == {}
    assert signoff_events(feed(make_token(outsider), kind="signoff_deadline")) == {}


def test_the_deadlines_cost_the_same_queries_for_one_and_several_releases(
    feed, make_token, manager, frozen
):
    frozen()
    raw = make_token(manager)
    feed(raw)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = feed(raw)
            return len(captured), response.content.count(b"BEGIN:VEVENT")

    few, events = count()
    for _ in range(4):
        frozen()
    many, more = count()
    assert more > events and many == few
