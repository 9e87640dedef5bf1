"""OpenAPI examples for the reliability API: defining SLOs and pushing measurements."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

SERVICE = OpenApiExample(
    "Add a service",
    request_only=True,
    value={
        "name": "Payments API",
        "team": "payments",
        "description": "Card authorisation and capture, behind api.example.com/pay.",
    },
)

SLO_PROMETHEUS = OpenApiExample(
    "Availability from Prometheus (good and total)",
    request_only=True,
    value={
        "service": "payments-api",
        "name": "availability",
        "objective": "99.9",
        "window_days": 28,
        "source": "prometheus",
        "good_query": 'sum(rate(http_requests_total{job="payments",code!~"5.."}[$window]))',
        "total_query": 'sum(rate(http_requests_total{job="payments"}[$window]))',
    },
)
SLO_RATIO = OpenApiExample(
    "Latency as an error ratio, on the team's own Prometheus",
    request_only=True,
    value={
        "service": "payments-api",
        "name": "latency p99 < 300 ms",
        "objective": "99",
        "source": "prometheus",
        "prometheus_url": "https://prometheus.payments.example.com",
        "error_ratio_query": (
            '1 - sum(rate(http_request_duration_seconds_bucket{job="payments",le="0.3"}'
            '[$window])) / sum(rate(http_request_duration_seconds_count{job="payments"}'
            "[$window]))"
        ),
    },
)
SLO_PUSHED = OpenApiExample(
    "Checkout success, pushed by another monitoring tool",
    request_only=True,
    value={
        "service": "payments-api",
        "name": "checkout success",
        "objective": "99.5",
        "window_days": 28,
        "source": "pushed",
    },
)
SLO_REFUSED = OpenApiExample(
    "PromQL refused by Prometheus when the SLO is saved",
    response_only=True,
    status_codes=["400"],
    value={
        "good_query": [
            "Prometheus refused the query: 1:5: parse error: unexpected character inside "
            "braces: '!'"
        ]
    },
)

_ONE = {
    "start": "2027-03-02T13:00:00Z",
    "end": "2027-03-02T13:05:00Z",
    "good": 14_982,
    "total": 15_000,
}
PUSH_ONE = OpenApiExample("Push one interval", request_only=True, value=_ONE)
PUSH_BATCH = OpenApiExample(
    "Push several intervals (all or none)",
    request_only=True,
    value=[
        _ONE,
        {
            "start": "2027-03-02T13:05:00Z",
            "end": "2027-03-02T13:10:00Z",
            "good": 15_120,
            "total": 15_130,
        },
    ],
)
PUSH_BAD = OpenApiExample(
    "More good events than events",
    response_only=True,
    status_codes=["400"],
    value={"good": ["Good events (15,001) cannot exceed the total (15,000)."]},
)
PUSH_OVERLAP = OpenApiExample(
    "A retried push: the interval is stored already",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "A measurement of 2027-03-02 13:00 to 13:05 UTC is stored already (14,982 "
        "good of 15,000); measurements of one SLO may not overlap.",
        "conflict": {
            "id": 8812,
            "start": "2027-03-02T13:00:00+00:00",
            "end": "2027-03-02T13:05:00+00:00",
        },
    },
)

SERIES = OpenApiExample(
    "A burn-down (two of up to 300 points)",
    response_only=True,
    status_codes=["200"],
    value={
        "slo": 4,
        "window_start": "2027-02-02T13:00:00Z",
        "window_end": "2027-03-02T13:00:00Z",
        "at_risk_below": 0.25,
        "points": [
            {
                "at": "2027-02-02T13:00:00Z",
                "budget_remaining": 0.91,
                "sli": 0.99991,
                "state": "healthy",
                "alert": "",
            },
            {
                "at": "2027-03-02T13:00:00Z",
                "budget_remaining": 0.18,
                "sli": 0.99918,
                "state": "at_risk",
                "alert": "ticket",
            },
        ],
        "deployments": [
            {
                "at": "2027-02-20T14:00:00Z",
                "version": "4.2.0",
                "environment": "prod",
                "outcome": "succeeded",
                "release": 17,
                "release_name": "Payments 4.2",
            }
        ],
    },
)

RELEASE_SERVICES = OpenApiExample(
    "Payments 4.3 touches two services",
    request_only=True,
    value={"services": ["payments-api", "ledger"]},
)
