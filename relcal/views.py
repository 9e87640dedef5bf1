"""Project-wide views that belong to no domain."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

logger = logging.getLogger(__name__)


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down" to an operator
        return False, str(exc)
    return True, connection.vendor


BROKER_DEADLINE = 0.8  # seconds: load balancers give /healthz about a second
_checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz-broker")
_running: Future | None = None
_running_lock = threading.Lock()


def _broker_ok_in_time() -> tuple[bool, str]:
    """The broker check, bounded: an answer later than ``BROKER_DEADLINE`` counts as down. A
    check still running (a broker that hangs) is waited on again rather than started twice."""
    global _running
    with _running_lock:
        if _running is None or _running.done():
            _running = _checks.submit(_broker_ok)
        running = _running
    try:
        return running.result(timeout=BROKER_DEADLINE)
    except FutureTimeout:
        return False, f"no answer within {BROKER_DEADLINE:g} s"


def _broker_ok() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "ok"
    except Exception as exc:
        return False, str(exc)


@never_cache
@require_GET
def healthz(request):
    """Liveness for load balancers and operators: 200 when database and broker both answer,
    503 naming what did not, within about a second whatever is down."""
    db_ok, db_detail = _database_ok()
    broker_ok, broker_detail = _broker_ok_in_time()
    status = 200 if db_ok and broker_ok else 503
    if status != 200:
        logger.warning("healthz: database=%s broker=%s", db_detail, broker_detail)
    return JsonResponse(
        {
            "status": "ok" if status == 200 else "unavailable",
            "database": {"ok": db_ok, "detail": db_detail},
            "broker": {"ok": broker_ok, "detail": broker_detail},
        },
        status=status,
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every site for /favicon.ico (the admin's pages name no icon): the SVG."""
    return HttpResponsePermanentRedirect(static("relcal/favicon.svg"))
