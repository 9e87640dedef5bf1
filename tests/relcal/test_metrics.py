"""/metrics for Prometheus: who may read it, and that what it says is what happened (requests by
view, booking conflicts, readiness verdicts, reminder deliveries, SLOs), in one process and
added up over gunicorn's workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from environments.models import Environment
from relcal import metrics
from releases.models import Team
from reliability.evaluation import evaluate
from reliability.models import SLO, Service, SLOState
from reminders.models import Delivery, DeliveryState
from tests.prometheus import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """A sample's value in an exposition, 0 when the series is not there (yet)."""
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scrape(client, settings):
    """``scrape()``: the text of /metrics, open to anyone (what the tests below read)."""
    settings.RELCAL_METRICS = "open"

    def get() -> str:
        response = client.get("/metrics")
        assert response.status_code == 200
        return response.content.decode()

    return get


# --- Who may read it ------------------------------------------------------------------------------


def test_off_is_a_404_even_for_a_superuser(client, settings, admin):
    settings.RELCAL_METRICS = "off"
    client.force_login(admin)
    assert client.get("/metrics").status_code == 404


def test_open_answers_anyone_in_prometheus_text_format(client, settings):
    settings.RELCAL_METRICS = "open"
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE relcal_http_responses_total counter" in response.content.decode()


def test_it_answers_openmetrics_to_a_scraper_that_asks(client, settings):
    settings.RELCAL_METRICS = "open"
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().endswith("# EOF\n")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer wrong-token-0123456789abcdef", id="wrong-token"),
        pytest.param(f"Token {TOKEN}", id="not-bearer"),
        pytest.param(f"Bearer {TOKEN[:-1]}", id="prefix-of-the-token"),
        pytest.param("Bearer ", id="empty-token"),
    ],
)
def test_token_mode_refuses_without_the_bearer_token_and_says_nothing_more(
    client, settings, authorization
):
    settings.RELCAL_METRICS, settings.RELCAL_METRICS_TOKEN = "token", TOKEN
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.content == b"A bearer token is required.\n"


@pytest.mark.parametrize("persona", ["outsider", "admin"])
def test_a_signed_in_person_gets_nothing_special_in_token_mode(client, settings, persona, request):
    settings.RELCAL_METRICS, settings.RELCAL_METRICS_TOKEN = "token", TOKEN
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/metrics").status_code == 401


def test_token_mode_answers_the_bearer_of_the_token(client, settings, outsider):
    settings.RELCAL_METRICS, settings.RELCAL_METRICS_TOKEN = "token", TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "relcal_metrics_collector_up" in response.content.decode()


def test_token_mode_without_a_token_refuses_everyone(client, settings):
    settings.RELCAL_METRICS, settings.RELCAL_METRICS_TOKEN = "token", ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_only_answers_get(client, settings, method):
    settings.RELCAL_METRICS = "open"
    assert getattr(client, method)("/metrics").status_code == 405


# --- Settings -------------------------------------------------------------------------------------


def _django(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}} | {
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "relcal.example.com",
    }
    for name in ("RELCAL_METRICS", "RELCAL_METRICS_TOKEN", "RELCAL_METRICS_TOKEN_FILE"):
        environment.pop(name, None)
    environment.update(env, DJANGO_SETTINGS_MODULE="relcal.settings")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("debug", "mode"), [("1", "open"), ("0", "off")])
def test_metrics_are_open_in_development_and_off_in_production_by_default(debug, mode):
    result = _django(
        "from django.conf import settings; print(settings.RELCAL_METRICS)", DEBUG=debug
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == mode


def test_the_token_may_come_from_a_file(tmp_path):
    secret = tmp_path / "metrics-token"
    secret.write_text(TOKEN + "\n")
    result = _django(
        "from django.conf import settings; print(settings.RELCAL_METRICS_TOKEN)",
        DEBUG="0",
        RELCAL_METRICS="token",
        RELCAL_METRICS_TOKEN_FILE=str(secret),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == TOKEN


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"RELCAL_METRICS": "token"},
            "RELCAL_METRICS=token needs RELCAL_METRICS_TOKEN",
            id="none",
        ),
        pytest.param(
            {"RELCAL_METRICS": "token", "RELCAL_METRICS_TOKEN": "short"},
            "of at least 16 characters",
            id="short",
        ),
        pytest.param(
            {"RELCAL_METRICS": "public"}, "RELCAL_METRICS must be off, open or token", id="mode"
        ),
    ],
)
def test_bad_metrics_settings_stop_the_start_naming_the_variable(env, message):
    result = _django("print('started')", DEBUG="0", **env)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-500:]


def test_check_deploy_warns_about_open_metrics_in_production(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "DEBUG": "0",
            "SECRET_KEY": "x" * 60 + "production-like-secret",
            "ALLOWED_HOSTS": "relcal.example.com",
            "RELCAL_VAR_DIR": str(tmp_path),
            "RELCAL_METRICS": "open",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "relcal.W005" in result.stdout + result.stderr


# --- Requests by view -----------------------------------------------------------------------------


def test_a_request_is_counted_and_timed_under_its_view(scrape, client, manager):
    client.force_login(manager)
    labels = {"view": "releases:list", "method": "GET"}
    before = scrape()
    assert client.get("/releases/").status_code == 200
    after = scrape()
    responses = "relcal_http_responses_total"
    seconds = "relcal_http_request_duration_seconds_count"
    assert value(after, responses, status="200", **labels) - value(
        before, responses, status="200", **labels
    ) == pytest.approx(1)
    assert value(after, seconds, **labels) - value(before, seconds, **labels) == pytest.approx(1)


def test_an_unknown_path_is_counted_as_unresolved_without_naming_the_path(scrape, client):
    before = scrape()
    # Letters, not digits: a digit string can turn up inside any sample's float value.
    assert client.get("/no/such/page/xyzzy-plugh").status_code == 404
    after = scrape()
    labels = {"view": "unresolved", "method": "GET", "status": "404"}
    name = "relcal_http_responses_total"
    assert value(after, name, **labels) - value(before, name, **labels) == pytest.approx(1)
    assert "xyzzy" not in after


def test_scrapes_and_health_checks_are_not_counted(scrape, client):
    client.get("/healthz")
    text = scrape()
    views = {dict(labels).get("view") for _, labels in samples(text)}
    assert {"metrics", "healthz"}.isdisjoint(views)


def test_a_method_nobody_uses_is_counted_as_other(scrape, client):
    before = scrape()
    client.generic("BREW", "/releases/")
    after = scrape()
    name = "relcal_http_request_duration_seconds_count"
    labels = {"view": "releases:list", "method": "other"}
    assert value(after, name, **labels) - value(before, name, **labels) == pytest.approx(1)
    assert "BREW" not in after


# --- Booking conflicts ----------------------------------------------------------------------------


@pytest.fixture
def staging(db) -> Environment:
    return Environment.objects.create(name="Staging", slug="staging", kind="staging")


def acquire(api, user, team: str = "payments"):
    return api.as_user(user).post(
        "/api/v1/environments/staging/acquire/",
        {"team": team, "minutes": 30, "purpose": "CI run"},
        format="json",
    )


def conflicts(text: str) -> float:
    return value(text, "relcal_booking_conflicts_total", environment="staging")


def test_a_booking_conflict_is_counted_once(scrape, api, alice, bob, staging):
    before = conflicts(scrape())
    assert acquire(api, alice).status_code == 201
    assert conflicts(scrape()) == before
    assert acquire(api, bob, team="search").status_code == 409
    assert conflicts(scrape()) - before == pytest.approx(1)


def test_an_extension_into_another_booking_is_counted(scrape, api, alice, bob, staging):
    mine = acquire(api, alice).json()
    bob_starts = timezone.now() + timedelta(hours=2)
    api.as_user(bob).post(
        "/api/v1/bookings/",
        {
            "environment": "staging",
            "team": "search",
            "purpose": "Load test",
            "start": bob_starts.isoformat(),
            "end": (bob_starts + timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    before = conflicts(scrape())
    response = api.as_user(alice).post(
        f"/api/v1/bookings/{mine['id']}/extend/",
        {"end": (bob_starts + timedelta(minutes=30)).isoformat()},
        format="json",
    )
    assert response.status_code == 409
    assert conflicts(scrape()) - before == pytest.approx(1)


# --- Readiness verdicts ---------------------------------------------------------------------------


def verdicts(text: str, source: str) -> dict[str, float]:
    return {
        verdict: value(text, "relcal_gate_verdicts_total", verdict=verdict, source=source)
        for verdict in ("GO", "NO-GO", "PENDING")
    }


def test_every_verdict_starts_at_zero_in_the_exposition(scrape):
    text = scrape()
    for source in ("deploy_check", "readiness_api"):
        for verdict in ("GO", "NO-GO", "PENDING"):
            key = ("relcal_gate_verdicts_total", (("source", source), ("verdict", verdict)))
            assert key in samples(text)


def test_a_deploy_check_counts_its_verdict(scrape, api, alice, staging, make_release):
    release = make_release()
    before = verdicts(scrape(), "deploy_check")
    response = api.as_user(alice).post(
        "/api/v1/deploy-checks/", {"release": release.pk, "environment": "staging"}, format="json"
    )
    assert response.json()["readiness"]["verdict"] == "PENDING"
    after = verdicts(scrape(), "deploy_check")
    assert {k: after[k] - before[k] for k in after} == {"GO": 0, "NO-GO": 0, "PENDING": 1}


def test_a_refused_deploy_check_counts_no_verdict(scrape, api, alice, staging):
    before = verdicts(scrape(), "deploy_check")
    response = api.as_user(alice).post(
        "/api/v1/deploy-checks/", {"environment": "staging"}, format="json"
    )
    assert response.status_code == 400
    assert verdicts(scrape(), "deploy_check") == before


def test_the_readiness_api_counts_its_verdict(scrape, api, alice, make_release):
    release = make_release()
    before = verdicts(scrape(), "readiness_api")
    answer = api.as_user(alice).get(f"/api/v1/releases/{release.pk}/readiness/")
    after = verdicts(scrape(), "readiness_api")
    assert after[answer.json()["verdict"]] - before[answer.json()["verdict"]] == pytest.approx(1)


def test_an_outsider_asking_for_a_private_release_counts_no_verdict(
    scrape, api, outsider, make_release
):
    secret = make_release(team=Team.objects.create(name="Sk", slug="sk", is_private=True))
    before = verdicts(scrape(), "readiness_api")
    assert api.as_user(outsider).get(f"/api/v1/releases/{secret.pk}/readiness/").status_code == 404
    assert verdicts(scrape(), "readiness_api") == before


# --- Facts from the database ----------------------------------------------------------------------


@pytest.fixture
def deliveries(alice, bob):
    """Reminder rows in several kinds and states, as the workers would have left them."""
    now = timezone.now()
    rows = [
        ("milestone.upcoming", DeliveryState.SENT, alice),
        ("milestone.upcoming", DeliveryState.SENT, bob),
        ("milestone.upcoming", DeliveryState.FAILED, alice),
        ("booking.ending", DeliveryState.PENDING, bob),
        ("signoff.pending", DeliveryState.SKIPPED, alice),
    ]
    for number, (kind, state, user) in enumerate(rows):
        Delivery.objects.create(
            kind=kind,
            object_type="releases.release",
            object_id=number,
            recipient=user,
            due=now,
            next_attempt_at=now,
            state=state,
        )


def test_reminder_deliveries_by_kind_and_state_are_the_database_s(scrape, deliveries):
    text = scrape()
    exposed = {
        (dict(labels)["kind"], dict(labels)["state"]): count
        for (name, labels), count in samples(text).items()
        if name == "relcal_reminder_deliveries"
    }
    stored = {
        (row["kind"], row["state"]): row["n"]
        for row in Delivery.objects.order_by().values("kind", "state").annotate(n=Count("pk"))
    }
    assert exposed == stored
    assert exposed[("milestone.upcoming", "sent")] == 2


@pytest.fixture
def service(payments) -> Service:
    return Service.objects.create(team=payments, name="Checkout", slug="checkout")


def make_slo(service: Service, name: str = "availability", **fields) -> SLO:
    fields.setdefault("objective", Decimal("99.9"))
    fields.setdefault("source", "prometheus")
    fields.setdefault("good_query", 'sum(rate(http_requests_total{code!~"5.."}[$window]))')
    fields.setdefault("total_query", "sum(rate(http_requests_total[$window]))")
    return SLO.objects.create(service=service, name=name, **fields)


def test_an_slo_whose_prometheus_is_down_counts_query_failures(scrape, service):
    # Nothing listens on this port: the evaluation fails as it would with Prometheus down.
    slo = make_slo(service, prometheus_url=f"http://127.0.0.1:{free_port()}")
    evaluate(slo)
    evaluate(slo, now=timezone.now() + timedelta(minutes=1))
    text = scrape()
    labels = {"service": "checkout", "slo": "availability"}
    assert value(text, "relcal_slo_query_failures_total", **labels) == 2
    assert value(text, "relcal_slo_state", state="no_data", **labels) == 1
    assert value(text, "relcal_slo_state", state="healthy", **labels) == 0
    assert value(text, "relcal_slo_objective_ratio", **labels) == pytest.approx(0.999)


def test_an_slo_s_last_figures_are_exposed(scrape, service):
    slo = make_slo(service)
    at = timezone.now()
    SLO.objects.filter(pk=slo.pk).update(
        state=SLOState.AT_RISK,
        sli=0.9992,
        budget_remaining=0.2,
        burn_rates={"5m": 3.5, "1h": 1.25, "6h": None},
        evaluated_at=at,
    )
    text = scrape()
    labels = {"service": "checkout", "slo": "availability"}
    assert value(text, "relcal_slo_sli_ratio", **labels) == pytest.approx(0.9992)
    assert value(text, "relcal_slo_error_budget_remaining_ratio", **labels) == pytest.approx(0.2)
    burns = {
        dict(key)["window"]: number
        for (name, key), number in samples(text).items()
        if name == "relcal_slo_burn_rate"
    }
    assert burns == {"5m": 3.5, "1h": 1.25}
    assert value(text, "relcal_slo_state", state="at_risk", **labels) == 1
    assert value(text, "relcal_slo_last_evaluation_timestamp_seconds", **labels) == pytest.approx(
        at.timestamp()
    )


def test_a_scrape_costs_the_same_queries_whatever_the_rows(client, settings, payments, alice):
    settings.RELCAL_METRICS = "open"
    client.get("/metrics")
    with CaptureQueriesContext(connection) as few:
        client.get("/metrics")
    for number in range(20):
        make_slo(
            Service.objects.create(team=payments, name=f"S{number}", slug=f"s{number}"),
            evaluated_at=timezone.now(),
        )
        Delivery.objects.create(
            kind=f"kind.{number % 3}",
            object_type="releases.release",
            object_id=number,
            recipient=alice,
            due=timezone.now(),
            next_attempt_at=timezone.now(),
        )
    with CaptureQueriesContext(connection) as many:
        client.get("/metrics")
    assert len(few) == len(many) == 2  # one aggregate query per collector


def test_a_failing_collector_is_reported_and_the_others_still_answer(
    scrape, monkeypatch, deliveries
):
    def broken():
        raise RuntimeError("the database is down")

    monkeypatch.setitem(metrics._collectors, "broken", broken)
    text = scrape()
    assert value(text, "relcal_metrics_collector_up", collector="broken") == 0
    assert value(text, "relcal_metrics_collector_up", collector="reminders") == 1
    assert value(text, "relcal_reminder_deliveries", kind="milestone.upcoming", state="sent") == 2


# --- Several gunicorn workers ---------------------------------------------------------------------


@pytest.fixture
def gunicorn(tmp_path):
    """Relcal under gunicorn in multiprocess mode: 2 workers, each replaced after 3 requests,
    so that the requests below are served by several processes, most of them gone by the
    time of the scrape. The folder starts with a stale file the config must wipe."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left over by the previous run")
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "RELCAL_METRICS": "open",
        "RELCAL_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relcal.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [
            shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn",
            "relcal.wsgi",
            "-c",
            "python:relcal.gunicorn_config",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--max-requests",
            "3",
            "--preload",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                requests.get(url + "/healthz", timeout=5)  # not counted
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_scrape_adds_up_every_gunicorn_worker_past_and_present(gunicorn):
    for _ in range(12):
        answer = requests.get(gunicorn + "/favicon.ico", allow_redirects=False, timeout=10)
        assert answer.status_code == 301
    text = requests.get(gunicorn + "/metrics", timeout=10).text
    labels = {"view": "favicon", "method": "GET"}
    assert value(text, "relcal_http_responses_total", status="301", **labels) == 12
    assert value(text, "relcal_http_request_duration_seconds_count", **labels) == 12
