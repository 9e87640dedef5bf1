"""The environment pages through Django's test client: the timeline, the booking form with its
conflict box, "my team's bookings" and an environment's page, as each persona.

Form errors come back with status 400 and the page again, a booking conflict with 409; state
changes are POST-only and checked on the server.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments import services
from environments.models import Booking, Environment, MaintenanceWindow, WaitlistEntry

from .conftest import HOUR, set_rules

pytestmark = pytest.mark.django_db


def local(moment: datetime) -> str:
    """How a browser's datetime-local input sends ``moment`` (in the current time zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def text(response) -> str:
    return unescape(response.content.decode())


def snapshot() -> list:
    return [
        list(Booking.objects.values_list("pk", "state", "start", "end")),
        list(WaitlistEntry.objects.values_list("pk", "state")),
        list(MaintenanceWindow.objects.values_list("pk", "start", "end")),
        list(Environment.objects.values_list("pk", "max_booking_minutes")),
    ]


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def held(book, bob, search, soon):
    """Search holds staging for a load test from ``soon`` for two hours."""
    return book(0, 2, actor=bob, team=search, purpose="Load test")


def booking_form(payments, soon, start=0, end=2, **overrides) -> dict:
    data = {
        "environment": "staging",
        "team": payments.pk,
        "release": "",
        "purpose": "Payments 4.3 regression",
        "start": local(soon + start * HOUR),
        "end": local(soon + end * HOUR),
    }
    return data | overrides


# --- Access ----------------------------------------------------------------------------------


PAGES = {"timeline": "/environments/?from={day}", "environment": "/environments/staging/"}
BOOKER_PAGES = {"book": "/environments/book/", "bookings": "/environments/bookings/"}
ANONYMOUS_PAGES = {
    "timeline": "/environments/",
    "environment": "/environments/staging/",
    **BOOKER_PAGES,
}
# Each write as its URL for the ``held`` booking.
ANONYMOUS_POSTS = {
    "book": lambda held: "/environments/book/",
    "waitlist": lambda held: "/environments/waitlist/",
    "cancel": lambda held: f"/environments/bookings/{held.pk}/cancel/",
    "maintenance": lambda held: "/environments/staging/maintenance/",
}
# Each write as ``(url, data)`` for the ``held`` booking and ``soon``.
OUTSIDER_POSTS = {
    "book": lambda held, soon: ("/environments/book/", {"environment": "staging", "purpose": "x"}),
    "waitlist": lambda held, soon: (
        "/environments/waitlist/",
        {"environment": "staging", "purpose": "x"},
    ),
    "extend": lambda held, soon: (
        f"/environments/bookings/{held.pk}/extend/",
        {"end": local(soon + 3 * HOUR)},
    ),
    "release": lambda held, soon: (f"/environments/bookings/{held.pk}/release/", {}),
    "cancel": lambda held, soon: (f"/environments/bookings/{held.pk}/cancel/", {}),
    "rules": lambda held, soon: ("/environments/staging/rules/", {"max_booking_minutes": 60}),
    "maintenance": lambda held, soon: ("/environments/staging/maintenance/", {"reason": "x"}),
}


@pytest.mark.parametrize("url", list(ANONYMOUS_PAGES.values()), ids=list(ANONYMOUS_PAGES))
def test_anonymous_visitors_are_sent_to_log_in(client, staging, held, url):
    response = client.get(url)
    assert response.status_code == 302, url
    assert response.url.startswith("/accounts/login/"), url


@pytest.mark.parametrize("post", list(ANONYMOUS_POSTS))
def test_anonymous_posts_are_sent_to_log_in_and_change_nothing(client, staging, held, post):
    url = ANONYMOUS_POSTS[post](held)
    assert client.post(url).status_code == 302, url
    assert Booking.objects.get().state == "confirmed"


@pytest.mark.parametrize("url", list(PAGES.values()), ids=list(PAGES))
@pytest.mark.parametrize("persona", ["alice", "manager", "outsider"])
def test_everyone_signed_in_reads_the_timeline_and_an_environment(
    signed_in, staging, held, persona, request, soon, url
):
    client = signed_in(request.getfixturevalue(persona))
    response = client.get(url.format(day=timezone.localdate(soon)))
    assert response.status_code == 200, url
    assert "Load test" in text(response)


@pytest.mark.parametrize("url", list(BOOKER_PAGES.values()), ids=list(BOOKER_PAGES))
def test_an_outsider_may_not_open_the_booking_pages(signed_in, outsider, held, staging, url):
    assert signed_in(outsider).get(url).status_code == 403, url


@pytest.mark.parametrize("post", list(OUTSIDER_POSTS))
def test_an_outsider_may_not_book_or_act_on_bookings(
    signed_in, outsider, held, staging, soon, post
):
    client = signed_in(outsider)
    before = snapshot()
    url, data = OUTSIDER_POSTS[post](held, soon)
    assert client.post(url, data).status_code == 403, url
    assert snapshot() == before


def test_an_outsider_is_not_offered_to_book_on_the_timeline(signed_in, outsider, held, staging):
    assert "Book an environment" not in text(signed_in(outsider).get("/environments/"))


def test_the_nav_links_to_the_environments(signed_in, alice):
    response = signed_in(alice).get("/environments/")
    assert '<a href="/environments/" aria-current="page">Environments</a>' in text(response)


# --- The timeline ----------------------------------------------------------------------------


def test_the_timeline_shows_bookings_by_team_maintenance_and_now(
    signed_in, alice, bob, staging, qa, held, soon
):
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 3 * HOUR, end=soon + 4 * HOUR, reason="DB"
    )
    client = signed_in(alice)
    week_of_soon = client.get("/environments/", {"from": timezone.localdate(soon).isoformat()})
    page = text(week_of_soon)
    assert page.count('class="lanes__row"') == 2  # qa and staging
    assert "slot slot--booking" in page
    assert "--team-color: #2b8a3e" in page  # Search's colour
    assert "Search: Load test, " in page
    assert "slot slot--maintenance" in page
    assert "Maintenance: DB" in page
    assert "lanes__now" not in page  # three weeks ahead: now is not in this week
    # The phone agenda lists the same, per environment.
    assert 'class="agenda__item agenda__item--booking ' in page

    this_week = text(client.get("/environments/"))
    assert "lanes__now" in this_week
    assert "Load test" not in this_week


def test_the_timeline_moves_by_a_week_or_two(signed_in, alice, staging):
    client = signed_in(alice)
    first = date(2030, 3, 4)
    week = text(client.get("/environments/", {"from": "2030-03-04"}))
    assert "4 – 10 Mar 2030" in week
    assert f'href="?from={first - timedelta(days=7)}&days=7" rel="prev"' in week
    assert f'href="?from={first + timedelta(days=7)}&days=7" rel="next"' in week
    fortnight = text(client.get("/environments/", {"from": "2030-03-04", "days": "14"}))
    assert "4 – 17 Mar 2030" in fortnight
    assert f'href="?from={first + timedelta(days=14)}&days=14" rel="next"' in fortnight


def test_a_one_day_timeline_is_titled_with_its_day(signed_in, alice, staging):
    one_day = text(signed_in(alice).get("/environments/", {"from": "2030-03-05", "days": "1"}))
    assert "Tue 5 Mar 2030" in one_day
    assert "5 – 5 Mar" not in one_day


@pytest.mark.parametrize("params", [{"from": "yesterday"}, {"days": "365"}, {"from": "0001-01-01"}])
def test_the_timeline_ignores_nonsense_in_its_query(signed_in, alice, staging, params):
    response = signed_in(alice).get("/environments/", params)
    assert response.status_code == 200
    assert response.context["timeline"].days_count == 7


def test_the_timeline_runs_a_fixed_number_of_queries(
    signed_in, alice, bob, manager, search, payments, soon
):
    client = signed_in(alice)
    url = f"/environments/?from={timezone.localdate(soon).isoformat()}&days=14"

    def add(count: int, offset: int) -> None:
        for n in range(offset, offset + count):
            env = Environment.objects.create(name=f"env {n}", slug=f"env-{n}", kind="test")
            for k in range(3):
                actor, team = (alice, payments) if k % 2 else (bob, search)
                services.booking_create(
                    actor=actor, environment=env, team=team, purpose=f"run {k}",
                    start=soon + k * HOUR, end=soon + (k + 1) * HOUR,
                )  # fmt: skip
            services.maintenance_window_create(
                actor=manager, environment=env, start=soon + 5 * HOUR, end=soon + 6 * HOUR,
                reason="m",
            )  # fmt: skip

    add(2, 0)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(20, 2)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many) == len(few)
    assert text(response).count("slot slot--booking") == 22 * 3


# --- Booking ---------------------------------------------------------------------------------


def test_the_booking_form_offers_only_the_user_s_teams_and_is_pre_filled(
    signed_in, alice, search, staging, soon
):
    start = local(soon)
    response = signed_in(alice).get(
        "/environments/book/", {"environment": "staging", "start": start}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.fields["team"].queryset) == [alice.teams.get()]
    assert form["team"].value() == alice.teams.get().pk  # the only team is chosen
    assert form["environment"].value() == "staging"
    # Shown in the browser's picker format, in the current time zone.
    assert form["start"].value().strftime("%Y-%m-%dT%H:%M") == start
    assert form["end"].value().strftime("%Y-%m-%dT%H:%M") == local(soon + 2 * HOUR)


def test_a_one_team_user_finds_their_team_already_chosen(signed_in, alice, payments, staging):
    page = text(signed_in(alice).get("/environments/book/"))
    assert f'<option value="{payments.pk}" selected>Payments</option>' in page
    assert "Choose a team" not in page  # nothing else to choose


def test_a_user_of_several_teams_chooses_one(signed_in, manager, payments, search, staging):
    page = text(signed_in(manager).get("/environments/book/"))
    assert "Choose a team" in page
    assert "selected>Payments" not in page and "selected>Search" not in page


def test_alice_books_staging_from_the_form(signed_in, alice, payments, staging, soon):
    response = signed_in(alice).post("/environments/book/", booking_form(payments, soon))
    assert response.status_code == 302
    assert response.url == f"/environments/?from={timezone.localdate(soon).isoformat()}"
    booking = Booking.objects.get()
    assert (booking.team, booking.start, booking.end) == (payments, soon, soon + 2 * HOUR)
    assert booking.booked_by == alice
    page = text(signed_in(alice).get(response.url))
    assert "Booked staging for Payments: " in page


def test_a_conflict_names_the_holder_and_books_the_suggested_slot_in_one_click(
    signed_in, alice, payments, held, soon
):
    client = signed_in(alice)
    before = snapshot()
    response = client.post("/environments/book/", booking_form(payments, soon, 1, 3))
    assert response.status_code == 409
    assert snapshot() == before
    page = text(response)
    holder_window = f"{timezone.localtime(soon):%a %-d %b}, {local(soon)[-5:]}–"
    assert "staging is taken at that time" in page
    assert "holds it for <strong>“Load test”</strong>, " + holder_window in page
    assert "(booked by Bob)" in page
    suggested = response.context["conflict"]["suggested"]
    assert suggested["length"] == "2 h"
    assert "The next free 2 h slot is <strong>" in page
    assert "Book this slot instead" in page
    assert "Join the waitlist" in page

    # The button posts the suggested slot, exactly, with the rest of the form as it was.
    fields = suggested["fields"]
    assert fields["start"] == (soon + 2 * HOUR).isoformat()
    booked = client.post("/environments/book/", fields)
    assert booked.status_code == 302
    mine = Booking.objects.get(team=payments)
    assert (mine.start, mine.end, mine.purpose) == (
        soon + 2 * HOUR,
        soon + 4 * HOUR,
        "Payments 4.3 regression",
    )


def test_a_conflict_offers_the_waitlist(signed_in, alice, payments, held, soon):
    client = signed_in(alice)
    response = client.post("/environments/book/", booking_form(payments, soon, 0, 2))
    assert response.status_code == 409
    joined = client.post("/environments/waitlist/", response.context["conflict"]["waitlist"])
    assert joined.status_code == 302
    assert joined.url == "/environments/bookings/"
    entry = WaitlistEntry.objects.get()
    assert (entry.team, entry.start, entry.end, entry.state) == (
        payments,
        soon,
        soon + 2 * HOUR,
        "waiting",
    )
    page = text(client.get("/environments/bookings/"))
    assert "Payments is on the waitlist for staging" in page
    assert "Withdraw" in page


def test_joining_the_waitlist_for_a_free_slot_comes_back_with_the_reason(
    signed_in, alice, payments, staging, soon
):
    client = signed_in(alice)
    data = booking_form(payments, soon)
    response = client.post("/environments/waitlist/", data)
    assert response.status_code == 302
    assert response.url.startswith("/environments/book/?environment=staging")
    assert "book it instead of joining the waitlist" in text(client.get(response.url))
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"end": "start"}, "end", "must end after it starts"),
        ({"start": "", "end": ""}, "start", "This field is required."),
        ({"purpose": "x" * 201}, "purpose", "at most 200 characters"),
        ({"environment": "nope"}, "environment", "Select a valid choice"),
    ],
)
def test_the_form_refuses_bad_input_on_the_field(
    signed_in, alice, payments, staging, soon, overrides, field, fragment
):
    data = booking_form(payments, soon)
    if overrides.get("end") == "start":
        overrides = {"end": data["start"]}
    response = signed_in(alice).post("/environments/book/", data | overrides)
    assert response.status_code == 400
    assert fragment in " ".join(response.context["form"].errors[field])
    assert not Booking.objects.exists()


@pytest.mark.parametrize("moment", ["9999-12-31T23:30", "0001-01-01T00:30"])
def test_the_form_refuses_the_ends_of_the_calendar_instead_of_overflowing(
    signed_in, alice, payments, staging, soon, settings, moment
):
    # New York is behind UTC and Berlin ahead: either end of the calendar overflows in UTC.
    settings.TIME_ZONE = "America/New_York" if moment.startswith("9") else "Europe/Berlin"
    client = signed_in(alice)
    response = client.post("/environments/book/", booking_form(payments, soon) | {"end": moment})
    assert response.status_code == 400
    assert "between the years 1000 and 9998" in response.context["form"].errors["end"][0]
    assert client.get("/environments/book/", {"start": moment}).status_code == 200
    assert not Booking.objects.exists()


def test_the_form_refuses_a_team_the_user_is_not_in(signed_in, alice, search, staging, soon):
    response = signed_in(alice).post("/environments/book/", booking_form(search, soon))
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["team"][0]
    assert not Booking.objects.exists()


def test_the_form_refuses_a_booking_longer_than_allowed(signed_in, alice, payments, staging, soon):
    set_rules(staging, max_booking_minutes=60)
    response = signed_in(alice).post("/environments/book/", booking_form(payments, soon, 0, 2))
    assert response.status_code == 400
    assert "at most 1 h at a time" in response.context["form"].errors["end"][0]
    assert not Booking.objects.exists()


def test_the_form_reads_times_in_the_configured_zone_and_refuses_a_missing_hour(
    signed_in, alice, payments, staging, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    client = signed_in(alice)
    # The last Sunday of March next year: Europe's spring-forward night.
    spring = date(timezone.localdate().year + 1, 3, 31)
    spring -= timedelta(days=(spring.weekday() + 1) % 7)
    # 02:30 does not exist in Berlin on the spring-forward night.
    response = client.post(
        "/environments/book/",
        booking_form(payments, timezone.now())
        | {"start": f"{spring}T02:30", "end": f"{spring}T05:00"},
    )
    assert response.status_code == 400
    assert "Europe/Berlin" in response.context["form"].errors["start"][0]
    assert not Booking.objects.exists()
    # 01:00 to 04:00 that night is two hours of real time, stored in UTC.
    booked = client.post(
        "/environments/book/",
        booking_form(payments, timezone.now())
        | {"start": f"{spring}T01:00", "end": f"{spring}T04:00"},
    )
    assert booked.status_code == 302
    booking = Booking.objects.get()
    assert booking.end - booking.start == 2 * HOUR
    assert booking.start.astimezone(timezone.get_fixed_timezone(0)).hour == 0


# --- My team's bookings ----------------------------------------------------------------------


def test_my_bookings_lists_my_teams_bookings_and_waitlist(
    signed_in, alice, bob, search, book, held, staging, qa, soon
):
    mine = book(3, 4, purpose="Regression")
    book(0, 1, actor=bob, team=search, environment=qa, purpose="Search only")
    services.waitlist_join(
        actor=alice, environment=staging, team=alice.teams.get(), start=soon,
        end=soon + HOUR, purpose="Queued",
    )  # fmt: skip
    page = text(signed_in(alice).get("/environments/bookings/"))
    assert f'id="booking-{mine.pk}"' in page
    assert "Search only" not in page
    assert "Load test" not in page  # Search's, not ours
    assert "Queued" in page
    assert page.count('name="csrfmiddlewaretoken"') >= 4  # extend, cancel, withdraw, logout


def test_extend_release_and_cancel_from_my_bookings(signed_in, alice, bob, search, book, soon):
    client = signed_in(alice)
    booking = book(0, 1)
    book(3, 4, actor=bob, team=search, purpose="Load test")

    extended = client.post(
        f"/environments/bookings/{booking.pk}/extend/", {"end": local(soon + 2 * HOUR)}
    )
    assert extended.status_code == 302
    assert Booking.objects.get(pk=booking.pk).end == soon + 2 * HOUR

    clash = client.post(
        f"/environments/bookings/{booking.pk}/extend/", {"end": local(soon + 5 * HOUR)},
        follow=True,
    )  # fmt: skip
    assert "booked by Search for “Load test”" in text(clash)
    assert Booking.objects.get(pk=booking.pk).end == soon + 2 * HOUR

    empty = client.post(f"/environments/bookings/{booking.pk}/extend/", {"end": ""}, follow=True)
    assert "This field is required." in text(empty)

    released = client.post(f"/environments/bookings/{booking.pk}/release/", follow=True)
    assert "staging given back (cancelled)" in text(released)  # not started: cancelled
    assert Booking.objects.get(pk=booking.pk).state == "cancelled"

    again = book(5, 6)
    cancelled = client.post(f"/environments/bookings/{again.pk}/cancel/", follow=True)
    assert "cancelled" in text(cancelled)
    assert Booking.objects.get(pk=again.pk).state == "cancelled"
    assert "Recently ended" in text(cancelled)


def test_a_started_booking_is_released_early(signed_in, alice, payments, qa):
    booking = services.booking_acquire(
        actor=alice, environment=qa, team=payments, minutes=30, purpose="CI"
    )
    client = signed_in(alice)
    assert "Release now" in text(client.get("/environments/bookings/"))
    response = client.post(f"/environments/bookings/{booking.pk}/release/", follow=True)
    assert "qa given back (released early)" in text(response)


def test_actions_are_post_only_and_refuse_other_teams(signed_in, alice, bob, search, book, qa):
    theirs = book(0, 1, actor=bob, team=search, environment=qa)
    client = signed_in(alice)
    for action in ("extend", "release", "cancel"):
        url = f"/environments/bookings/{theirs.pk}/{action}/"
        assert client.post(url).status_code == 403
    assert Booking.objects.get(pk=theirs.pk).state == "confirmed"
    mine = book(2, 3)
    response = client.get(f"/environments/bookings/{mine.pk}/cancel/")
    assert response.status_code == 302
    assert Booking.objects.get(pk=mine.pk).state == "confirmed"
    assert client.post("/environments/bookings/999999/cancel/").status_code == 404


def test_a_waitlist_entry_is_withdrawn(signed_in, alice, bob, held, staging, soon):
    entry = services.waitlist_join(
        actor=alice, environment=staging, team=alice.teams.get(), start=soon,
        end=soon + HOUR, purpose="Queued",
    )  # fmt: skip
    assert signed_in(bob).post(f"/environments/waitlist/{entry.pk}/withdraw/").status_code == 403
    response = signed_in(alice).post(f"/environments/waitlist/{entry.pk}/withdraw/", follow=True)
    assert "Payments left the waitlist for staging" in text(response)
    assert WaitlistEntry.objects.get().state == "withdrawn"


# --- An environment's page -------------------------------------------------------------------


def test_the_environment_page_shows_deployment_rules_bookings_maintenance_and_history(
    signed_in, alice, bob, staging, held, make_release, soon
):
    release = make_release(name="Payments 4.3", version="4.3.0")
    services.deployment_report(actor=alice, environment=staging, version="4.2.9")
    services.deployment_report(actor=alice, environment=staging, version="", release=release)
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 5 * HOUR, end=soon + 6 * HOUR, reason="DB"
    )
    set_rules(staging, max_booking_minutes=240, min_notice_minutes=90)
    response = signed_in(alice).get("/environments/staging/")
    page = text(response)
    assert '<span class="version">4.3.0</span>' in page
    assert "Payments 4.3" in page
    assert "Longest booking</dt><dd>4 h</dd>" in page
    assert "Minimum notice</dt><dd>1 h 30 min</dd>" in page
    assert f'id="booking-{held.pk}"' in page
    assert "Load test" in page
    assert "DB" in page
    assert page.index("4.3.0") < page.index("4.2.9")  # newest first
    assert "Schedule maintenance" not in page  # Alice's team does not own staging
    assert signed_in(alice).get("/environments/nope/").status_code == 404


def test_owners_schedule_maintenance_and_change_rules_on_the_page(
    signed_in, bob, alice, staging, soon
):
    client = signed_in(bob)
    assert "Schedule maintenance" in text(client.get("/environments/staging/"))
    response = client.post(
        "/environments/staging/maintenance/",
        {"start": local(soon), "end": local(soon + HOUR), "reason": "DB upgrade"},
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert (window.start, window.end) == (soon, soon + HOUR)

    bad = client.post(
        "/environments/staging/maintenance/",
        {"start": local(soon + HOUR), "end": local(soon), "reason": "x"},
    )
    assert bad.status_code == 400
    assert "must end after it starts" in bad.context["maintenance_form"].errors["end"][0]

    rules = client.post(
        "/environments/staging/rules/",
        {"bookable": "on", "max_booking_minutes": "120", "min_notice_minutes": "0"},
    )
    assert rules.status_code == 302
    staging.refresh_from_db()
    assert staging.max_booking_minutes == 120

    deleted = client.post(f"/environments/staging/maintenance/{window.pk}/delete/")
    assert deleted.status_code == 302
    assert not MaintenanceWindow.objects.exists()

    before = snapshot()
    other = signed_in(alice)
    assert (
        other.post("/environments/staging/rules/", {"max_booking_minutes": "5"}).status_code == 403
    )
    assert snapshot() == before


def test_a_private_team_s_release_is_not_named_on_the_pages(
    signed_in, outsider, alice, payments, make_release, staging, soon
):
    payments.is_private = True
    payments.save()
    release = make_release(name="Secret 1.0")
    services.booking_create(
        actor=alice, environment=staging, team=payments, release=release, purpose="Prep",
        start=soon, end=soon + HOUR,
    )  # fmt: skip
    services.deployment_report(actor=alice, environment=staging, version="1.0", release=release)
    assert "Secret 1.0" not in text(signed_in(outsider).get("/environments/staging/"))
    assert "Secret 1.0" in text(signed_in(alice).get("/environments/staging/"))


def test_times_show_in_the_configured_zone(signed_in, alice, book, settings, soon):
    settings.TIME_ZONE = "America/New_York"
    booking = book(0, 1)
    page = text(signed_in(alice).get("/environments/bookings/"))
    local_start = timezone.localtime(booking.start, timezone.get_current_timezone())
    assert f"{local_start:%H:%M}–" in page
    assert "America/New_York" in page
