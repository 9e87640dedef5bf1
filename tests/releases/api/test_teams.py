"""Teams through the API: anyone signed in reads them, administrators create them."""

from __future__ import annotations

from releases.models import Team


def test_it_lists_teams_with_their_members(api, alice, search, outsider):
    response = api.as_user(outsider).get("/api/v1/teams/")
    assert response.status_code == 200
    assert [(t["slug"], t["members"]) for t in response.data["results"]] == [
        ("payments", ["alice"]),
        ("search", []),
    ]


def test_it_retrieves_a_team_by_slug(api, payments, outsider):
    response = api.as_user(outsider).get("/api/v1/teams/payments/")
    assert response.status_code == 200
    assert response.data["name"] == "Payments"
    assert api.get("/api/v1/teams/nope/").status_code == 404


def test_it_lets_an_administrator_create_a_team(api, admin):
    response = api.as_user(admin).post(
        "/api/v1/teams/",
        {"name": "Mobile", "slug": "mobile", "contact": "mobile@example.com", "color": "#123456"},
    )
    assert response.status_code == 201, response.data
    team = Team.objects.get(slug="mobile")
    assert (team.name, team.contact, team.color) == ("Mobile", "mobile@example.com", "#123456")


def test_it_refuses_a_team_whose_slug_is_taken(api, admin, payments, stored):
    before = stored()
    response = api.as_user(admin).post("/api/v1/teams/", {"name": "Pay", "slug": "payments"})
    assert response.status_code == 400
    assert "slug" in response.data
    assert stored() == before


def test_it_refuses_a_team_to_a_release_manager(api, manager, stored):
    before = stored()
    response = api.as_user(manager).post("/api/v1/teams/", {"name": "Mobile", "slug": "mobile"})
    assert response.status_code == 403
    assert stored() == before


def test_a_private_team_is_missing_to_outsiders(api, alice, payments, search, outsider, manager):
    payments.is_private = True
    payments.save()
    listed = api.as_user(outsider).get("/api/v1/teams/")
    assert [t["slug"] for t in listed.data["results"]] == ["search"]
    assert api.as_user(outsider).get("/api/v1/teams/payments/").status_code == 404
    # Its members and those who see every team still read it.
    assert api.as_user(alice).get("/api/v1/teams/payments/").data["members"] == ["alice"]
    assert api.as_user(manager).get("/api/v1/teams/payments/").status_code == 200
