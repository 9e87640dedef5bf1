"""The Prometheus source against a real Prometheus holding 29 days of backfilled counters
(see conftest.py for the services), and against servers that are down, slow or refusing."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from reliability import evaluation, prometheus, sources
from reliability.models import SLO, Alert, SLOSnapshot, SLOState
from tests.reliability import history
from tests.reliability.history import END

pytestmark = pytest.mark.django_db

WINDOW_SECONDS = 28 * 86_400


def _remaining(bad_seconds: float, errors: float, burst: float, burst_seconds: float) -> float:
    """Budget left at 99.9 % over 28 days of 100 requests a second, hand-computed."""
    bad = errors * (WINDOW_SECONDS - burst_seconds) + burst * burst_seconds
    return 1 - bad / (100 * WINDOW_SECONDS) / 0.001


# --- Reading a value -----------------------------------------------------------------------------


def prometheus_query(url, expression, **kwargs):
    return prometheus.query(url, expression, at=END, **kwargs)


def test_it_reads_one_number(prometheus_server):
    expression = 'sum(rate(http_requests_total{service="healthy",code="500"}[1h]))'
    assert prometheus_query(prometheus_server.url, expression) == pytest.approx(0.05)


def test_it_reads_a_scalar(prometheus_server):
    assert prometheus_query(prometheus_server.url, "scalar(vector(0.5))") == 0.5


def test_several_series_must_be_aggregated(prometheus_server):
    with pytest.raises(prometheus.SourceError, match="returned 2 series; aggregate it with sum"):
        prometheus_query(prometheus_server.url, 'http_requests_total{service="healthy"}')


def test_an_empty_vector_is_an_error(prometheus_server):
    with pytest.raises(prometheus.SourceError, match="the query returned no series"):
        prometheus_query(prometheus_server.url, "sum(rate(no_such_metric[5m]))")


def test_nan_is_returned_for_the_caller_to_read(prometheus_server):
    assert prometheus_query(prometheus_server.url, "vector(0) / vector(0)") != 0  # NaN != anything


def test_inf_is_an_error(prometheus_server):
    with pytest.raises(prometheus.SourceError, match=r"\+Inf"):
        prometheus_query(prometheus_server.url, "vector(1) / vector(0)")


def test_refused_promql_carries_prometheus_error(prometheus_server):
    with pytest.raises(prometheus.QueryRefused, match=r"Prometheus refused the query: .*parse"):
        prometheus_query(prometheus_server.url, "sum(rate(x[5m]")


def test_a_closed_port_is_unreachable_and_named(closed_port):
    with pytest.raises(prometheus.Unreachable, match=f"Prometheus at {closed_port} refused"):
        prometheus_query(closed_port, "vector(1)")


def test_a_silent_server_times_out_after_the_setting(silent_server):
    with pytest.raises(prometheus.Unreachable, match="did not answer within 1 s"):
        prometheus_query(silent_server.url, "vector(1)")


def test_the_token_goes_to_the_configured_server(silent_server, settings):
    settings.RELCAL_PROMETHEUS_URL = silent_server.url
    settings.RELCAL_PROMETHEUS_TOKEN = "s3cret-token"
    with pytest.raises(prometheus.Unreachable):
        prometheus_query(silent_server.url + "/", "vector(1)")
    assert b"Authorization: Bearer s3cret-token" in bytes(silent_server.received)


def test_the_token_never_goes_to_another_server(silent_server, settings, closed_port):
    settings.RELCAL_PROMETHEUS_URL = closed_port
    settings.RELCAL_PROMETHEUS_TOKEN = "s3cret-token"
    with pytest.raises(prometheus.Unreachable):
        prometheus_query(silent_server.url, "vector(1)")
    assert b"POST /api/v1/query" in bytes(silent_server.received)
    assert b"s3cret-token" not in bytes(silent_server.received)


# --- Checking the expressions when an SLO is saved ------------------------------------------------


def _errors(slo) -> dict:
    with pytest.raises(ValidationError) as caught:
        prometheus.check_queries(slo)
    return {field: " ".join(messages) for field, messages in caught.value.message_dict.items()}


def test_good_expressions_pass_the_check(prometheus_slo):
    prometheus.check_queries(prometheus_slo("healthy"))


def test_an_error_ratio_expression_passes_the_check(prometheus_slo):
    prometheus.check_queries(prometheus_slo("healthy", ratio=True))


def test_the_check_reports_prometheus_error_on_the_field(prometheus_slo):
    slo = prometheus_slo("healthy", total_query="sum(rate(http_requests_total[$window])")
    errors = _errors(slo)
    assert list(errors) == ["total_query"]
    assert errors["total_query"].startswith("Prometheus refused the query:")
    assert "parse error" in errors["total_query"]


def test_the_check_wants_the_window_placeholder(prometheus_slo):
    errors = _errors(prometheus_slo("healthy", good_query="sum(rate(http_requests_total[5m]))"))
    assert "$window" in errors["good_query"]


def test_the_check_wants_good_and_total_or_a_ratio(prometheus_slo):
    errors = _errors(prometheus_slo("healthy", total_query=""))
    assert list(errors) == ["total_query"]


def test_the_check_refuses_a_ratio_beside_good_and_total(prometheus_slo):
    slo = prometheus_slo("healthy", error_ratio_query=history.ratio_query("healthy"))
    assert list(_errors(slo)) == ["error_ratio_query"]


def test_the_check_refuses_an_expression_giving_several_series(prometheus_slo):
    slo = prometheus_slo(
        "healthy", total_query='sum by (code) (rate(http_requests_total{service="a"}[$window]))'
    )
    # No series now (service "a" is unknown): accepted, it may have series later.
    prometheus.check_queries(slo)
    # The history ends in the past: ``@`` reads it there.
    at = int(END.timestamp())
    slo.total_query = (
        f'sum by (code) (rate(http_requests_total{{service="healthy"}}[$window] @ {at}))'
    )

    assert "aggregate it into one with sum()" in _errors(slo)["total_query"]


def test_the_check_names_an_unreachable_server(prometheus_slo, closed_port):
    errors = _errors(prometheus_slo("healthy", prometheus_url=closed_port))
    assert list(errors) == ["prometheus_url"]
    assert closed_port in errors["prometheus_url"]


def test_the_check_wants_a_server(prometheus_slo, settings):
    slo = prometheus_slo("healthy")
    settings.RELCAL_PROMETHEUS_URL = ""
    assert "RELCAL_PROMETHEUS_URL" in _errors(slo)["prometheus_url"]


def test_the_check_leaves_pushed_slos_alone(make_slo, settings):
    settings.RELCAL_PROMETHEUS_URL = ""
    prometheus.check_queries(make_slo())


# --- Windows ------------------------------------------------------------------------------------


def test_it_reads_every_window_with_the_slo_window_first(prometheus_slo):
    readings = sources.windows_for(prometheus_slo("burning"), END)
    assert list(readings) == ["28d", "5m", "30m", "1h", "6h", "24h", "3d"]
    good, total = readings["1h"]
    assert 1 - good / total == pytest.approx(0.02)


def test_an_error_ratio_over_a_quiet_window_reads_as_no_events(prometheus_slo):
    slo = prometheus_slo(
        "healthy",
        # 0 / 0 over every window: PromQL's NaN.
        error_ratio_query='(sum(rate(http_requests_total{service="healthy",code="500"}[$window]))'
        ' * 0) / (sum(rate(http_requests_total{service="healthy"}[$window])) * 0)',
    )
    assert sources.windows_for(slo, END)["5m"] is None


# --- Evaluation: states and alerts ---------------------------------------------------------------


def test_a_service_burning_at_20x_for_the_last_hour_pages(prometheus_slo):
    slo = evaluation.evaluate(prometheus_slo("burning"), now=END)
    assert slo.alert == Alert.PAGE
    assert slo.burn_rates["1h"] == pytest.approx(20)
    assert slo.burn_rates["5m"] == pytest.approx(20)
    # 1 h at 20× among 671 h at 0.1×: still healthy (87 % left), but paging.
    assert slo.budget_remaining == pytest.approx(_remaining(0, 0.01, 2.0, 3600))
    assert slo.state == SLOState.HEALTHY


def test_an_error_ratio_expression_gives_the_same_figures(prometheus_slo):
    slo = evaluation.evaluate(prometheus_slo("burning", ratio=True), now=END)
    assert slo.alert == Alert.PAGE
    assert slo.budget_remaining == pytest.approx(_remaining(0, 0.01, 2.0, 3600))


def test_a_healthy_service_is_healthy_without_an_alert(prometheus_slo):
    slo = evaluation.evaluate(prometheus_slo("healthy"), now=END)
    assert (slo.state, slo.alert, slo.last_error) == (SLOState.HEALTHY, Alert.NONE, "")
    assert slo.budget_remaining == pytest.approx(0.5)
    assert slo.sli == pytest.approx(0.9995)
    assert slo.burn_rates == pytest.approx(dict.fromkeys(slo.burn_rates, 0.5))


def test_a_6x_burn_over_6_hours_pages(prometheus_slo):
    slo = evaluation.evaluate(prometheus_slo("sixhours"), now=END)
    assert slo.burn_rates["6h"] == pytest.approx(7)
    assert slo.burn_rates["1h"] < 14.4
    assert slo.alert == Alert.PAGE


def test_a_1_5x_burn_over_3_days_opens_a_ticket(prometheus_slo):
    slo = evaluation.evaluate(prometheus_slo("slow-burn"), now=END)
    assert slo.burn_rates["3d"] == pytest.approx(1.5)
    assert slo.alert == Alert.TICKET
    # 1.5 × 3 / 28 of the budget spent.
    assert slo.budget_remaining == pytest.approx(1 - 1.5 * 3 / 28)
    assert slo.state == SLOState.HEALTHY


def test_a_service_with_a_fifth_of_its_budget_left_is_at_risk(prometheus_slo):
    slo = evaluation.evaluate(prometheus_slo("at-risk"), now=END)
    assert slo.budget_remaining == pytest.approx(0.2)
    assert (slo.state, slo.alert) == (SLOState.AT_RISK, Alert.NONE)


def test_a_service_over_its_budget_is_exhausted(prometheus_slo):
    slo = evaluation.evaluate(prometheus_slo("exhausted"), now=END)
    assert slo.budget_remaining == pytest.approx(-1)
    assert (slo.state, slo.alert) == (SLOState.EXHAUSTED, Alert.TICKET)


def test_evaluate_all_reads_each_backfilled_service(prometheus_slo):
    for name in ("burning", "healthy", "at-risk", "exhausted"):
        prometheus_slo(name)
    counts = evaluation.evaluate_all(now=END)
    assert counts == {"healthy": 2, "at_risk": 1, "exhausted": 1, "no_data": 0}


# --- Evaluation: a source that fails is no data, never healthy ------------------------------------


@pytest.fixture
def was_healthy(prometheus_slo):
    """A healthy SLO, evaluated once an hour before ``END``."""
    slo = prometheus_slo("healthy")
    evaluation.evaluate(slo, now=END.replace(hour=END.hour - 1))
    slo.refresh_from_db()
    assert slo.state == SLOState.HEALTHY
    return slo


def _fails(slo, caplog, *, now=END, **changes) -> SLO:
    SLO.objects.filter(pk=slo.pk).update(**changes)
    slo.refresh_from_db()
    with caplog.at_level(logging.WARNING, logger="reliability.evaluation"):
        return evaluation.evaluate(slo, now=now)


def test_prometheus_down_is_no_data(was_healthy, closed_port, caplog):
    slo = _fails(was_healthy, caplog, prometheus_url=closed_port)
    assert slo.state == SLOState.NO_DATA
    assert slo.last_error == f"Prometheus at {closed_port} refused the connection or is down"
    assert slo.query_failures == 1
    assert slo.last_error in caplog.text


def test_prometheus_slow_is_no_data(was_healthy, silent_server, caplog):
    slo = _fails(was_healthy, caplog, prometheus_url=silent_server.url)
    assert (slo.state, slo.query_failures) == (SLOState.NO_DATA, 1)
    assert slo.last_error == f"Prometheus at {silent_server.url} did not answer within 1 s"


def test_refused_promql_is_no_data(was_healthy, caplog):
    slo = _fails(was_healthy, caplog, good_query="sum(rate(x[$window])")
    assert (slo.state, slo.query_failures) == (SLOState.NO_DATA, 1)
    assert slo.last_error.startswith("Prometheus refused the query:")
    assert "(good events, over 28d)" in slo.last_error


def test_an_empty_vector_is_no_data(was_healthy, caplog):
    slo = _fails(was_healthy, caplog, total_query="sum(rate(no_such_metric[$window]))")
    assert (slo.state, slo.query_failures) == (SLOState.NO_DATA, 1)
    assert slo.last_error == "the query returned no series (total events, over 28d)"


def test_no_data_clears_the_figures_and_the_alert(was_healthy, closed_port, caplog):
    slo = _fails(was_healthy, caplog, prometheus_url=closed_port)
    assert (slo.sli, slo.budget_remaining, slo.alert, slo.burn_rates) == (None, None, "", {})
    assert slo.state_since == END
    assert SLOSnapshot.objects.filter(slo=slo).latest("at").state == SLOState.NO_DATA


def test_failures_count_up_and_recovery_clears_the_error(was_healthy, closed_port, caplog):
    _fails(was_healthy, caplog, prometheus_url=closed_port, now=END - timedelta(minutes=30))
    slo = _fails(was_healthy, caplog, prometheus_url="")
    assert (slo.state, slo.last_error, slo.query_failures) == (SLOState.HEALTHY, "", 1)


def test_a_server_that_is_down_is_asked_once_per_run(make_slo, silent_server):
    for name in ("one", "two", "three"):
        make_slo(
            name,
            source="prometheus",
            prometheus_url=silent_server.url,
            **history.queries("healthy"),
        )
    counts = evaluation.evaluate_all(now=END)
    assert counts["no_data"] == 3
    assert len(silent_server.connections) == 1
    assert set(SLO.objects.values_list("query_failures", flat=True)) == {1}
