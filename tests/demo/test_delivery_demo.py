"""The delivery part of ``seed_demo`` (demo/delivery.py): right after it, the Delivery metrics
page shows every key with a band and a trend, from three months of production deployments, a
rollback and incidents of each kind; a second run adds nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count

from approvals.models import ReleaseCandidate
from delivery.bands import Band
from delivery.models import FailureCause, Incident, ProductionChange
from environments.models import Deployment

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())


def counts() -> dict[str, int]:
    return {
        "changes": ProductionChange.objects.count(),
        "deployments": Deployment.objects.count(),
        "builds": ReleaseCandidate.objects.count(),
        "incidents": Incident.objects.count(),
    }


def test_each_team_ships_to_production_for_three_months(seeded):
    per_team = dict(
        ProductionChange.objects.values_list("team__slug").annotate(n=Count("id")).order_by()
    )
    assert set(per_team) == {"payments", "search", "mobile"}
    assert per_team["payments"] > per_team["search"] > per_team["mobile"] >= 5
    first = ProductionChange.objects.order_by("finished_at").first()
    last = ProductionChange.objects.order_by("finished_at").last()
    assert (last.finished_at - first.finished_at).days >= 80
    # Each of the streams' builds carries its first commit (Payments 4.1's hand-recorded
    # deployment names no build).
    streams = ProductionChange.objects.filter(release__version="cd")
    assert not streams.filter(lead_time_seconds__isnull=True).exists()


def test_it_has_a_rollback_and_incidents_of_every_kind(seeded):
    failures = set(
        ProductionChange.objects.filter(failed=True).values_list("team__slug", "failure")
    )
    assert ("mobile", FailureCause.ROLLED_BACK) in failures
    assert ("payments", FailureCause.INCIDENT) in failures
    caused = Incident.objects.filter(deployment__isnull=False)
    assert caused.count() == 2 and not caused.filter(resolved_at__isnull=True).exists()
    unknown = Incident.objects.filter(deployment__isnull=True, release__isnull=True)
    assert unknown.filter(resolved_at__isnull=False).exists()
    assert unknown.filter(resolved_at__isnull=True).exists()  # still open


def test_the_delivery_page_shows_every_key_with_a_band(seeded, client):
    client.force_login(User.objects.get(username="manager"))
    response = client.get("/delivery/")
    assert response.status_code == 200
    summary = response.context["summary"]
    assert all(band != Band.NO_DATA for band in summary.bands.values()), summary.bands
    assert summary.open_incidents == 1
    lead = next(t for t in response.context["trends"] if t.metric == "lead_time_for_changes")
    assert sum(row.value != "no data" for row in lead.rows) >= 10


def test_a_second_run_adds_nothing(seeded):
    before = counts()
    call_command("seed_demo", stdout=StringIO())
    assert counts() == before
