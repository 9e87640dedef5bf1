"""Evidence for auditors: the printable page, JSON and CSV per release, the streaming period
export; only for auditors, superusers and release managers; constant queries."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import AuditEvent, SignOff
from relcal.audit import canonical_json, sha256
from releases import services

from .conftest import walk


@pytest.fixture
def shipped(frozen, manager, sign_all):
    """A release taken through sign-off to released, then with a stale-making change."""
    release = walk(frozen(), manager, "testing")
    sign_all(release)
    return walk(release, manager, "approved", "deploying", "released")


# Every evidence page, as its URL for a release.
EVIDENCE_PAGES = {
    "evidence-index": lambda release: reverse("approvals:evidence-index"),
    "evidence": lambda release: reverse("approvals:evidence", args=[release.pk]),
    "evidence-json": lambda release: reverse("approvals:evidence-json", args=[release.pk]),
    "evidence-csv": lambda release: reverse("approvals:evidence-csv", args=[release.pk]),
    "audit-csv": lambda release: reverse("approvals:audit-csv"),
    "audit-json": lambda release: reverse("approvals:audit-json"),
}


def test_the_evidence_page_lists_who_approved_what_when_and_every_change(client, quinn, shipped):
    client.force_login(quinn)
    response = client.get(reverse("approvals:evidence", args=[shipped.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    for name in ("Priya Tester", "Leo Tester", "Sam Tester"):
        assert name in text
    for meaning in ("Approved for release", "Legal clearance given", "Security review passed"):
        assert meaning in text
    signoff = SignOff.objects.first()
    assert signoff.fingerprint in text
    assert "release.create" in text and "signoff.create" in text and "release.transition" in text
    assert "/static/approvals/evidence.css" in text  # its print rules hide the navigation
    assert not any(s.stale or s.superseded for s in response.context["signoffs"])


def test_the_json_download_carries_sign_offs_staleness_and_events(client, quinn, shipped, manager):
    services.release_update(actor=manager, release=shipped, rollback_plan="Changed after")
    client.force_login(quinn)
    response = client.get(reverse("approvals:evidence-json", args=[shipped.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert [s["freshness"] for s in data["signoffs"]] == ["stale", "stale", "stale"]
    first = data["signoffs"][0]
    assert first["signer_name"] == "Priya Tester"
    assert first["meaning"] == "Approved for release"
    assert sha256(canonical_json(first["snapshot"])) == first["fingerprint"]
    actions = [e["action"] for e in data["events"]]
    assert actions[0] == "release.create"
    assert actions[-1] == "release.update"
    assert data["chain_head"]["seq"] == AuditEvent.objects.count()


def test_the_csv_download_has_one_row_per_sign_off_and_event(client, manager, shipped):
    client.force_login(manager)  # release managers see evidence too
    response = client.get(reverse("approvals:evidence-csv", args=[shipped.pk]))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    signoffs = [r for r in rows if r["record"] == "signoff"]
    events = [r for r in rows if r["record"] == "event"]
    assert len(signoffs) == 3
    assert {r["freshness"] for r in signoffs} == {"current"}
    assert len(events) == AuditEvent.objects.filter(release_id=shipped.pk).count()
    assert all(len(r["hash"]) == 64 for r in events)


def test_the_period_export_streams_the_trail_as_csv_and_json(client, admin, shipped):
    client.force_login(admin)
    today = timezone.now().date().isoformat()
    response = client.get(reverse("approvals:audit-csv"), {"start": today, "end": today})
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["seq"]) for r in rows] == list(range(1, AuditEvent.objects.count() + 1))
    response = client.get(reverse("approvals:audit-json"))
    assert response.streaming
    events = json.loads(b"".join(response.streaming_content))
    assert len(events) == AuditEvent.objects.count()
    # An auditor can re-check the chain from the export alone.
    for previous, event in itertools.pairwise(events):
        assert event["prev_hash"] == previous["hash"]
        fields = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
        assert sha256(event["prev_hash"] + canonical_json(fields)) == event["hash"]


def test_the_period_export_keeps_to_the_period(client, quinn, shipped):
    client.force_login(quinn)
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    response = client.get(reverse("approvals:audit-json"), {"start": tomorrow})
    assert json.loads(b"".join(response.streaming_content)) == []


def test_a_bad_period_is_a_400_naming_the_field(client, quinn):
    client.force_login(quinn)
    response = client.get(reverse("approvals:audit-csv"), {"start": "2026-13-01"})
    assert response.status_code == 400
    assert "start" in response.json()
    response = client.get(
        reverse("approvals:audit-json"), {"start": "2026-05-02", "end": "2026-05-01"}
    )
    assert response.status_code == 400
    assert "end" in response.json()


@pytest.mark.parametrize("page", list(EVIDENCE_PAGES))
@pytest.mark.parametrize("persona", ["outsider", "alice", "priya"])
def test_outsiders_team_members_and_approvers_are_refused_evidence(
    client, shipped, request, persona, page
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = EVIDENCE_PAGES[page](shipped)
    assert client.get(url).status_code == 403, (user, url)


@pytest.mark.parametrize("page", list(EVIDENCE_PAGES))
def test_anonymous_visitors_are_sent_to_log_in(client, shipped, page):
    response = client.get(EVIDENCE_PAGES[page](shipped))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_navigation_links_evidence_for_auditors_only(client, quinn, alice):
    client.force_login(quinn)
    assert reverse("approvals:evidence-index") in client.get("/releases/").content.decode()
    client.force_login(alice)
    assert reverse("approvals:evidence-index") not in client.get("/releases/").content.decode()


def test_the_evidence_page_costs_the_same_queries_for_5_and_50_sign_offs(
    client, quinn, frozen, sign, approvers, manager
):
    release = frozen()
    client.force_login(quinn)
    url = reverse("approvals:evidence", args=[release.pk])
    counts = []
    for rows in (5, 50):
        while SignOff.objects.count() < rows:
            # Alternate decisions, each a new signature (and event) of the same release.
            count = SignOff.objects.count()
            decision = "reject" if count % 2 else "approve"
            sign(approvers["product"], release, "product", decision)
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert len(response.context["signoffs"]) == rows
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
