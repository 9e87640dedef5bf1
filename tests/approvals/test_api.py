"""The approvals API: the same rules as the admin, password every time; outsiders refused on
every endpoint; lists at a constant number of queries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import AuditEvent, SignOff
from releases import services
from tests.conftest import PASSWORD

SIGNOFFS = "/api/v1/signoffs/"


def body(release, **changes) -> dict:
    data = {
        "release": release.pk,
        "role": "product",
        "decision": "approve",
        "meaning": "approved_for_release",
        "password": PASSWORD,
    }
    data.update(changes)
    return data


def test_an_approver_signs_off_through_the_api(api, priya, frozen, stored):
    release = frozen()
    status = api.as_user(priya).get(f"/api/v1/approval-status/{release.pk}/")
    response = api.post(SIGNOFFS, body(release, fingerprint=status.data["fingerprint"]))
    assert response.status_code == 201, response.data
    assert response.data["signer"] == "priya"
    assert response.data["signer_name"] == "Priya Tester"
    assert response.data["fingerprint"] == status.data["fingerprint"]
    assert response.data["stale"] is False
    assert "password" not in response.data
    assert SignOff.objects.count() == 1


# A bad signature of Priya's (the body from the release) and the field the 400 names.
BAD_SIGNATURES = {
    "wrong-password": (lambda release: body(release, password="wrong"), "password"),
    "reject-without-comment": (
        lambda release: body(release, decision="reject", meaning="not_approved", comment=""),
        "comment",
    ),
    "unknown-role": (lambda release: body(release, role="ceo"), "role"),
    "meaning-not-for-a-reject": (
        lambda release: body(release, meaning="legal_clearance", decision="reject", comment="x"),
        "meaning",
    ),
    "wrong-fingerprint": (lambda release: body(release, fingerprint="a" * 64), "fingerprint"),
    "malformed-fingerprint": (
        lambda release: body(release, fingerprint="not-a-hash"),
        "fingerprint",
    ),
    "no-password": (
        lambda release: {k: v for k, v in body(release).items() if k != "password"},
        "password",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SIGNATURES))
def test_the_api_refuses_each_bad_signature_naming_the_field(api, priya, frozen, stored, case):
    release = frozen()
    client = api.as_user(priya)
    before = stored()
    make_body, field = BAD_SIGNATURES[case]
    data = make_body(release)
    response = client.post(SIGNOFFS, data)
    assert response.status_code == 400, (data, response.data)
    assert field in response.data, (data, response.data)
    assert stored() == before


def test_the_api_refuses_a_role_the_signer_does_not_hold(api, leo, frozen, stored):
    release = frozen()
    before = stored()
    response = api.as_user(leo).post(SIGNOFFS, body(release))
    assert response.status_code == 403
    assert "Product approvers" in response.data["detail"]
    assert stored() == before


def test_the_api_refuses_signing_twice_and_a_release_not_awaiting(api, priya, frozen, planned):
    release = frozen()
    client = api.as_user(priya)
    assert client.post(SIGNOFFS, body(release)).status_code == 201
    again = client.post(SIGNOFFS, body(release))
    assert again.status_code == 400
    assert "already approved this version" in again.data["decision"][0]
    early = client.post(SIGNOFFS, body(planned()))
    assert early.status_code == 400
    assert "not awaiting sign-off" in early.data["release"][0]


def test_the_api_refuses_the_release_manager_approving_their_own(api, manager, frozen):
    from django.contrib.auth.models import Group

    manager.groups.add(Group.objects.get(name="Product approvers"))
    release = frozen()
    response = api.as_user(manager).post(SIGNOFFS, body(release))
    assert response.status_code == 403
    assert "segregation of duties" in response.data["detail"]


def test_pending_lists_what_waits_for_the_caller(api, priya, frozen, sign, manager):
    release = frozen()
    client = api.as_user(priya)
    [item] = client.get(f"{SIGNOFFS}pending/").data["results"]
    assert (item["release"], item["role"], item["asked_again"]) == (release.pk, "product", False)
    sign(priya, release, "product")
    assert client.get(f"{SIGNOFFS}pending/").data["results"] == []
    services.release_update(actor=manager, release=release, strategy="canary")
    [item] = client.get(f"{SIGNOFFS}pending/").data["results"]
    assert item["asked_again"] is True


def test_the_status_names_what_blocks(api, manager, frozen, approvers, sign):
    release = frozen()
    sign(approvers["product"], release, "product")
    sign(approvers["security"], release, "security", "reject", comment="CVE")
    data = api.as_user(manager).get(f"/api/v1/approval-status/{release.pk}/").data
    assert data["complete"] is False
    states = {role["role"]: role["state"] for role in data["roles"]}
    assert states == {"product": "approved", "legal": "missing", "security": "rejected"}
    assert "Security: rejected by Sam Tester (“CVE”)" in data["problems"]


def test_auditors_see_every_sign_off_with_staleness_approvers_their_own(
    api, quinn, priya, leo, frozen, sign, manager
):
    release = frozen()
    sign(priya, release, "product")
    sign(leo, release, "legal")
    services.release_update(actor=manager, release=release, rollback_plan="Revert")
    listing = api.as_user(quinn).get(SIGNOFFS).data
    assert listing["count"] == 2
    assert all(row["stale"] for row in listing["results"])
    own = api.as_user(priya).get(SIGNOFFS).data
    assert [row["signer"] for row in own["results"]] == ["priya"]
    filtered = api.as_user(quinn).get(SIGNOFFS, {"signer": "leo"}).data
    assert [row["role"] for row in filtered["results"]] == ["legal"]


def test_auditors_read_the_trail_through_the_api(api, quinn, frozen):
    release = frozen()
    response = api.as_user(quinn).get("/api/v1/audit-events/", {"release_id": release.pk})
    assert response.status_code == 200
    actions = [row["action"] for row in response.data["results"]]
    assert actions[0] == "release.create"
    assert "release.requirements" in actions
    first = response.data["results"][0]
    assert len(first["hash"]) == 64


# Every approvals endpoint as a request of ``client`` about ``w`` (release, signoff, event).
OUTSIDER_REQUESTS = {
    "signoffs": lambda client, w: client.get(SIGNOFFS),
    "signoff": lambda client, w: client.get(f"{SIGNOFFS}{w.signoff.pk}/"),
    "pending": lambda client, w: client.get(f"{SIGNOFFS}pending/"),
    "approval-status": lambda client, w: client.get(f"/api/v1/approval-status/{w.release.pk}/"),
    "audit-events": lambda client, w: client.get("/api/v1/audit-events/"),
    "audit-event": lambda client, w: client.get(f"/api/v1/audit-events/{w.event.pk}/"),
    "signoff-create": lambda client, w: client.post(SIGNOFFS, body(w.release)),
}


@pytest.mark.parametrize("endpoint", list(OUTSIDER_REQUESTS))
def test_an_outsider_is_refused_on_every_approvals_endpoint(
    api, outsider, frozen, sign, priya, endpoint
):
    release = frozen()
    signoff = sign(priya, release, "product")
    w = SimpleNamespace(release=release, signoff=signoff, event=AuditEvent.objects.first())
    response = OUTSIDER_REQUESTS[endpoint](api.as_user(outsider), w)
    assert response.status_code == 403, endpoint
    assert SignOff.objects.count() == 1


def test_a_team_member_follows_their_own_release_and_nothing_else(api, alice, frozen, sign, priya):
    release = frozen()
    sign(priya, release, "product")
    # Alice (Payments) may follow her own team's release, nothing else.
    team_client = api.as_user(alice)
    assert team_client.get(f"/api/v1/approval-status/{release.pk}/").status_code == 200
    assert team_client.get(SIGNOFFS).status_code == 403
    assert team_client.get("/api/v1/audit-events/").status_code == 403
    assert SignOff.objects.count() == 1


ANONYMOUS_READS = {
    "signoffs": lambda release: SIGNOFFS,
    "approval-status": lambda release: f"/api/v1/approval-status/{release.pk}/",
    "audit-events": lambda release: "/api/v1/audit-events/",
}


@pytest.mark.parametrize("url", list(ANONYMOUS_READS))
def test_anonymous_callers_get_401(client, frozen, url):
    release = frozen()
    assert client.get(ANONYMOUS_READS[url](release)).status_code == 401


def _count(client, url: str) -> tuple[int, dict]:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.data


def test_the_sign_off_list_costs_the_same_queries_for_5_and_50(api, quinn, frozen, sign, priya):
    client = api.as_user(quinn)
    counts = []
    for rows in (5, 50):
        while SignOff.objects.count() < rows:
            sign(priya, frozen(), "product")
        count, data = _count(client, f"{SIGNOFFS}?page_size=100")
        assert data["count"] == rows
        counts.append(count)
    assert counts[0] == counts[1], counts


def test_the_pending_api_costs_the_same_queries_for_5_and_50(api, priya, frozen):
    client = api.as_user(priya)
    counts = []
    for rows in (5, 50):
        while len(frozen.made) < rows:
            frozen()
        count, data = _count(client, f"{SIGNOFFS}pending/?page_size=100")
        assert len(data["results"]) == rows
        counts.append(count)
    assert counts[0] == counts[1], counts


def test_the_pending_api_pages_and_its_first_page_costs_the_same_for_30_and_110(api, priya, frozen):
    client = api.as_user(priya)
    counts, firsts = [], []
    for rows in (30, 110):
        while len(frozen.made) < rows:
            frozen()
        count, data = _count(client, f"{SIGNOFFS}pending/?page_size=20")
        assert len(data["results"]) == 20
        assert data["previous"] is None
        assert "page=2" in data["next"]
        counts.append(count)
        firsts.append([item["release"] for item in data["results"]])
    assert counts[0] == counts[1], counts
    assert firsts[0] == firsts[1]  # soonest go-live first, whatever comes later


def test_the_pending_api_walks_every_page_once(api, priya, frozen):
    made = [frozen() for _ in range(7)]
    client = api.as_user(priya)
    seen, url = [], f"{SIGNOFFS}pending/?page_size=3"
    while url:
        data = client.get(url).data
        seen += [item["release"] for item in data["results"]]
        url = data["next"]
    assert sorted(seen) == sorted(release.pk for release in made)
    last = client.get(f"{SIGNOFFS}pending/?page_size=3&page=3").data
    assert last["next"] is None and "page=2" in last["previous"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("page=0", "page"), ("page=x", "page"), ("page_size=501", "page_size")],
    ids=["page-zero", "page-not-a-number", "page-size-too-big"],
)
def test_the_pending_api_names_a_bad_page_parameter(api, priya, frozen, query, field):
    frozen()
    response = api.as_user(priya).get(f"{SIGNOFFS}pending/?{query}")
    assert response.status_code == 400
    assert field in response.data


def test_the_schema_describes_the_approvals_endpoints(api, admin):
    schema = api.as_user(admin).get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/signoffs/", "/api/v1/signoffs/pending/", "/api/v1/audit-events/"):
        assert path in paths


@pytest.mark.parametrize(
    ("query", "status"),
    [
        # An offset PostgreSQL refuses (beyond ±15:59): read in UTC, a valid (empty) question.
        ("since=3943-11-04T13:49:24%2B20:35", 200),
        ("until=9999-12-31T23:00:00-05:00", 400),  # past the end of time in UTC
        ("action=%00", 400),  # PostgreSQL refuses NUL characters in text
    ],
)
def test_the_audit_list_answers_hostile_filters_without_a_server_error(api, admin, query, status):
    response = api.as_user(admin).get(f"/api/v1/audit-events/?{query}")
    assert response.status_code == status
    if status == 200:
        assert response.data["results"] == []
