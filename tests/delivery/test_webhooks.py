"""Inbound incident webhooks (``/api/v1/incident-sources/<slug>/events/``): PagerDuty's
webhooks v3 and the generic JSON shape, with real payloads signed as the tools sign them (HMAC-
SHA256 of the raw body), tampered, unsigned, signed twice during a secret rotation, and
replayed."""

# The fixtures come from incident_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from delivery import sources
from delivery.models import Incident, ProductionChange

from .incident_fixtures import (  # noqa: F401  (fixtures)
    GENERIC_SECRET,
    PAGERDUTY_SECRET,
    deploy,
    generic,
    last_event,
    pagerduty,
    payments_api,
    payments_deployment,
    payments_release,
    prod,
    search_api,
    staging,
    stored,
)

# A PagerDuty webhook v3 delivery of ``incident.triggered``, in the shape PagerDuty documents
# (developer.pagerduty.com → Webhooks → "V3 Overview": one event per delivery, the incident in
# ``event.data``). The service's name matches Relcal's "Payments API".
TRIGGERED = {
    "event": {
        "id": "01DEN3HTSLA8C1J3Y6WBDNZPMW",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2026-11-30T06:15:03.418Z",
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
            "created_at": "2026-11-30T06:15:02Z",
            "title": "Card payments failing with 502 — checkout error rate 14%",
            "service": {
                "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
                "id": "PF9KMXH",
                "self": "https://api.pagerduty.com/services/PF9KMXH",
                "summary": "Payments API",
                "type": "service_reference",
            },
            "assignees": [
                {
                    "html_url": "https://acme.pagerduty.com/users/PTUXL6G",
                    "id": "PTUXL6G",
                    "self": "https://api.pagerduty.com/users/PTUXL6G",
                    "summary": "Alice Example",
                    "type": "user_reference",
                }
            ],
            "escalation_policy": {
                "html_url": "https://acme.pagerduty.com/escalation_policies/PUS0KTE",
                "id": "PUS0KTE",
                "self": "https://api.pagerduty.com/escalation_policies/PUS0KTE",
                "summary": "Payments on-call",
                "type": "escalation_policy_reference",
            },
            "teams": [
                {
                    "html_url": "https://acme.pagerduty.com/teams/PFCVPS0",
                    "id": "PFCVPS0",
                    "self": "https://api.pagerduty.com/teams/PFCVPS0",
                    "summary": "Payments",
                    "type": "team_reference",
                }
            ],
            "priority": {
                "html_url": "https://acme.pagerduty.com/account/incident_priorities",
                "id": "PSO75BM",
                "self": "https://api.pagerduty.com/priorities/PSO75BM",
                "summary": "P1",
                "type": "priority_reference",
            },
            "urgency": "high",
            "conference_bridge": {"conference_number": None, "conference_url": None},
            "resolve_reason": None,
        },
    }
}
OPENED = datetime(2026, 11, 30, 6, 15, 2, tzinfo=UTC)
# PagerDuty's test delivery when a subscription is created.
PING = {
    "event": {
        "id": "01FKZOXA868SHYEE4DVNWB5P9W",
        "event_type": "pagey.ping",
        "resource_type": "pagey",
        "occurred_at": "2026-11-30T06:00:55.532Z",
        "agent": None,
        "client": None,
        "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
    }
}


def pd_event(event_type: str, occurred_at: str = "2026-11-30T07:02:41.001Z", **data) -> dict:
    event = copy.deepcopy(TRIGGERED)
    event["event"]["event_type"] = event_type
    event["event"]["occurred_at"] = occurred_at
    event["event"]["data"]["status"] = {"incident.resolved": "resolved"}.get(
        event_type, "triggered"
    )
    event["event"]["data"].update(data)
    return event


def raw(payload) -> bytes:
    # Compact, non-ASCII as UTF-8: the bytes are what is signed, whatever their formatting.
    return json.dumps(payload, ensure_ascii=False).encode()


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def deliver(db):
    """``deliver(slug, body, **headers)``: POST a delivery as the tool does, with no session,
    no token and no CSRF token (a browser client enforcing CSRF would refuse otherwise)."""
    client = Client(enforce_csrf_checks=True)

    def post(slug: str, body: bytes, **headers):
        return client.post(
            f"/api/v1/incident-sources/{slug}/events/",
            body,
            content_type="application/json",
            headers=headers,
        )

    return post


def pd_post(deliver, payload, secret: str = PAGERDUTY_SECRET, *, slug: str = "pagerduty"):
    body = raw(payload)
    return deliver(slug, body, **{"X-PagerDuty-Signature": f"v1={sign(secret, body)}"})


def generic_post(deliver, payload, secret: str = GENERIC_SECRET):
    body = raw(payload)
    return deliver("ops", body, **{"X-Relcal-Signature": f"sha256={sign(secret, body)}"})


# --- PagerDuty -----------------------------------------------------------------------------------


def test_a_signed_triggered_event_opens_an_incident(deliver, pagerduty, payments_api):
    response = pd_post(deliver, TRIGGERED)
    assert response.status_code == 201, response.json()
    incident = Incident.objects.get(pk=response.json()["incident"])
    assert incident.title == "Card payments failing with 502 — checkout error rate 14%"
    assert (incident.severity, incident.opened_at, incident.resolved_at) == ("sev1", OPENED, None)
    assert incident.url == "https://acme.pagerduty.com/incidents/Q2G7RDIX1ZUXKS"
    assert (incident.source, incident.external_id) == (pagerduty, "Q2G7RDIX1ZUXKS")
    assert list(incident.services.all()) == [payments_api]


def test_the_opening_is_audited_as_the_system_not_a_person(deliver, pagerduty, payments_api):
    pd_post(deliver, TRIGGERED)
    event = last_event()
    assert (event.action, event.actor_id, event.actor_name) == ("incident.open", None, "system")


def test_a_replayed_delivery_stores_the_incident_once(deliver, pagerduty, payments_api, stored):
    pd_post(deliver, TRIGGERED)
    before = stored()
    response = pd_post(deliver, TRIGGERED)
    assert response.status_code == 200
    assert stored() == before


def test_a_resolved_event_resolves_it_at_the_time_it_occurred(deliver, pagerduty, payments_api):
    pd_post(deliver, TRIGGERED)
    response = pd_post(deliver, pd_event("incident.resolved"))
    assert response.status_code == 200
    incident = Incident.objects.get()
    assert incident.resolved_at == datetime(2026, 11, 30, 7, 2, 41, 1000, tzinfo=UTC)


def test_a_resolved_event_for_an_unknown_incident_stores_it_resolved(
    deliver, pagerduty, payments_api
):
    assert pd_post(deliver, pd_event("incident.resolved")).status_code == 201
    incident = Incident.objects.get()
    assert (incident.opened_at, incident.resolved_at is not None) == (OPENED, True)


def test_a_reopened_event_reopens_it(deliver, pagerduty, payments_api):
    pd_post(deliver, pd_event("incident.resolved"))
    assert pd_post(deliver, pd_event("incident.reopened")).status_code == 200
    assert Incident.objects.get().resolved_at is None


def test_a_replayed_triggered_event_does_not_reopen_a_resolved_incident(
    deliver, pagerduty, payments_api
):
    pd_post(deliver, TRIGGERED)
    pd_post(deliver, pd_event("incident.resolved"))
    pd_post(deliver, TRIGGERED)
    assert Incident.objects.get().resolved_at is not None


def test_a_priority_change_updates_the_severity(deliver, pagerduty, payments_api):
    pd_post(deliver, TRIGGERED)
    lowered = pd_event("incident.priority_updated", priority={"summary": "P3"})
    assert pd_post(deliver, lowered).status_code == 200
    assert Incident.objects.get().severity == "sev3"


def test_without_a_priority_the_urgency_gives_the_severity(deliver, pagerduty, payments_api):
    pd_post(deliver, pd_event("incident.triggered", priority=None, urgency="low"))
    assert Incident.objects.get().severity == "sev3"


@pytest.mark.parametrize("event_type", ["incident.acknowledged", "incident.annotated"])
def test_other_events_are_accepted_and_store_nothing(
    deliver, pagerduty, payments_api, stored, event_type
):
    before = stored()
    response = pd_post(deliver, pd_event(event_type))
    assert (response.status_code, response.json()["result"]) == (202, "ignored")
    assert stored() == before


def test_the_ping_is_accepted(deliver, pagerduty, stored):
    before = stored()
    assert pd_post(deliver, PING).status_code == 202
    assert stored() == before


def test_a_tampered_body_is_401_and_stores_nothing(deliver, pagerduty, payments_api, stored):
    body = raw(TRIGGERED)
    signature = f"v1={sign(PAGERDUTY_SECRET, body)}"
    tampered = body.replace(b'"P1"', b'"P4"')
    before = stored()
    response = deliver("pagerduty", tampered, **{"X-PagerDuty-Signature": signature})
    assert response.status_code == 401
    assert "does not match" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("HMAC-SHA256")
    assert stored() == before


def test_a_missing_signature_is_401(deliver, pagerduty, payments_api, stored):
    before = stored()
    response = deliver("pagerduty", raw(TRIGGERED))
    assert response.status_code == 401
    assert "is missing" in response.json()["detail"]
    assert stored() == before


def test_a_signed_in_user_without_the_signature_is_401(
    client, outsider, manager, pagerduty, payments_api, stored
):
    """A session (or a token) does not authenticate a delivery: only the signature does."""
    before = stored()
    for user in (outsider, manager):
        client.force_login(user)
        response = client.post(
            "/api/v1/incident-sources/pagerduty/events/",
            raw(TRIGGERED),
            content_type="application/json",
        )
        assert response.status_code == 401
    assert stored() == before


def test_a_signature_with_another_secret_is_401(deliver, pagerduty, payments_api):
    assert pd_post(deliver, TRIGGERED, secret="someone-elses-secret-1234").status_code == 401
    assert not Incident.objects.exists()


def test_during_a_rotation_one_matching_signature_of_two_is_enough(
    deliver, pagerduty, payments_api
):
    body = raw(TRIGGERED)
    both = f"v1={sign('the-old-secret-before-rotation', body)},v1={sign(PAGERDUTY_SECRET, body)}"
    assert deliver("pagerduty", body, **{"X-PagerDuty-Signature": both}).status_code == 201


def test_after_the_secret_changed_the_old_one_is_refused(deliver, manager, pagerduty, payments_api):
    sources.source_update(actor=manager, source=pagerduty, secret="a-brand-new-secret-0123456789")
    assert pd_post(deliver, TRIGGERED).status_code == 401
    assert pd_post(deliver, TRIGGERED, secret="a-brand-new-secret-0123456789").status_code == 201


def test_an_unknown_source_is_404(deliver, stored):
    before = stored()
    assert pd_post(deliver, TRIGGERED, slug="nobody").status_code == 404
    assert stored() == before


def test_an_unknown_pagerduty_service_goes_to_the_sources_defaults(
    deliver, manager, pagerduty, payments_api, search_api
):
    sources.source_update(actor=manager, source=pagerduty, default_services=[search_api])
    other = pd_event("incident.triggered", service={"id": "PZZZZZZ", "summary": "Mainframe"})
    assert pd_post(deliver, other).status_code == 201
    assert list(Incident.objects.get().services.all()) == [search_api]


def test_an_unknown_pagerduty_service_without_defaults_is_400_naming_it(
    deliver, pagerduty, payments_api, stored
):
    other = pd_event("incident.triggered", service={"id": "PZZZZZZ", "summary": "Mainframe"})
    before = stored()
    response = pd_post(deliver, other)
    assert response.status_code == 400
    assert "“Mainframe” (PZZZZZZ)" in response.json()["event.data.service"][0]
    assert stored() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": None}, "event.data.title"),
        ({"id": ["not", "a", "string"]}, "event.data.id"),
        ({"created_at": "yesterday"}, "event.data.created_at"),
    ],
    ids=["no-title", "bad-id", "bad-time"],
)
def test_a_malformed_pagerduty_event_is_400_naming_the_field(
    deliver, pagerduty, payments_api, stored, change, field
):
    before = stored()
    response = pd_post(deliver, pd_event("incident.triggered", **change))
    assert response.status_code == 400
    assert field in response.json()
    assert stored() == before


def test_a_body_that_is_not_json_is_400(deliver, pagerduty):
    body = b"{not json"
    response = deliver(
        "pagerduty", body, **{"X-PagerDuty-Signature": f"v1={sign(PAGERDUTY_SECRET, body)}"}
    )
    assert response.status_code == 400


# --- The generic shape ---------------------------------------------------------------------------


def generic_body(**fields) -> dict:
    now = timezone.now()
    return {
        "id": "INC-4711",
        "title": "Checkout latency doubled",
        "severity": "major",
        "status": "open",
        "opened_at": (now - timedelta(hours=1)).isoformat(),
        "url": "https://oncall.example.com/incidents/4711",
        "services": ["payments-api"],
        **fields,
    }


def test_a_signed_generic_delivery_opens_an_incident_with_its_cause(
    deliver, generic, payments_api, payments_deployment
):
    response = generic_post(deliver, generic_body(deployment=payments_deployment.pk))
    assert response.status_code == 201, response.json()
    incident = Incident.objects.get()
    assert (incident.severity, incident.deployment, incident.source) == (
        "sev2",
        payments_deployment,
        generic,
    )
    assert ProductionChange.objects.get(deployment=payments_deployment).failed


def test_a_generic_resolution_and_its_replay(deliver, generic, payments_api, stored):
    generic_post(deliver, generic_body())
    resolved = generic_body(status="resolved", resolved_at=timezone.now().isoformat())
    assert generic_post(deliver, resolved).status_code == 200
    assert Incident.objects.get().resolved_at is not None
    before = stored()
    assert generic_post(deliver, resolved).status_code == 200
    assert stored() == before


def test_a_tampered_generic_delivery_is_401(deliver, generic, payments_api, stored):
    body = raw(generic_body())
    signature = f"sha256={sign(GENERIC_SECRET, body)}"
    before = stored()
    tampered = body.replace(b"payments-api", b"search-api!")
    response = deliver("ops", tampered, **{"X-Relcal-Signature": signature})
    assert response.status_code == 401
    assert stored() == before


def test_a_pagerduty_style_signature_does_not_sign_a_generic_delivery(
    deliver, generic, payments_api
):
    body = raw(generic_body())
    response = deliver("ops", body, **{"X-Relcal-Signature": f"v1={sign(GENERIC_SECRET, body)}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"services": ["mainframe"]}, "services"),
        ({"resolved_at": "2026-01-01T00:00:00Z", "status": "resolved"}, "resolved_at"),
        ({"status": "closed"}, "status"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"opened_at": "2026-11-30T06:00:00"}, "opened_at"),
        ({"title": ""}, "title"),
        ({"id": None}, "id"),
        ({"deployment": "812"}, "deployment"),
        ({"release": 999_999}, "release"),
    ],
    ids=[
        "unknown-service",
        "resolved-before-opened",
        "status",
        "severity",
        "naive-time",
        "no-title",
        "no-id",
        "deployment-not-a-number",
        "unknown-release",
    ],
)
def test_a_malformed_generic_delivery_is_400_naming_the_field(
    deliver, generic, payments_api, stored, fields, field
):
    before = stored()
    response = generic_post(deliver, generic_body(**fields))
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert stored() == before


def test_a_generic_staging_deployment_is_no_cause(
    deliver, generic, payments_api, payments_release, staging, deploy
):
    rehearsal = deploy(payments_release, staging)
    response = generic_post(deliver, generic_body(deployment=rehearsal.pk))
    assert response.status_code == 400
    assert "not to production" in response.json()["deployment"][0]


def test_a_generic_delivery_without_services_uses_the_defaults(
    deliver, manager, generic, search_api
):
    sources.source_update(actor=manager, source=generic, default_services=[search_api])
    assert generic_post(deliver, generic_body(services=[])).status_code == 201
    assert list(Incident.objects.get().services.all()) == [search_api]
