"""The issue's bad-input list through the API: each refused with a 400 naming the field, and
nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from releases import services


@pytest.fixture
def client(api, manager):
    return api.as_user(manager)


def release_body(soon, **extra):
    body = {"name": "Payments 4.3", "version": "4.3", "team": "payments", "go_live": soon}
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in (body | extra).items()
    }


def assert_refused(response, field, stored, before, fragment=""):
    assert response.status_code == 400, response.data
    assert field in response.data, response.data
    assert fragment in " ".join(str(m) for m in response.data[field])
    assert stored() == before


def test_it_refuses_a_window_ending_before_the_go_live(client, payments, soon, stored):
    before = stored()
    response = client.post(
        "/api/v1/releases/", release_body(soon, window_end=soon - timedelta(hours=1))
    )
    assert_refused(response, "window_end", stored, before, "must end after the go-live")


def test_it_refuses_a_window_ending_at_the_go_live_on_update(client, make_release, soon, stored):
    release = make_release()
    before = stored()
    response = client.patch(f"/api/v1/releases/{release.pk}/", {"window_end": soon.isoformat()})
    assert_refused(response, "window_end", stored, before, "must end after the go-live")


def test_it_refuses_a_freeze_ending_before_it_starts(client, soon, stored):
    before = stored()
    response = client.post(
        "/api/v1/freeze-windows/",
        {"name": "F", "start": soon.isoformat(), "end": (soon - timedelta(days=1)).isoformat()},
    )
    assert_refused(response, "end", stored, before, "must end after it starts")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (
            "/api/v1/releases/",
            {"name": "P", "version": "1", "team": "payments", "go_live": "2030-01-10T10:00:00"},
            "go_live",
        ),
        (
            "/api/v1/releases/",
            {
                "name": "P",
                "version": "1",
                "team": "payments",
                "go_live": "2030-01-10T10:00:00Z",
                "window_end": "2030-01-10T12:00",
            },
            "window_end",
        ),
        (
            "/api/v1/freeze-windows/",
            {"name": "F", "start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00Z"},
            "start",
        ),
    ],
)
def test_it_refuses_a_naive_datetime_asking_for_an_offset(
    client, payments, stored, url, body, field
):
    before = stored()
    response = client.post(url, body)
    assert_refused(response, field, stored, before, "Include a UTC offset")


def test_it_refuses_a_naive_milestone_time(client, make_release, stored):
    release = make_release()
    before = stored()
    response = client.post(
        "/api/v1/milestones/",
        {"release": release.pk, "kind": "go_no_go", "at": "2020-01-01T10:00:00"},
    )
    assert_refused(response, "at", stored, before, "Include a UTC offset")


def test_it_refuses_an_unknown_team(client, payments, soon, stored):
    before = stored()
    response = client.post("/api/v1/releases/", release_body(soon, team="no-such-team"))
    assert_refused(response, "team", stored, before, "no-such-team")
    response = client.post(
        "/api/v1/freeze-windows/",
        {
            "name": "F",
            "start": soon.isoformat(),
            "end": soon + timedelta(days=1),
            "team": "no-such-team",
        },
    )
    assert_refused(response, "team", stored, before)


def test_it_refuses_a_dependency_on_itself_and_a_cycle(client, make_release, stored):
    a, b = make_release(name="A"), make_release(name="B")
    c = make_release(name="C")
    client.post("/api/v1/dependencies/", {"release": a.pk, "depends_on": b.pk})
    client.post("/api/v1/dependencies/", {"release": b.pk, "depends_on": c.pk})
    before = stored()

    itself = client.post("/api/v1/dependencies/", {"release": a.pk, "depends_on": a.pk})
    cycle = client.post("/api/v1/dependencies/", {"release": c.pk, "depends_on": a.pk})

    assert_refused(itself, "depends_on", stored, before, "cannot depend on itself")
    assert_refused(cycle, "depends_on", stored, before, "A → B → C → A")


@pytest.mark.parametrize(
    ("field", "offset"),
    [("at", timedelta(minutes=1)), ("date", timedelta(days=1))],
)
def test_it_refuses_a_milestone_after_the_go_live(
    client, make_release, soon, stored, field, offset
):
    release = make_release()
    before = stored()
    value = soon + offset
    response = client.post(
        "/api/v1/milestones/",
        {
            "release": release.pk,
            "kind": "code_freeze",
            field: value.isoformat() if field == "at" else str(value.date()),
        },
    )
    assert_refused(response, field, stored, before, "would fall after the go-live")


def test_it_refuses_moving_the_go_live_before_a_milestone(
    client, make_release, manager, soon, stored
):
    release = make_release()
    services.milestone_create(
        actor=manager, release=release, kind="go_no_go", at=soon - timedelta(hours=1)
    )
    before = stored()
    response = client.patch(
        f"/api/v1/releases/{release.pk}/", {"go_live": (soon - timedelta(hours=2)).isoformat()}
    )
    assert_refused(response, "go_live", stored, before, "“Go/no-go”")


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", 200), ("version", 50), ("description", 10_000), ("rollback_plan", 10_000)],
)
def test_it_refuses_an_oversized_release_string(client, payments, soon, stored, field, limit):
    before = stored()
    response = client.post("/api/v1/releases/", release_body(soon, **{field: "x" * (limit + 1)}))
    assert_refused(response, field, stored, before, f"no more than {limit} characters")


LONG = "x" * 201

# An oversized string on every resource: id -> (who posts, a builder taking the release and
# giving ``(url, body, the field the 400 names, a fragment of its message)``).
OVERSIZED = {
    "milestone-title": (
        "manager",
        lambda release: (
            "/api/v1/milestones/",
            {"release": release.pk, "kind": "custom", "title": LONG, "date": "2020-01-01"},
            "title",
            "no more than",
        ),
    ),
    "scope-item-title": (
        "manager",
        lambda release: (
            "/api/v1/scope-items/",
            {"release": release.pk, "title": LONG},
            "title",
            "no more than",
        ),
    ),
    "scope-item-ticket-key": (
        "manager",
        lambda release: (
            "/api/v1/scope-items/",
            {"release": release.pk, "title": "t", "ticket_key": LONG},
            "ticket_key",
            "no more than",
        ),
    ),
    "dependency-note": (
        "manager",
        lambda release: (
            "/api/v1/dependencies/",
            {"release": release.pk, "depends_on": release.pk, "note": LONG},
            "note",
            "no more than",
        ),
    ),
    "freeze-window-name": (
        "manager",
        lambda release: (
            "/api/v1/freeze-windows/",
            {"name": LONG, "start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z"},
            "name",
            "no more than",
        ),
    ),
    "transition-reason": (
        "manager",
        lambda release: (
            f"/api/v1/releases/{release.pk}/transition/",
            {"to_state": "cancelled", "reason": "r" * 2001},
            "reason",
            "no more than",
        ),
    ),
    # Only administrators create teams.
    "team-name": (
        "admin",
        lambda release: ("/api/v1/teams/", {"name": "T" * 101, "slug": "t"}, "name", ""),
    ),
}


@pytest.mark.parametrize("case", list(OVERSIZED))
def test_it_refuses_oversized_strings_on_every_resource(api, make_release, stored, request, case):
    persona, build = OVERSIZED[case]
    release = make_release()
    client = api.as_user(request.getfixturevalue(persona))
    before = stored()
    url, body, field, fragment = build(release)
    assert_refused(client.post(url, body), field, stored, before, fragment)


def test_it_refuses_an_oversized_string_on_update(client, make_release, stored):
    release = make_release()
    before = stored()
    response = client.patch(f"/api/v1/releases/{release.pk}/", {"version": "9" * 51})
    assert_refused(response, "version", stored, before, "no more than 50 characters")


def test_it_refuses_a_duplicate_version_of_a_team(client, make_release, soon, stored):
    make_release(version="4.3")
    before = stored()
    response = client.post("/api/v1/releases/", release_body(soon, version="4.3"))
    assert response.status_code == 400
    assert "Team and Version already exists" in str(response.data)
    assert stored() == before
