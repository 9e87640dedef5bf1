"""Pushed measurements (`/api/v1/slos/{id}/measurements/`): good and total counts of an
interval, one or a batch (all or none), every bad count or interval a 400 naming the field with
nothing stored, an overlap a 409 naming the stored interval, who may push and read, and the
evaluation reading what was pushed."""

# The fixtures come from api_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reliability import evaluation, services
from reliability.models import Measurement, SLOState

from .api_fixtures import (  # noqa: F401  (fixtures)
    as_user,
    hidden,
    last_event,
    maya,
    payments_api,
    pushed_slo,
    secret,
    sre,
    stored,
)

HOUR = timedelta(hours=1)


@pytest.fixture
def hour_ago():
    return (timezone.now() - 2 * HOUR).replace(minute=0, second=0, microsecond=0)


def interval(start, *, good=990, total=1000, length=HOUR) -> dict:
    return {
        "start": start.isoformat(),
        "end": (start + length).isoformat(),
        "good": good,
        "total": total,
    }


def url(slo) -> str:
    return f"/api/v1/slos/{slo.pk}/measurements/"


def test_a_team_member_pushes_one_interval(as_user, alice, pushed_slo, hour_ago):
    response = as_user(alice).post(url(pushed_slo), interval(hour_ago), format="json")
    assert response.status_code == 201, response.data
    assert (response.data["good"], response.data["total"]) == (990, 1000)
    stored_row = Measurement.objects.get()
    assert (stored_row.start, stored_row.end) == (hour_ago, hour_ago + HOUR)
    event = last_event()
    assert (event.action, event.after["count"], event.after["good"]) == (
        "measurement.push",
        1,
        990,
    )


def test_a_batch_is_stored_whole_and_answered_as_a_list(as_user, alice, pushed_slo, hour_ago):
    batch = [interval(hour_ago - i * HOUR) for i in range(24)]
    response = as_user(alice).post(url(pushed_slo), batch, format="json")
    assert response.status_code == 201, response.data
    assert len(response.data) == 24
    assert Measurement.objects.count() == 24
    assert last_event().after["count"] == 24


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"good": 1001}, "good", id="good-over-total"),
        pytest.param({"good": -1}, "good", id="negative-good"),
        pytest.param({"total": -5, "good": -6}, "good", id="negative-both"),
        pytest.param({"total": "many"}, "total", id="not-a-number"),
        pytest.param({"total": 10**13}, "total", id="too-many-events"),
        pytest.param({"end": "START"}, "end", id="end-at-start"),
        pytest.param({"end": "2h"}, "end", id="longer-than-a-day"),
        pytest.param({"end": "future"}, "end", id="in-the-future"),
        pytest.param({"start": "2026-01-01T10:00:00"}, "start", id="naive-time"),
        pytest.param({"start": "yesterday"}, "start", id="not-a-time"),
        pytest.param({"end": None}, "end", id="missing-end"),
        pytest.param({"slo": 3}, "slo", id="unknown-field"),
    ],
)
def test_a_bad_measurement_is_a_400_naming_the_field_and_nothing_is_stored(
    as_user, alice, pushed_slo, hour_ago, stored, change, field
):
    body = interval(hour_ago)
    body.update(change)
    if body["end"] == "START":
        body["end"] = body["start"]
    elif body["end"] == "2h":
        body["end"] = (hour_ago + timedelta(days=1, hours=2)).isoformat()
    elif body["end"] == "future":
        body["end"] = (timezone.now() + HOUR).isoformat()
    if body["end"] is None:
        del body["end"]
    client = as_user(alice)
    before = stored()
    response = client.post(url(pushed_slo), body, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data, response.data
    assert stored() == before


def test_good_over_total_is_explained(as_user, alice, pushed_slo, hour_ago):
    response = as_user(alice).post(url(pushed_slo), interval(hour_ago, good=1001), format="json")
    assert response.data == {"good": ["Good events (1,001) cannot exceed the total (1,000)."]}


def test_an_interval_before_the_window_would_not_count(as_user, alice, pushed_slo):
    old = timezone.now() - timedelta(days=29)
    response = as_user(alice).post(url(pushed_slo), interval(old), format="json")
    assert response.status_code == 400
    assert "28-day window" in response.data["end"][0]


def test_one_bad_measurement_refuses_the_whole_batch_naming_it(
    as_user, alice, pushed_slo, hour_ago, stored
):
    batch = [interval(hour_ago - i * HOUR) for i in range(5)]
    batch[3]["good"] = 2000
    client = as_user(alice)
    before = stored()
    response = client.post(url(pushed_slo), batch, format="json")
    assert response.status_code == 400
    assert response.data["good"][0].startswith("Measurement 4: Good events (2,000)")
    assert stored() == before


def test_intervals_of_one_batch_may_not_overlap(as_user, alice, pushed_slo, hour_ago, stored):
    batch = [interval(hour_ago), interval(hour_ago + HOUR / 2)]
    client = as_user(alice)
    before = stored()
    response = client.post(url(pushed_slo), batch, format="json")
    assert response.status_code == 400
    assert "overlap" in response.data["start"][0]
    assert stored() == before


@pytest.mark.parametrize("body", [[], [{}] * 1001], ids=["empty", "over-1000"])
def test_an_empty_or_oversized_batch_is_a_400(as_user, alice, pushed_slo, stored, body):
    client = as_user(alice)
    before = stored()
    response = client.post(url(pushed_slo), body, format="json")
    assert response.status_code == 400
    assert stored() == before


def test_a_retried_push_is_a_409_naming_the_stored_interval(
    as_user, alice, pushed_slo, hour_ago, stored
):
    client = as_user(alice)
    assert client.post(url(pushed_slo), interval(hour_ago), format="json").status_code == 201
    before = stored()
    response = client.post(url(pushed_slo), interval(hour_ago), format="json")
    assert response.status_code == 409
    assert "is stored already (990 good of 1,000)" in response.data["detail"]
    assert response.data["conflict"]["id"] == Measurement.objects.get().pk
    assert stored() == before


def test_touching_intervals_do_not_overlap(as_user, alice, pushed_slo, hour_ago):
    client = as_user(alice)
    assert client.post(url(pushed_slo), interval(hour_ago), format="json").status_code == 201
    later = client.post(url(pushed_slo), interval(hour_ago - HOUR), format="json")
    assert later.status_code == 201, later.data


def test_a_prometheus_slo_takes_no_measurements(
    as_user, manager, payments_api, prometheus_server, hour_ago, stored
):
    slo = services.slo_create(
        actor=manager,
        service=payments_api,
        name="availability",
        objective=99.9,
        source="prometheus",
        error_ratio_query='sum(rate(http_requests_total{code="500"}[$window]))',
    )
    client = as_user(manager)
    before = stored()
    response = client.post(url(slo), interval(hour_ago), format="json")
    assert response.status_code == 409
    assert "reads its SLI from Prometheus" in response.data["detail"]
    assert stored() == before


@pytest.mark.parametrize("persona", ["alice", "manager", "sre", "admin"])
def test_the_team_release_managers_sre_and_admins_push(
    request, as_user, pushed_slo, hour_ago, persona
):
    client = as_user(request.getfixturevalue(persona))
    assert client.post(url(pushed_slo), interval(hour_ago), format="json").status_code == 201


@pytest.mark.parametrize("persona", ["outsider", "bob"])
def test_others_may_not_push(request, as_user, pushed_slo, hour_ago, stored, persona):
    client = as_user(request.getfixturevalue(persona))
    before = stored()
    response = client.post(url(pushed_slo), interval(hour_ago), format="json")
    assert response.status_code == 403
    assert stored() == before


def test_a_private_teams_slo_is_404_to_others_even_to_push(
    as_user, outsider, manager, hidden, hour_ago
):
    slo = services.slo_create(
        actor=manager, service=hidden, name="availability", objective=99, source="pushed"
    )
    client = as_user(outsider)
    assert client.post(url(slo), interval(hour_ago), format="json").status_code == 404
    assert client.get(url(slo)).status_code == 404
    assert not Measurement.objects.exists()


def test_everyone_who_sees_the_slo_reads_the_latest_measurements_first(
    as_user, alice, outsider, pushed_slo, hour_ago
):
    batch = [interval(hour_ago - i * HOUR, good=900 + i) for i in range(3)]
    as_user(alice).post(url(pushed_slo), batch, format="json")
    response = as_user(outsider).get(url(pushed_slo), {"page_size": 2})
    assert response.status_code == 200
    assert response.data["count"] == 3
    assert [row["good"] for row in response.data["results"]] == [900, 901]


def test_the_evaluation_reads_what_was_pushed(as_user, alice, pushed_slo, hour_ago):
    # 28 days of 1 failure in 2,000 (objective 99.9 %): half the budget is left.
    start = hour_ago - timedelta(days=27)
    batch = [interval(start + i * HOUR, good=1999, total=2000) for i in range(27 * 24)]
    assert as_user(alice).post(url(pushed_slo), batch, format="json").status_code == 201
    slo = evaluation.evaluate(pushed_slo)
    assert slo.state == SLOState.HEALTHY
    assert slo.budget_remaining == pytest.approx(0.5)
