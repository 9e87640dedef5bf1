"""Deployments on pages: the release page's "Deployments" panel, an environment's page and its
whole history, and recording a deployment by hand in the admin (release managers only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import AuditEvent
from environments import services
from environments.models import Deployment, Environment
from environments.views.deployments import HISTORY_PAGE

pytestmark = pytest.mark.django_db

ADD = "/admin/environments/deployment/add/"


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def page_of(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    return text(client.get(url))


def queries(user, url: str) -> int:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def history(alice, environment: Environment, release, count: int) -> None:
    """``count`` canaries of ``release`` on ``environment``, each stepped, every other one
    failed and rolled back."""
    for n in range(count):
        deployment = services.deployment_start(
            actor=alice,
            environment=environment,
            release=release,
            version=f"{release.version}-{n}",
            strategy="canary",
            planned_steps=[10, 100],
        )
        services.deployment_step(actor=alice, deployment=deployment, percent=10)
        services.deployment_finish(
            actor=alice, deployment=deployment, outcome="failed" if n % 2 else "succeeded"
        )
        if n % 2:
            rollback = services.deployment_rollback(actor=alice, deployment=deployment)
            services.deployment_finish(actor=alice, deployment=rollback, outcome="succeeded")


# --- The release page ----------------------------------------------------------------------------


def test_the_release_page_shows_its_deployments_across_environments(
    alice, staging, qa, make_release
):
    release = make_release(name="Payments 4.3", version="4.3.0")
    other = services.deployment_report(actor=alice, environment=qa, version="4.2.0")
    canary = services.deployment_start(
        actor=alice, environment=qa, release=release, strategy="canary", planned_steps=[5, 100]
    )
    canary = services.deployment_step(actor=alice, deployment=canary, percent=5)
    services.deployment_finish(actor=alice, deployment=canary, outcome="succeeded")
    rollback = services.deployment_rollback(actor=alice, deployment=canary)
    services.deployment_finish(actor=alice, deployment=rollback, outcome="succeeded")
    services.deployment_report(actor=alice, environment=staging, version="", release=release)

    page = page_of(alice, release.get_absolute_url())
    panel = page[page.index('id="deployments"') :]
    assert 'id="deployments-title" class="card__title">Deployments</h2>' in page
    assert f'<a href="{reverse("environments:detail", args=["qa"])}">qa</a>' in panel
    assert f'<a href="{reverse("environments:detail", args=["staging"])}">staging</a>' in panel
    step_at = timezone.localtime(datetime.fromisoformat(canary.steps[0]["at"]))
    assert 'Steps reached: <span class="nowrap">5% at <time' in panel
    assert f">{step_at:%H:%M}</time>" in panel
    assert "Canary (5% → 100% planned)" in panel
    assert f'Rolled back by <a href="#deployment-{rollback.pk}">#{rollback.pk}</a>' in panel
    assert f'rollback of <a href="#deployment-{canary.pk}">#{canary.pk}</a>' in panel
    assert "Rolled back</span>" in panel and "Succeeded</span>" in panel
    assert f'id="deployment-{other.pk}"' not in panel, "not a deployment of this release"


def test_the_release_page_costs_the_same_queries_for_2_and_20_deployments(
    alice, staging, make_release
):
    small, large = make_release(), make_release()
    services.deployment_report(actor=alice, environment=staging, version="0.1")
    history(alice, staging, small, 2)
    history(alice, staging, large, 20)
    queries(alice, small.get_absolute_url())  # warm the per-process caches
    assert queries(alice, small.get_absolute_url()) == queries(alice, large.get_absolute_url())


def test_release_managers_are_offered_to_record_a_deployment_by_hand(alice, manager, make_release):
    release = make_release()
    link = f'<a href="{ADD}?release={release.pk}">Record a deployment by hand</a>'
    assert link in page_of(manager, release.get_absolute_url())
    assert "Record a deployment by hand" not in page_of(alice, release.get_absolute_url())


# --- An environment's page and history -----------------------------------------------------------


def test_the_environment_page_shows_outcome_steps_and_links_to_the_whole_history(
    alice, staging, make_release
):
    release = make_release(name="Payments 4.3", version="4.3.0")
    services.deployment_report(actor=alice, environment=staging, version="4.2.0")
    running = services.deployment_start(
        actor=alice, environment=staging, release=release, strategy="rolling"
    )
    services.deployment_step(actor=alice, deployment=running, percent=30)
    page = page_of(alice, reverse("environments:detail", args=["staging"]))
    row = page[page.index(f'id="deployment-{running.pk}"') :]
    assert "In progress</span>" in row and "still running" in row
    assert 'Steps reached: <span class="nowrap">30% at' in row
    assert "Payments 4.3" in row
    assert reverse("environments:deployments", args=["staging"]) in page


def test_the_environment_page_costs_the_same_queries_however_long_its_history(
    alice, staging, make_release
):
    release = make_release()
    history(alice, staging, release, 2)
    url = reverse("environments:detail", args=["staging"])
    few = queries(alice, url)
    history(alice, staging, release, 30)
    assert queries(alice, url) == few


def test_the_history_page_goes_back_page_by_page_for_a_constant_cost(alice, staging, make_release):
    release = make_release()
    history(alice, staging, release, 3)
    url = reverse("environments:deployments", args=["staging"])
    few = queries(alice, url)
    history(alice, staging, release, 40)
    assert Deployment.objects.count() > HISTORY_PAGE
    assert queries(alice, url) == few
    first = page_of(alice, url)
    assert f"{Deployment.objects.count()} deployments, newest first." in first
    assert "Older →" in first
    assert "← Newer" in page_of(alice, f"{url}?page=2")


def test_the_history_does_not_name_a_private_release_to_an_outsider(
    outsider, alice, staging, payments, make_release
):
    payments.is_private = True
    payments.save()
    services.deployment_report(
        actor=alice, environment=staging, version="1.0", release=make_release(name="Secret 1.0")
    )
    url = reverse("environments:deployments", args=["staging"])
    assert "Secret 1.0" not in page_of(outsider, url)
    assert "Secret 1.0" in page_of(alice, url)


def test_an_unknown_environment_s_history_is_a_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("environments:deployments", args=["nowhere"])).status_code == 404


# --- Recorded by hand in the admin ---------------------------------------------------------------


def admin_post(environment, **fields) -> dict:
    now = timezone.localtime()
    data = {
        "environment": environment.pk,
        "release": "",
        "candidate": "",
        "version": "4.2.1",
        "strategy": "big_bang",
        "planned_steps": "[]",
        "deployed_at_0": (now - timedelta(hours=2)).date().isoformat(),
        "deployed_at_1": (now - timedelta(hours=2)).strftime("%H:%M:%S"),
        "finished_at_0": (now - timedelta(hours=1)).date().isoformat(),
        "finished_at_1": (now - timedelta(hours=1)).strftime("%H:%M:%S"),
        "outcome": "succeeded",
        "rollback_of": "",
        "move_release": "on",
        "note": "Hotfix applied by hand during the outage",
    }
    return data | fields


def test_a_release_manager_records_a_deployment_by_hand_in_the_admin(
    client, manager, prod, release_in
):
    manager.is_staff = True
    manager.save()
    release = release_in("approved")
    client.force_login(manager)
    response = client.post(ADD, admin_post(prod, release=release.pk, version=""))
    assert response.status_code == 302, response.content.decode()[:3000]
    deployment = Deployment.objects.get()
    assert (deployment.version, deployment.outcome, deployment.deployed_by) == (
        release.version,
        "succeeded",
        manager,
    )
    assert AuditEvent.objects.filter(action="deployment.record").count() == 1
    release.refresh_from_db()
    assert release.state == "released"
    prod.refresh_from_db()
    assert prod.current_deployment == deployment


def test_a_refused_record_in_the_admin_shows_the_error_and_stores_nothing(client, manager, staging):
    manager.is_staff = True
    manager.save()
    client.force_login(manager)
    response = client.post(ADD, admin_post(staging, strategy="canary", planned_steps="[50, 10]"))
    assert response.status_code == 200
    assert "The steps must increase, e.g. [5, 25, 100]." in unescape(response.content.decode())
    assert not Deployment.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="deployment.").exists()


def test_only_release_managers_record_deployments_by_hand(client, alice):
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    assert client.get(ADD).status_code == 403
