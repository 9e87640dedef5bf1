"""Production changes: which deployments count, their facts, and when they failed."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery import changes
from delivery.models import ChangeService, ProductionChange
from environments.models import Deployment, Environment

from .conftest import at

pytestmark = pytest.mark.django_db


def change_of(deployment: Deployment) -> ProductionChange:
    return ProductionChange.objects.get(deployment=deployment)


# --- What is a change ----------------------------------------------------------------------------


def test_a_successful_production_deployment_is_recorded_as_a_change(
    deploy, make_release, payments, checkout, billing
):
    release = make_release()
    deployment = deploy(release, at(6, 1, 12), lead=26)
    change = change_of(deployment)
    assert change.team == payments
    assert change.release == release
    assert change.finished_at == at(6, 1, 12)
    assert change.first_commit_at == at(5, 31, 10)
    assert change.lead_time_seconds == 26 * 3600
    assert (change.failed, change.failure) == (False, "")
    # A release naming no service touches its team's.
    assert set(change.touched.values_list("service__slug", flat=True)) == {"checkout", "billing"}


def test_the_services_a_release_names_are_the_ones_it_touched(
    deploy, make_release, checkout, billing
):
    release = make_release()
    release.services.set([checkout])
    touched = change_of(deploy(release, at(6, 1), lead=2)).touched.get()
    assert (touched.service, touched.finished_at, touched.lead_time_seconds) == (
        checkout,
        at(6, 1),
        7200,
    )


def test_a_deployment_without_a_build_has_no_lead_time(deploy, make_release):
    change = change_of(deploy(make_release(), at(6, 1)))
    assert (change.first_commit_at, change.lead_time_seconds) == (None, None)


def test_staging_and_failed_deployments_are_not_changes(deploy, make_release, staging):
    release = make_release()
    deploy(release, at(6, 1), environment=staging)
    deploy(release, at(6, 2), outcome="failed")
    assert not ProductionChange.objects.exists()


def test_a_deployment_without_a_release_counts_for_the_environments_owner_team(
    deploy, search, search_api
):
    owned = Environment.objects.create(
        name="search-prod", slug="sp", kind="prod", owner_team=search
    )
    change = change_of(deploy(None, at(6, 1), environment=owned))
    assert change.team == search
    assert list(change.touched.values_list("service", flat=True)) == [search_api.pk]


def test_a_deployment_without_release_or_owner_team_is_not_a_change(deploy):
    deploy(None, at(6, 1))
    assert not ProductionChange.objects.exists()


def test_recording_a_change_again_changes_nothing(deploy, make_release, checkout):
    deployment = deploy(make_release(), at(6, 1), lead=3)
    first = change_of(deployment)
    again = changes.record_change(deployment)
    assert again.pk == first.pk
    assert ProductionChange.objects.count() == 1
    assert ChangeService.objects.count() == 1


# --- Rollbacks -----------------------------------------------------------------------------------


def test_a_rollback_days_later_fails_the_change_it_undid_and_is_not_a_change(
    deploy, roll_back, make_release, checkout
):
    deployment = deploy(make_release(), at(6, 1), lead=3)
    roll_back(deployment, at(6, 4))
    assert ProductionChange.objects.count() == 1
    change = change_of(deployment)
    assert (change.failed, change.failure) == (True, "rolled_back")
    assert ChangeService.objects.get().failed is True


def test_a_deployment_rolled_back_twice_is_one_failed_change(
    deploy, roll_back, make_release, checkout
):
    deployment = deploy(make_release(), at(6, 1), lead=3)
    roll_back(deployment, at(6, 1, 11), outcome="failed")
    assert change_of(deployment).failed is False  # a failed rollback undid nothing
    roll_back(deployment, at(6, 1, 12))
    assert ProductionChange.objects.count() == 1
    assert list(ProductionChange.objects.values_list("failed", "failure")) == [
        (True, "rolled_back")
    ]


def test_a_rollback_outside_production_fails_nothing(deploy, roll_back, make_release, staging):
    release = make_release()
    deploy(release, at(6, 1), environment=staging)
    production = deploy(release, at(6, 2))
    roll_back(Deployment.objects.get(environment=staging), at(6, 3))
    assert change_of(production).failed is False


# --- Hotfixes ------------------------------------------------------------------------------------


def test_a_hotfix_within_the_watch_window_fails_the_teams_latest_change(
    deploy, deploy_hotfix, make_release, search, settings
):
    settings.RELCAL_WATCH_MINUTES = 120
    release = make_release()
    fixed = deploy(release, at(6, 1, 10))
    other_team = deploy(make_release(team=search), at(6, 1, 10, 30))
    hotfix = deploy_hotfix(release, at(6, 1, 11, 30))
    assert (change_of(fixed).failed, change_of(fixed).failure) == (True, "hotfix")
    assert change_of(other_team).failed is False
    assert change_of(hotfix).failed is False  # the hotfix is a change, counted normally


def test_a_hotfix_after_the_watch_window_fails_nothing(
    deploy, deploy_hotfix, make_release, settings
):
    settings.RELCAL_WATCH_MINUTES = 120
    release = make_release()
    deployment = deploy(release, at(6, 1, 10))
    deploy_hotfix(release, at(6, 1, 12, 1))
    assert change_of(deployment).failed is False


def test_a_hotfix_fails_only_the_latest_change_before_it(deploy, deploy_hotfix, make_release):
    release = make_release()
    earlier = deploy(release, at(6, 1, 10))
    latest = deploy(make_release(), at(6, 1, 10, 30))
    deploy_hotfix(release, at(6, 1, 11))
    assert change_of(earlier).failed is False
    assert change_of(latest).failure == "hotfix"


# --- Incidents -----------------------------------------------------------------------------------


def test_an_incident_naming_the_deployment_fails_its_change(
    deploy, make_release, make_incident, checkout
):
    deployment = deploy(make_release(), at(6, 1), lead=3)
    make_incident([checkout], at(6, 2), deployment=deployment)
    change = change_of(deployment)
    assert (change.failed, change.failure) == (True, "incident")
    assert change.touched.get().failed is True


def test_an_incident_naming_the_release_fails_its_latest_change_before_it_opened(
    deploy, make_release, make_incident, checkout
):
    release = make_release()
    first = deploy(release, at(6, 1))
    second = deploy(release, at(6, 3))
    after = deploy(release, at(6, 10))
    make_incident([checkout], at(6, 5), release=release)
    assert [change_of(d).failed for d in (first, second, after)] == [False, True, False]


def test_a_change_reported_late_takes_over_a_release_incident(
    deploy, make_release, make_incident, checkout
):
    release = make_release()
    first = deploy(release, at(6, 1))
    make_incident([checkout], at(6, 5), release=release)
    late = deploy(release, at(6, 4))
    assert (change_of(first).failed, change_of(late).failed) == (False, True)


def test_an_incident_without_a_known_cause_fails_nothing(
    deploy, make_release, make_incident, checkout
):
    deployment = deploy(make_release(), at(6, 1))
    make_incident([checkout], at(6, 1, 11))
    assert change_of(deployment).failed is False


def test_an_incident_is_the_first_cause_over_a_rollback(
    deploy, roll_back, make_release, make_incident, checkout
):
    deployment = deploy(make_release(), at(6, 1))
    roll_back(deployment, at(6, 1, 11))
    make_incident([checkout], at(6, 1, 10, 30), deployment=deployment)
    assert change_of(deployment).failure == "incident"


def test_removing_an_incidents_cause_clears_the_failure(
    deploy, make_release, make_incident, checkout
):
    deployment = deploy(make_release(), at(6, 1))
    incident = make_incident([checkout], at(6, 2), deployment=deployment)
    incident.deployment = None
    incident.save()
    changes.refresh_failures(deployment_ids=[deployment.pk])
    change = change_of(deployment)
    assert (change.failed, change.failure) == (False, "")
    assert change.touched.get().failed is False


def test_refreshing_failures_takes_three_statements_whatever_the_number(
    deploy, make_release, checkout
):
    release = make_release()
    few = [deploy(release, at(6, 1, 10))]
    with CaptureQueriesContext(connection) as one:
        changes.refresh_failures(deployment_ids=[d.pk for d in few])
    many = [deploy(release, at(6, 2) + timedelta(hours=n)) for n in range(8)]
    with CaptureQueriesContext(connection) as eight:
        changes.refresh_failures(deployment_ids=[d.pk for d in many], release_ids=[release.pk])
    updates = [q for q in eight.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(one) == len(eight)
    assert len(updates) == 3


# --- Backfill ------------------------------------------------------------------------------------


def test_record_changes_backfills_existing_deployments_once(
    deploy, roll_back, make_release, checkout
):
    release = make_release()
    kept = deploy(release, at(6, 1), lead=5)
    undone = deploy(release, at(6, 2), lead=1)
    roll_back(undone, at(6, 2, 11))
    ProductionChange.objects.all().delete()  # as before the delivery metrics existed

    out = StringIO()
    call_command("record_changes", stdout=out)
    assert "Recorded 2 production changes; 2 in all, 1 failed." in out.getvalue()
    assert change_of(kept).lead_time_seconds == 5 * 3600
    assert change_of(undone).failure == "rolled_back"
    assert ChangeService.objects.filter(failed=True).count() == 1

    assert changes.backfill() == 0
    assert ProductionChange.objects.count() == 2


def test_a_failure_to_record_a_change_does_not_lose_the_deployment(
    deploy, make_release, monkeypatch, caplog
):
    def broken(deployment):
        raise RuntimeError("bug")

    monkeypatch.setattr(changes, "record_change", broken)
    deployment = deploy(make_release(), at(6, 1))
    assert Deployment.objects.filter(pk=deployment.pk).exists()
    assert "Recording deployment" in caplog.text
    assert not ProductionChange.objects.exists()  # `manage.py record_changes` adds it later
