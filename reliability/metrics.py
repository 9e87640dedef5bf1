"""SLOs on /metrics (``relcal.metrics``): per SLO its query failures, SLI, budget left, burn
rates and state, as the last evaluation stored them; one query at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from relcal import metrics

from .models import SLO, SLOState

LABELS = ["service", "slo"]


def collect() -> Iterator[Metric]:
    failures = CounterMetricFamily(
        "relcal_slo_query_failures",
        "Times reading the SLO's source failed (Prometheus down, slow or refusing the query), "
        "since the SLO was created.",
        labels=LABELS,
    )
    objective = GaugeMetricFamily(
        "relcal_slo_objective_ratio", "The SLO's objective, e.g. 0.999.", labels=LABELS
    )
    sli = GaugeMetricFamily(
        "relcal_slo_sli_ratio", "The share of good events over the SLO's window.", labels=LABELS
    )
    remaining = GaugeMetricFamily(
        "relcal_slo_error_budget_remaining_ratio",
        "The share of the error budget left (below 0: overspent).",
        labels=LABELS,
    )
    burn = GaugeMetricFamily(
        "relcal_slo_burn_rate",
        "How fast the error budget burns over each window (1: spent exactly at the window's end).",
        labels=[*LABELS, "window"],
    )
    state = GaugeMetricFamily(
        "relcal_slo_state",
        "1 for the SLO's current state (healthy, at_risk, exhausted, no_data), 0 for the others.",
        labels=[*LABELS, "state"],
    )
    evaluated = GaugeMetricFamily(
        "relcal_slo_last_evaluation_timestamp_seconds",
        "When the SLO was last evaluated (Unix time).",
        labels=LABELS,
    )
    slos = SLO.objects.order_by().values_list(
        "service__slug",
        "name",
        "objective",
        "query_failures",
        "sli",
        "budget_remaining",
        "burn_rates",
        "state",
        "evaluated_at",
    )
    for service, name, goal, failed, ratio, left, rates, current, at in slos:
        labels = [service, name]
        failures.add_metric(labels, failed)
        objective.add_metric(labels, float(goal) / 100)
        if ratio is not None:
            sli.add_metric(labels, ratio)
        if left is not None:
            remaining.add_metric(labels, left)
        for window, rate in sorted((rates or {}).items()):
            if isinstance(rate, int | float):
                burn.add_metric([*labels, window], rate)
        for value in SLOState.values:
            state.add_metric([*labels, value], 1 if value == current else 0)
        if at is not None:
            evaluated.add_metric(labels, at.timestamp())
    yield from (failures, objective, sli, remaining, burn, state, evaluated)


def connect() -> None:
    metrics.register_collector("reliability", collect)
