"""Relcal's own metrics for Prometheus at ``/metrics``: the platform's part.

Two kinds of metric, kept where they are true:

- events of a web request (a booking conflict, a readiness verdict answered, the request itself)
  are ``prometheus_client`` counters and histograms in the process that saw them: ``counter()``
  makes one, and the ``RequestMetricsMiddleware`` times every request by view. Under gunicorn,
  set ``PROMETHEUS_MULTIPROC_DIR`` and each worker writes its figures to a file there; a scrape
  adds up the files of every worker (``relcal.gunicorn_config`` wipes them at start);
- facts in the database (reminder deliveries by kind and state, SLO query failures and budgets)
  are read at scrape time, one aggregate query per collector (``register_collector()``), so they
  are right whatever process (a Celery worker, another machine) did the work.

The apps register their counters and collectors in ``AppConfig.ready``; this module imports none.
``view`` serves them behind ``RELCAL_METRICS``: ``off`` (404), ``open``, or ``token``
(``Authorization: Bearer <RELCAL_METRICS_TOKEN>``, else 401).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# The ``*_created`` series (when each counter was first made) double the output and tell
# Prometheus nothing it needs.
disable_created_metrics()

Collect = Callable[[], Iterable[Metric]]

_counters: dict[str, tuple[Counter, tuple[str, ...]]] = {}
_collectors: dict[str, Collect] = {}


def counter(name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
    """An event counter, exposed as ``<name>_total``. Asking again for the same name gives the
    same counter (a counter registered twice would be refused by prometheus_client)."""
    labelnames = tuple(labelnames)
    if name not in _counters:
        _counters[name] = (Counter(name, documentation, labelnames), labelnames)
    made, labels = _counters[name]
    if labels != labelnames:
        raise ValueError(f"The counter {name} has the labels {labels}, not {labelnames}.")
    return made


def register_collector(name: str, collect: Collect) -> None:
    """Add (again under the same name: replace) a source of facts read at scrape time.
    ``collect()`` returns metric families (``prometheus_client.core.GaugeMetricFamily``...)
    built from ONE aggregate query, whatever the number of rows."""
    _collectors[name] = collect


# --- Requests ---------------------------------------------------------------------------------

# The scrape itself and the load balancer's health checks would drown the traffic people make.
UNMEASURED = frozenset({"/metrics", "/healthz"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_SECONDS = Histogram(
    "relcal_http_request_duration_seconds",
    "Time from the request reaching Relcal's views to the response, by view and method.",
    ["view", "method"],
)
RESPONSES = counter(
    "relcal_http_responses",
    "Responses by view, method and status code.",
    ["view", "method", "status"],
)


def _view_name(request: HttpRequest) -> str:
    # The URL pattern's name, not the path: ids in paths would make a series per object.
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else "unresolved"


class RequestMetricsMiddleware:
    """Times every request (except ``UNMEASURED``) and counts its response by status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in UNMEASURED:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view = _view_name(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(view, method).observe(elapsed)
        RESPONSES.labels(view, method, str(response.status_code)).inc()
        return response


# --- The scrape -------------------------------------------------------------------------------


class _Scrape(Collector):
    """What one scrape answers: this process's counters (or every worker's, in multiprocess
    mode), then each registered collector's facts. A collector that fails is logged and shows
    as ``relcal_metrics_collector_up 0``; the others still answer."""

    def collect(self) -> Iterator[Metric]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            yield from MultiProcessCollector(None).collect()
        else:
            yield from REGISTRY.collect()
        up = GaugeMetricFamily(
            "relcal_metrics_collector_up",
            "1 when the collector read its facts from the database at this scrape, 0 if it failed.",
            labels=["collector"],
        )
        for name, collect in sorted(_collectors.items()):
            try:
                families = list(collect())
            except Exception:  # a broken collector must not take the other metrics down
                logger.exception("metrics: the collector %s failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def _authorized(request: HttpRequest) -> bool:
    expected = settings.RELCAL_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), expected.encode())
    )


@never_cache
@require_GET
def view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus's text format (or OpenMetrics, when the scraper asks)."""
    mode = settings.RELCAL_METRICS
    if mode not in ("open", "token"):
        raise Http404("Metrics are off.")
    if mode == "token" and not _authorized(request):
        response = HttpResponse(
            "A bearer token is required.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(_Scrape()), content_type=content_type)
