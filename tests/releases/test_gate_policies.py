"""Gate policies: created, changed and deleted through their services (also from the admin) by
those with the gate policy permissions, each change audited; refusals store nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from approvals.models import AuditEvent
from releases import roles, services
from releases.models import GatePolicy


def url(view: str, *args) -> str:
    return reverse(f"admin:releases_gatepolicy_{view}", args=args)


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.fixture
def default(db) -> GatePolicy:
    """The default policy migration 0007 created."""
    return GatePolicy.objects.get(is_default=True)


@pytest.fixture
def stored(db):
    """Every gate policy's values and the audit trail's length: unchanged after a refusal."""

    def snapshot():
        return list(GatePolicy.objects.order_by("pk").values()), AuditEvent.objects.count()

    return snapshot


@pytest.fixture
def payments_policy(manager, payments) -> GatePolicy:
    return services.gate_policy_create(
        actor=manager, name="Payments", team=payments, required_checks=["unit-tests"]
    )


def form(**fields) -> dict:
    """POST data for the gate policy add/change page."""
    return {
        "name": "Payments",
        "team": "",
        "required_checks": "",
        "booking_environment": "prod",
        "rollback_rehearsal_days": "",
        "description": "",
        **fields,
    }


# --- Who may ----------------------------------------------------------------------------------


def test_release_managers_hold_every_gate_policy_permission(db):
    codenames = set(
        Group.objects.get(name=roles.RELEASE_MANAGERS)
        .permissions.filter(content_type__app_label="releases", codename__endswith="_gatepolicy")
        .values_list("codename", flat=True)
    )
    assert codenames == {f"{action}_gatepolicy" for action in ("add", "change", "delete", "view")}


@pytest.mark.parametrize("persona", ["outsider", "alice"])
def test_it_refuses_creating_to_those_without_the_permission(request, persona, payments, stored):
    user = request.getfixturevalue(persona)
    before = stored()
    with pytest.raises(PermissionDenied):
        services.gate_policy_create(actor=user, name="Payments", team=payments)
    assert stored() == before


@pytest.mark.parametrize("persona", ["outsider", "alice"])
def test_it_refuses_changing_to_those_without_the_permission(request, persona, default, stored):
    user = request.getfixturevalue(persona)
    before = stored()
    with pytest.raises(PermissionDenied):
        services.gate_policy_update(actor=user, policy=default, required_checks=["lint"])
    assert stored() == before


@pytest.mark.parametrize("persona", ["outsider", "alice"])
def test_it_refuses_deleting_to_those_without_the_permission(
    request, persona, payments_policy, stored
):
    user = request.getfixturevalue(persona)
    before = stored()
    with pytest.raises(PermissionDenied):
        services.gate_policy_delete(actor=user, policy=payments_policy)
    assert stored() == before


# --- Services ---------------------------------------------------------------------------------


def test_a_release_manager_creates_a_team_policy_with_an_event(manager, payments):
    policy = services.gate_policy_create(
        actor=manager,
        name="Payments",
        team=payments,
        required_checks=["unit-tests", "integration-tests"],
        require_booking=True,
        booking_environment="prod",
        rollback_rehearsal_days=30,
    )
    stored = GatePolicy.objects.get(pk=policy.pk)
    assert stored.required_checks == ["unit-tests", "integration-tests"]
    [event] = events("gate_policy.create")
    assert event.actor_id == manager.pk
    assert event.object_id == str(policy.pk)
    assert event.after["required_checks"] == ["unit-tests", "integration-tests"]
    assert event.after["team"] == payments.pk


def test_an_update_records_only_what_changed(manager, payments_policy):
    services.gate_policy_update(
        actor=manager, policy=payments_policy, required_checks=["unit-tests", "e2e"]
    )
    assert GatePolicy.objects.get(pk=payments_policy.pk).required_checks == ["unit-tests", "e2e"]
    [event] = events("gate_policy.update")
    assert event.before == {"required_checks": ["unit-tests"]}
    assert event.after == {"required_checks": ["unit-tests", "e2e"]}


def test_an_update_that_changes_nothing_records_nothing(manager, payments_policy):
    services.gate_policy_update(actor=manager, policy=payments_policy, name="Payments")
    assert events("gate_policy.update") == []


def test_a_delete_records_what_was_deleted(manager, payments_policy):
    pk = payments_policy.pk
    services.gate_policy_delete(actor=manager, policy=payments_policy)
    assert not GatePolicy.objects.filter(pk=pk).exists()
    [event] = events("gate_policy.delete")
    assert event.object_id == str(pk)
    assert event.before["name"] == "Payments"


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        pytest.param(["Unit Tests"], "“Unit Tests” is not a check name", id="bad-name"),
        pytest.param(["-lint"], "“-lint” is not a check name", id="leading-dash"),
        pytest.param(["a" * 101], "is not a check name", id="too-long"),
        pytest.param(["lint", "lint"], "“lint” is listed twice", id="duplicate"),
        pytest.param([f"check-{n}" for n in range(31)], "at most 30 checks", id="too-many"),
        pytest.param("unit-tests", "Give a list of check names", id="not-a-list"),
        pytest.param([7], "Give each check name as text", id="not-text"),
    ],
)
def test_it_refuses_bad_required_checks(manager, payments, stored, checks, message):
    before = stored()
    with pytest.raises(ValidationError) as refused:
        services.gate_policy_create(
            actor=manager, name="Payments", team=payments, required_checks=checks
        )
    assert message in refused.value.message_dict["required_checks"][0]
    assert stored() == before


def test_it_accepts_thirty_check_names(manager, payments):
    checks = [f"check-{n}" for n in range(30)]
    policy = services.gate_policy_create(
        actor=manager, name="Payments", team=payments, required_checks=checks
    )
    assert policy.required_checks == checks


def test_it_refuses_a_bad_check_name_on_update(manager, payments_policy, stored):
    before = stored()
    with pytest.raises(ValidationError) as refused:
        services.gate_policy_update(
            actor=manager, policy=payments_policy, required_checks=["unit tests"]
        )
    assert "required_checks" in refused.value.message_dict
    assert stored() == before


def test_a_team_has_at_most_one_policy(manager, payments, payments_policy, stored):
    before = stored()
    with pytest.raises(ValidationError) as refused:
        services.gate_policy_create(actor=manager, name="Payments, strict", team=payments)
    assert (
        "Payments has a gate policy already (“Payments”)" in (refused.value.message_dict["team"][0])
    )
    assert stored() == before


def test_a_second_default_is_refused(manager, default, stored):
    before = stored()
    with pytest.raises(ValidationError) as refused:
        services.gate_policy_create(actor=manager, name="Strict", is_default=True)
    assert "is the default gate policy already" in refused.value.message_dict["is_default"][0]
    assert stored() == before


def test_the_default_cannot_be_deleted(manager, default, stored):
    before = stored()
    with pytest.raises(ValidationError) as refused:
        services.gate_policy_delete(actor=manager, policy=default)
    assert "cannot be deleted" in refused.value.message_dict["is_default"][0]
    assert stored() == before


def test_the_default_moves_to_another_policy_and_the_old_one_may_go(manager, default):
    services.gate_policy_update(actor=manager, policy=default, is_default=False)
    strict = services.gate_policy_create(actor=manager, name="Strict", is_default=True)
    services.gate_policy_delete(actor=manager, policy=default)
    assert list(GatePolicy.objects.filter(is_default=True)) == [strict]


# --- Admin ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_the_admin_creates_a_policy_through_the_service(client, request, persona, payments):
    user = staff(request.getfixturevalue(persona))
    client.force_login(user)
    data = form(
        team=payments.pk,
        required_checks="unit-tests\nintegration-tests, e2e\n",
        require_booking="on",
        rollback_rehearsal_days="14",
    )
    response = client.post(url("add"), data)
    assert response.status_code == 302
    policy = GatePolicy.objects.get(team=payments)
    assert policy.required_checks == ["unit-tests", "integration-tests", "e2e"]
    assert (policy.require_booking, policy.rollback_rehearsal_days) == (True, 14)
    [event] = events("gate_policy.create")
    assert event.actor_id == user.pk


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_the_admin_changes_a_policy_through_the_service(client, request, persona, default):
    user = staff(request.getfixturevalue(persona))
    client.force_login(user)
    data = form(
        name=default.name, is_default="on", required_checks="lint", description=default.description
    )
    assert client.post(url("change", default.pk), data).status_code == 302
    assert GatePolicy.objects.get(pk=default.pk).required_checks == ["lint"]
    [event] = events("gate_policy.update")
    assert (event.actor_id, event.after) == (user.pk, {"required_checks": ["lint"]})


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_the_admin_deletes_a_policy_through_the_service(client, request, persona, payments_policy):
    client.force_login(staff(request.getfixturevalue(persona)))
    response = client.post(url("delete", payments_policy.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not GatePolicy.objects.filter(pk=payments_policy.pk).exists()
    assert len(events("gate_policy.delete")) == 1


def test_the_admin_lists_the_policies(client, manager, payments_policy):
    client.force_login(staff(manager))
    page = client.get(url("changelist"))
    assert page.status_code == 200
    assert b"unit-tests" in page.content
    assert b"not required" in page.content


def test_the_admin_shows_the_checks_one_a_line(client, manager, payments_policy):
    services.gate_policy_update(
        actor=manager, policy=payments_policy, required_checks=["unit-tests", "e2e"]
    )
    client.force_login(staff(manager))
    page = client.get(url("change", payments_policy.pk))
    assert page.context["adminform"].form["required_checks"].value() == "unit-tests\ne2e"


def test_the_admin_names_a_bad_check_on_its_field_and_stores_nothing(
    client, manager, payments, stored
):
    client.force_login(staff(manager))
    before = stored()
    response = client.post(url("add"), form(team=payments.pk, required_checks="Unit Tests"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["required_checks"]
    assert "“Unit Tests” is not a check name" in errors[0]
    assert stored() == before


def test_the_admin_refuses_a_second_policy_for_a_team(client, manager, payments_policy, stored):
    client.force_login(staff(manager))
    before = stored()
    response = client.post(url("add"), form(name="Payments, strict", team=payments_policy.team_id))
    assert response.status_code == 200
    assert "team" in response.context["adminform"].form.errors
    assert stored() == before


def test_the_admin_refuses_deleting_the_default_and_says_why(client, manager, default, stored):
    client.force_login(staff(manager))
    before = stored()
    response = client.post(url("delete", default.pk), {"post": "yes"}, follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert stored() == before


@pytest.mark.parametrize("persona", ["outsider", "alice"])
def test_the_admin_refuses_those_without_the_permission(client, request, persona, default, stored):
    client.force_login(staff(request.getfixturevalue(persona)))
    before = stored()
    assert client.get(url("changelist")).status_code == 403
    assert client.get(url("add")).status_code == 403
    assert client.post(url("add"), form(name="Mine")).status_code == 403
    assert client.post(url("change", default.pk), form(required_checks="lint")).status_code == 403
    assert client.post(url("delete", default.pk), {"post": "yes"}).status_code == 403
    assert stored() == before
