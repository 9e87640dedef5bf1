"""The admin: every page loads, writes go through the services, refusals are form errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.admin import site as admin_site
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import Token

from accounts.models import Identity
from approvals import services as approvals
from delivery import incidents as incident_services
from delivery import sources as incident_sources
from environments import services as environment_services
from environments.models import Environment
from releases import roles, services
from releases.models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseTransition,
    ScopeItem,
    Team,
)
from reliability import evaluation
from reliability import services as reliability_services
from reminders import webhooks
from reminders.models import Delivery
from tests.conftest import PASSWORD

INLINES = ("milestones", "scope_items", "dependencies", "dependents", "transitions")
RELEASE_MODELS = (Release, Milestone, ScopeItem, ReleaseDependency, FreezeWindow, Team)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def moment(value) -> tuple[str, str]:
    local = timezone.localtime(value)
    return local.date().isoformat(), local.strftime("%H:%M:%S")


def release_post(*, team: Team, go_live, rows: dict | None = None, **fields) -> dict:
    """POST data for the release add/change page; ``rows`` adds new inline rows per prefix."""
    go_live_date, go_live_time = moment(go_live)
    data = {
        "name": "Payments 9.0",
        "version": "9.0",
        "team": team.pk,
        "manager": "",
        "description": "",
        "go_live_0": go_live_date,
        "go_live_1": go_live_time,
        "window_end_0": "",
        "window_end_1": "",
        "strategy": "big_bang",
        "rollback_plan": "",
        "rollback_rehearsed_on": "",
        "freeze_override_reason": "",
        **fields,
    }
    for prefix in INLINES:
        new_rows = (rows or {}).get(prefix, [])
        data[f"{prefix}-TOTAL_FORMS"] = str(len(new_rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for index, row in enumerate(new_rows):
            for name, value in row.items():
                data[f"{prefix}-{index}-{name}"] = value
    return data


def release_fields(release: Release) -> dict:
    return {"name": release.name, "version": release.version}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def one_of_each(make_release, manager, admin, search, soon):
    """At least one row of every model the admin shows, so each change page can be opened."""
    release = make_release()
    other = make_release(team=search)
    services.milestone_create(actor=manager, release=release, kind="code_freeze", date=soon.date())
    services.scope_item_create(actor=manager, release=release, title="Saved cards")
    services.dependency_create(actor=manager, release=release, depends_on=other)
    services.release_transition(actor=manager, release=release, to_state="planned")
    for state in ("planned", "scope_frozen"):
        services.release_transition(actor=manager, release=other, to_state=state)
    admin.groups.add(Group.objects.get(name=roles.PRODUCT_APPROVERS))
    approvals.signoff_record(
        actor=admin,
        release=other,
        role="product",
        decision="approve",
        meaning="approved_for_release",
        password=PASSWORD,
    )
    services.freeze_window_create(
        actor=manager, name="Year end", start=soon + timedelta(days=60), end=soon + timedelta(61)
    )
    staging = Environment.objects.create(name="staging", slug="staging", kind="staging")
    hour = timedelta(hours=1)
    common = {"actor": admin, "environment": staging}
    slot = {"team": release.team, "start": soon, "end": soon + hour, "purpose": "QA"}
    environment_services.booking_create(**common, **slot)
    environment_services.waitlist_join(**common, **slot)
    environment_services.maintenance_window_create(
        **common, start=soon + 2 * hour, end=soon + 3 * hour, reason="OS upgrade"
    )
    environment_services.deployment_report(**common, version="1.0")
    Token.objects.create(user=admin)
    Identity.objects.create(user=manager, issuer="https://sso.example.com", subject="m-1")
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="demo", task="demo.task", interval=interval)
    CrontabSchedule.objects.create()
    SolarSchedule.objects.create(event="sunrise", latitude=52, longitude=4)
    ClockedSchedule.objects.create(clocked_time=soon)
    Delivery.objects.create(  # written by the reminder scan only; the admin shows it read-only
        kind="milestone.upcoming",
        object_type="releases.milestone",
        object_id=release.milestones.get().pk,
        recipient=admin,
        due=soon,
        next_attempt_at=soon,
    )
    webhooks.webhook_create(
        actor=admin, team=release.team, name="#payments", url="https://chat.example.com/hook"
    )
    now = timezone.now()
    service = reliability_services.service_create(actor=admin, team=release.team, name="API")
    slo = reliability_services.slo_create(
        actor=admin, service=service, name="availability", objective="99.9", source="pushed"
    )
    reliability_services.measurement_push(
        actor=admin,
        slo=slo,
        measurements=[{"start": now - 2 * hour, "end": now - hour, "good": 9, "total": 10}],
    )
    evaluation.evaluate(slo)
    reliability_services.budget_policy_create(actor=admin, team=release.team)
    # A production deployment (a production change) that caused an incident, and a source.
    production = Environment.objects.create(name="production", slug="production", kind="prod")
    shipped = environment_services.deployment_record(
        actor=admin, environment=production, release=release, move_release=False
    )
    incident_services.incident_open(
        actor=admin,
        title="Checkout down",
        services=[service],
        opened_at=timezone.now(),
        deployment=shipped,
    )
    incident_sources.source_create(actor=admin, name="PagerDuty", kind="pagerduty")
    # Failed logins as django-axes records them (its admin pages, with the unlock action).
    attempt = {
        "username": "alice",
        "ip_address": "192.0.2.7",
        "user_agent": "curl",
        "path_info": "/",
    }
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=3)
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt, locked_out=False)
    return release


# Every model the admin shows (read when the tests are collected, so a newly registered model
# gets its own case).
REGISTERED = [model for model in apps.get_models() if admin_site.is_registered(model)]


@pytest.mark.parametrize("model", REGISTERED, ids=[model._meta.label for model in REGISTERED])
def test_every_admin_page_loads_for_a_superuser(client, admin, one_of_each, model):
    client.force_login(admin)
    request = RequestFactory().get("/admin/")
    request.user = admin
    model_admin = admin_site.get_model_admin(model)
    label = model._meta.label
    assert client.get(url(model, "changelist")).status_code == 200, label
    add = client.get(url(model, "add"))
    # Lifecycle history is written by transitions only, so it has no add page.
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403), label
    obj = model._default_manager.first()
    assert obj is not None, f"add a {label} to the one_of_each fixture"
    assert client.get(url(model, "change", obj.pk)).status_code == 200, label


def test_the_admin_is_called_relcal(client, admin):
    client.force_login(admin)
    assert b"Relcal administration" in client.get("/admin/").content


def test_a_release_manager_changes_a_release_through_the_admin(client, manager, make_release):
    release = make_release()
    client.force_login(staff(manager))
    data = release_post(
        team=release.team, go_live=release.go_live, name="Payments 4.3 (renamed)", version="4.3"
    )
    response = client.post(url(Release, "change", release.pk), data)
    assert response.status_code == 302
    release.refresh_from_db()
    assert (release.name, release.version, release.state) == (
        "Payments 4.3 (renamed)",
        "4.3",
        "draft",
    )
    assert LogEntry.objects.filter(object_id=str(release.pk), user=manager).exists()


def test_it_adds_a_release_with_its_rows_through_the_services(client, manager, payments, soon):
    client.force_login(staff(manager))
    rows = {
        "milestones": [
            {"kind": "code_freeze", "title": "", "date": (soon - timedelta(days=3)).date()},
            {"kind": "go_no_go", "title": "", "at_0": moment(soon - timedelta(hours=20))[0],
             "at_1": moment(soon - timedelta(hours=20))[1]},
        ],
        "scope_items": [{"ticket_key": "PAY-1", "title": "Saved cards", "kind": "feature"}],
    }  # fmt: skip
    response = client.post(
        url(Release, "add"), release_post(team=payments, go_live=soon, rows=rows)
    )
    assert response.status_code == 302
    release = Release.objects.get(version="9.0")
    # The service made the signed-in user the release manager and recorded the creation.
    assert release.manager == manager
    assert release.transitions.get().reason == "Created"
    assert release.milestones.count() == 2
    assert release.scope_items.get().ticket_key == "PAY-1"


@pytest.mark.parametrize(
    "model",
    [*RELEASE_MODELS, ReleaseTransition],
    ids=[model._meta.model_name for model in (*RELEASE_MODELS, ReleaseTransition)],
)
def test_it_refuses_release_admin_pages_to_an_outsider(client, outsider, make_release, model):
    make_release()
    client.force_login(staff(outsider))
    assert client.get(url(model, "changelist")).status_code == 403, model
    assert client.get(url(model, "add")).status_code == 403, model


def test_it_refuses_release_admin_writes_to_an_outsider(client, outsider, make_release):
    release = make_release()
    client.force_login(staff(outsider))
    data = release_post(team=release.team, go_live=release.go_live, name="Hijacked")
    assert client.post(url(Release, "change", release.pk), data).status_code == 403
    assert client.post(url(Release, "add"), data).status_code == 403
    assert client.post(url(Release, "delete", release.pk), {"post": "yes"}).status_code == 403
    response = client.post(
        url(Release, "changelist"),
        {"action": "transition_to_planned", "_selected_action": [release.pk]},
    )
    assert response.status_code == 403
    assert list(Release.objects.values_list("name", "state")) == [(release.name, "draft")]


def test_a_team_member_may_look_but_not_change(client, alice, make_release):
    release = make_release()
    client.force_login(staff(alice))
    page = client.get(url(Release, "change", release.pk))
    assert page.status_code == 200
    assert b"View release" in page.content
    data = release_post(team=release.team, go_live=release.go_live, name="Renamed")
    assert client.post(url(Release, "change", release.pk), data).status_code == 403
    assert client.get(url(Release, "add")).status_code == 403
    assert Release.objects.get(pk=release.pk).name == release.name


def test_it_shows_a_go_live_in_a_freeze_as_a_form_error_and_stores_nothing(
    client, manager, payments, soon
):
    services.freeze_window_create(
        actor=manager,
        name="Black Friday",
        start=soon - timedelta(days=1),
        end=soon + timedelta(days=1),
    )
    client.force_login(staff(manager))
    rows = {"scope_items": [{"ticket_key": "PAY-9", "title": "Refunds", "kind": "fix"}]}
    response = client.post(
        url(Release, "add"), release_post(team=payments, go_live=soon, rows=rows)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["go_live"]
    assert "Black Friday" in errors[0]
    assert not Release.objects.exists()
    assert not ScopeItem.objects.exists()
    assert not ReleaseTransition.objects.exists()


def test_it_refuses_moving_a_go_live_into_a_freeze(client, manager, make_release, soon):
    release = make_release()
    services.freeze_window_create(
        actor=manager,
        name="Year-end freeze",
        start=soon + timedelta(days=9),
        end=soon + timedelta(days=12),
    )
    client.force_login(staff(manager))
    data = release_post(
        team=release.team, go_live=soon + timedelta(days=10), **release_fields(release)
    )
    response = client.post(url(Release, "change", release.pk), data)
    assert response.status_code == 200
    assert "Year-end freeze" in response.context["adminform"].form.errors["go_live"][0]
    release.refresh_from_db()
    assert release.go_live == soon


def test_it_shows_a_milestone_after_go_live_on_its_inline_row(client, manager, make_release, soon):
    release = make_release()
    client.force_login(staff(manager))
    late = moment(soon + timedelta(days=2))
    rows = {
        "milestones": [
            {"kind": "code_freeze", "title": "", "date": (soon - timedelta(days=2)).date()},
            {"kind": "release_candidate", "title": "", "at_0": late[0], "at_1": late[1]},
        ]
    }
    data = release_post(
        team=release.team, go_live=soon, rows=rows, name="Renamed", version=release.version
    )
    response = client.post(url(Release, "change", release.pk), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.prefix == "milestones"
    assert formset.forms[0].errors == {}
    assert "after the go-live" in formset.forms[1].errors["at"][0]
    # Nothing of the submission was kept: neither the valid row nor the new name.
    assert not Milestone.objects.exists()
    assert Release.objects.get(pk=release.pk).name == release.name


def test_it_names_the_cycle_on_the_dependency_row(client, manager, make_release, search):
    a, b = make_release(name="Payments 4.3"), make_release(name="Search 2.1", team=search)
    c = make_release(name="Payments 4.4")
    services.dependency_create(actor=manager, release=a, depends_on=b)
    services.dependency_create(actor=manager, release=b, depends_on=c)
    client.force_login(staff(manager))
    rows = {"dependencies": [{"depends_on": a.pk, "kind": "needs", "note": ""}]}
    data = release_post(team=c.team, go_live=c.go_live, rows=rows, **release_fields(c))
    response = client.post(url(Release, "change", c.pk), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][2].formset
    assert formset.prefix == "dependencies"
    message = formset.forms[0].errors["depends_on"][0]
    assert "Payments 4.3 → Search 2.1 → Payments 4.4 → Payments 4.3" in message
    assert ReleaseDependency.objects.count() == 2


def test_the_state_is_not_editable_on_the_change_page(client, manager, make_release):
    release = make_release()
    client.force_login(staff(manager))
    data = release_post(
        team=release.team, go_live=release.go_live, state="released", **release_fields(release)
    )
    assert client.post(url(Release, "change", release.pk), data).status_code == 302
    assert Release.objects.get(pk=release.pk).state == "draft"


def test_a_transition_action_moves_a_release_and_a_refused_one_names_allowed_states(
    client, manager, make_release
):
    draft, other = make_release(), make_release()
    client.force_login(staff(manager))
    response = client.post(
        url(Release, "changelist"),
        {"action": "transition_to_planned", "_selected_action": [draft.pk]},
    )
    assert response.status_code == 302
    assert Release.objects.get(pk=draft.pk).state == "planned"
    assert f"{draft.name}: Draft → Planned." in messages_of(response)

    response = client.post(
        url(Release, "changelist"),
        {"action": "transition_to_released", "_selected_action": [draft.pk, other.pk]},
    )
    assert response.status_code == 302
    notes = messages_of(response)
    assert any(
        note.startswith(f"{other.name}:") and "Allowed next states: Planned, Cancelled" in note
        for note in notes
    )
    assert any(note.startswith(f"{draft.name}:") and "Scope frozen" in note for note in notes)
    assert Release.objects.get(pk=draft.pk).state == "planned"
    assert Release.objects.get(pk=other.pk).state == "draft"


def test_an_action_that_needs_a_reason_asks_for_it_first(client, manager, make_release):
    release = make_release()
    client.force_login(staff(manager))
    action = {"action": "transition_to_cancelled", "_selected_action": [release.pk]}
    page = client.post(url(Release, "changelist"), action)
    assert page.status_code == 200
    assert b'name="reason"' in page.content
    assert Release.objects.get(pk=release.pk).state == "draft"

    empty = client.post(url(Release, "changelist"), {**action, "apply": "yes", "reason": " "})
    assert empty.status_code == 200
    assert Release.objects.get(pk=release.pk).state == "draft"

    done = client.post(
        url(Release, "changelist"), {**action, "apply": "yes", "reason": "Superseded by 5.0"}
    )
    assert done.status_code == 302
    assert Release.objects.get(pk=release.pk).state == "cancelled"
    assert release.transitions.last().reason == "Superseded by 5.0"


def test_bulk_delete_goes_through_the_service_and_keeps_planned_releases(
    client, manager, make_release
):
    draft, planned = make_release(), make_release()
    services.release_transition(actor=manager, release=planned, to_state="planned")
    client.force_login(staff(manager))
    selection = {"action": "delete_selected", "_selected_action": [draft.pk, planned.pk]}
    confirm = client.post(url(Release, "changelist"), selection)
    assert confirm.status_code == 200
    assert b"Are you sure" in confirm.content

    response = client.post(url(Release, "changelist"), {**selection, "post": "yes"})
    assert response.status_code == 302
    assert list(Release.objects.all()) == [planned]
    notes = messages_of(response)
    assert any(n.startswith(f"{planned.name}:") and "Only draft or cancelled" in n for n in notes)
    assert "Deleted 1 release." in notes
    # Only what was really deleted is in the admin log.
    assert [entry.object_id for entry in LogEntry.objects.all()] == [str(draft.pk)]


def test_the_delete_page_reports_a_refusal_and_keeps_the_release(client, manager, make_release):
    release = make_release()
    services.release_transition(actor=manager, release=release, to_state="planned")
    client.force_login(staff(manager))
    response = client.post(url(Release, "delete", release.pk), {"post": "yes"})
    assert response.status_code == 302
    assert response.url == url(Release, "change", release.pk)
    assert Release.objects.filter(pk=release.pk).exists()
    assert any("Only draft or cancelled" in note for note in messages_of(response))
    assert not LogEntry.objects.exists()


def test_a_frozen_scope_is_shown_read_only(client, manager, make_release):
    release = make_release()
    services.scope_item_create(actor=manager, release=release, title="Saved cards")
    services.release_transition(actor=manager, release=release, to_state="planned")
    services.release_transition(actor=manager, release=release, to_state="scope_frozen")
    client.force_login(staff(manager))
    page = client.get(url(Release, "change", release.pk))
    scope = page.context["inline_admin_formsets"][1]
    assert scope.formset.prefix == "scope_items"
    assert not scope.has_add_permission and not scope.has_change_permission


def test_the_scope_item_admin_shows_a_frozen_scope_as_a_form_error(client, manager, make_release):
    release = make_release()
    services.release_transition(actor=manager, release=release, to_state="planned")
    services.release_transition(actor=manager, release=release, to_state="scope_frozen")
    client.force_login(staff(manager))
    data = {"release": release.pk, "title": "Late idea", "kind": "feature", "ticket_key": ""}
    response = client.post(url(ScopeItem, "add"), data)
    assert response.status_code == 200
    assert "is frozen" in response.context["adminform"].form.errors["release"][0]
    assert not ScopeItem.objects.exists()


def test_it_refuses_a_freeze_window_that_ends_before_it_starts(client, manager, soon):
    client.force_login(staff(manager))
    start, end = moment(soon), moment(soon - timedelta(hours=1))
    data = {"name": "Backwards", "start_0": start[0], "start_1": start[1], "end_0": end[0],
            "end_1": end[1], "team": "", "reason": ""}  # fmt: skip
    response = client.post(url(FreezeWindow, "add"), data)
    assert response.status_code == 200
    assert "must end after it starts" in str(response.context["adminform"].form.errors)
    assert not FreezeWindow.objects.exists()


def test_teams_are_created_through_the_service_with_members(client, admin, alice):
    client.force_login(admin)
    data = {"name": "Mobile", "slug": "mobile", "contact": "", "color": "#1c7ed6",
            "members": [alice.pk]}  # fmt: skip
    assert client.post(url(Team, "add"), data).status_code == 302
    team = Team.objects.get(slug="mobile")
    assert list(team.members.all()) == [alice]


def test_release_managers_may_not_manage_teams(client, manager, payments):
    client.force_login(staff(manager))
    assert client.get(url(Team, "changelist")).status_code == 200
    assert client.get(url(Team, "add")).status_code == 403
    data = {"name": "Renamed", "slug": "payments", "contact": "", "color": "#000000"}
    assert client.post(url(Team, "change", payments.pk), data).status_code == 403
    assert Team.objects.get(pk=payments.pk).name == "Payments"


@pytest.mark.parametrize(
    "model", RELEASE_MODELS, ids=[model._meta.model_name for model in RELEASE_MODELS]
)
def test_a_release_manager_can_open_every_release_page(client, manager, one_of_each, model):
    client.force_login(staff(manager))
    assert client.get(url(model, "changelist")).status_code == 200, model
    obj = model.objects.first()
    assert client.get(url(model, "change", obj.pk)).status_code == 200, model
    # Only administrators add teams (see test_release_managers_may_not_manage_teams).
    expected_add = 403 if model is Team else 200
    assert client.get(url(model, "add")).status_code == expected_add, model


def test_it_changes_and_deletes_inline_rows_through_the_services(
    client, manager, make_release, soon
):
    release = make_release()
    keep = services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=(soon - timedelta(days=5)).date()
    )
    drop = services.milestone_create(
        actor=manager,
        release=release,
        kind="custom",
        title="Demo",
        date=(soon - timedelta(days=4)).date(),
    )
    client.force_login(staff(manager))
    data = release_post(team=release.team, go_live=soon, **release_fields(release))
    rows = [(keep, {"done": "on"}), (drop, {"DELETE": "on"})]
    data.update({"milestones-TOTAL_FORMS": "2", "milestones-INITIAL_FORMS": "2"})
    for index, (milestone, extra) in enumerate(rows):
        fields = {
            "id": milestone.pk,
            "release": release.pk,
            "kind": milestone.kind,
            "title": milestone.title,
            "date": milestone.date.isoformat(),
            **extra,
        }
        data.update({f"milestones-{index}-{name}": value for name, value in fields.items()})
    assert client.post(url(Release, "change", release.pk), data).status_code == 302
    assert list(release.milestones.values_list("pk", "done")) == [(keep.pk, True)]


def test_the_release_list_runs_the_same_queries_for_few_and_many(client, admin, make_release):
    client.force_login(admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(Release, "changelist")).status_code == 200
        return len(captured)

    for _ in range(3):
        make_release()
    few = queries()
    for _ in range(20):
        make_release()
    assert queries() == few


def test_an_administrator_sets_team_members_and_a_team_with_releases_is_kept(
    client, admin, payments, alice, bob, make_release
):
    client.force_login(admin)
    response = client.post(
        url(Team, "change", payments.pk),
        {
            "name": "Payments",
            "slug": "payments",
            "contact": "payments@example.com",
            "color": "#d9480f",
            "members": [alice.pk, bob.pk],
        },
    )
    assert response.status_code == 302
    assert set(payments.members.all()) == {alice, bob}
    assert Team.objects.get(pk=payments.pk).contact == "payments@example.com"

    make_release(team=payments)
    response = client.post(url(Team, "delete", payments.pk), {"post": "yes"}, follow=True)
    assert Team.objects.filter(pk=payments.pk).exists()
