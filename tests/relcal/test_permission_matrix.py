"""Who may write what: every write endpoint of the OpenAPI schema × every persona, one table.

The expected statuses come from the README's rules (Roles, Environments and booking, Deployments,
Who may do what for services/SLOs and incidents, Security), not from the code. Convention:

- ``OK``: the user may make this write. The request gets past every permission check and is
  judged on its content: 2xx, 400 (most bodies here are empty or minimal, on purpose) or 409 all
  count. Only 401, 403 and 404 fail it.
- ``403``: the user sees the object but may not do this.
- ``404``: the object is one the user may not see (a private team's), answered as a missing id.
- ``401``: anonymous, on every endpoint that needs credentials.

Personas: the demo personas (``seed_demo``: admin, manager, the three approvers, alice of
Payments, bob of Search, cab, sre) plus an auditor, a user in no group (``nobody``) and anonymous.
Mobile is made private, so its releases are the "may not see" case. The demo data is built once
for the module (``seed_demo`` in a transaction rolled back at the end; about 15 s on PostgreSQL,
too slow to repeat per case); each case runs in its own savepoint, so no case sees another's
writes.

A write endpoint added to the schema without a row here fails
``test_every_write_endpoint_has_a_row``.

Every answer (each case here, and every list and its first item read by every persona in
``test_every_read_answer_matches_the_schema``) must also match the published OpenAPI schema: its
status declared for the operation, its body valid against the declared schema (schemathesis'
validation, as in CI's fuzz run, but as each persona and with the private team in play).
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import requests
import schemathesis
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from approvals.models import ReleaseCandidate
from calendars.models import FeedToken
from delivery.models import Incident, IncidentSource
from environments.models import Booking, Deployment, Environment, MaintenanceWindow, WaitlistEntry
from releases import roles
from releases.models import FreezeWindow, Release, ReleaseDependency, Team
from reliability.models import SLO

OK = "ok"
PERSONAS = [
    "admin",
    "manager",
    "product",
    "legal",
    "security",
    "alice",
    "bob",
    "cab",
    "sre",
    "auditor",
    "nobody",
    "anonymous",
]
SIGNED_IN = PERSONAS[:-1]
DIGEST = "sha256:" + "a" * 64
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEMO_PASSWORD = "relcal-demo"  # seed_demo's, published in the README


def allow(*who: str, hidden: tuple[str, ...] = ()) -> dict[str, object]:
    """``who`` may; ``hidden`` may not see the object (404); every other user 403; anonymous 401."""
    return {
        p: 401 if p == "anonymous" else OK if p in who else 404 if p in hidden else 403
        for p in PERSONAS
    }


RM = ("admin", "manager")  # the Release managers group, and the superuser
# Who may not see a private (Mobile) release: everyone but its members (none of the personas),
# release managers, auditors and superusers. Approvers neither, while it is only planned.
NOT_MOBILE = ("product", "legal", "security", "alice", "bob", "cab", "sre", "nobody")


# --- The objects the rows act on, looked up in the demo data ---------------------------------


def at(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


def window(**delta: float) -> dict[str, str]:
    """An hour starting ``delta`` from now, as a body's ``start`` and ``end``."""
    return {"start": at(**delta), "end": at(hours=1, **delta)}


def release(team: str, version: str) -> Callable[[], int]:
    return lambda: Release.objects.get(team__slug=team, version=version).pk


P = release("payments", "4.4")  # planned: open scope, editable
P_DRAFT = release("payments", "4.5")  # draft: deletable
P_TESTING = release("payments", "4.2")  # awaiting sign-offs
# Named manager: alice, who is not in Search (set in the world); bob is.
S_NAMED = release("search", "2.1.1")
M = release("mobile", "8.0")  # planned, in the private team


def milestone(rel: Callable[[], int]) -> Callable[[], int]:
    return lambda: Release.objects.get(pk=rel()).milestones.order_by("pk").first().pk


def scope_item(rel: Callable[[], int]) -> Callable[[], int]:
    return lambda: Release.objects.get(pk=rel()).scope_items.order_by("pk").first().pk


def payments_dependency() -> int:
    return (
        ReleaseDependency.objects.filter(
            release__team__slug="payments", depends_on__team__slug="payments"
        )
        .first()
        .pk
    )


def payments_freeze() -> int:
    return FreezeWindow.objects.get(team__slug="payments").pk


def payments_booking() -> int:
    return Booking.objects.filter(team__slug="payments", environment__slug="qa").first().pk


def payments_waiting() -> int:
    return WaitlistEntry.objects.get(team__slug="payments", state="waiting").pk


def dev_maintenance() -> int:
    return MaintenanceWindow.objects.filter(environment__slug="dev").first().pk


def payments_deployment() -> int:
    return (
        Deployment.objects.filter(release__team__slug="payments", environment__slug="qa")
        .order_by("-pk")
        .first()
        .pk
    )


def payments_candidate() -> int:
    return (
        ReleaseCandidate.objects.filter(release__team__slug="payments").order_by("-pk").first().pk
    )


def payments_slo() -> int:
    return SLO.objects.filter(service__slug="payments-api", source="pushed").first().pk


def payments_incident() -> int:
    return Incident.objects.filter(services__slug="payments-api").order_by("pk").first().pk


def alice_feed_token() -> int:
    return FeedToken.objects.filter(user__username="alice").first().pk


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the schema's path, e.g. /api/v1/releases/{id}/
    expected: dict[str, object]
    args: dict[str, Callable[[], object] | str] = field(default_factory=dict)
    body: Callable[[], object] | dict | list | None = None
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or f"{self.method} {self.path}"


ROWS = [
    # Teams: administrators only.
    Row("POST", "/api/v1/teams/", allow("admin"), body={"name": "Ops", "slug": "ops"}),
    # Releases, milestones, dependencies, freeze windows: release managers (README "Roles");
    # members of the release's team edit its scope while it is open.
    Row(
        "POST",
        "/api/v1/releases/",
        allow(*RM),
        body=lambda: {"team": "payments", "name": "P 9", "version": "9.0", "go_live": at(days=90)},
    ),
    Row("PATCH", "/api/v1/releases/{id}/", allow(*RM), {"id": P}, body={}),
    Row(
        "PATCH",
        "/api/v1/releases/{id}/",
        allow(*RM, hidden=NOT_MOBILE),
        {"id": M},
        body={},
        name="PATCH /api/v1/releases/{id}/ (private team)",
    ),
    # The user named as a release's manager changes and moves it without the group, but moves
    # it into another team only as a member of that team (README "Moving a release").
    Row(
        "PATCH",
        "/api/v1/releases/{id}/",
        allow(*RM, "alice"),
        {"id": S_NAMED},
        body={},
        name="PATCH /api/v1/releases/{id}/ (named manager)",
    ),
    Row(
        "PATCH",
        "/api/v1/releases/{id}/",
        allow(*RM, "alice"),
        {"id": S_NAMED},
        body={"team": "payments"},
        name="PATCH /api/v1/releases/{id}/ (named manager, into her own team)",
    ),
    Row(
        "PATCH",
        "/api/v1/releases/{id}/",
        allow(*RM),
        {"id": S_NAMED},
        body={"team": "mobile"},
        name="PATCH /api/v1/releases/{id}/ (named manager, into a team she is not in)",
    ),
    Row(
        "POST",
        "/api/v1/releases/{id}/transition/",
        allow(*RM, "alice"),
        {"id": S_NAMED},
        body={"to_state": "draft", "reason": "Replanning"},
        name="POST /api/v1/releases/{id}/transition/ (named manager)",
    ),
    Row(
        "POST",
        "/api/v1/milestones/",
        allow(*RM, "alice"),
        body=lambda: {"release": S_NAMED(), "kind": "custom", "title": "T"},
        name="POST /api/v1/milestones/ (named manager)",
    ),
    Row("DELETE", "/api/v1/releases/{id}/", allow(*RM), {"id": P_DRAFT}),
    Row(
        "DELETE",
        "/api/v1/releases/{id}/",
        allow(*RM, hidden=NOT_MOBILE),
        {"id": release("mobile", "8.1")},
        name="DELETE /api/v1/releases/{id}/ (private team)",
    ),
    Row(
        "POST",
        "/api/v1/releases/{id}/transition/",
        allow(*RM),
        {"id": P},
        body={"to_state": "draft", "reason": "Replanning"},
    ),
    Row(
        "POST",
        "/api/v1/releases/{id}/transition/",
        allow(*RM, hidden=NOT_MOBILE),
        {"id": M},
        body={"to_state": "draft", "reason": "Replanning"},
        name="POST /api/v1/releases/{id}/transition/ (private team)",
    ),
    # Scope progress and builds: the release's team and release managers ("For CI").
    Row(
        "POST",
        "/api/v1/releases/{id}/scope-progress/",
        allow(*RM, "alice"),
        {"id": P},
        body={"ticket_key": "NOPE-1", "done": True},
    ),
    Row(
        "POST",
        "/api/v1/releases/{release_pk}/candidates/",
        allow(*RM, "alice"),
        {"release_pk": P},
        body={"version": "4.4.0-rc.9", "commit_sha": "a" * 40, "artifact_digest": DIGEST},
    ),
    # Which services a release touches: its team, its manager, release managers.
    Row(
        "POST",
        "/api/v1/releases/{release_pk}/services/",
        allow(*RM, "alice"),
        {"release_pk": P},
        body={"services": []},
    ),
    Row(
        "POST",
        "/api/v1/milestones/",
        allow(*RM),
        body=lambda: {"release": P(), "kind": "custom", "title": "T"},
    ),
    Row(
        "POST",
        "/api/v1/milestones/",
        # A private release named in a body is the same 400 as a missing id (README
        # "Security"): "may not see" shows as a refusal of the field, not as a 404.
        {**allow(*RM), **dict.fromkeys(NOT_MOBILE, 400)},
        body=lambda: {"release": M(), "kind": "custom", "title": "T"},
        name="POST /api/v1/milestones/ (private team)",
    ),
    Row("PATCH", "/api/v1/milestones/{id}/", allow(*RM), {"id": milestone(P)}, body={}),
    Row("DELETE", "/api/v1/milestones/{id}/", allow(*RM), {"id": milestone(P)}),
    Row(
        "POST",
        "/api/v1/scope-items/",
        allow(*RM, "alice"),
        body=lambda: {"release": P(), "ticket_key": "PAY-999", "title": "T", "kind": "feature"},
    ),
    Row("PATCH", "/api/v1/scope-items/{id}/", allow(*RM, "alice"), {"id": scope_item(P)}, body={}),
    Row("DELETE", "/api/v1/scope-items/{id}/", allow(*RM, "alice"), {"id": scope_item(P)}),
    Row(
        "POST",
        "/api/v1/dependencies/",
        allow(*RM),
        body=lambda: {"release": P(), "depends_on": release("payments", "5.0")()},
    ),
    Row("DELETE", "/api/v1/dependencies/{id}/", allow(*RM), {"id": payments_dependency}),
    Row(
        "POST",
        "/api/v1/freeze-windows/",
        allow(*RM),
        body=lambda: {"name": "F", **window(days=200)},
    ),
    Row("PATCH", "/api/v1/freeze-windows/{id}/", allow(*RM), {"id": payments_freeze}, body={}),
    Row("DELETE", "/api/v1/freeze-windows/{id}/", allow(*RM), {"id": payments_freeze}),
    # Environments ("Environments and booking"): rules by the owners (staging: Search) and
    # release managers; booking for your own teams; a booking's team, the environment's owners
    # and release managers change a booking.
    Row("PATCH", "/api/v1/environments/{slug}/", allow(*RM, "bob"), {"slug": "staging"}, body={}),
    Row(
        "POST",
        "/api/v1/environments/{slug}/acquire/",
        allow(*RM, "alice"),
        {"slug": "qa"},
        body={"team": "payments", "minutes": 30, "purpose": "CI"},
    ),
    Row(
        "POST",
        "/api/v1/bookings/",
        allow(*RM, "alice"),
        body=lambda: {"team": "payments", "environment": "qa", "purpose": "T", **window(days=20)},
    ),
    Row(
        "POST",
        "/api/v1/bookings/{id}/extend/",
        allow(*RM, "alice"),
        {"id": payments_booking},
        body=lambda: {"end": at(days=30)},
    ),
    Row("POST", "/api/v1/bookings/{id}/release/", allow(*RM, "alice"), {"id": payments_booking}),
    Row("POST", "/api/v1/bookings/{id}/cancel/", allow(*RM, "alice"), {"id": payments_booking}),
    Row(
        "POST",
        "/api/v1/waitlist/",
        allow(*RM, "alice"),
        body=lambda: {"team": "payments", "environment": "qa", "purpose": "T", **window(days=20)},
    ),
    Row("POST", "/api/v1/waitlist/{id}/withdraw/", allow(*RM, "alice"), {"id": payments_waiting}),
    Row(
        "POST",
        "/api/v1/maintenance-windows/",
        allow(*RM, "bob"),
        body=lambda: {"environment": "staging", "reason": "Upgrade", **window(days=40)},
    ),
    Row("DELETE", "/api/v1/maintenance-windows/{id}/", allow(*RM), {"id": dev_maintenance}),
    # Deployments ("Deployments"): "someone without a team (or the release manager role) gets
    # 403", for reports and for acting on a deployment alike; any team's member may.
    Row(
        "POST",
        "/api/v1/deployments/",
        allow(*RM, "alice", "bob"),
        body={"environment": "qa", "version": "1.0"},
    ),
    Row(
        "POST",
        "/api/v1/deployments/{id}/finish/",
        allow(*RM, "alice", "bob"),
        {"id": payments_deployment},
        body={"outcome": "failed"},
    ),
    Row(
        "POST",
        "/api/v1/deployments/{id}/steps/",
        allow(*RM, "alice", "bob"),
        {"id": payments_deployment},
        body={"percent": 50},
    ),
    Row(
        "POST",
        "/api/v1/deployments/{id}/rollback/",
        allow(*RM, "alice", "bob"),
        {"id": payments_deployment},
        body={},
    ),
    # The deploy check only reads: whoever may see the release may ask.
    Row(
        "POST",
        "/api/v1/deploy-checks/",
        allow(*SIGNED_IN),
        body=lambda: {"release": P(), "environment": "prod"},
    ),
    # Approvals ("Approvals", "Release readiness", "SRE override"). A sign-off for the product
    # role, with the signer's own (demo) password: only Product approvers sign for it.
    Row(
        "POST",
        "/api/v1/signoffs/",
        allow("product"),
        body=lambda: {
            "release": P_TESTING(),
            "role": "product",
            "decision": "approve",
            "meaning": "approved_for_release",
            "password": DEMO_PASSWORD,
        },
    ),
    # Waivers and overrides with a wrong password: the signers get the 400 naming it, everyone
    # else the 403 before any password is checked.
    Row(
        "POST",
        "/api/v1/waivers/",
        allow("admin", "cab"),
        body=lambda: {
            "candidate": payments_candidate(),
            "gate": "required_checks",
            "reason": "Flaky",
            "password": "wrong",
        },
    ),
    Row(
        "POST",
        "/api/v1/budget-overrides/",
        allow("admin", "sre"),
        body=lambda: {"release": P(), "reason": "Outage elsewhere", "password": "wrong"},
    ),
    Row(
        "POST",
        "/api/v1/candidates/{id}/checks/",
        allow(*RM, "alice"),
        {"id": payments_candidate},
        body={"name": "unit-tests", "status": "passed"},
    ),
    # Services and SLOs ("Who may do what"): the team, release managers, SRE.
    Row(
        "POST",
        "/api/v1/services/",
        allow(*RM, "alice", "sre"),
        body={"team": "payments", "name": "Ledger"},
    ),
    Row(
        "PATCH",
        "/api/v1/services/{slug}/",
        allow(*RM, "alice", "sre"),
        {"slug": "payments-api"},
        body={},
    ),
    Row("DELETE", "/api/v1/services/{slug}/", allow(*RM, "alice", "sre"), {"slug": "payments-api"}),
    Row(
        "POST",
        "/api/v1/slos/",
        allow(*RM, "alice", "sre"),
        body={"service": "payments-api", "name": "L", "objective": "99.9", "source": "pushed"},
    ),
    Row("PATCH", "/api/v1/slos/{id}/", allow(*RM, "alice", "sre"), {"id": payments_slo}, body={}),
    Row("DELETE", "/api/v1/slos/{id}/", allow(*RM, "alice", "sre"), {"id": payments_slo}),
    Row(
        "POST",
        "/api/v1/slos/{id}/measurements/",
        allow(*RM, "alice", "sre"),
        {"id": payments_slo},
        body=lambda: {"start": at(minutes=-10), "end": at(minutes=-5), "good": 1, "total": 1},
    ),
    # Incidents ("Incidents"): the teams of its services, release managers, SRE; delete: release
    # managers. Webhook deliveries carry a signature, no credentials: unsigned is 401 for all.
    Row(
        "POST",
        "/api/v1/incidents/",
        allow(*RM, "alice", "sre"),
        body={"title": "Down", "services": ["payments-api"]},
    ),
    Row(
        "PATCH",
        "/api/v1/incidents/{id}/",
        allow(*RM, "alice", "sre"),
        {"id": payments_incident},
        body={},
    ),
    Row("DELETE", "/api/v1/incidents/{id}/", allow(*RM), {"id": payments_incident}),
    Row(
        "POST",
        "/api/v1/incident-sources/{slug}/events/",
        dict.fromkeys(PERSONAS, 401),
        {"slug": "pager"},
        body={},
    ),
    # Feed tokens: everyone signed in has their own; someone else's is not there (404).
    Row("POST", "/api/v1/feed-tokens/", allow(*SIGNED_IN), body={}),
    Row(
        "PATCH",
        "/api/v1/feed-tokens/{id}/",
        allow("alice", hidden=SIGNED_IN),
        {"id": alice_feed_token},
        body={},
    ),
    Row(
        "DELETE",
        "/api/v1/feed-tokens/{id}/",
        allow("alice", hidden=SIGNED_IN),
        {"id": alice_feed_token},
    ),
]


# --- The data, once per module -----------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The demo data plus the personas it lacks, in a transaction rolled back after the module."""
    # seed_demo refuses to run without DEBUG; the tests check passwords with MD5
    # (tests/conftest.py), so the personas' are hashed with it.
    with (
        django_db_blocker.unblock(),
        override_settings(DEBUG=True, PASSWORD_HASHERS=FAST_HASHERS),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            _build_world()
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _build_world() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    Team.objects.filter(slug="mobile").update(is_private=True)
    alice = User.objects.get(username="alice")
    Release.objects.filter(pk=S_NAMED()).update(manager=alice)
    auditor = User.objects.create_user("auditor", password=DEMO_PASSWORD)
    auditor.groups.add(Group.objects.get(name=roles.AUDITORS))
    User.objects.create_user("nobody", password=DEMO_PASSWORD)
    start = timezone.now() + timedelta(days=3)
    WaitlistEntry.objects.create(
        environment=Environment.objects.get(slug="qa"),
        team=Team.objects.get(slug="payments"),
        start=start,
        end=start + timedelta(hours=1),
        purpose="Waiting",
        requested_by=alice,
    )
    IncidentSource.objects.create(name="Pager", slug="pager", kind="generic", secret="s" * 32)
    client = APIClient()
    client.force_authenticate(alice)
    assert client.post("/api/v1/feed-tokens/", {"name": "Phone"}).status_code == 201


def _cases():
    for row in ROWS:
        for persona in PERSONAS:
            yield pytest.param(row, persona, id=f"{row.id} as {persona}")


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "persona"), list(_cases()))
def test_the_matrix_holds(world, row: Row, persona: str):
    path = row.path.format(**{k: v() if callable(v) else v for k, v in row.args.items()})
    body = row.body() if callable(row.body) else row.body
    client = APIClient()
    if persona != "anonymous":
        client.force_authenticate(User.objects.get(username=persona))
    response = client.generic(
        row.method,
        path,
        data="" if body is None else json.dumps(body),
        content_type="application/json",
    )
    expected = row.expected[persona]
    if expected == OK:
        assert response.status_code not in (401, 403, 404), (
            response.status_code,
            response.content[:300],
        )
    else:
        assert response.status_code == expected, (response.status_code, response.content[:300])
    # Whatever the answer, the published schema declares its status and describes its body.
    operation = _schema()[row.path][row.method]
    assert str(response.status_code) in operation.definition.raw["responses"]
    operation.validate_response(_as_schemathesis(response, row.method, path))


@functools.cache
def _raw_schema() -> dict:
    # As /api/v1/schema/ serves it (the renderer turns lazy strings and the like into JSON).
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))


@functools.cache
def _schema() -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(_raw_schema())


def _as_schemathesis(response, method: str, path: str) -> schemathesis.Response:
    return schemathesis.Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=requests.Request(method, f"http://testserver{path}").prepare(),
        elapsed=0.0,
        verify=True,
    )


@pytest.mark.django_db
def test_every_write_endpoint_has_a_row():
    schema = _raw_schema()
    writes = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }
    covered = {(row.method, row.path) for row in ROWS}
    assert writes - covered == set(), "write endpoints without a row in the permission matrix"
    assert covered - writes == set(), "rows for endpoints the schema does not have"


def _lists() -> list[str]:
    return [
        path
        for path, operations in _raw_schema()["paths"].items()
        if "get" in operations and "{" not in path
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("path", _lists())
def test_every_read_answer_matches_the_schema(world, path: str, persona: str):
    """The reads too, by every persona: a list, and the first item it shows by its own path."""
    client = APIClient()
    if persona != "anonymous":
        client.force_authenticate(User.objects.get(username=persona))
    response = client.get(path)
    operation = _schema()[path]["GET"]
    assert str(response.status_code) in operation.definition.raw["responses"]
    operation.validate_response(_as_schemathesis(response, "GET", path))
    body = response.json() if response.status_code == 200 else None
    items = body.get("results", []) if isinstance(body, dict) else body or []
    for key in ("id", "slug"):
        detail = f"{path}{{{key}}}/"
        if items and isinstance(items[0], dict) and detail in _raw_schema()["paths"]:
            # Audit events are addressed by their ``seq``, their primary key.
            url = f"{path}{items[0].get(key, items[0].get('seq'))}/"
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            _schema()[detail]["GET"].validate_response(_as_schemathesis(response, "GET", url))
