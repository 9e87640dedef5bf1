"""Issue 16, item 1: the release page's dependency picker costs the same whatever the number of
releases. It shows a bounded search (``?dependency_q=``, no JavaScript needed) instead of every
release, and the form still accepts any release the user may depend on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from releases.forms import DEPENDENCY_MATCHES
from releases.models import Release, ReleaseDependency, ReleaseState, Team

pytestmark = pytest.mark.django_db

RADIO = re.compile(r'<input type="radio" name="depends_on" value="(\d+)"')


def offered(response) -> list[int]:
    assert response.status_code in (200, 400)
    return [int(pk) for pk in RADIO.findall(response.content.decode())]


def bulk(count: int, team: Team, soon, prefix: str = "Bulk", **fields) -> list[Release]:
    # Built in bulk: these tests are about reading, and service calls would only be slower.
    start = Release.objects.count()
    return Release.objects.bulk_create(
        Release(
            name=f"{prefix} {n}",
            version=f"{prefix.lower()}-{n}",
            team=team,
            go_live=soon + timedelta(hours=n),
            **fields,
        )
        for n in range(start, start + count)
    )


@pytest.fixture
def own(make_release, alice, soon):
    """Payments 9.0, managed by alice (a team member, who sees no private team)."""
    return make_release(name="Payments 9.0", manager=alice, go_live=soon + timedelta(days=60))


@pytest.fixture
def mobile(db) -> Team:
    return Team.objects.create(name="Mobile", slug="mobile", is_private=True)


def page(client, release: Release, **params):
    return client.get(reverse("releases:detail", args=[release.pk]), params)


def test_it_offers_a_bounded_number_of_releases_with_60_to_choose_from(
    client, manager, own, payments, soon
):
    bulk(60, payments, soon)
    client.force_login(manager)
    response = page(client, own)
    assert len(offered(response)) == DEPENDENCY_MATCHES
    assert "The next 10 to ship; search to find others." in response.content.decode()


def test_the_release_page_runs_the_same_queries_for_5_and_60_other_releases(
    client, manager, own, payments, soon
):
    client.force_login(manager)

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = page(client, own)
        return len(ctx.captured_queries), len(response.content)

    bulk(5, payments, soon)
    few, few_bytes = queries()
    bulk(55, payments, soon)
    many, many_bytes = queries()
    assert few == many
    # Five more radio buttons at most (the page had five, it now has ten): not 55 more.
    assert many_bytes - few_bytes < 5 * 400


def test_the_plain_search_finds_by_name_or_version(client, manager, own, payments, search, soon):
    bulk(30, payments, soon)
    wanted = bulk(3, search, soon, prefix="Indexer")
    client.force_login(manager)
    response = page(client, own, dependency_q="indexer")
    assert offered(response) == [release.pk for release in wanted]
    assert "Releases matching “indexer”." in response.content.decode()
    assert offered(page(client, own, dependency_q=wanted[1].version)) == [wanted[1].pk]


def test_the_plain_search_says_when_there_are_more_matches(client, manager, own, payments, soon):
    bulk(15, payments, soon)
    client.force_login(manager)
    response = page(client, own, dependency_q="bulk")
    assert len(offered(response)) == DEPENDENCY_MATCHES
    assert "the first 10, refine the search to see others" in response.content.decode()


def test_the_plain_search_says_when_nothing_matches(client, manager, own):
    client.force_login(manager)
    response = page(client, own, dependency_q="nothing like it")
    assert offered(response) == []
    assert "No release still to ship matches “nothing like it”." in response.content.decode()


def test_it_never_offers_the_release_itself_or_shipped_or_cancelled_ones(
    client, manager, own, payments, soon
):
    [shipped] = bulk(1, payments, soon, prefix="Shipped", state=ReleaseState.RELEASED)
    [dropped] = bulk(1, payments, soon, prefix="Dropped", state=ReleaseState.CANCELLED)
    [rolled] = bulk(1, payments, soon, prefix="Rolled", state=ReleaseState.ROLLED_BACK)
    client.force_login(manager)
    assert offered(page(client, own, dependency_q="Payments 9")) == []
    assert offered(page(client, own, dependency_q="Shipped")) == []
    assert offered(page(client, own, dependency_q="Dropped")) == []
    assert offered(page(client, own, dependency_q="Rolled")) == [rolled.pk]
    assert shipped.pk not in offered(page(client, own)) and dropped.pk not in offered(
        page(client, own)
    )


def test_the_search_never_finds_a_private_release_for_an_outsider(client, alice, own, mobile, soon):
    [secret] = bulk(1, mobile, soon, prefix="Stealth")
    client.force_login(alice)
    response = page(client, own, dependency_q="Stealth")
    assert offered(response) == []
    assert secret.name not in response.content.decode()
    assert secret.pk not in offered(page(client, own))


def test_it_accepts_a_release_the_page_did_not_list(client, manager, own, payments, soon):
    """What the search-as-you-type found (over the API) is valid though the server did not
    render it: the field validates against every candidate, not against the ten shown."""
    *_, far = bulk(30, payments, soon)
    client.force_login(manager)
    assert far.pk not in offered(page(client, own))
    response = client.post(
        reverse("releases:dependency-add", args=[own.pk]), {"kind": "needs", "depends_on": far.pk}
    )
    assert response.status_code == 302
    assert ReleaseDependency.objects.filter(release=own, depends_on=far).exists()


def test_a_private_release_is_refused_as_one_that_does_not_exist(client, alice, own, mobile, soon):
    [secret] = bulk(1, mobile, soon, prefix="Stealth")
    client.force_login(alice)
    url = reverse("releases:dependency-add", args=[own.pk])
    private = client.post(url, {"kind": "needs", "depends_on": secret.pk}, follow=True)
    private_errors = private.context["dependency_form"].errors
    missing = client.post(url, {"kind": "needs", "depends_on": secret.pk + 1000}, follow=True)
    missing_errors = missing.context["dependency_form"].errors
    assert str(private_errors).replace(str(secret.pk), "N") == str(missing_errors).replace(
        str(secret.pk + 1000), "N"
    )
    assert secret.name not in private.content.decode()
    assert not ReleaseDependency.objects.exists()


def test_a_refused_form_keeps_the_chosen_release_on_screen(client, manager, own, payments, soon):
    *_, far = bulk(30, payments, soon)
    client.force_login(manager)
    response = client.post(
        reverse("releases:dependency-add", args=[own.pk]),
        {"kind": "sideways", "depends_on": far.pk},
        follow=True,
    )
    assert response.context["dependency_form"].errors["kind"]
    assert far.pk in offered(response)
    assert re.search(rf'value="{far.pk}"[^>]*checked', response.content.decode())
