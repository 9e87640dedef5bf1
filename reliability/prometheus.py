"""Reading an SLI from Prometheus over its HTTP API (``/api/v1/query``), with ``requests``.

Expressions carry ``$window`` where the range goes; Relcal puts each window in its place::

    good:   sum(rate(http_requests_total{job="api",code!~"5.."}[$window]))
    total:  sum(rate(http_requests_total{job="api"}[$window]))
    ratio:  sum(rate(http_requests_total{job="api",code=~"5.."}[$window]))
              / sum(rate(http_requests_total{job="api"}[$window]))

Every failure becomes a ``SourceError`` with one short sentence for a person ("Prometheus at
http://prom:9090 did not answer within 5 s"), never a traceback: the SLO shows it and counts as
``no data``. Queries run in the workers (``reliability.evaluation``) and, once, when an SLO is
saved (``check_queries``), never while a page renders.

The bearer token (``RELCAL_PROMETHEUS_TOKEN`` / ``_FILE``) is sent only to the server in
``RELCAL_PROMETHEUS_URL``: an SLO naming another server must not receive it.
"""

from __future__ import annotations

import json
import math
import re
import threading
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError

from relcal import outbound

if TYPE_CHECKING:
    from .models import SLO

PLACEHOLDER = "$window"
_PLACEHOLDER = re.compile(r"\$window(?![A-Za-z0-9_])")
# An answer larger than this is not one number: refuse it rather than read it into memory.
MAX_ANSWER_BYTES = 1_000_000
QUERY_FIELDS = ("good_query", "total_query", "error_ratio_query")

_local = threading.local()


class SourceError(Exception):
    """The SLI source did not give a usable number; ``message`` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueryRefused(SourceError):
    """Prometheus answered, and refused the expression (bad PromQL, unknown function)."""


class Unreachable(SourceError):
    """The server did not answer (refused connection, timeout, HTTP error without a verdict)."""


def server_url(slo: SLO) -> str:
    """The Prometheus server an SLO reads from: its own, or ``RELCAL_PROMETHEUS_URL``."""
    return (slo.prometheus_url or settings.RELCAL_PROMETHEUS_URL or "").rstrip("/")


def with_window(expression: str, window: str) -> str:
    """``expression`` with each ``$window`` replaced by a PromQL duration such as ``5m``."""
    return _PLACEHOLDER.sub(window, expression)


def has_placeholder(expression: str) -> bool:
    return bool(_PLACEHOLDER.search(expression))


def _session() -> requests.Session:
    # One keep-alive session per thread: an evaluation runs many queries against one server.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _headers(base_url: str) -> dict[str, str]:
    token = settings.RELCAL_PROMETHEUS_TOKEN
    configured = settings.RELCAL_PROMETHEUS_URL
    if token and configured and _origin(base_url) == _origin(configured):
        return {"Authorization": f"Bearer {token}"}
    return {}


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _seconds(timeout: float) -> str:
    return f"{timeout:g} s"


def query(
    base_url: str, expression: str, *, timeout: float | None = None, at: datetime | None = None
) -> float:
    """The value of an instant query: a scalar or a vector of exactly one series.

    NaN (PromQL's 0/0, e.g. an error ratio over a window without traffic) is returned as NaN
    for the caller to read as "no events"; ±Inf is an error. Raises ``SourceError``: the server
    down or slower than ``timeout`` seconds (default ``RELCAL_PROMETHEUS_TIMEOUT``) as
    ``Unreachable``, the expression refused as ``QueryRefused``, no series or several.
    """
    result_type, result = _instant(base_url, expression, timeout=timeout, at=at)
    if result_type == "scalar":
        return _number(result[1])
    if result_type != "vector":
        raise SourceError(f"the query returned a {result_type}, not a number")
    if not result:
        raise SourceError("the query returned no series")
    if len(result) > 1:
        raise SourceError(
            f"the query returned {len(result)} series; aggregate it with sum() into one"
        )
    return _number(result[0]["value"][1])


def _number(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise SourceError(f"the query returned {str(text)[:40]!r}, not a number") from None
    if math.isinf(value):
        raise SourceError(f"the query returned {'+' if value > 0 else '-'}Inf")
    return value


def _instant(
    base_url: str, expression: str, *, timeout: float | None, at: datetime | None
) -> tuple[str, list]:
    if not base_url:
        raise Unreachable(
            "no Prometheus server is configured: give the SLO's Prometheus URL "
            "or set RELCAL_PROMETHEUS_URL"
        )
    timeout = timeout or settings.RELCAL_PROMETHEUS_TIMEOUT
    base_url = base_url.rstrip("/")
    try:  # an SLO's URL must not make Relcal a probe of metadata or (if so set) private hosts
        outbound.check_url(
            base_url, allow_private=getattr(settings, "RELCAL_PROMETHEUS_ALLOW_PRIVATE", True)
        )
    except outbound.AddressRefused as error:
        raise Unreachable(
            f"Prometheus at {base_url} may not be asked: {error.message.rstrip('.')}"
        ) from None
    data = {"query": expression, "timeout": f"{timeout:g}s"}
    if at is not None:
        data["time"] = f"{at.timestamp():.3f}"
    try:
        # POST: long expressions fit, and nothing of the query lands in proxies' access logs.
        answer = _session().post(
            base_url + "/api/v1/query",
            data=data,
            headers=_headers(base_url),
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        )
        try:
            body = _read(answer, base_url)
        finally:
            answer.close()
    except requests.Timeout:
        raise Unreachable(
            f"Prometheus at {base_url} did not answer within {_seconds(timeout)}"
        ) from None
    except requests.ConnectionError:
        raise Unreachable(f"Prometheus at {base_url} refused the connection or is down") from None
    except requests.RequestException as error:
        raise Unreachable(
            f"Prometheus at {base_url} could not be asked: {type(error).__name__}"
        ) from None
    return _verdict(answer, body, base_url)


def _read(answer: requests.Response, base_url: str) -> bytes:
    chunks, size = [], 0
    try:
        for chunk in answer.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise SourceError(
                    f"Prometheus at {base_url} answered more than "
                    f"{MAX_ANSWER_BYTES // 1_000_000} MB"
                )
            chunks.append(chunk)
    except requests.ConnectionError:
        # requests reports a body that stops coming as a ConnectionError.
        raise Unreachable(f"Prometheus at {base_url} stopped answering half way") from None
    return b"".join(chunks)


def _verdict(answer: requests.Response, body: bytes, base_url: str) -> tuple[str, list]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        if answer.status_code >= 300:
            raise Unreachable(f"Prometheus at {base_url} answered HTTP {answer.status_code}")
        raise Unreachable(f"Prometheus at {base_url} did not answer with JSON")
    if document.get("status") == "error" or answer.status_code >= 300:
        error = str(document.get("error") or "")[:500]
        # bad_data (400) and execution (422) judge the expression; the rest judge the server.
        if document.get("errorType") in ("bad_data", "execution") and error:
            raise QueryRefused(f"Prometheus refused the query: {error}")
        if document.get("errorType") in ("timeout", "canceled"):
            # This query was too slow for the server; others may still be answered.
            raise SourceError(f"Prometheus at {base_url} gave up on the query: {error}")
        detail = f": {error}" if error else ""
        raise Unreachable(f"Prometheus at {base_url} answered HTTP {answer.status_code}{detail}")
    data = document.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise SourceError(f"Prometheus at {base_url} answered without a result")
    return str(data.get("resultType")), data["result"]


def check_queries(slo: SLO) -> None:
    """Ask Prometheus each of the SLO's expressions once (``$window`` = ``5m``), so that an
    expression it refuses is reported when the SLO is saved, on its field.

    Raises ``ValidationError`` on ``good_query`` / ``total_query`` / ``error_ratio_query``
    (missing, without ``$window``, refused by Prometheus, answering several series or not a
    vector) or on ``prometheus_url`` (no server configured, or it did not answer). An empty
    answer is accepted: a new service may have no series yet, and reads as ``no data``.
    Does nothing for an SLO fed by pushed measurements.
    """
    from .models import SLISource

    if slo.source != SLISource.PROMETHEUS:
        return
    errors = _shape_errors(slo)
    if errors:
        raise ValidationError(errors)
    base_url = server_url(slo)
    if not base_url:
        raise ValidationError(
            {
                "prometheus_url": "No Prometheus server is configured: give its URL here "
                "or set RELCAL_PROMETHEUS_URL."
            }
        )
    for field in QUERY_FIELDS:
        expression = getattr(slo, field)
        if not expression:
            continue
        try:
            result_type, result = _instant(
                base_url, with_window(expression, "5m"), timeout=None, at=None
            )
        except QueryRefused as error:
            raise ValidationError({field: error.message}) from None
        except SourceError as error:
            raise ValidationError(
                {"prometheus_url": f"Could not test the query: {error.message}."}
            ) from None
        if result_type not in ("vector", "scalar"):
            errors[field] = f"The expression must give a number; it gives a {result_type}."
        elif result_type == "vector" and len(result) > 1:
            errors[field] = (
                f"The expression gives {len(result)} series; aggregate it into one with sum()."
            )
        elif result_type == "vector" and result:
            try:
                _number(result[0]["value"][1])
            except SourceError as error:
                errors[field] = f"The expression gives no usable number: {error.message}."
    if errors:
        raise ValidationError(errors)


def _shape_errors(slo: SLO) -> dict[str, str]:
    errors: dict[str, str] = {}
    good, total, ratio = (getattr(slo, field).strip() for field in QUERY_FIELDS)
    if ratio and (good or total):
        errors["error_ratio_query"] = (
            "Give either an error-ratio expression or good and total expressions, not both."
        )
    elif not ratio:
        if not good:
            errors["good_query"] = "Give the good-events expression (or an error-ratio one)."
        if not total:
            errors["total_query"] = "Give the total-events expression (or an error-ratio one)."
    for field in QUERY_FIELDS:
        expression = getattr(slo, field)
        if expression.strip() and field not in errors and not has_placeholder(expression):
            errors[field] = (
                f"Put {PLACEHOLDER} where the range goes, e.g. rate(...[{PLACEHOLDER}])."
            )
    return errors
