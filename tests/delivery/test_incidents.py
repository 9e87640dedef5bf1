"""The incident services (``delivery.incidents``): opening (idempotent by the tool's id),
resolving, naming the cause (which fails the production change), deleting; who may do each;
and that every refusal stores nothing."""

# The fixtures come from incident_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from delivery import incidents
from delivery.models import Incident, ProductionChange

from .incident_fixtures import (  # noqa: F401  (fixtures)
    HOUR,
    deploy,
    generic,
    last_event,
    maya,
    pagerduty,
    payments_api,
    payments_deployment,
    payments_release,
    prod,
    search_api,
    search_release,
    sre,
    staging,
    stored,
    vault,
    vault_api,
    vault_release,
)


def open_incident(actor, services, **fields):
    fields.setdefault("title", "Card payments failing")
    fields.setdefault("opened_at", timezone.now() - HOUR)
    return incidents.incident_open(actor=actor, services=services, **fields)


def change_of(deployment) -> ProductionChange:
    return ProductionChange.objects.get(deployment=deployment)


# --- Opening -------------------------------------------------------------------------------------


def test_it_opens_an_incident_with_its_services_and_an_audit_event(alice, payments_api):
    incident = open_incident(alice, [payments_api], severity="sev2", url="https://pd.example/1")
    assert incident.created
    assert list(incident.services.all()) == [payments_api]
    assert (incident.severity, incident.reported_by, incident.resolved_at) == ("sev2", alice, None)
    event = last_event()
    assert (event.action, event.actor_name) == ("incident.open", "Alice")
    assert event.after["services"] == ["payments-api"]


def test_a_severity_left_out_is_sev3(alice, payments_api):
    assert open_incident(alice, [payments_api]).severity == "sev3"


def test_a_repeat_with_the_same_external_id_updates_instead_of_adding(alice, payments_api):
    opened = timezone.now() - 2 * HOUR
    first = open_incident(alice, [payments_api], external_id="INC-1", opened_at=opened)
    resolved = timezone.now() - HOUR
    again = open_incident(
        alice,
        [payments_api],
        external_id="INC-1",
        title="Card payments failing (EU only)",
        severity="sev1",
        opened_at=timezone.now() - 30 * timedelta(minutes=1),
        resolved_at=resolved,
    )
    assert (again.pk, again.created) == (first.pk, False)
    assert Incident.objects.count() == 1
    again.refresh_from_db()
    assert (again.title, again.severity) == ("Card payments failing (EU only)", "sev1")
    # The first report's opening time stays; the resolution is taken.
    assert (again.opened_at, again.resolved_at) == (opened, resolved)


def test_a_repeated_open_does_not_reopen_a_resolved_incident(alice, payments_api):
    resolved = timezone.now() - timedelta(minutes=5)
    open_incident(alice, [payments_api], external_id="INC-1", resolved_at=resolved)
    again = open_incident(alice, [payments_api], external_id="INC-1")
    assert again.resolved_at == resolved


def test_a_repeat_that_changes_nothing_records_no_event(alice, payments_api, stored):
    open_incident(alice, [payments_api], external_id="INC-1", title="Same")
    before = stored()
    open_incident(alice, [payments_api], external_id="INC-1", title="Same")
    assert stored() == before


def test_the_same_external_id_from_two_sources_is_two_incidents(
    alice, payments_api, pagerduty, generic
):
    open_incident(None, [payments_api], external_id="X1", source=pagerduty)
    open_incident(None, [payments_api], external_id="X1", source=generic)
    open_incident(alice, [payments_api], external_id="X1")
    assert Incident.objects.count() == 3


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"resolved_at": "before"}, "resolved_at"),
        ({"opened_at": "future"}, "opened_at"),
        ({"opened_at": "naive"}, "opened_at"),
        ({"title": "  "}, "title"),
        ({"severity": "sev9"}, "severity"),
        ({"url": "not a link"}, "url"),
    ],
    ids=["resolved-before-opened", "opens-in-future", "naive-time", "no-title", "severity", "url"],
)
def test_it_refuses_bad_input_naming_the_field(alice, payments_api, stored, fields, field):
    now = timezone.now()
    moments = {
        "before": now - 3 * HOUR,
        "future": now + 2 * HOUR,
        "naive": (now - HOUR).replace(tzinfo=None),
    }
    fields = {"opened_at": now - 2 * HOUR} | {
        key: moments.get(value, value) for key, value in fields.items()
    }
    before = stored()
    with pytest.raises(ValidationError) as refused:
        open_incident(alice, [payments_api], **fields)
    assert field in refused.value.message_dict
    assert stored() == before


def test_it_refuses_an_incident_without_a_service(alice):
    with pytest.raises(ValidationError) as refused:
        open_incident(alice, [])
    assert "services" in refused.value.message_dict


def test_an_outsider_cannot_open_an_incident(outsider, payments_api, stored):
    before = stored()
    with pytest.raises(PermissionDenied):
        open_incident(outsider, [payments_api])
    assert stored() == before


def test_a_member_of_another_team_cannot_open_one_on_our_service(bob, payments_api):
    with pytest.raises(PermissionDenied):
        open_incident(bob, [payments_api])


def test_a_member_opens_one_on_their_team_and_another_teams_service(bob, payments_api, search_api):
    incident = open_incident(bob, [search_api, payments_api])
    assert incident.services.count() == 2


def test_sre_and_release_managers_open_incidents_on_any_team(sre, manager, vault_api):
    open_incident(sre, [vault_api])
    open_incident(manager, [vault_api])
    assert Incident.objects.count() == 2


def test_a_private_teams_service_is_no_such_service_to_others(alice, payments_api, vault_api):
    with pytest.raises(ValidationError) as refused:
        open_incident(alice, [payments_api, vault_api])
    assert refused.value.message_dict["services"] == ["No such service."]


def test_nobody_signed_in_cannot_open_an_incident(payments_api):
    with pytest.raises(PermissionDenied):
        open_incident(None, [payments_api])


# --- The cause -----------------------------------------------------------------------------------


def test_naming_the_deployment_as_the_cause_fails_the_change(
    alice, payments_api, payments_deployment
):
    assert not change_of(payments_deployment).failed
    open_incident(alice, [payments_api], deployment=payments_deployment)
    change = change_of(payments_deployment)
    assert (change.failed, change.failure) == (True, "incident")


def test_naming_the_release_fails_its_latest_change_before_the_incident(
    alice, payments_api, payments_release, prod, deploy
):
    older = deploy(payments_release, prod, hours_ago=5)
    latest = deploy(payments_release, prod, hours_ago=3)
    after = deploy(payments_release, prod, hours_ago=0.5)
    open_incident(alice, [payments_api], release=payments_release)
    failed = {d.pk: change_of(d).failed for d in (older, latest, after)}
    assert failed == {older.pk: False, latest.pk: True, after.pk: False}


def test_setting_the_cause_later_fails_the_change_and_clearing_it_unfails_it(
    alice, payments_api, payments_deployment
):
    incident = open_incident(alice, [payments_api])
    incidents.incident_update(actor=alice, incident=incident, deployment=payments_deployment)
    assert change_of(payments_deployment).failed
    event = last_event()
    assert (event.action, event.after) == (
        "incident.update",
        {"deployment": payments_deployment.pk},
    )
    incidents.incident_update(actor=alice, incident=incident, deployment=None)
    assert not change_of(payments_deployment).failed


def test_moving_the_cause_to_another_deployment_moves_the_failure(
    alice, payments_api, payments_release, prod, deploy
):
    first = deploy(payments_release, prod, hours_ago=4)
    second = deploy(payments_release, prod, hours_ago=3)
    incident = open_incident(alice, [payments_api], deployment=first)
    incidents.incident_update(actor=alice, incident=incident, deployment=second)
    assert (change_of(first).failed, change_of(second).failed) == (False, True)


def test_another_team_cannot_name_our_deployment_as_a_cause(
    bob, search_api, payments_deployment, stored
):
    """An incident linked to a deployment of another team without the right: 403, nothing
    stored, the other team's change not failed."""
    before = stored()
    with pytest.raises(PermissionDenied) as refused:
        open_incident(bob, [search_api], deployment=payments_deployment)
    assert "Only members of Payments, release managers and SRE" in str(refused.value)
    assert stored() == before


def test_another_team_cannot_set_our_deployment_as_the_cause_later(
    bob, search_api, payments_deployment, stored
):
    incident = open_incident(bob, [search_api])
    before = stored()
    with pytest.raises(PermissionDenied):
        incidents.incident_update(actor=bob, incident=incident, deployment=payments_deployment)
    assert stored() == before


def test_sre_names_any_teams_change_as_the_cause(sre, search_api, payments_deployment):
    open_incident(sre, [search_api], deployment=payments_deployment)
    assert change_of(payments_deployment).failed


def test_a_private_release_is_no_such_release_to_others(alice, payments_api, vault_release):
    with pytest.raises(ValidationError) as refused:
        open_incident(alice, [payments_api], release=vault_release)
    assert refused.value.message_dict["release"] == [
        f'Invalid pk "{vault_release.pk}" - object does not exist.'
    ]


def test_a_staging_deployment_is_no_cause(alice, payments_api, payments_release, staging, deploy):
    rehearsal = deploy(payments_release, staging)
    with pytest.raises(ValidationError) as refused:
        open_incident(alice, [payments_api], deployment=rehearsal)
    assert "not to production" in refused.value.message_dict["deployment"][0]


def test_a_deployment_after_the_incident_opened_did_not_cause_it(
    alice, payments_api, payments_deployment
):
    opened = payments_deployment.deployed_at - HOUR
    with pytest.raises(ValidationError) as refused:
        open_incident(alice, [payments_api], deployment=payments_deployment, opened_at=opened)
    assert "cannot have caused it" in refused.value.message_dict["deployment"][0]


def test_the_deployment_and_the_release_named_must_agree(
    manager, payments_api, payments_deployment, search_release
):
    with pytest.raises(ValidationError) as refused:
        open_incident(
            manager, [payments_api], deployment=payments_deployment, release=search_release
        )
    assert "release" in refused.value.message_dict


# --- Resolving, changing, deleting ---------------------------------------------------------------


def test_resolving_and_reopening(alice, payments_api):
    incident = open_incident(alice, [payments_api])
    resolved = timezone.now()
    incident = incidents.incident_update(actor=alice, incident=incident, resolved_at=resolved)
    assert incident.resolved_at == resolved
    incident = incidents.incident_update(actor=alice, incident=incident, resolved_at=None)
    assert incident.resolved_at is None


def test_it_refuses_a_resolution_before_the_opening(alice, payments_api, stored):
    incident = open_incident(alice, [payments_api])
    before = stored()
    with pytest.raises(ValidationError) as refused:
        incidents.incident_update(
            actor=alice, incident=incident, resolved_at=incident.opened_at - HOUR
        )
    assert "before it was opened" in refused.value.message_dict["resolved_at"][0]
    assert stored() == before


def test_an_outsider_cannot_resolve_an_incident(alice, outsider, payments_api):
    incident = open_incident(alice, [payments_api])
    with pytest.raises(PermissionDenied):
        incidents.incident_update(actor=outsider, incident=incident, resolved_at=timezone.now())


def test_changing_the_services_is_audited_by_slug(alice, payments_api, search_api):
    incident = open_incident(alice, [payments_api])
    incidents.incident_update(actor=alice, incident=incident, services=[payments_api, search_api])
    event = last_event()
    assert event.before == {"services": ["payments-api"]}
    assert event.after == {"services": ["payments-api", "search-api"]}


def test_a_release_manager_deletes_an_incident_and_its_failure_goes(
    manager, alice, payments_api, payments_deployment
):
    incident = open_incident(alice, [payments_api], deployment=payments_deployment)
    incidents.incident_delete(actor=manager, incident=incident)
    assert not Incident.objects.exists()
    assert not change_of(payments_deployment).failed
    assert last_event().action == "incident.delete"


def test_a_team_member_cannot_delete_an_incident(alice, payments_api):
    incident = open_incident(alice, [payments_api])
    with pytest.raises(PermissionDenied):
        incidents.incident_delete(actor=alice, incident=incident)
    assert Incident.objects.exists()
