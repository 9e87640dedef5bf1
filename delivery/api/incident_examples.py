"""OpenAPI examples for the incidents API and the inbound incident webhooks."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

OPEN = OpenApiExample(
    "Open an incident (from an on-call script)",
    request_only=True,
    value={
        "title": "Card payments failing with 502",
        "severity": "sev2",
        "services": ["payments-api"],
        "opened_at": "2027-03-02T14:05:00+01:00",
        "url": "https://oncall.example.com/incidents/4711",
        "external_id": "INC-4711",
    },
)
OPEN_WITH_CAUSE = OpenApiExample(
    "Open an incident and name the deployment that caused it",
    request_only=True,
    value={
        "title": "Checkout latency doubled after 4.3.0",
        "services": ["payments-api", "checkout"],
        "opened_at": "2027-03-02T14:05:00Z",
        "deployment": 812,
    },
)
RESOLVE = OpenApiExample(
    "Resolve", request_only=True, value={"resolved_at": "2027-03-02T15:20:00+01:00"}
)
CAUSE = OpenApiExample(
    "Name the cause later (a release: its latest production deployment before the incident)",
    request_only=True,
    value={"release": 42},
)

# PagerDuty's webhooks v3 shape (developer.pagerduty.com, "Webhooks v3 Overview").
PAGERDUTY_TRIGGERED = OpenApiExample(
    "PagerDuty webhook v3, incident.triggered",
    request_only=True,
    value={
        "event": {
            "id": "01DEN3HTSLA8C1J3Y6WBDNZPMW",
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": "2027-03-02T13:05:11.104Z",
            "agent": {
                "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
                "id": "PF9KMXH",
                "self": "https://api.pagerduty.com/services/PF9KMXH",
                "summary": "Payments API",
                "type": "service_reference",
            },
            "client": {"name": "Prometheus Alertmanager"},
            "data": {
                "id": "Q2G7RDIX1ZUXKS",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/Q2G7RDIX1ZUXKS",
                "html_url": "https://acme.pagerduty.com/incidents/Q2G7RDIX1ZUXKS",
                "number": 1742,
                "status": "triggered",
                "incident_key": "8d1f1e3c6b7a4a0c9f5e2d7b3a1c0e9f",
                "created_at": "2027-03-02T13:05:11Z",
                "title": "Card payments failing with 502",
                "service": {
                    "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
                    "id": "PF9KMXH",
                    "self": "https://api.pagerduty.com/services/PF9KMXH",
                    "summary": "Payments API",
                    "type": "service_reference",
                },
                "assignees": [],
                "escalation_policy": {
                    "id": "PUS0KTE",
                    "summary": "Payments on-call",
                    "type": "escalation_policy_reference",
                },
                "teams": [],
                "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
                "urgency": "high",
                "conference_bridge": None,
                "resolve_reason": None,
            },
        }
    },
)
GENERIC = OpenApiExample(
    "Generic JSON",
    request_only=True,
    value={
        "id": "INC-4711",
        "title": "Card payments failing with 502",
        "severity": "sev2",
        "status": "resolved",
        "opened_at": "2027-03-02T14:05:00+01:00",
        "resolved_at": "2027-03-02T15:20:00+01:00",
        "url": "https://oncall.example.com/incidents/4711",
        "services": ["payments-api"],
        "deployment": 812,
    },
)
