"""Incidents, incident sources and production changes in the admin: writes go through the
services (refusals are form errors, nothing stored), a source's secret is shown once and never
listed, and staff see only what they may see."""

# The fixtures come from incident_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from delivery import incidents
from delivery.models import Incident, IncidentSource, ProductionChange

from .incident_fixtures import (  # noqa: F401  (fixtures)
    HOUR,
    PAGERDUTY_SECRET,
    deploy,
    last_event,
    maya,
    pagerduty,
    payments_api,
    payments_deployment,
    payments_release,
    prod,
    sre,
    stored,
    vault,
    vault_api,
    vault_release,
)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def moment(value) -> tuple[str, str]:
    local = timezone.localtime(value)
    return local.date().isoformat(), local.strftime("%H:%M:%S")


def incident_post(services, *, opened, resolved=None, **fields) -> dict:
    opened_date, opened_time = moment(opened)
    resolved_date, resolved_time = moment(resolved) if resolved else ("", "")
    return {
        "title": "Checkout down",
        "severity": "sev2",
        "services": [service.pk for service in services],
        "opened_at_0": opened_date,
        "opened_at_1": opened_time,
        "resolved_at_0": resolved_date,
        "resolved_at_1": resolved_time,
        "url": "",
        "deployment": "",
        "release": "",
        **fields,
    }


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Incidents -----------------------------------------------------------------------------------


def test_a_team_member_enters_an_incident_with_its_cause(
    client, alice, payments_api, payments_deployment
):
    client.force_login(staff(alice))
    data = incident_post(
        [payments_api], opened=timezone.now() - HOUR, deployment=payments_deployment.pk
    )
    response = client.post(url(Incident, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = Incident.objects.get()
    assert (incident.reported_by, incident.deployment) == (alice, payments_deployment)
    assert last_event().action == "incident.open"
    assert ProductionChange.objects.get(deployment=payments_deployment).failed


def test_a_resolution_before_the_opening_is_a_form_error_and_stores_nothing(
    client, alice, payments_api, stored
):
    client.force_login(staff(alice))
    opened = timezone.now() - HOUR
    before = stored()
    response = client.post(
        url(Incident, "add"), incident_post([payments_api], opened=opened, resolved=opened - HOUR)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    messages = [m for field in errors.values() for error in field for m in error.messages]
    assert "An incident cannot be resolved before it was opened." in messages
    assert stored() == before


def test_staff_see_no_incident_of_a_private_team(client, outsider, manager, vault_api):
    incidents.incident_open(
        actor=manager, title="Vault down", services=[vault_api], opened_at=timezone.now() - HOUR
    )
    client.force_login(staff(outsider))
    page = client.get(url(Incident, "changelist"))
    assert page.status_code == 200
    assert b"Vault down" not in page.content
    assert client.get(url(Incident, "change", Incident.objects.get().pk)).status_code == 302


def test_an_outsider_cannot_add_incidents_in_the_admin(client, outsider):
    client.force_login(staff(outsider))
    assert client.get(url(Incident, "add")).status_code == 403


# --- Sources -------------------------------------------------------------------------------------


def test_a_new_source_shows_its_generated_secret_once(client, sre):
    client.force_login(staff(sre))
    response = client.post(
        url(IncidentSource, "add"),
        {"name": "Opsgenie", "slug": "opsgenie", "kind": "generic", "secret": ""},
        follow=True,
    )
    source = IncidentSource.objects.get()
    assert any(source.secret in message for message in messages_of(response))
    assert source.secret.encode() not in client.get(url(IncidentSource, "changelist")).content
    assert (
        source.secret.encode() not in client.get(url(IncidentSource, "change", source.pk)).content
    )
    assert source.secret not in str(last_event().after)


def test_a_source_secret_is_never_listed_or_shown(client, manager, pagerduty):
    client.force_login(staff(manager))
    for page in (url(IncidentSource, "changelist"), url(IncidentSource, "change", pagerduty.pk)):
        response = client.get(page)
        assert response.status_code == 200
        assert PAGERDUTY_SECRET.encode() not in response.content


def test_saving_a_source_with_the_secret_left_empty_keeps_it(client, manager, pagerduty):
    client.force_login(staff(manager))
    data = {"name": "PagerDuty (EU)", "slug": "pagerduty", "kind": "pagerduty", "secret": ""}
    response = client.post(url(IncidentSource, "change", pagerduty.pk), data)
    assert response.status_code == 302
    pagerduty.refresh_from_db()
    assert (pagerduty.name, pagerduty.secret) == ("PagerDuty (EU)", PAGERDUTY_SECRET)


def test_a_new_secret_is_generated_on_request(client, manager, pagerduty):
    client.force_login(staff(manager))
    data = {"name": "PagerDuty", "slug": "pagerduty", "kind": "pagerduty", "new_secret": "on"}
    response = client.post(url(IncidentSource, "change", pagerduty.pk), data, follow=True)
    pagerduty.refresh_from_db()
    assert pagerduty.secret != PAGERDUTY_SECRET
    assert any(pagerduty.secret in message for message in messages_of(response))


def test_a_short_secret_is_refused(client, manager):
    client.force_login(staff(manager))
    data = {"name": "Tool", "slug": "tool", "kind": "generic", "secret": "short"}
    response = client.post(url(IncidentSource, "add"), data)
    assert response.status_code == 200
    assert "at least 16 characters" in response.context["adminform"].form.errors["secret"][0]
    assert not IncidentSource.objects.exists()


def test_team_members_cannot_manage_sources(client, alice, pagerduty):
    client.force_login(staff(alice))
    assert client.get(url(IncidentSource, "changelist")).status_code == 403
    assert client.get(url(IncidentSource, "change", pagerduty.pk)).status_code == 403


# --- Production changes --------------------------------------------------------------------------


def test_production_changes_are_read_only_and_private_teams_hidden(
    client, outsider, payments_deployment, vault_release, prod, deploy
):
    deploy(vault_release, prod)
    client.force_login(staff(outsider))
    page = client.get(url(ProductionChange, "changelist"))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert client.get(url(ProductionChange, "add")).status_code == 403
