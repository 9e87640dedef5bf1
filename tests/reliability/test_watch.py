"""The post-release watch: a succeeded production deployment is watched for
``RELCAL_WATCH_MINUTES``; a page-level burn degrades it once (one message per person, at once),
shows the rollback plan on the release page and goes into the release's evidence; a watch
without one ends clean, with its figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.models import AuditEvent
from environments.models import Environment
from relcal.celery import app
from releases.models import Team
from reliability import watch as watching
from reliability.evaluation import evaluate
from reliability.models import SLO, DeploymentWatch, SLISource, WatchState
from reliability.selectors import services_touched
from reminders import scan as scanning
from reminders.models import Delivery, Webhook
from tests import prometheus as harness
from tests.reliability import history
from tests.reliability.budget_helpers import (
    PAGE_BURN,
    deploy,
    evaluated,
    prod_environment,
    rollback,
)
from tests.reliability.conftest import require_prometheus

pytestmark = pytest.mark.django_db

PLAN = "Redeploy 4.1 with the rollback job of the pipeline; the schema change is compatible."


@pytest.fixture
def prod(db):
    return prod_environment()


@pytest.fixture
def release(make_release, manager):
    return make_release(rollback_plan=PLAN)


@pytest.fixture
def slo(make_slo):
    return make_slo("availability")


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_production_deployment_that_succeeds_is_watched(alice, release, prod, settings):
    settings.RELCAL_WATCH_MINUTES = 90
    deployment = deploy(alice, release, prod)
    watch = DeploymentWatch.objects.get(deployment=deployment)
    assert (watch.state, watch.started_at, watch.until) == (
        WatchState.WATCHING,
        deployment.finished_at,
        deployment.finished_at + timedelta(minutes=90),
    )


@pytest.mark.parametrize(
    "case", ["failed", "staging", "rollback", "no-release"], ids=lambda case: case
)
def test_other_deployments_are_not_watched(case, alice, release, prod):
    if case == "failed":
        deploy(alice, release, prod, outcome="failed")
    elif case == "staging":
        staging = Environment.objects.create(name="staging", slug="staging", kind="staging")
        deploy(alice, release, staging)
    elif case == "rollback":
        first = deploy(alice, release, prod, version="4.1")
        deploy(alice, release, prod, version="4.2")
        DeploymentWatch.objects.all().delete()
        rollback(alice, type(first).objects.filter(version="4.2").get())
    else:
        deploy(alice, None, prod, version="4.2")
    assert not DeploymentWatch.objects.exists()


def test_a_page_level_burn_after_a_production_deployment_degrades_its_watch(
    alice, manager, release, prod, service, settings, eager, django_capture_on_commit_callbacks
):
    """End to end: a real Prometheus holding a service that burns its budget at 20× in the
    last hour, the evaluation engine, the watch, the reminders scan and the emails."""
    require_prometheus()
    end = timezone.now().replace(second=0, microsecond=0)
    counters = history.requests_history(
        "checkout",
        end=end,
        span=timedelta(days=1),
        errors=0.01,
        bursts=[(timedelta(hours=1), 2.0)],
    )
    with harness.PrometheusServer(history=counters) as prometheus:
        settings.RELCAL_PROMETHEUS_URL = prometheus.url
        slo = SLO.objects.create(
            service=service,
            name="availability",
            objective="99.9",
            source=SLISource.PROMETHEUS,
            **history.queries("checkout"),
        )
        deployment = deploy(alice, release, prod)
        with django_capture_on_commit_callbacks(execute=True):
            evaluate(SLO.objects.get(pk=slo.pk))
        watch = DeploymentWatch.objects.get(deployment=deployment)
        assert watch.state == WatchState.DEGRADED
        [figure] = watch.figures
        assert (figure["service"], figure["slo"], figure["alert"]) == (
            "Checkout",
            "availability",
            "page",
        )
        assert 15 < figure["burn_rates"]["1h"] < 25
        # The deployment itself says so, in the API and in the release's deployment history.
        deployment.refresh_from_db()
        assert deployment.degraded_at == watch.degraded_at
        alice_api = APIClient()
        alice_api.force_authenticate(alice)
        answer = alice_api.get(f"/api/v1/deployments/{deployment.pk}/").json()
        assert answer["degraded_at"] is not None
        # At once: the scan ran after the evaluation committed, and the mails went out.
        assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "manager@example.com"]
        assert mail.outbox[0].subject.endswith(f"Degraded after deploying {release.name} to prod")
        assert PLAN in mail.outbox[0].body
        assert f"POST /api/v1/deployments/{deployment.pk}/rollback/" in mail.outbox[0].body

        with django_capture_on_commit_callbacks(execute=True):
            evaluate(SLO.objects.get(pk=slo.pk))
    assert Delivery.objects.filter(kind="deployment.degraded").count() == 2
    assert len(mail.outbox) == 2
    assert DeploymentWatch.objects.get(pk=watch.pk).degraded_at == watch.degraded_at


def test_each_recipient_hears_once_however_often_the_slo_burns(
    alice, manager, release, prod, slo, payments
):
    hook = Webhook.objects.create(team=payments, name="#payments", url="https://chat.example.com/h")
    deploy(alice, release, prod)
    first = timezone.now() + timedelta(minutes=1)
    evaluated(slo, "healthy", 0.9, alert="page", burn_rates=PAGE_BURN, now=first)
    for minutes in (2, 3):
        later = first + timedelta(minutes=minutes)
        evaluated(slo, "healthy", 0.8, alert="page", burn_rates=PAGE_BURN, now=later)
        scanning.collect(later)
    rows = Delivery.objects.filter(kind="deployment.degraded")
    assert sorted(str(row.recipient or row.webhook) for row in rows) == sorted(
        ["alice", "manager", str(hook)]
    )
    assert {row.due for row in rows} == {first}


def test_a_burn_on_a_service_the_release_does_not_touch_is_ignored(
    alice, release, prod, make_slo, search
):
    deploy(alice, release, prod)
    other = make_slo("availability", team=search)
    evaluated(other, "healthy", 0.9, alert="page", burn_rates=PAGE_BURN)
    assert DeploymentWatch.objects.get().state == WatchState.WATCHING


def test_a_ticket_level_burn_is_noted_but_does_not_degrade(alice, release, prod, slo):
    deploy(alice, release, prod)
    evaluated(slo, "at_risk", 0.2, alert="ticket", burn_rates={"3d": 1.5, "1h": 2.0})
    watch = DeploymentWatch.objects.get()
    assert watch.state == WatchState.WATCHING
    assert watch.figures[0]["burn_rates"] == {"3d": 1.5, "1h": 2.0}


def test_a_watch_past_its_end_without_a_page_is_clean_with_the_worst_figures(
    alice, release, prod, slo, make_slo
):
    make_slo("latency")  # never evaluated during the watch: its figures at the end
    deploy(alice, release, prod)
    now = timezone.now()
    evaluated(slo, "healthy", 0.7, burn_rates={"1h": 3.0}, now=now + timedelta(minutes=5))
    evaluated(slo, "healthy", 0.7, burn_rates={"1h": 1.0}, now=now + timedelta(minutes=6))
    assert watching.close_watches(now + timedelta(minutes=30)) == 0
    assert watching.close_watches(now + timedelta(hours=3)) == 1
    watch = DeploymentWatch.objects.get()
    assert watch.state == WatchState.CLEAN
    assert [(f["slo"], f["burn_rates"]) for f in watch.figures] == [
        ("availability", {"1h": 3.0}),
        ("latency", {}),
    ]


def test_the_reminders_scan_closes_watches_when_no_slo_is_evaluated(alice, release, prod):
    deploy(alice, release, prod)
    scanning.collect(timezone.now() + timedelta(hours=3))
    watch = DeploymentWatch.objects.get()
    assert (watch.state, watch.figures) == (WatchState.CLEAN, [])


def test_a_burn_after_the_watch_ended_does_not_degrade_it(alice, release, prod, slo):
    deploy(alice, release, prod)
    evaluated(
        slo,
        "healthy",
        0.9,
        alert="page",
        burn_rates=PAGE_BURN,
        now=timezone.now() + timedelta(hours=3),
    )
    assert DeploymentWatch.objects.get().state == WatchState.CLEAN


def test_the_release_page_shows_a_degraded_watch_and_the_rollback_plan(
    client, alice, release, prod, slo
):
    deployment = deploy(alice, release, prod)
    evaluated(slo, "healthy", 0.9, alert="page", burn_rates=PAGE_BURN)
    client.force_login(alice)
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-watch="degraded"' in page
    assert PLAN in page
    assert f"/api/v1/deployments/{deployment.pk}/rollback/" in page
    assert "Checkout availability 99.9% (page-level burn): 90% left, burn 21.0× over 5m" in page


def test_the_release_page_shows_a_watch_in_progress(client, alice, release, prod, slo):
    deploy(alice, release, prod)
    client.force_login(alice)
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-watch="watching"' in page and "watching until" in page
    assert 'data-watch="degraded"' not in page


def test_the_release_panel_costs_the_same_queries_whatever_the_history(
    client, alice, release, prod, slo, make_slo, django_assert_max_num_queries
):
    client.force_login(alice)
    deploy(alice, release, prod, version="1")
    client.get(release.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(release.get_absolute_url())
    for number in range(2, 8):
        deploy(alice, release, prod, version=str(number))
        evaluated(make_slo(f"slo {number}"), "at_risk", 0.1, alert="ticket")
    with django_assert_max_num_queries(len(few)):
        client.get(release.get_absolute_url())


def test_the_watch_result_is_in_the_releases_evidence(client, admin, alice, release, prod, slo):
    deployment = deploy(alice, release, prod)
    evaluated(slo, "healthy", 0.9, alert="page", burn_rates=PAGE_BURN)
    client.force_login(admin)
    body = client.get(reverse("approvals:evidence-json", args=[release.pk])).json()
    [row] = body["deployment_watches"]
    assert (row["deployment_id"], row["environment"], row["watch"]) == (
        deployment.pk,
        "prod",
        "degraded",
    )
    assert row["figures"][0]["burn_rates"] == PAGE_BURN
    csv_text = client.get(reverse("approvals:evidence-csv", args=[release.pk])).content.decode()
    assert "deployment_watches," in csv_text and "degraded" in csv_text
    page = client.get(reverse("approvals:evidence", args=[release.pk])).content.decode()
    assert "Post-release watches (1)" in page


def test_an_outsider_sees_no_private_releases_watch(client, outsider, make_release, prod, manager):
    vault = Team.objects.create(name="Vault", slug="vault", is_private=True)
    hidden = make_release(team=vault)
    deploy(manager, hidden, prod)
    client.force_login(outsider)
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get(reverse("approvals:evidence-json", args=[hidden.pk])).status_code == 403


def test_the_state_changes_are_audited_under_the_release(alice, release, prod, slo):
    deploy(alice, release, prod)
    evaluated(slo, "healthy", 0.9, alert="page", burn_rates=PAGE_BURN)
    events = AuditEvent.objects.filter(action__startswith="deployment_watch.").order_by("seq")
    assert [(e.action, e.release_id) for e in events] == [
        ("deployment_watch.start", release.pk),
        ("deployment_watch.degraded", release.pk),
    ]
    assert events[1].actor_name == "system"


def test_services_touched_names_or_falls_back_to_the_team(make_release, search, service, make_slo):
    other = make_slo("availability", team=search).service
    plain, naming = make_release(), make_release()
    other.releases.add(naming)
    touched = services_touched([plain.pk, naming.pk])
    assert touched == {plain.pk: [service], naming.pk: [other]}
