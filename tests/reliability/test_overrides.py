"""The SRE override of the error-budget gate: an electronic signature (password, reason) by
the "SRE" group, for one release, audited; through the API and the release page; refused to
everyone else with nothing stored."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.urls import reverse

from approvals.models import AuditEvent, Waiver
from approvals.readiness import services as candidate_services
from releases import gates, roles, services
from releases.models import Team
from reliability import readiness
from reliability.models import BudgetOverride
from tests.conftest import PASSWORD
from tests.reliability.budget_helpers import evaluated, make_sre

pytestmark = pytest.mark.django_db

URL = "/api/v1/budget-overrides/"
REASON = "The burn came from the card network's outage, not from us."


@pytest.fixture
def sre(db):
    return make_sre()


@pytest.fixture
def slo(make_slo):
    return make_slo("availability")


@pytest.fixture
def blocked(make_release, manager, slo):
    """A planned Payments release whose error-budget gate fails."""
    release = make_release()
    services.release_transition(actor=manager, release=release, to_state="planned")
    evaluated(slo, "exhausted", -0.12)
    return release


def post(api, user, release, **body):
    body.setdefault("reason", REASON)
    body.setdefault("password", PASSWORD)
    return api.as_user(user).post(URL, {"release": release.pk, **body}, format="json")


def test_an_sre_overrides_the_gate_for_one_release(api, sre, blocked):
    answer = post(api, sre, blocked)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["release"], body["reason"], body["signer_name"]) == (
        blocked.pk,
        REASON,
        "Sasha Reyes",
    )
    row = gates.readiness(blocked).row(readiness.GATE)
    assert row.state == gates.GateState.WAIVED
    assert row.waiver.startswith("overridden by Sasha Reyes on ")
    assert row.waiver.endswith(f": {REASON}")


def test_the_override_is_audited_under_the_release_like_a_waiver(api, sre, blocked):
    post(api, sre, blocked)
    event = AuditEvent.objects.get(action="budget_override.create")
    assert (event.actor_id, event.actor_name, event.release_id) == (
        sre.pk,
        "Sasha Reyes",
        blocked.pk,
    )
    assert event.after["reason"] == REASON and event.after["signer"] == "Sasha Reyes"
    assert event.after["failing"].startswith("Checkout availability 99.9%: error budget exhausted")


def test_a_superuser_may_override(api, admin, blocked):
    assert post(api, admin, blocked).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "not-my-password"}, "password"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 2_001}, "reason"),
        ({"reason": "nul \x00 here"}, "reason"),
    ],
    ids=["wrong-password", "blank-reason", "long-reason", "nul-reason"],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, sre, blocked, body, field):
    answer = post(api, sre, blocked, **body)
    assert answer.status_code == 400
    assert field in answer.json()
    assert not BudgetOverride.objects.exists()
    assert not AuditEvent.objects.filter(action="budget_override.create").exists()


def test_an_unknown_release_is_a_404(api, sre, blocked):
    answer = api.as_user(sre).post(
        URL, {"release": blocked.pk + 100, "reason": REASON, "password": PASSWORD}, format="json"
    )
    assert answer.status_code == 404


def test_a_passing_gate_is_not_overridden(api, sre, blocked, slo):
    evaluated(slo, "healthy", 0.9)
    answer = post(api, sre, blocked)
    assert answer.status_code == 400
    assert "only a failing gate is overridden" in answer.json()["release"][0]
    assert not BudgetOverride.objects.exists()


def test_a_second_override_is_a_conflict(api, sre, blocked):
    post(api, sre, blocked)
    answer = post(api, sre, blocked)
    assert answer.status_code == 409
    assert BudgetOverride.objects.count() == 1


def test_a_release_no_longer_on_its_way_is_a_conflict(api, sre, blocked, manager):
    services.release_transition(actor=manager, release=blocked, to_state="cancelled", reason="x")
    assert post(api, sre, blocked).status_code == 409
    assert not BudgetOverride.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "manager", "outsider"])
def test_without_the_sre_role_it_is_forbidden_and_stores_nothing(api, blocked, persona, request):
    answer = post(api, request.getfixturevalue(persona), blocked)
    assert answer.status_code == 403
    assert not BudgetOverride.objects.exists()


def test_a_private_release_is_not_found_for_an_outsider(api, outsider, make_release):
    vault = Team.objects.create(name="Vault", slug="vault", is_private=True)
    release = make_release(team=vault)
    assert post(api, outsider, release).status_code == 404
    assert not BudgetOverride.objects.exists()


def test_the_list_shows_the_overrides_of_visible_releases_only(
    api, sre, blocked, outsider, make_release, make_slo, manager
):
    vault = Team.objects.create(name="Vault", slug="vault", is_private=True)
    private = make_release(team=vault)
    services.release_transition(actor=manager, release=private, to_state="planned")
    evaluated(make_slo("availability", team=vault), "exhausted", -0.3)
    sre.groups.add(*type(sre.groups.first()).objects.filter(name=roles.AUDITORS))
    assert post(api, sre, blocked).status_code == 201
    assert post(api, sre, private).status_code == 201
    listed = api.as_user(outsider).get(URL).json()["results"]
    assert [row["release"] for row in listed] == [blocked.pk]
    filtered = api.as_user(sre).get(URL, {"release": private.pk}).json()["results"]
    assert [row["release"] for row in filtered] == [private.pk]


# --- The form on the release page -------------------------------------------------------------


def test_the_release_page_offers_the_form_to_an_sre_only_while_the_gate_fails(
    client, sre, alice, blocked, slo
):
    client.force_login(alice)
    assert (
        "Override the error-budget gate"
        not in client.get(blocked.get_absolute_url()).content.decode()
    )
    client.force_login(sre)
    page = client.get(blocked.get_absolute_url()).content.decode()
    assert "Override the error-budget gate" in page
    assert reverse("reliability:budget-override", args=[blocked.pk]) in page
    evaluated(slo, "healthy", 0.9)
    assert (
        "Override the error-budget gate"
        not in client.get(blocked.get_absolute_url()).content.decode()
    )


def test_an_sre_overrides_from_the_release_page(client, sre, blocked):
    client.force_login(sre)
    url = reverse("reliability:budget-override", args=[blocked.pk])
    answer = client.post(url, {"reason": REASON, "password": PASSWORD}, follow=True)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "You overrode the error-budget gate" in page
    assert "Overridden by Sasha Reyes" in page
    assert BudgetOverride.objects.get().release == blocked


def test_a_wrong_password_on_the_page_is_said_and_stores_nothing(client, sre, blocked):
    client.force_login(sre)
    url = reverse("reliability:budget-override", args=[blocked.pk])
    answer = client.post(url, {"reason": REASON, "password": "nope"}, follow=True)
    assert "No override was recorded: Wrong password" in answer.content.decode()
    assert not BudgetOverride.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "outsider"])
def test_the_page_form_is_forbidden_without_the_role(client, blocked, persona, request):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("reliability:budget-override", args=[blocked.pk])
    assert client.post(url, {"reason": REASON, "password": PASSWORD}).status_code == 403
    assert not BudgetOverride.objects.exists()


def test_the_overrides_are_in_the_releases_evidence(client, api, sre, blocked, admin):
    post(api, sre, blocked)
    client.force_login(admin)
    body = client.get(reverse("approvals:evidence-json", args=[blocked.pk])).json()
    [row] = body["budget_overrides"]
    assert (row["reason"], row["signer_name"], row["signer_id"]) == (REASON, "Sasha Reyes", sre.pk)
    assert row["signed_at"].endswith("Z")
    page = client.get(reverse("approvals:evidence", args=[blocked.pk])).content.decode()
    assert "Error-budget gate overrides (1)" in page
    csv_text = client.get(reverse("approvals:evidence-csv", args=[blocked.pk])).content.decode()
    assert "budget_overrides," in csv_text and REASON in csv_text


def test_the_change_advisory_board_cannot_waive_it_instead(blocked, alice):
    """Only an SRE override lets a release pass the error-budget gate: the board's generic
    waiver is refused, naming who decides, and stores nothing."""
    board = User.objects.create_user("carol", "carol@example.com", PASSWORD)
    board.groups.add(Group.objects.get(name="Change advisory board"))
    build = candidate_services.candidate_report(
        actor=alice,
        release=blocked,
        version=f"{blocked.version}-rc.1",
        commit_sha="abcdef1",
        artifact_digest="sha256:" + "1" * 64,
    )
    with pytest.raises(ValidationError) as refused:
        candidate_services.waiver_record(
            actor=board, candidate=build, gate="error_budget", reason="Ship it", password=PASSWORD
        )
    assert refused.value.message_dict["gate"] == [
        "Error budget is not waived by the change advisory board: an SRE override (reason and "
        "password) lets one release pass it."
    ]
    assert not Waiver.objects.exists()
    assert gates.readiness(blocked).row("error_budget").state == gates.GateState.FAIL
