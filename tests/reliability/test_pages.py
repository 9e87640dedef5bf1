"""The Reliability pages: the index of services with each SLO's state, and a service's page with
each SLO's status in words, budget, burn rates, alert, the burn-down chart and the production
deployments; what a reader may not see is not there; a fixed number of queries per page."""

# The fixtures come from api_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from environments.models import Deployment, DeploymentOutcome, Environment
from reliability import evaluation, services
from reliability.models import SLO, Service, SLISource, SLOSnapshot, SLOState

from .api_fixtures import (  # noqa: F401  (fixtures)
    hidden,
    maya,
    payments_api,
    pushed_slo,
    secret,
    sre,
)
from .budget_helpers import PAGE_BURN, evaluated

INDEX = reverse("reliability:index")


def page(client, user, url: str, status: int = 200) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status
    return response.content.decode()


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def prod(db) -> Environment:
    return Environment.objects.create(name="prod", slug="prod", kind="prod")


def deploy(environment, release, *, days_ago: float, outcome=DeploymentOutcome.SUCCEEDED):
    at = timezone.now() - timedelta(days=days_ago)
    return Deployment.objects.create(
        environment=environment,
        release=release,
        version=release.version,
        deployed_at=at,
        finished_at=at,
        outcome=outcome,
    )


def history(slo: SLO, days: int, *, per_day: int = 24) -> None:
    """Snapshots every hour (``per_day``) over ``days``, the budget falling to a fifth."""
    now = timezone.now() - timedelta(minutes=1)
    count = days * per_day
    SLOSnapshot.objects.bulk_create(
        SLOSnapshot(
            slo=slo,
            at=now - timedelta(days=days) * (count - 1 - i) / count,
            state=SLOState.HEALTHY,
            budget_remaining=1 - 0.8 * i / count,
            sli=0.9995,
        )
        for i in range(count)
    )


# --- The index --------------------------------------------------------------------------------


def test_the_nav_leads_to_the_index_of_services_with_each_slos_state(client, outsider, pushed_slo):
    evaluated(pushed_slo, SLOState.AT_RISK, 0.182, alert="ticket")
    html = page(client, outsider, "/")
    assert f'href="{INDEX}"' in html
    html = page(client, outsider, INDEX)
    assert 'aria-current="page">Reliability' in html
    assert 'href="/reliability/payments-api/"' in html
    words = text(html)
    assert "availability 99.9% · 28 d" in words
    assert "At risk" in words
    assert "18.2%" in words
    assert "Ticket" in words


def test_the_index_hides_a_private_teams_services(client, outsider, hidden, payments_api):
    html = page(client, outsider, INDEX)
    assert "Vault" not in html
    assert "Payments API" in html


@pytest.mark.parametrize("persona", ["maya", "manager", "sre"])
def test_members_managers_and_sre_see_a_private_teams_services(request, client, hidden, persona):
    assert "Vault API" in page(client, request.getfixturevalue(persona), INDEX)


def test_the_index_filters_by_team_offering_only_visible_teams(
    client, outsider, manager, search, payments_api, hidden
):
    services.service_create(actor=manager, team=search, name="Search API")
    html = page(client, outsider, INDEX + "?team=search")
    assert "Search API" in html and "Payments API" not in html
    options = re.findall(r'<option value="([^"]*)"', html)
    assert options == ["", "payments", "search"]
    # A private team named in the address shows everything the reader may see instead.
    assert "Payments API" in page(client, outsider, INDEX + "?team=vault")


def test_the_index_says_when_there_is_nothing(client, outsider):
    assert "No services yet" in text(page(client, outsider, INDEX))


def test_the_index_runs_the_same_number_of_queries_for_3_services_as_for_30(
    client, manager, payments, search
):
    def count() -> int:
        client.force_login(manager)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(INDEX).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            number = Service.objects.count()
            service = services.service_create(
                actor=manager, team=(payments, search)[number % 2], name=f"Service {number}"
            )
            for name in ("availability", "latency"):
                services.slo_create(
                    actor=manager, service=service, name=name, objective=99, source="pushed"
                )

    add(3)
    few = count()
    add(27)
    assert count() == few


# --- A service's page -------------------------------------------------------------------------


def service_url(service: Service) -> str:
    return reverse("reliability:service", args=[service.slug])


def test_a_healthy_slo_shows_its_budget_in_percent_and_minutes_and_its_burn_rates(
    client, outsider, pushed_slo
):
    evaluated(pushed_slo, SLOState.HEALTHY, 0.5)
    words = text(page(client, outsider, service_url(pushed_slo.service)))
    assert "Healthy: 50.0% of the error budget is left, above the 25% threshold." in words
    # Half of 0.1 % of 28 days: 20.16 minutes.
    assert "50.0% (20 min of full outage)" in words
    assert "5m 0.4× 30m 0.5× 1h 0.5× 6h 0.6× 24h 0.7× 3d 0.8×" in words
    assert "Alert None" in words


def test_an_exhausted_slo_says_what_the_policy_does(client, outsider, pushed_slo):
    evaluated(pushed_slo, SLOState.EXHAUSTED, -0.25, alert="page", burn_rates=PAGE_BURN)
    words = text(page(client, outsider, service_url(pushed_slo.service)))
    assert (
        "Exhausted: the error budget is spent (−25.0%); releases touching Payments API are "
        "blocked, except fixes and security items and a freeze is on the calendar." in words
    )
    assert "overspent by 10 min of full outage" in words
    assert "Alert Page" in words


def test_a_prometheus_slo_without_an_answer_says_so_and_is_not_healthy(
    client, outsider, manager, payments_api
):
    slo = services.slo_create(
        actor=manager,
        service=payments_api,
        name="latency",
        objective="99",
        source=SLISource.PROMETHEUS,
        error_ratio_query="sum(rate(x[$window]))",
        prometheus_url="http://127.0.0.1:9",
        test_queries=False,
    )
    since = timezone.now() - timedelta(hours=3)
    SLO.objects.filter(pk=slo.pk).update(
        state=SLOState.NO_DATA,
        state_since=since,
        evaluated_at=timezone.now(),
        last_error="Prometheus at http://127.0.0.1:9 refused the connection or is down",
    )
    words = text(page(client, outsider, service_url(payments_api)))
    assert re.search(
        r"No data: Prometheus did not answer since \d{4}-\d\d-\d\d \d\d:\d\d \w+ — not treated "
        r"as healthy\.",
        words,
    )
    assert "Last error: Prometheus at http://127.0.0.1:9 refused the connection" in words


def test_a_prometheus_slo_without_a_server_says_none_is_configured(
    client, outsider, manager, payments_api, settings
):
    settings.RELCAL_PROMETHEUS_URL = ""
    slo = services.slo_create(
        actor=manager,
        service=payments_api,
        name="latency",
        objective="99",
        source=SLISource.PROMETHEUS,
        error_ratio_query="sum(rate(x[$window]))",
        test_queries=False,
    )
    evaluation.evaluate(slo)
    words = text(page(client, outsider, service_url(payments_api)))
    assert "No data: no Prometheus server is configured — not treated as healthy." in words


def test_a_pushed_slo_without_measurements_says_so(client, outsider, pushed_slo):
    evaluated(pushed_slo, SLOState.NO_DATA, None)
    words = text(page(client, outsider, service_url(pushed_slo.service)))
    assert "No data: no measurements pushed for the window since" in words
    assert "not treated as healthy" in words


def test_the_page_draws_the_burn_down_with_threshold_and_deployments(
    client, outsider, pushed_slo, prod, make_release
):
    history(pushed_slo, 10)
    release = make_release(name="Payments 4.2", version="4.2.0")
    deploy(prod, release, days_ago=3)
    deploy(prod, make_release(version="4.2.1"), days_ago=1, outcome=DeploymentOutcome.ROLLED_BACK)
    html = page(client, outsider, service_url(pushed_slo.service))
    # One drawing for a desk, one for a phone.
    assert html.count('class="burndown burndown--wide"') == 1
    assert html.count('class="burndown burndown--narrow"') == 1
    assert "freeze threshold (25%)" in html
    assert len(re.findall(r'class="burndown__point"', html)) == 240
    assert re.search(r"<title>4\.2\.0 to prod, succeeded, \d+ \w+ \d\d:\d\d</title>", html)
    assert "4.2.1 to prod, rolled back," in html
    assert "Exact values (30 of the chart" in html
    words = text(html)
    assert "Production deployments touching Payments API, last 28 days" in words
    assert "4.2.0 Payments 4.2 to prod" in words


def test_a_release_the_reader_may_not_see_is_neither_charted_nor_listed(
    client, outsider, manager, pushed_slo, prod, make_release, secret
):
    private = make_release(team=secret, name="Vault 1.0", version="1.0.0")
    services.release_services_set(actor=manager, release=private, services=[pushed_slo.service])
    deploy(prod, private, days_ago=2)
    html = page(client, outsider, service_url(pushed_slo.service))
    assert "1.0.0" not in html and "Vault" not in html
    assert "1.0.0 to prod" in page(client, manager, service_url(pushed_slo.service))


def test_a_private_teams_service_page_is_404_like_a_missing_one(client, outsider, hidden):
    page(client, outsider, service_url(hidden), status=404)
    page(client, outsider, "/reliability/nope/", status=404)


def test_the_page_needs_a_signed_in_user(client, payments_api):
    response = client.get(service_url(payments_api))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_service_page_runs_the_same_number_of_queries_whatever_it_holds(
    client, manager, payments_api, prod, make_release
):
    def count() -> int:
        client.force_login(manager)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(service_url(payments_api)).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            number = SLO.objects.count()
            slo = services.slo_create(
                actor=manager,
                service=payments_api,
                name=f"objective {number}",
                objective=99,
                source="pushed",
            )
            history(slo, 2)
            deploy(prod, make_release(), days_ago=1 + number / 10)

    add(1)
    few = count()
    add(9)
    assert count() == few
