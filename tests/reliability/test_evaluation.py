"""Storing an evaluation: the SLO's latest figures, its snapshots, the signal, the task."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from relcal import schedules
from relcal.celery import app
from reliability import budget, evaluation
from reliability.models import SLO, ErrorBudgetPolicy, Measurement, SLOSnapshot, SLOState
from reliability.signals import slo_evaluated
from reliability.tasks import evaluate_slos

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def push(slo, *, good: int, total: int = 1_000, ago: timedelta = MINUTE) -> None:
    end = NOW - ago
    Measurement.objects.create(slo=slo, start=end - MINUTE, end=end, good=good, total=total)


@pytest.fixture
def healthy(make_slo) -> SLO:
    slo = make_slo()
    push(slo, good=1_000)
    return slo


@pytest.fixture
def received():
    calls = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    slo_evaluated.connect(receiver)
    yield calls
    slo_evaluated.disconnect(receiver)


def test_it_stores_the_figures_on_the_slo(healthy):
    evaluation.evaluate(healthy, now=NOW)
    healthy.refresh_from_db()
    assert (healthy.state, healthy.sli, healthy.budget_remaining) == (SLOState.HEALTHY, 1.0, 1.0)
    assert healthy.burn_rates == {
        "5m": 0.0,
        "30m": 0.0,
        "1h": 0.0,
        "6h": 0.0,
        "24h": 0.0,
        "3d": 0.0,
    }
    assert (healthy.evaluated_at, healthy.state_since, healthy.last_error) == (NOW, NOW, "")


def test_it_appends_a_snapshot_per_evaluation(healthy):
    evaluation.evaluate(healthy, now=NOW)
    evaluation.evaluate(healthy, now=NOW + MINUTE)
    snapshots = list(SLOSnapshot.objects.filter(slo=healthy).order_by("at"))
    assert [snapshot.at for snapshot in snapshots] == [NOW, NOW + MINUTE]
    assert (snapshots[0].state, snapshots[0].budget_remaining) == (SLOState.HEALTHY, 1.0)


def test_the_state_since_moves_only_when_the_state_changes(healthy):
    evaluation.evaluate(healthy, now=NOW)
    evaluation.evaluate(healthy, now=NOW + MINUTE)
    assert SLO.objects.get(pk=healthy.pk).state_since == NOW
    push(healthy, good=0, total=1_000_000)
    slo = evaluation.evaluate(healthy, now=NOW + 2 * MINUTE)
    assert (slo.state, slo.state_since) == (SLOState.EXHAUSTED, NOW + 2 * MINUTE)


def test_the_budget_in_minutes_of_outage(healthy):
    push(healthy, good=999_000, total=1_000_000)
    slo = evaluation.evaluate(healthy, now=NOW)
    # 1,000 bad of 1,001,000 against 0.1 %: 1 - 0.999001 / 1.001 left, of 40.32 minutes.
    remaining = 1 - (1_000 / 1_001_000) / 0.001
    assert slo.budget_remaining == pytest.approx(remaining)
    assert budget.slo_budget_minutes(slo) == pytest.approx(remaining * 40.32)


def test_the_teams_policy_sets_the_at_risk_threshold(healthy, payments):
    push(healthy, good=999_400, total=1_000_000)  # 40 % of the budget left
    assert evaluation.evaluate(healthy, now=NOW).state == SLOState.HEALTHY
    ErrorBudgetPolicy.objects.create(team=payments, at_risk_below=Decimal("50"))
    assert evaluation.evaluate(healthy, now=NOW + MINUTE).state == SLOState.AT_RISK


def test_it_tells_the_receivers(healthy, received):
    evaluation.evaluate(healthy, now=NOW)
    push(healthy, good=0, total=1_000_000)
    evaluation.evaluate(healthy, now=NOW + MINUTE)
    assert [(call["previous_state"], call["slo"].state, call["now"]) for call in received] == [
        (SLOState.NO_DATA, SLOState.HEALTHY, NOW),
        (SLOState.HEALTHY, SLOState.EXHAUSTED, NOW + MINUTE),
    ]


def test_an_slo_deleted_meanwhile_is_skipped_quietly(healthy, received):
    SLO.objects.filter(pk=healthy.pk).delete()
    evaluation.evaluate(healthy, now=NOW)
    assert received == []
    assert not SLOSnapshot.objects.exists()


def test_figures_of_an_slo_redefined_meanwhile_are_not_stored(healthy):
    SLO.objects.filter(pk=healthy.pk).update(objective=Decimal("99.99"))
    evaluation.evaluate(healthy, now=NOW)
    assert SLO.objects.get(pk=healthy.pk).evaluated_at is None


def test_an_older_result_does_not_overwrite_a_newer_one(healthy):
    evaluation.evaluate(healthy, now=NOW)
    evaluation.evaluate(healthy, now=NOW - MINUTE)
    assert SLO.objects.get(pk=healthy.pk).evaluated_at == NOW
    assert SLOSnapshot.objects.count() == 1


def test_snapshots_older_than_the_window_and_a_day_are_pruned(make_slo):
    slo = make_slo(window_days=7)
    for days in (9, 8.1, 7.9, 1):
        SLOSnapshot.objects.create(slo=slo, at=NOW - timedelta(days=days), state=SLOState.HEALTHY)
    evaluation.evaluate(slo, now=NOW)
    kept = SLOSnapshot.objects.filter(slo=slo).order_by("at").values_list("at", flat=True)
    assert list(kept) == [NOW - timedelta(days=7.9), NOW - timedelta(days=1), NOW]


def test_pruning_deletes_a_bounded_batch_per_evaluation(make_slo, monkeypatch):
    monkeypatch.setattr(evaluation, "PRUNE_BATCH", 2)
    slo = make_slo(window_days=1)
    for hours in (50, 49, 48):
        SLOSnapshot.objects.create(slo=slo, at=NOW - timedelta(hours=hours), state=SLOState.HEALTHY)
    evaluation.evaluate(slo, now=NOW)
    assert SLOSnapshot.objects.filter(slo=slo, at__lt=NOW).count() == 1


def test_evaluate_all_counts_the_states(make_slo):
    push(make_slo("a"), good=1_000)
    push(make_slo("b"), good=0)
    make_slo("c")
    assert evaluation.evaluate_all(now=NOW) == {
        "healthy": 1,
        "at_risk": 0,
        "exhausted": 1,
        "no_data": 1,
    }


def _queries_for(make_slo, count: int) -> list[str]:
    SLO.objects.all().delete()
    for index in range(count):
        push(make_slo(f"slo {index}"), good=1_000)
    with CaptureQueriesContext(connection) as queries:
        evaluation.evaluate_all(now=NOW)
    assert SLO.objects.filter(evaluated_at=NOW).count() == count
    # Savepoints exist only because the test runs inside a transaction.
    return [query["sql"] for query in queries if "SAVEPOINT" not in query["sql"]]


def test_evaluate_all_costs_the_same_queries_per_slo(make_slo):
    # With every receiver of slo_evaluated (freezes, the watch, …) connected.
    one, two, ten = (len(_queries_for(make_slo, count)) for count in (1, 2, 10))
    assert ten - one == 9 * (two - one)


def test_the_engines_own_queries_are_pinned(make_slo, monkeypatch):
    monkeypatch.setattr(slo_evaluated, "receivers", [])
    monkeypatch.setattr(slo_evaluated, "sender_receivers_cache", {})
    # The SLOs and the teams' policies once; per SLO: the measurements' aggregate, the locked
    # re-read, the update, the snapshot and the prune.
    assert len(_queries_for(make_slo, 1)) == 2 + 5
    assert len(_queries_for(make_slo, 10)) == 2 + 5 * 10


def test_one_failing_slo_does_not_stop_the_others(make_slo, received):
    first, second = make_slo("first"), make_slo("second")
    push(first, good=1_000)
    push(second, good=1_000)

    def broken(sender, slo, **kwargs):
        if slo.pk == first.pk:
            raise RuntimeError("a receiver's bug")

    slo_evaluated.connect(broken)
    try:
        counts = evaluation.evaluate_all(now=NOW)
    finally:
        slo_evaluated.disconnect(broken)
    assert (counts["failed"], counts["healthy"]) == (1, 1)
    assert SLO.objects.get(pk=first.pk).evaluated_at is None  # rolled back
    assert SLO.objects.get(pk=second.pk).evaluated_at == NOW


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def healthy_now(make_slo) -> SLO:
    """A healthy SLO by the real clock (the task and the command evaluate at the time)."""
    slo = make_slo()
    end = timezone.now() - MINUTE
    Measurement.objects.create(slo=slo, start=end - MINUTE, end=end, good=10, total=10)
    return slo


def test_the_celery_task_evaluates_every_slo(
    healthy_now, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_slos.delay()
    assert SLO.objects.get(pk=healthy_now.pk).state == SLOState.HEALTHY


def test_the_schedule_runs_the_task_at_the_configured_interval(settings):
    schedules.sync()
    task = PeriodicTask.objects.get(task="reliability.evaluate_slos")
    assert task.interval.every == settings.RELCAL_SLO_EVALUATION_SECONDS


def test_the_command_prints_the_counts(healthy_now):
    out = io.StringIO()
    call_command("evaluate_slos", stdout=out)
    assert "healthy: 1" in out.getvalue()


def test_the_command_prints_one_slos_figures(healthy_now):
    out = io.StringIO()
    call_command("evaluate_slos", "--slo", str(healthy_now.pk), stdout=out)
    assert "Checkout: availability: healthy; SLI 100.00000%, budget left 100.0%" in out.getvalue()


def test_the_command_names_an_unknown_slo(db):
    with pytest.raises(CommandError, match="No SLO with id 999"):
        call_command("evaluate_slos", "--slo", "999")
