"""Services, SLOs, policies, measurements and snapshots in the admin: pages load, writes go
through the services (audited, refusals shown as form errors with nothing stored), and staff
see only the services they may see."""

# The fixtures come from api_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reliability import services
from reliability.models import SLO, ErrorBudgetPolicy, Measurement, Service, SLOSnapshot

from .api_fixtures import (  # noqa: F401  (fixtures)
    hidden,
    last_event,
    maya,
    payments_api,
    pushed_slo,
    secret,
    sre,
    stored,
)

MODELS = (Service, SLO, ErrorBudgetPolicy, Measurement, SLOSnapshot)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:reliability_{model._meta.model_name}_{view}", args=args)


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def service_post(team, **fields) -> dict:
    data = {"team": team.pk, "name": "Ledger", "slug": "ledger", "description": ""}
    data.update(
        {
            "slos-TOTAL_FORMS": "1",
            "slos-INITIAL_FORMS": "0",
            "slos-MIN_NUM_FORMS": "0",
            "slos-MAX_NUM_FORMS": "1000",
            "slos-0-name": "availability",
            "slos-0-objective": "99.9",
            "slos-0-window_days": "28",
            "slos-0-source": "pushed",
            "slos-0-prometheus_url": "",
            "slos-0-good_query": "",
            "slos-0-total_query": "",
            "slos-0-error_ratio_query": "",
        }
    )
    data.update(fields)
    return data


@pytest.fixture
def one_of_each(pushed_slo, manager, payments):
    now = timezone.now()
    services.measurement_push(
        actor=manager,
        slo=pushed_slo,
        measurements=[
            {
                "start": now - timedelta(hours=2),
                "end": now - timedelta(hours=1),
                "good": 9,
                "total": 10,
            }
        ],
    )
    SLOSnapshot.objects.create(slo=pushed_slo, at=now, state="healthy", budget_remaining=0.5)
    services.budget_policy_create(actor=manager, team=payments, at_risk_below=30)


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.model_name for m in MODELS])
def test_every_reliability_admin_page_loads_for_a_superuser(client, admin, one_of_each, model):
    client.force_login(admin)
    assert client.get(url(model, "changelist")).status_code == 200
    obj = model.objects.first()
    assert client.get(url(model, "change", obj.pk)).status_code == 200


def test_measurements_and_snapshots_are_read_only(client, admin, one_of_each):
    client.force_login(admin)
    for model in (Measurement, SLOSnapshot):
        assert client.get(url(model, "add")).status_code == 403
        obj = model.objects.first()
        response = client.post(url(model, "delete", obj.pk), {"post": "yes"})
        assert response.status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()


def test_a_team_member_adds_a_service_with_an_slo_through_the_services(client, alice, payments):
    client.force_login(staff(alice))
    response = client.post(url(Service, "add"), service_post(payments))
    assert response.status_code == 302, response.content.decode()[:3000]
    service = Service.objects.get(slug="ledger")
    assert [slo.name for slo in service.slos.all()] == ["availability"]
    assert last_event().action == "slo.create"


def test_a_refused_slo_is_a_form_error_and_nothing_is_stored(client, alice, payments, stored):
    client.force_login(staff(alice))
    before = stored()
    response = client.post(
        url(Service, "add"), service_post(payments, **{"slos-0-good_query": "sum(up)"})
    )
    assert response.status_code == 200
    assert "reads no Prometheus; leave this empty" in response.content.decode()
    assert stored() == before


def test_a_staff_member_of_another_team_may_not_change_a_service(client, bob, payments_api):
    client.force_login(staff(bob))
    response = client.post(
        url(Service, "change", payments_api.pk),
        service_post(payments_api.team, name="Renamed", slug="payments-api")
        | {"slos-TOTAL_FORMS": "0"},
    )
    assert response.status_code == 403
    assert Service.objects.get(pk=payments_api.pk).name == "Payments API"


def test_staff_see_only_the_services_they_may_see(client, bob, hidden, payments_api):
    client.force_login(staff(bob))
    page = client.get(url(Service, "changelist")).content.decode()
    assert "Payments API" in page and "Vault" not in page
    assert client.get(url(Service, "change", hidden.pk)).status_code == 302  # "does not exist"


def test_only_release_managers_and_sre_set_policies(client, alice, sre, payments, stored):
    client.force_login(staff(alice))
    data = {"team": payments.pk, "at_risk_below": "10", "when_exhausted": "warn", "freeze": ""}
    assert client.post(url(ErrorBudgetPolicy, "add"), data).status_code == 403
    client.force_login(staff(sre))
    assert client.post(url(ErrorBudgetPolicy, "add"), data).status_code == 302
    policy = ErrorBudgetPolicy.objects.get()
    assert (policy.when_exhausted, policy.freeze) == ("warn", False)
    assert last_event().action == "budget_policy.create"
