"""Relcal watches itself: a real Prometheus scrapes a live Relcal's /metrics with the bearer
token, and an SLO over Relcal's own responses (good: not 5xx) is evaluated from it. The loop
closes when Prometheus reads the SLO's state back from Relcal's /metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest
import requests
from rest_framework.authtoken.models import Token

from reliability.evaluation import evaluate
from reliability.models import SLO, Service, SLISource, SLOState
from tests.prometheus import PrometheusServer

from .conftest import require_prometheus

pytestmark = [
    # The live server needs committed data; restore the migrations' groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TOKEN = "self-watch-token-0123456789abcdef"
GOOD = 'sum(rate(relcal_http_responses_total{job="relcal",status!~"5.."}[$window]))'
TOTAL = 'sum(rate(relcal_http_responses_total{job="relcal"}[$window]))'


def wait_for(prom: PrometheusServer, what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"Waited a minute for {what}. Prometheus log: {prom.log()}")
        time.sleep(0.5)


def scalar(prom: PrometheusServer, expression: str) -> float | None:
    result = prom.query(expression)
    return float(result[0]["value"][1]) if result else None


def responses_scraped(prom: PrometheusServer) -> float:
    return scalar(prom, 'sum(relcal_http_responses_total{job="relcal"})') or 0.0


def test_relcal_watches_its_own_availability(live_server, settings, alice, payments):
    require_prometheus()
    settings.RELCAL_METRICS, settings.RELCAL_METRICS_TOKEN = "token", TOKEN
    pipeline = requests.Session()
    pipeline.headers["Authorization"] = f"Token {Token.objects.create(user=alice).key}"
    target = live_server.url.removeprefix("http://")

    with PrometheusServer(scrape=[target], bearer_token=TOKEN, scrape_interval="1s") as prom:
        wait_for(prom, "a scrape with the token", lambda: scalar(prom, "up") == 1)
        # The process counted every test's requests before this one: count on from there.
        start = responses_scraped(prom)
        for batch in (1, 2):  # two scraped steps, so that rate() sees the counters grow
            for _ in range(5):
                assert pipeline.get(live_server.url + "/api/v1/releases/").status_code == 200
                assert requests.get(live_server.url + "/accounts/login/").status_code == 200
            wait_for(
                prom,
                f"batch {batch} of requests to be scraped",
                lambda batch=batch: responses_scraped(prom) >= start + 10 * batch,
            )

        service = Service.objects.create(team=payments, name="Relcal", slug="relcal")
        slo = SLO.objects.create(
            service=service,
            name="availability",
            objective=Decimal("99"),
            window_days=1,
            source=SLISource.PROMETHEUS,
            prometheus_url=prom.url,
            good_query=GOOD,
            total_query=TOTAL,
        )
        slo = evaluate(slo)

        assert (slo.state, slo.last_error, slo.query_failures) == (SLOState.HEALTHY, "", 0)
        assert slo.sli == pytest.approx(1.0)
        assert slo.budget_remaining == pytest.approx(1.0)
        # Prometheus reads the verdict back from Relcal's own /metrics.
        healthy = (
            'relcal_slo_state{job="relcal",service="relcal",slo="availability",state="healthy"}'
        )
        wait_for(prom, "the SLO's state on /metrics", lambda: scalar(prom, healthy) == 1)
