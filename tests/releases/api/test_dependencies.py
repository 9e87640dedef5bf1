"""Release dependencies through the API: create, read from both sides, delete, and cycles
refused with the whole cycle named."""

from __future__ import annotations

import itertools

from releases import services
from releases.models import ReleaseDependency

URL = "/api/v1/dependencies/"


def link(client, release, depends_on, kind="needs"):
    return client.post(URL, {"release": release.pk, "depends_on": depends_on.pk, "kind": kind})


def test_it_creates_a_dependency_and_lists_it_from_both_sides(api, make_release, manager, search):
    payments = make_release(name="Payments 4.3")
    search_release = make_release(name="Search 2.1", team=search)
    client = api.as_user(manager)

    created = link(client, payments, search_release)

    assert created.status_code == 201, created.data
    assert created.data["release_name"] == "Payments 4.3"
    assert created.data["depends_on_name"] == "Search 2.1"
    assert created.data["kind"] == "needs"
    needs = client.get(URL, {"release": payments.pk}).data["results"]
    needed_by = client.get(URL, {"depends_on": search_release.pk}).data["results"]
    assert [d["id"] for d in needs] == [created.data["id"]]
    assert [d["id"] for d in needed_by] == [created.data["id"]]
    assert client.get(URL, {"release": search_release.pk}).data["count"] == 0


def test_it_defaults_to_needs_and_accepts_ships_together(api, make_release, manager):
    a, b, c = make_release(), make_release(), make_release()
    client = api.as_user(manager)
    plain = client.post(URL, {"release": a.pk, "depends_on": b.pk})
    together = link(client, a, c, kind="together")
    assert plain.data["kind"] == "needs"
    assert together.data["kind"] == "together"
    assert client.get(URL, {"kind": "together"}).data["count"] == 1


def test_it_deletes_a_dependency(api, make_release, manager):
    a, b = make_release(), make_release()
    dependency = services.dependency_create(actor=manager, release=a, depends_on=b)
    response = api.as_user(manager).delete(f"{URL}{dependency.pk}/")
    assert response.status_code == 204
    assert not ReleaseDependency.objects.exists()


def test_it_refuses_a_two_release_cycle_naming_it(api, make_release, manager, stored):
    payments = make_release(name="Payments 4.3")
    search = make_release(name="Search 2.1")
    client = api.as_user(manager)
    link(client, search, payments)
    before = stored()

    response = link(client, payments, search)

    assert response.status_code == 400
    assert (
        "This would make the cycle Search 2.1 → Payments 4.3 → Search 2.1"
        in response.data["depends_on"][0]
    )
    assert stored() == before


def test_it_refuses_a_three_release_cycle_naming_the_whole_cycle(
    api, make_release, manager, stored
):
    a, b, c = make_release(name="A"), make_release(name="B"), make_release(name="C")
    client = api.as_user(manager)
    link(client, a, b)
    link(client, b, c)
    before = stored()

    response = link(client, c, a)

    assert response.status_code == 400
    assert "This would make the cycle A → B → C → A" in response.data["depends_on"][0]
    assert stored() == before


def test_it_refuses_a_long_cycle_of_ten_releases_naming_every_one(
    api, make_release, manager, stored
):
    chain = [make_release(name=f"R{number}") for number in range(10)]
    client = api.as_user(manager)
    for release, depends_on in itertools.pairwise(chain):
        assert link(client, release, depends_on).status_code == 201
    before = stored()

    response = link(client, chain[-1], chain[0])

    assert response.status_code == 400
    cycle = " → ".join([*(f"R{n}" for n in range(10)), "R0"])
    assert f"This would make the cycle {cycle};" in response.data["depends_on"][0]
    assert stored() == before


def test_it_refuses_a_dependency_on_itself(api, make_release, manager, stored):
    release = make_release()
    before = stored()
    response = link(api.as_user(manager), release, release)
    assert response.status_code == 400
    assert response.data["depends_on"] == ["A release cannot depend on itself."]
    assert stored() == before


def test_it_refuses_an_unknown_release_naming_the_field(api, make_release, manager, stored):
    release = make_release()
    before = stored()
    response = api.as_user(manager).post(URL, {"release": release.pk, "depends_on": 424242})
    assert response.status_code == 400
    assert "depends_on" in response.data
    assert stored() == before


def test_it_has_no_update_endpoint(api, make_release, manager):
    a, b = make_release(), make_release()
    dependency = services.dependency_create(actor=manager, release=a, depends_on=b)
    response = api.as_user(manager).patch(f"{URL}{dependency.pk}/", {"kind": "together"})
    assert response.status_code == 405
