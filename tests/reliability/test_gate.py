"""The error-budget gate: what a release touching a spent, at-risk or silent SLO reads on the
go/no-go board, the release page and the readiness API; fix-only scopes; the team's policy;
hidden names; constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from releases import gates, services
from releases.gates import Context, GateState
from releases.models import Team
from reliability import readiness
from reliability.models import ErrorBudgetPolicy, Service
from tests.reliability.budget_helpers import evaluated

pytestmark = pytest.mark.django_db

EXHAUSTED_REASON = "Checkout availability 99.9%: error budget exhausted (\N{MINUS SIGN}12% left)"


def gate_of(release, user=None):
    return gates.readiness(release, user=user).row(readiness.GATE)


def add_scope(manager, release, *kinds):
    for number, kind in enumerate(kinds):
        services.scope_item_create(
            actor=manager, release=release, title=f"Item {number}", kind=kind
        )


@pytest.fixture
def slo(make_slo):
    return make_slo("availability")


@pytest.fixture
def release(make_release, manager):
    release = make_release()
    add_scope(manager, release, "feature", "fix")
    return release


def test_it_fails_a_release_touching_an_exhausted_slo_naming_it(release, slo):
    evaluated(slo, "exhausted", -0.12)
    row = gate_of(release)
    assert row.state == GateState.FAIL
    assert row.result.reason == EXHAUSTED_REASON


def test_it_blocks_deploying_but_not_approval(release, slo):
    evaluated(slo, "exhausted", -0.12)
    ready = gates.readiness(release)
    assert readiness.GATE in [row.gate.name for row in ready.blocking()]
    assert readiness.GATE not in [row.gate.name for row in ready.blocking(deployment=False)]
    assert ready.verdict == gates.Verdict.NO_GO


def test_a_refused_move_to_deploying_names_the_error_budget(release, slo, manager):
    evaluated(slo, "exhausted", -0.12)
    with pytest.raises(ValidationError) as refused:
        gates.require_for_transition(release, "deploying", actor=manager)
    assert f"Error budget: {EXHAUSTED_REASON}" in str(refused.value)


def test_a_scope_of_only_fixes_and_security_items_passes_saying_so(make_release, manager, slo):
    release = make_release()
    add_scope(manager, release, "fix", "security")
    evaluated(slo, "exhausted", -0.12)
    row = gate_of(release)
    assert row.state == GateState.PASS
    assert row.result.reason == (
        f"{EXHAUSTED_REASON}, but the scope is only fixes and security items"
    )


def test_an_empty_scope_does_not_count_as_only_fixes(make_release, slo):
    release = make_release()
    evaluated(slo, "exhausted", -0.12)
    assert gate_of(release).state == GateState.FAIL


def test_a_warning_policy_passes_with_the_warning(release, slo, payments):
    ErrorBudgetPolicy.objects.create(team=payments, when_exhausted="warn")
    evaluated(slo, "exhausted", -0.12)
    row = gate_of(release)
    assert row.state == GateState.PASS
    assert row.result.reason == f"{EXHAUSTED_REASON}; the team's error-budget policy only warns"


def test_no_data_is_pending_and_not_treated_as_healthy(release, slo):
    moment = timezone.now() - timedelta(hours=2)
    evaluated(slo, "no_data", None, now=moment)
    row = gate_of(release)
    assert row.state == GateState.PENDING
    assert row.result.reason.startswith(
        "Checkout availability 99.9%: no data from pushed measurements since "
    )
    assert row.result.reason.endswith(": not treated as healthy")


def test_an_slo_never_evaluated_is_pending(release, slo):
    assert gate_of(release).state == GateState.PENDING


def test_at_risk_passes_with_the_budget_left(release, slo):
    evaluated(slo, "at_risk", 0.18)
    row = gate_of(release)
    assert row.state == GateState.PASS
    assert row.result.reason == "Checkout availability 99.9%: at risk: 18% left"


def test_healthy_slos_pass(release, slo, make_slo):
    make_slo("latency")
    for each in slo.service.slos.all():
        evaluated(each, "healthy", 0.8)
    row = gate_of(release)
    assert (row.state, row.result.reason) == (
        GateState.PASS,
        "Every SLO of the touched services has budget left (2).",
    )


def test_a_release_touching_no_slo_passes(make_release, search):
    row = gate_of(make_release(team=search))
    assert (row.state, row.result.reason) == (GateState.PASS, "No SLOs on the touched services.")


def test_a_release_naming_its_services_is_judged_by_those_only(release, slo, search, make_slo):
    other = make_slo("availability", team=search)
    evaluated(other, "healthy", 0.9)
    evaluated(slo, "exhausted", -0.12)
    other.service.releases.add(release)  # it names Search's service: not its team's Checkout
    assert gate_of(release).state == GateState.PASS


def test_the_budget_stays_spent_until_it_is_back_above_the_threshold(release, slo):
    evaluated(slo, "exhausted", -0.12)  # an error-budget freeze opens
    evaluated(slo, "at_risk", 0.1)
    row = gate_of(release)
    assert row.state == GateState.FAIL
    assert "error budget recovering (10% left; the error-budget freeze ends above 25%)" in (
        row.result.reason
    )
    evaluated(slo, "healthy", 0.3)
    assert gate_of(release).state == GateState.PASS


def test_it_hides_the_name_of_a_private_teams_service(release, alice, make_slo):
    vault = Team.objects.create(name="Vault", slug="vault", is_private=True)
    hidden = make_slo("availability", team=vault)
    hidden.service.releases.add(release)
    evaluated(hidden, "exhausted", -0.5)
    reason = gate_of(release, user=alice).result.reason
    assert reason == (
        "a service you cannot see availability 99.9%: error budget exhausted (\N{MINUS SIGN}50% "
        "left)"
    )
    assert "Vault" not in gate_of(release, user=alice).result.link
    assert gate_of(release, user=None).result.reason.startswith("Vault service availability")


def test_the_board_and_the_release_page_show_the_gate(client, manager, release, slo):
    services.release_transition(actor=manager, release=release, to_state="planned")
    evaluated(slo, "exhausted", -0.12)
    client.force_login(manager)
    board = client.get(reverse("releases:readiness"), {"days": 30})
    page = client.get(release.get_absolute_url())
    for response in (board, page):
        assert response.status_code == 200
        assert "Error budget" in response.content.decode()
        assert EXHAUSTED_REASON in response.content.decode()


def test_the_readiness_api_shows_the_gate(api, alice, release, slo):
    evaluated(slo, "exhausted", -0.12)
    answer = api.as_user(alice).get(f"/api/v1/releases/{release.pk}/readiness/")
    assert answer.status_code == 200
    gate = next(g for g in answer.json()["gates"] if g["name"] == readiness.GATE)
    assert (gate["state"], gate["reason"], gate["deployment"]) == (
        "fail",
        EXHAUSTED_REASON,
        True,
    )


def test_the_outsider_reads_no_private_release_through_the_readiness_api(
    api, outsider, make_release, slo
):
    vault = Team.objects.create(name="Vault", slug="vault", is_private=True)
    release = make_release(team=vault)
    answer = api.as_user(outsider).get(f"/api/v1/releases/{release.pk}/readiness/")
    assert answer.status_code == 404


def _queries(releases, user) -> int:
    ctx = Context(now=timezone.now(), policies={}, user=user)
    with CaptureQueriesContext(connection) as queries:
        readiness.evaluate(releases, ctx)
    return len(queries)


def test_the_gate_costs_the_same_queries_for_1_or_20_releases(
    make_release, manager, payments, search, make_slo, alice
):
    for number in range(3):
        evaluated(make_slo(f"slo {number}"), "exhausted", -0.1)
        evaluated(make_slo(f"slo {number}", team=search), "at_risk", 0.1)
    releases = [make_release(team=payments if n % 2 else search) for n in range(20)]
    named = Service.objects.get(team=search)
    for release in releases[::4]:
        add_scope(manager, release, "fix")
        named.releases.add(release)
    for release in releases:
        release.refresh_from_db()
    _queries(releases[:1], alice)  # what is cached on the user (roles) is read once
    # One release naming its services and one of a team: every kind of query, once.
    assert _queries(releases[:2], alice) == _queries(releases, alice) <= 6


def test_the_fingerprint_moves_with_the_figures_shown_and_only_then(release, slo):
    ids = type(release).objects.filter(pk=release.pk).values("pk")
    evaluated(slo, "at_risk", 0.181)
    first, _ = readiness.fingerprint(ids)
    evaluated(slo, "at_risk", 0.181)
    assert readiness.fingerprint(ids)[0] == first
    evaluated(slo, "at_risk", 0.12)
    second, _ = readiness.fingerprint(ids)
    assert second != first
    evaluated(slo, "exhausted", -0.1)
    assert readiness.fingerprint(ids)[0] != second
