"""The reliability part of ``seed_demo``: right after it, the Reliability pages have services
with an at-risk, a healthy and a "no data" SLO, each with a chart to draw; a second run changes
nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from reliability.models import SLO, Measurement, SLOSnapshot


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    settings.RELCAL_PROMETHEUS_URL = ""
    call_command("seed_demo", stdout=StringIO())


def figures() -> list[tuple]:
    return list(
        SLO.objects.order_by("service__name", "name").values_list(
            "service__slug", "name", "source", "state", "budget_remaining"
        )
    )


def test_the_demo_has_an_at_risk_a_healthy_and_a_no_data_slo(seeded):
    states = {(slug, name): (source, state) for slug, name, source, state, _ in figures()}
    assert states == {
        ("payments-api", "availability"): ("prometheus", "no_data"),
        ("payments-api", "checkout success"): ("pushed", "at_risk"),
        ("search-api", "query latency < 300 ms"): ("pushed", "healthy"),
    }
    pushed = SLO.objects.filter(source="pushed")
    for slo in pushed:
        # 28 days of hourly measurements and an evaluation every two hours to draw.
        assert Measurement.objects.filter(slo=slo).count() == 28 * 24 - 1
        assert SLOSnapshot.objects.filter(slo=slo).count() > 300


def test_the_demo_pages_show_it(seeded, client):
    client.login(username="alice", password="relcal-demo")
    index = client.get("/reliability/").content.decode()
    assert "Payments API" in index and "Search API" in index
    page = client.get("/reliability/payments-api/").content.decode()
    assert "At risk: only" in page
    assert "No data: no Prometheus server is configured" in page
    assert page.count('class="burndown__point"') == 300  # thinned to at most 300


def test_a_second_run_changes_nothing(seeded):
    before = (figures(), Measurement.objects.count(), SLOSnapshot.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (figures(), Measurement.objects.count(), SLOSnapshot.objects.count()) == before
