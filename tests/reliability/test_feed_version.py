"""SLO evaluations run every minute: only those that change what a feed shows (the state, and
the budget in whole percent where the go/no-go's reason shows it) drop feeds' cached answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from calendars import freshness
from reliability import evaluation
from reliability.models import Measurement, SLOState

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def cached_feeds(settings):
    settings.RELCAL_FEED_CACHE = True
    cache.clear()
    yield
    cache.clear()


def push(slo, *, good: int, total: int, at: datetime) -> None:
    Measurement.objects.create(slo=slo, start=at - MINUTE, end=at, good=good, total=total)


def version() -> int | None:
    return cache.get(freshness.version_key())


def test_an_evaluation_that_keeps_the_state_keeps_the_feeds_cached_answers(make_slo):
    slo = make_slo()
    push(slo, good=1_000, total=1_000, at=NOW - MINUTE)
    evaluation.evaluate(slo, now=NOW)
    before = version()

    push(slo, good=1_000, total=1_000, at=NOW)
    evaluation.evaluate(slo, now=NOW + MINUTE)

    assert version() == before


def test_an_evaluation_that_changes_the_state_drops_them(make_slo):
    slo = make_slo()
    push(slo, good=1_000, total=1_000, at=NOW - MINUTE)
    evaluation.evaluate(slo, now=NOW)
    before = version()

    push(slo, good=0, total=1_000_000, at=NOW)
    assert evaluation.evaluate(slo, now=NOW + MINUTE).state == SLOState.EXHAUSTED

    assert version() != before


def test_a_whole_percent_less_budget_at_risk_drops_them(make_slo):
    slo = make_slo()
    push(slo, good=999_200, total=1_000_000, at=NOW - MINUTE)  # 20 % of the budget left
    assert evaluation.evaluate(slo, now=NOW).state == SLOState.AT_RISK
    before = version()

    push(slo, good=0, total=10, at=NOW)  # 810 bad of 1,000,010: 19 % left
    assert evaluation.evaluate(slo, now=NOW + MINUTE).state == SLOState.AT_RISK

    assert version() != before
