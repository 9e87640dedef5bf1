"""The release planning pages, driven through Django's test client as each persona.

Form errors come back with status 400 and the page again; state-changing requests are POST-only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from releases import services
from releases.models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    ScopeItem,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def local(moment: datetime) -> str:
    """How a browser's datetime-local input sends ``moment`` (in the current time zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def release_form(release: Release | None = None, **overrides) -> dict:
    data = {
        "name": "Payments 4.3",
        "version": "4.3",
        "team": "",
        "description": "Card tokens and faster refunds.",
        "manager": "",
        "go_live": "",
        "window_end": "",
        "strategy": "blue_green",
        "rollback_plan": "Switch traffic back to blue.",
        "rollback_rehearsed_on": "",
    }
    if release is not None:
        data.update(
            name=release.name,
            version=release.version,
            team=release.team_id,
            manager=release.manager_id or "",
            go_live=local(release.go_live),
            strategy=release.strategy,
        )
    data.update(overrides)
    return data


@pytest.fixture
def search_release(make_release, search, soon):
    return make_release(team=search, name="Search 2.1", version="2.1", go_live=soon)


@pytest.fixture
def release(make_release, manager, search_release, soon):
    """Payments 4.3: a code freeze, one scope item, and Search 2.1 needed first."""
    release = make_release(name="Payments 4.3", version="4.3", go_live=soon + timedelta(days=3))
    services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=soon.date() - timedelta(days=7)
    )
    services.scope_item_create(
        actor=manager,
        release=release,
        title="Card tokens",
        kind="feature",
        ticket_key="PAY-101",
        ticket_url="https://tickets.example.com/PAY-101",
    )
    services.dependency_create(actor=manager, release=release, depends_on=search_release)
    return release


@pytest.fixture
def freeze(manager, soon):
    return services.freeze_window_create(
        actor=manager,
        name="Year-end freeze",
        reason="Peak trading",
        start=soon + timedelta(days=10),
        end=soon + timedelta(days=20),
    )


@pytest.fixture
def world(make_release, release, search_release, freeze):
    return SimpleNamespace(
        release=release,
        other=search_release,
        unlinked=make_release(name="Payments 4.4", version="4.4"),
        milestone=release.milestones.get(),
        item=release.scope_items.get(),
        dependency=release.dependencies.get(),
        freeze=freeze,
    )


def snapshot() -> dict:
    """Everything a write page could change, to prove a refused request changed nothing."""
    return {
        "releases": list(Release.objects.values_list("pk", "name", "state", "go_live")),
        "milestones": list(Milestone.objects.values_list("pk", "done", "date", "at")),
        "scope": list(ScopeItem.objects.values_list("pk", "title")),
        "dependencies": list(ReleaseDependency.objects.values_list("pk", "kind")),
        "transitions": ReleaseTransition.objects.count(),
        "freezes": list(FreezeWindow.objects.values_list("pk", "name", "start")),
    }


# --- Who sees what ------------------------------------------------------------------------


# Every read page, as its URL for the ``world`` fixture.
READS = {
    "list": lambda w: reverse("releases:list"),
    "detail": lambda w: reverse("releases:detail", args=[w.release.pk]),
    "freezes": lambda w: reverse("releases:freezes"),
}


WRITES = [
    "create",
    "edit",
    "delete",
    "transition",
    "milestone-add",
    "milestone-toggle",
    "milestone-delete",
    "scope-add",
    "scope-delete",
    "dependency-add",
    "dependency-delete",
    "freezes",
    "freeze-delete",
]


def write_request(w, name: str) -> tuple[str, dict]:
    """A write page or action by URL name, with a POST body that would succeed for the manager."""
    r, go_live = w.release.pk, local(w.release.go_live)
    new_release = release_form(team=w.release.team_id, go_live=go_live, version="9.9")
    new_freeze = {"name": "Mine", "start": "2031-01-01T00:00", "end": "2031-01-02T00:00"}
    requests = {
        "create": ([], new_release),
        "edit": ([r], release_form(w.release, name="Renamed")),
        "delete": ([r], {}),
        "transition": ([r], {"to_state": "planned"}),
        "milestone-add": ([r], {"kind": "go_no_go", "date": go_live[:10]}),
        "milestone-toggle": ([r, w.milestone.pk], {}),
        "milestone-delete": ([r, w.milestone.pk], {}),
        "scope-add": ([r], {"title": "Refunds", "kind": "fix"}),
        "scope-delete": ([r, w.item.pk], {}),
        "dependency-add": ([r], {"kind": "together", "depends_on": w.unlinked.pk}),
        "dependency-delete": ([r, w.dependency.pk], {}),
        "freezes": ([], new_freeze),
        "freeze-delete": ([w.freeze.pk], {}),
    }
    args, data = requests[name]
    return reverse(f"releases:{name}", args=args), data


MANAGER_PAGES = {
    **READS,
    "create": lambda w: reverse("releases:create"),
    "edit": lambda w: reverse("releases:edit", args=[w.release.pk]),
    "delete": lambda w: reverse("releases:delete", args=[w.release.pk]),
}


@pytest.mark.parametrize("page", list(MANAGER_PAGES))
def test_every_page_renders_for_the_manager(client, manager, world, page):
    client.force_login(manager)
    url = MANAGER_PAGES[page](world)
    response = client.get(url)
    assert response.status_code == 200, url
    assert b"Relcal" in response.content


@pytest.mark.parametrize("page", list(READS))
@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_team_members_read_every_page(client, world, request, persona, page):
    client.force_login(request.getfixturevalue(persona))
    url = READS[page](world)
    assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_team_members_see_no_planning_buttons(client, world, request, persona):
    client.force_login(request.getfixturevalue(persona))
    listing = client.get(reverse("releases:list")).content.decode()
    assert "New release" not in listing
    assert "Payments 4.3" in listing
    detail = client.get(reverse("releases:detail", args=[world.release.pk])).content.decode()
    assert reverse("releases:edit", args=[world.release.pk]) not in detail
    assert (
        'action="{}"'.format(reverse("releases:transition", args=[world.release.pk])) not in detail
    )
    assert "Add milestone" not in detail
    assert "Add dependency" not in detail
    freezes = client.get(reverse("releases:freezes")).content.decode()
    assert "New freeze window" not in freezes


# Every read and write page, as ``(kind, name)``: a key of READS or WRITES.
ANONYMOUS_PAGES = [("read", name) for name in READS] + [("write", name) for name in WRITES]


@pytest.mark.parametrize(
    ("kind", "name"), ANONYMOUS_PAGES, ids=[f"{kind}-{name}" for kind, name in ANONYMOUS_PAGES]
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, world, kind, name):
    url = READS[name](world) if kind == "read" else write_request(world, name)[0]
    response = client.get(url)
    assert response.status_code == 302, url
    assert response["Location"].startswith(f"{reverse('login')}?next="), url
    assert client.post(url, {}).status_code == 302, url


def test_the_login_page_is_open_to_anonymous_visitors(client):
    assert client.get(reverse("login")).status_code == 200


@pytest.mark.parametrize("name", WRITES)
def test_the_outsider_is_refused_every_write_page_and_nothing_is_stored(
    client, outsider, world, name
):
    url, data = write_request(world, name)
    client.force_login(outsider)
    before = snapshot()
    page = client.get(url)
    if name == "freezes":
        # The freeze list is a read page; only its create form is a write, and it is not shown.
        assert page.status_code == 200
        assert "New freeze window" not in page.content.decode()
    else:
        assert page.status_code == 403
    assert client.post(url, data).status_code == 403
    assert snapshot() == before


def test_the_refusal_page_says_why(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("releases:create"))
    assert response.status_code == 403
    assert "Only release managers can plan releases." in response.content.decode()


@pytest.mark.parametrize("name", WRITES)
def test_the_same_requests_succeed_for_the_manager(client, manager, world, name):
    """The outsider test above is only meaningful if these bodies work for someone allowed."""
    url, data = write_request(world, name)
    client.force_login(manager)
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert snapshot() != before


def test_a_team_member_may_change_their_team_s_scope_but_not_the_plan(client, alice, world):
    client.force_login(alice)
    detail = client.get(reverse("releases:detail", args=[world.release.pk])).content.decode()
    assert "Add scope item" in detail
    response = client.post(
        reverse("releases:scope-add", args=[world.release.pk]), {"title": "Refunds", "kind": "fix"}
    )
    assert response.status_code == 302
    assert world.release.scope_items.filter(title="Refunds").exists()
    assert client.get(reverse("releases:edit", args=[world.release.pk])).status_code == 403


# --- Planning through the pages -------------------------------------------------------------


def test_the_manager_plans_a_release_with_milestones_scope_and_a_dependency(
    client, manager, alice, payments, search_release, soon
):
    client.force_login(manager)
    assert "New release" in client.get(reverse("releases:list")).content.decode()
    go_live = soon + timedelta(days=5)
    response = client.post(
        reverse("releases:create"),
        release_form(team=payments.pk, manager=manager.pk, go_live=local(go_live)),
    )
    assert response.status_code == 302
    release = Release.objects.get(name="Payments 4.3")
    assert response["Location"] == release.get_absolute_url()
    assert release.go_live == go_live
    assert release.manager == manager
    assert release.strategy == "blue_green"

    pk = release.pk
    code_freeze = (go_live - timedelta(days=7)).date()
    assert (
        client.post(
            reverse("releases:milestone-add", args=[pk]),
            {"kind": "code_freeze", "date": code_freeze.isoformat()},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("releases:milestone-add", args=[pk]),
            {"kind": "go_no_go", "at": local(go_live - timedelta(hours=2))},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("releases:scope-add", args=[pk]),
            {
                "title": "Card tokens",
                "kind": "feature",
                "ticket_key": "PAY-101",
                "ticket_url": "https://tickets.example.com/PAY-101",
                "owner": alice.pk,
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("releases:dependency-add", args=[pk]),
            {"kind": "needs", "depends_on": search_release.pk},
        ).status_code
        == 302
    )

    page = client.get(release.get_absolute_url()).content.decode()
    assert page.index("Code freeze") < page.index("Go/no-go") < page.index("Go-live</strong>")
    assert code_freeze.strftime("%a %-d %b %Y") in page  # all-day: a date, no time
    assert 'href="https://tickets.example.com/PAY-101"' in page
    assert "Needs shipped first:" in page
    assert "Search 2.1" in page
    assert "Switch traffic back to blue." in page

    other = client.get(search_release.get_absolute_url()).content.decode()
    assert "Needed by:" in other
    assert "Payments 4.3" in other


def test_it_names_the_whole_cycle_when_a_dependency_would_loop(client, manager, world):
    # Payments 4.3 needs Search 2.1 (fixture); Search 2.1 needs Payments 4.4.
    services.dependency_create(actor=manager, release=world.other, depends_on=world.unlinked)
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        reverse("releases:dependency-add", args=[world.unlinked.pk]),
        {"kind": "needs", "depends_on": world.release.pk},
        follow=True,
    )
    assert response.redirect_chain, "a refusal redirects to the release page"
    page = response.content.decode()
    assert (
        "This would make the cycle Payments 4.3 → Search 2.1 → Payments 4.4 → Payments 4.3" in page
    )
    assert 'id="dependency_depends_on_error"' in page
    assert snapshot() == before


def test_a_refused_dependency_redirects_announces_at_the_top_and_shows_once(client, manager, world):
    client.force_login(manager)
    response = client.post(
        reverse("releases:dependency-add", args=[world.other.pk]),
        {"kind": "needs", "depends_on": world.release.pk},
    )
    # Post/redirect/get: the address is the release page, so a refresh does not post again.
    assert response.status_code == 302
    assert response["Location"] == f"{world.other.get_absolute_url()}#dependencies"
    page = client.get(response["Location"]).content.decode()
    banner = page[page.index('<ul class="messages">') : page.index("</ul>")]
    assert 'role="alert"' in banner
    assert "The dependency was not added: " in banner and "cycle Payments 4.3" in banner
    assert 'id="dependency_depends_on_error"' in page  # and next to the field
    again = client.get(response["Location"]).content.decode()
    assert "cycle Payments 4.3" not in again and "dependency_depends_on_error" not in again


def test_an_added_dependency_reads_as_a_sentence(client, manager, world):
    client.force_login(manager)
    response = client.post(
        reverse("releases:dependency-add", args=[world.unlinked.pk]),
        {"kind": "needs", "depends_on": world.other.pk},
        follow=True,
    )
    assert "Payments 4.4 needs Search 2.1 shipped first." in response.content.decode()


def test_the_journey_s_two_release_cycle_is_named(client, manager, world):
    client.force_login(manager)
    response = client.post(
        reverse("releases:dependency-add", args=[world.other.pk]),
        {"kind": "needs", "depends_on": world.release.pk},
        follow=True,
    )
    assert response.redirect_chain, "a refusal redirects to the release page"
    assert "cycle Payments 4.3 → Search 2.1 → Payments 4.3" in response.content.decode()
    assert not ReleaseDependency.objects.filter(release=world.other).exists()


def test_it_refuses_a_go_live_inside_a_freeze_and_names_the_freeze(client, manager, world):
    client.force_login(manager)
    inside = world.freeze.start + timedelta(days=1)
    before = snapshot()
    response = client.post(
        reverse("releases:edit", args=[world.release.pk]),
        release_form(world.release, go_live=local(inside)),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "falls in the freeze window “Year-end freeze”" in page
    assert 'id="id_go_live_error"' in page
    assert snapshot() == before


def test_only_a_freeze_overrider_sees_the_override_reason_and_may_use_it(
    client, manager, admin, world
):
    url = reverse("releases:edit", args=[world.release.pk])
    client.force_login(manager)
    assert 'name="freeze_override_reason"' not in client.get(url).content.decode()
    client.force_login(admin)
    assert 'name="freeze_override_reason"' in client.get(url).content.decode()

    inside = local(world.freeze.start + timedelta(days=1))
    refused = client.post(url, release_form(world.release, go_live=inside))
    assert refused.status_code == 400
    assert "Give a reason to override the freeze." in refused.content.decode()
    response = client.post(
        url,
        release_form(world.release, go_live=inside, freeze_override_reason="Regulatory deadline"),
    )
    assert response.status_code == 302
    page = client.get(world.release.get_absolute_url()).content.decode()
    assert "Regulatory deadline" in page
    assert "overridden" in page


def test_an_invalid_transition_names_the_allowed_states(client, manager, world):
    client.force_login(manager)
    response = client.post(
        reverse("releases:transition", args=[world.release.pk]),
        {"to_state": "released"},
        follow=True,
    )
    assert response.redirect_chain, "a refusal redirects to the release page"
    assert (
        "A release in state Draft cannot move to Released. Allowed next states: Planned, Cancelled."
        in response.content.decode()
    )
    world.release.refresh_from_db()
    assert world.release.state == ReleaseState.DRAFT


def test_a_transition_is_recorded_and_going_back_needs_a_reason(client, manager, world):
    client.force_login(manager)
    url = reverse("releases:transition", args=[world.release.pk])
    assert client.post(url, {"to_state": "planned"}).status_code == 302
    refused = client.post(url, {"to_state": "draft"}, follow=True)
    assert refused.redirect_chain, "a refusal redirects to the release page"
    assert "Moving from Planned to Draft needs a reason." in refused.content.decode()
    assert client.post(url, {"to_state": "draft", "reason": "Scope unclear"}).status_code == 302

    page = client.get(world.release.get_absolute_url()).content.decode()
    history = page[page.index("History") :]
    assert "Scope unclear" in history
    assert history.count("badge--planned") == 2  # draft → planned, then planned → draft


def test_a_frozen_scope_hides_the_form_explains_why_and_refuses_changes(client, manager, world):
    services.release_transition(actor=manager, release=world.release, to_state="planned")
    services.release_transition(actor=manager, release=world.release, to_state="scope_frozen")
    client.force_login(manager)
    page = client.get(world.release.get_absolute_url()).content.decode()
    assert "Add scope item" not in page
    assert "Scope frozen." in page
    assert "move the release back to Planned with a reason" in page

    response = client.post(
        reverse("releases:scope-add", args=[world.release.pk]),
        {"title": "Late", "kind": "fix"},
        follow=True,
    )
    assert response.redirect_chain, "a refusal redirects to the release page"
    assert "is frozen" in response.content.decode()
    assert not ScopeItem.objects.filter(title="Late").exists()


def test_a_milestone_after_the_go_live_is_refused_on_its_field(client, manager, world):
    client.force_login(manager)
    late = timezone.localdate(world.release.go_live) + timedelta(days=1)
    response = client.post(
        reverse("releases:milestone-add", args=[world.release.pk]),
        {"kind": "release_candidate", "date": late.isoformat()},
        follow=True,
    )
    assert response.redirect_chain, "a refusal redirects to the release page"
    page = response.content.decode()
    assert "would fall after the go-live of Payments 4.3" in page
    assert 'id="milestone_date_error"' in page
    assert world.release.milestones.count() == 1


def test_bad_input_comes_back_as_form_errors_not_a_server_error(client, manager, world):
    client.force_login(manager)
    response = client.post(
        reverse("releases:create"),
        release_form(
            name="x" * 300,
            team=999_999,
            go_live="2031-02-30T10:00",
            window_end="not a date",
        ),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) >= {"name", "team", "go_live", "window_end"}
    ends_first = client.post(
        reverse("releases:edit", args=[world.release.pk]),
        release_form(world.release, window_end=local(world.release.go_live - timedelta(hours=1))),
    )
    assert ends_first.status_code == 400
    assert "The deployment window must end after the go-live." in ends_first.content.decode()


@override_settings(TIME_ZONE="Europe/Berlin")
def test_times_are_typed_and_shown_in_the_current_time_zone(client, manager, payments):
    client.force_login(manager)
    response = client.post(
        reverse("releases:create"),
        release_form(team=payments.pk, go_live="2031-07-01T10:00"),
    )
    assert response.status_code == 302
    release = Release.objects.get()
    assert release.go_live == datetime(2031, 7, 1, 8, 0, tzinfo=ZoneInfo("UTC"))
    assert "Tue 1 Jul 2031, 10:00 CEST" in client.get(release.get_absolute_url()).content.decode()
    listing = client.get(reverse("releases:list")).content.decode()
    assert "10:00" in listing
    assert "July 2031" in listing


def test_only_draft_or_cancelled_releases_can_be_deleted(client, manager, world):
    client.force_login(manager)
    services.release_transition(actor=manager, release=world.release, to_state="planned")
    url = reverse("releases:delete", args=[world.release.pk])
    assert "Only draft or cancelled releases can be deleted" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    assert "cancel it first" in response.content.decode()
    assert Release.objects.filter(pk=world.release.pk).exists()

    draft = client.post(reverse("releases:delete", args=[world.other.pk]))
    assert draft.status_code == 302
    assert not Release.objects.filter(pk=world.other.pk).exists()


# --- The release list -------------------------------------------------------------------------


def test_the_list_filters_by_team_state_month_and_search(client, alice, make_release, search, soon):
    make_release(name="Payments 4.3", version="4.3")
    make_release(team=search, name="Search 2.1", version="2.1")
    later = make_release(name="Payments 5.0", version="5.0", go_live=soon + timedelta(days=62))
    services.release_transition(actor=later.manager, release=later, to_state="planned")
    client.force_login(alice)

    def names(**query) -> set[str]:
        response = client.get(reverse("releases:list"), query)
        assert response.status_code == 200
        return {r.name for r in response.context["page"].object_list}

    assert names() == {"Payments 4.3", "Search 2.1", "Payments 5.0"}
    assert names(team="search") == {"Search 2.1"}
    assert names(state="planned") == {"Payments 5.0"}
    assert names(month=soon.strftime("%Y-%m")) == {"Payments 4.3", "Search 2.1"}
    assert names(q="5.0") == {"Payments 5.0"}
    assert names(team="payments", state="draft") == {"Payments 4.3"}


def test_the_list_pages_by_50_and_keeps_the_filter_in_its_links(client, manager, payments, soon):
    _add_releases(55, [payments], [manager], soon)
    client.force_login(manager)
    first = client.get(reverse("releases:list"), {"state": "draft"})
    assert len(first.context["page"].object_list) == 50
    assert 'href="?state=draft&amp;page=2"' in first.content.decode()
    second = client.get(reverse("releases:list"), {"state": "draft", "page": 2})
    assert len(second.context["page"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()


def test_a_malformed_filter_is_shown_as_an_error_not_a_failure(client, manager, make_release):
    make_release(name="Payments 4.3")
    client.force_login(manager)
    response = client.get(reverse("releases:list"), {"month": "soon", "team": "nope"})
    assert response.status_code == 200
    form = response.context["filter_form"]
    assert set(form.errors) == {"month", "team"}
    assert "Payments 4.3" in response.content.decode()


def _add_releases(count: int, teams, users, soon) -> None:
    # Built in bulk: this test is about reading, and 200 service calls would only be slower.
    start = Release.objects.count()
    Release.objects.bulk_create(
        Release(
            name=f"Bulk {n}",
            version=f"bulk-{n}",
            team=teams[n % len(teams)],
            manager=users[n % len(users)],
            go_live=soon + timedelta(hours=n),
        )
        for n in range(start, start + count)
    )


def test_the_release_list_runs_the_same_number_of_queries_for_5_and_200_releases(
    client, manager, alice, bob, payments, search, soon
):
    client.force_login(manager)
    teams, users = [payments, search], [manager, alice, bob]

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("releases:list"), {"state": "draft"})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    _add_releases(5, teams, users, soon)
    few = queries()
    _add_releases(195, teams, users, soon)
    many = queries()
    assert few == many
    assert many <= 8


# --- Freeze windows, login, logout -----------------------------------------------------------


def test_the_manager_creates_and_deletes_a_freeze_window(client, manager, payments, freeze):
    client.force_login(manager)
    page = client.get(reverse("releases:freezes")).content.decode()
    assert "Year-end freeze" in page
    assert "New freeze window" in page
    response = client.post(
        reverse("releases:freezes"),
        {"name": "Payments audit", "start": "2031-03-02T00:00", "end": "2031-03-05T00:00",
         "team": payments.pk, "reason": "Auditors on site"},
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get(reverse("releases:freezes")).content.decode()
    assert "Payments audit" in page
    assert "Auditors on site" in page

    backwards = client.post(
        reverse("releases:freezes"),
        {"name": "Backwards", "start": "2031-03-05T00:00", "end": "2031-03-02T00:00"},
    )
    assert backwards.status_code == 400
    assert "The freeze window must end after it starts." in backwards.content.decode()

    assert client.post(reverse("releases:freeze-delete", args=[freeze.pk])).status_code == 302
    assert not FreezeWindow.objects.filter(pk=freeze.pk).exists()


def test_past_freeze_windows_are_not_listed(client, manager, soon):
    services.freeze_window_create(
        actor=manager,
        name="Last spring",
        start=timezone.now() - timedelta(days=60),
        end=timezone.now() - timedelta(days=50),
    )
    client.force_login(manager)
    assert "Last spring" not in client.get(reverse("releases:freezes")).content.decode()


def test_logging_in_and_out_through_the_pages(client, manager):
    page = client.get(reverse("login")).content.decode()
    assert 'name="username"' in page
    refused = client.post(reverse("login"), {"username": "manager", "password": "wrong"})
    assert refused.status_code == 200
    assert "correct username and password" in refused.content.decode()

    response = client.post(reverse("login"), {"username": "manager", "password": PASSWORD})
    assert response["Location"] == reverse("releases:list")
    listing = client.get(reverse("releases:list")).content.decode()
    assert "Log out" in listing
    assert 'href="/api/v1/docs/"' in listing
    assert ">Admin<" not in listing  # not staff

    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("releases:list")).status_code == 302


def test_staff_see_the_admin_link(client, admin):
    client.force_login(admin)
    assert ">Admin<" in client.get(reverse("releases:list")).content.decode()
