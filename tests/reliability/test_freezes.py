"""Error-budget freezes: set when an SLO spends its budget, ended when the budget is back above
the at-risk threshold; on the calendar feeds with SEQUENCE raised as they end; left alone by
the manual freeze rules; announced to the team; on Home."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import AuditEvent
from calendars import tokens
from relcal.errors import Conflict
from releases import gates, services
from releases.models import FreezeOrigin, FreezeWindow, Team
from reliability import services as reliability_services
from reliability.models import BudgetFreeze, ErrorBudgetPolicy
from reminders import scan as scanning
from reminders.models import Delivery, Webhook
from tests.calendars.conftest import events_by_uid, parse_strictly
from tests.reliability.budget_helpers import evaluated

pytestmark = pytest.mark.django_db


@pytest.fixture
def slo(make_slo):
    return make_slo("availability")


def feed_event(client, user, freeze: FreezeWindow):
    raw = tokens.feed_token_create(actor=user, name="Everything")[1]
    response = client.get(reverse("feed", args=[raw]))
    assert response.status_code == 200
    events = events_by_uid(parse_strictly(response.content))
    return next(event for uid, event in events.items() if uid.startswith(f"freeze-{freeze.pk}@"))


def test_an_exhausted_budget_puts_a_freeze_on_the_teams_calendar(slo, payments):
    now = timezone.now()
    evaluated(slo, "exhausted", -0.12, now=now)
    budget_freeze = BudgetFreeze.objects.get(slo=slo)
    freeze = budget_freeze.freeze
    assert (freeze.origin, freeze.team, freeze.start, freeze.end) == (
        FreezeOrigin.ERROR_BUDGET,
        payments,
        now,
        now + timedelta(days=28),
    )
    assert freeze.name == "Error budget spent: Checkout availability"
    assert "Checkout availability 99.9% has spent its error budget (\N{MINUS SIGN}12% left" in (
        freeze.reason
    )
    assert (
        "Only releases whose scope is fixes and security items may go live until more than 25% "
        "of the budget is back"
    ) in freeze.reason
    assert (budget_freeze.started_at, budget_freeze.ended_at) == (now, None)


def test_setting_it_is_audited_with_relcal_as_the_actor(slo):
    evaluated(slo, "exhausted", -0.12)
    event = AuditEvent.objects.get(action="budget_freeze.start")
    assert (event.actor_id, event.actor_name, event.object_type) == (
        None,
        "system",
        "releases.freezewindow",
    )
    assert event.after["budget_remaining"] == "-0.12"


def test_it_sets_one_freeze_however_often_the_slo_is_evaluated(slo):
    for _ in range(3):
        evaluated(slo, "exhausted", -0.12)
    assert FreezeWindow.objects.filter(origin=FreezeOrigin.ERROR_BUDGET).count() == 1


def test_a_budget_back_above_zero_but_at_risk_keeps_the_freeze(slo):
    evaluated(slo, "exhausted", -0.12)
    evaluated(slo, "at_risk", 0.2)
    assert BudgetFreeze.objects.get(slo=slo).ended_at is None


def test_no_data_keeps_the_freeze(slo):
    evaluated(slo, "exhausted", -0.12)
    evaluated(slo, "no_data", None)
    assert BudgetFreeze.objects.get(slo=slo).ended_at is None


def test_a_budget_back_above_the_threshold_ends_the_freeze_now(slo):
    evaluated(slo, "exhausted", -0.12, now=timezone.now() - timedelta(hours=3))
    later = timezone.now()
    evaluated(slo, "healthy", 0.3, now=later)
    budget_freeze = BudgetFreeze.objects.get(slo=slo)
    freeze = budget_freeze.freeze
    assert (budget_freeze.ended_at, freeze.end, freeze.sequence) == (later, later, 1)
    event = AuditEvent.objects.get(action="budget_freeze.end")
    assert event.actor_name == "system" and event.after["end"].startswith(later.date().isoformat())


def test_the_threshold_is_the_teams_own(slo, payments):
    ErrorBudgetPolicy.objects.create(team=payments, at_risk_below=50)
    evaluated(slo, "exhausted", -0.12)
    evaluated(slo, "at_risk", 0.4)
    assert BudgetFreeze.objects.get(slo=slo).ended_at is None
    evaluated(slo, "healthy", 0.6)
    assert BudgetFreeze.objects.get(slo=slo).ended_at is not None


def test_a_freeze_ended_at_the_moment_it_started_still_ends_after_it_starts(slo):
    now = timezone.now()
    evaluated(slo, "exhausted", -0.12, now=now)
    evaluated(slo, "healthy", 0.9, now=now)
    freeze = FreezeWindow.objects.get()
    assert freeze.end > freeze.start


def test_spending_it_again_sets_a_new_freeze(slo):
    evaluated(slo, "exhausted", -0.12)
    evaluated(slo, "healthy", 0.5)
    evaluated(slo, "exhausted", -0.01)
    assert BudgetFreeze.objects.filter(slo=slo).count() == 2
    assert BudgetFreeze.objects.filter(slo=slo, ended_at__isnull=True).count() == 1


def test_a_freeze_still_open_at_its_end_is_extended(slo):
    start = timezone.now() - timedelta(days=29)
    evaluated(slo, "exhausted", -0.5, now=start)
    now = timezone.now()
    evaluated(slo, "exhausted", -0.6, now=now)
    freeze = FreezeWindow.objects.get()
    assert (freeze.end, freeze.sequence) == (now + timedelta(days=28), 1)


def test_a_policy_without_freezes_sets_none(slo, payments):
    ErrorBudgetPolicy.objects.create(team=payments, freeze=False)
    evaluated(slo, "exhausted", -0.12)
    assert not FreezeWindow.objects.exists()


def test_the_feed_shows_the_freeze_and_raises_its_sequence_as_it_ends(client, alice, slo):
    evaluated(slo, "exhausted", -0.12, now=timezone.now() - timedelta(hours=1))
    freeze = FreezeWindow.objects.get()
    event = feed_event(client, alice, freeze)
    description = str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]) == "Payments — freeze: Error budget spent: Checkout availability"
    assert "Error-budget freeze (Payments), set by Relcal" in description
    assert "releases whose scope is only fixes and security items still ship" in description
    assert "(\N{MINUS SIGN}12% left" in description
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTEND") == freeze.end.replace(microsecond=0)

    ended_at = timezone.now()
    evaluated(slo, "healthy", 0.3, now=ended_at)
    event = feed_event(client, alice, freeze)
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTEND") == ended_at.replace(microsecond=0)


def test_a_private_teams_freeze_is_not_in_an_outsiders_feed(client, outsider, make_slo):
    vault = Team.objects.create(name="Vault", slug="vault", is_private=True)
    evaluated(make_slo("availability", team=vault), "exhausted", -0.12)
    raw = tokens.feed_token_create(actor=outsider, name="Everything")[1]
    body = client.get(reverse("feed", args=[raw])).content.decode()
    assert "Error budget spent" not in body and "Vault" not in body


def test_the_manual_freeze_rules_leave_an_error_budget_freeze_alone(
    slo, make_release, manager, soon
):
    evaluated(slo, "exhausted", -0.12)
    # Planned inside the freeze without an override reason: the freeze rules do not apply.
    release = make_release(go_live=timezone.now() + timedelta(days=2))
    assert services.freeze_windows_hit(release.team, release.go_live, release.window[1]) == []
    row = gates.readiness(release).row("freeze")
    assert row.state == gates.GateState.PASS


def test_the_team_and_the_managers_of_touching_releases_hear_of_it(
    slo, payments, alice, bob, make_release, manager
):
    release = make_release()  # managed by the manager, touching its team's service
    services.release_transition(actor=manager, release=release, to_state="planned")
    hook = Webhook.objects.create(team=payments, name="#payments", url="https://chat.example.com/h")
    now = timezone.now()
    evaluated(slo, "exhausted", -0.12, now=now)
    scanning.collect(now)
    rows = Delivery.objects.filter(kind="budget.exhausted")
    assert {row.recipient for row in rows if row.recipient_id} == {alice, manager}
    assert [row.webhook for row in rows if row.webhook_id] == [hook]
    scanning.collect(now + timedelta(minutes=1))
    assert Delivery.objects.filter(kind="budget.exhausted").count() == 3

    later = now + timedelta(hours=1)
    evaluated(slo, "healthy", 0.5, now=later)
    scanning.collect(later)
    assert Delivery.objects.filter(kind="budget.recovered").count() == 3


def test_home_shows_the_spent_budget_and_the_open_freeze(client, alice, slo, make_slo):
    evaluated(slo, "exhausted", -0.12)
    evaluated(make_slo("latency"), "at_risk", 0.18)
    client.force_login(alice)
    body = client.get(reverse("home")).content.decode()
    assert "Error budgets" in body
    assert "Checkout availability 99.9%" in body and "\N{MINUS SIGN}12% left" in body
    assert "Checkout latency 99.9%" in body and "18% left" in body
    assert "Error budget spent: Checkout availability" in body


def test_home_shows_nothing_of_a_private_teams_budget_to_an_outsider(client, outsider, make_slo):
    vault = Team.objects.create(name="Vault", slug="vault", is_private=True)
    evaluated(make_slo("availability", team=vault), "exhausted", -0.12)
    client.force_login(outsider)
    body = client.get(reverse("home")).content.decode()
    assert "Error budgets" not in body and "Vault" not in body


def test_release_managers_cannot_edit_or_delete_an_error_budget_freeze(slo, manager):
    evaluated(slo, "exhausted", -0.12)
    freeze = BudgetFreeze.objects.get(slo=slo).freeze
    with pytest.raises(Conflict, match="is an error-budget freeze: Relcal ends it"):
        services.freeze_window_update(actor=manager, freeze=freeze, name="Gone")
    with pytest.raises(Conflict, match="is an error-budget freeze"):
        services.freeze_window_delete(actor=manager, freeze=freeze)
    freeze.refresh_from_db()
    assert (freeze.name, freeze.sequence) == ("Error budget spent: Checkout availability", 0)


def test_removing_the_slo_ends_its_freeze_on_the_calendar(slo, manager):
    evaluated(slo, "exhausted", -0.12, now=timezone.now() - timedelta(hours=1))
    freeze = BudgetFreeze.objects.get(slo=slo).freeze
    reliability_services.slo_delete(actor=manager, slo=slo)
    freeze.refresh_from_db()
    assert freeze.end <= timezone.now() and freeze.sequence == 1
    assert AuditEvent.objects.filter(action="budget_freeze.end", actor_id=manager.pk).exists()
