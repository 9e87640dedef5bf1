"""A DELETE and a PATCH (or two DELETEs) of one object at the same instant: the loser gets 404
or 409, never a 500, and no lock-order deadlock (finding 12 of issue 15).

Each case runs twice on PostgreSQL with real threads, each on its own connection: once with the
delete held open until the update waits for a lock (the exact interleaving that used to raise
``DoesNotExist``), and a few times released together from a barrier.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.http import Http404
from rest_framework.test import APIClient

from environments import services as environment_services
from environments.models import Environment, MaintenanceWindow
from relcal.errors import Conflict
from releases import services as release_services
from releases.models import FreezeWindow, Milestone, ScopeItem, Team
from reliability import services as reliability_services
from reliability.models import SLO, Service, SLISource

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WON = {200, 204}
LOSER = {404, 409}


@dataclass
class Case:
    update: Callable[[], int]  # a PATCH (or the update service), answering a status
    remove: Callable[[], int]  # a DELETE (or the delete service), answering a status
    delete: Callable[[], Any]  # the delete service, to hold open in a transaction
    exists: Callable[[], bool]  # whether the object is still stored


def _api(user, method: str, url: str, body: dict | None = None) -> Callable[[], int]:
    def call() -> int:
        client = APIClient()
        client.force_authenticate(user)
        return getattr(client, method)(url, body, format="json").status_code

    return call


def _service(call: Callable[[], Any]) -> Callable[[], int]:
    """For writes the API does not offer (teams, maintenance changes): the page or admin view
    answers ``Http404`` as 404 and ``Conflict`` as 409."""

    def run() -> int:
        try:
            call()
        except Http404:
            return 404
        except Conflict:
            return 409
        return 200

    return run


def _milestone(make_release, manager, **_) -> Case:
    release = make_release()
    milestone = release_services.milestone_create(
        actor=manager,
        release=release,
        kind="custom",
        title="Code freeze",
        date=release.go_live.date(),
    )
    return Case(
        _api(manager, "patch", f"/api/v1/milestones/{milestone.pk}/", {"title": "Branch cut"}),
        _api(manager, "delete", f"/api/v1/milestones/{milestone.pk}/"),
        lambda: release_services.milestone_delete(actor=manager, milestone=milestone),
        lambda: Milestone.objects.filter(pk=milestone.pk).exists(),
    )


def _scope_item(make_release, manager, **_) -> Case:
    release = make_release()
    item = release_services.scope_item_create(
        actor=manager, release=release, title="New checkout", ticket_key="PAY-1"
    )
    return Case(
        _api(manager, "patch", f"/api/v1/scope-items/{item.pk}/", {"title": "Newer checkout"}),
        _api(manager, "delete", f"/api/v1/scope-items/{item.pk}/"),
        lambda: release_services.scope_item_delete(actor=manager, item=item),
        lambda: ScopeItem.objects.filter(pk=item.pk).exists(),
    )


def _freeze_window(manager, soon, **_) -> Case:
    freeze = release_services.freeze_window_create(
        actor=manager, name="Peak", reason="Sales", start=soon, end=soon + timedelta(days=2)
    )
    return Case(
        _api(manager, "patch", f"/api/v1/freeze-windows/{freeze.pk}/", {"reason": "Black Friday"}),
        _api(manager, "delete", f"/api/v1/freeze-windows/{freeze.pk}/"),
        lambda: release_services.freeze_window_delete(actor=manager, freeze=freeze),
        lambda: FreezeWindow.objects.filter(pk=freeze.pk).exists(),
    )


def _team(admin, **_) -> Case:
    number = Team.objects.count()
    team = release_services.team_create(
        actor=admin, name=f"Racers {number}", slug=f"racers-{number}"
    )
    return Case(
        _service(
            lambda: release_services.team_update(
                actor=admin, team=team, contact="racers@example.com"
            )
        ),
        _service(lambda: release_services.team_delete(actor=admin, team=team)),
        lambda: release_services.team_delete(actor=admin, team=team),
        lambda: Team.objects.filter(pk=team.pk).exists(),
    )


def _maintenance_window(manager, soon, **_) -> Case:
    environment, _ = Environment.objects.get_or_create(slug="qa", defaults={"name": "qa"})
    start = soon + timedelta(days=MaintenanceWindow.objects.count() + 1)
    window = environment_services.maintenance_window_create(
        actor=manager,
        environment=environment,
        start=start,
        end=start + timedelta(hours=2),
        reason="Upgrade",
    )
    return Case(
        _service(
            lambda: environment_services.maintenance_window_update(
                actor=manager, window=window, reason="Bigger upgrade"
            )
        ),
        _api(manager, "delete", f"/api/v1/maintenance-windows/{window.pk}/"),
        lambda: environment_services.maintenance_window_delete(actor=manager, window=window),
        lambda: MaintenanceWindow.objects.filter(pk=window.pk).exists(),
    )


def _slo(manager, payments, **_) -> Case:
    service, _ = Service.objects.get_or_create(
        slug="checkout", defaults={"team": payments, "name": "Checkout"}
    )
    slo = SLO.objects.create(
        service=service,
        name=f"availability {SLO.objects.count()}",
        objective=Decimal("99.9"),
        source=SLISource.PUSHED,
    )
    return Case(
        _api(manager, "patch", f"/api/v1/slos/{slo.pk}/", {"objective": "99.5"}),
        _api(manager, "delete", f"/api/v1/slos/{slo.pk}/"),
        lambda: reliability_services.slo_delete(actor=manager, slo=slo),
        lambda: SLO.objects.filter(pk=slo.pk).exists(),
    )


CASES = {
    "milestone": _milestone,
    "scope-item": _scope_item,
    "freeze-window": _freeze_window,
    "team": _team,
    "maintenance-window": _maintenance_window,
    "slo": _slo,
}


@pytest.fixture(params=list(CASES))
def make_case(request, make_release, manager, admin, payments, soon):
    def make() -> Case:
        return CASES[request.param](
            make_release=make_release, manager=manager, admin=admin, payments=payments, soon=soon
        )

    return make


def _in_thread(call, outcomes: dict, key: str) -> threading.Thread:
    def run():
        try:
            outcomes[key] = call()
        except Exception as exc:  # a 500 in the API client, or a deadlock in a service
            outcomes[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _wait_until_blocked(deadline_seconds: float = 10) -> None:
    end = time.monotonic() + deadline_seconds
    while not _someone_waits_for_a_lock() and time.monotonic() < end:
        time.sleep(0.02)


def _behind_a_held_delete(case: Case, call: Callable[[], int]) -> dict[str, Any]:
    """Delete ``case`` in a transaction held open until ``call``, in another thread, waits for a
    lock; then commit, and let ``call`` finish."""
    deleted, commit = threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}

    def delete_and_hold():
        with transaction.atomic():
            case.delete()
            deleted.set()
            commit.wait(timeout=20)

    deleter = _in_thread(delete_and_hold, outcomes, "delete")
    deleted.wait(timeout=20)
    waiter = _in_thread(call, outcomes, "waiter")
    _wait_until_blocked()
    commit.set()
    deleter.join(timeout=30)
    waiter.join(timeout=30)
    return outcomes


def test_an_update_waiting_behind_a_delete_answers_404(make_case):
    case = make_case()

    outcomes = _behind_a_held_delete(case, case.update)

    assert outcomes == {"delete": None, "waiter": 404}
    assert not case.exists()  # the update did not bring it back


def test_a_second_delete_waiting_behind_a_delete_answers_404(make_case):
    case = make_case()

    outcomes = _behind_a_held_delete(case, case.remove)

    assert outcomes == {"delete": None, "waiter": 404}


def _race(case: Case) -> dict[str, Any]:
    """A PATCH and two DELETEs of ``case``, each in its own thread, released together."""
    barrier = threading.Barrier(3)
    outcomes: dict[str, Any] = {}

    def together(call):
        def run():
            barrier.wait(timeout=20)
            return call()

        return run

    threads = [
        _in_thread(together(case.update), outcomes, "p"),
        _in_thread(together(case.remove), outcomes, "d1"),
        _in_thread(together(case.remove), outcomes, "d2"),
    ]
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


ROUNDS = 4


def test_a_delete_and_an_update_at_the_same_instant_never_give_500(make_case):
    for _ in range(ROUNDS):
        case = make_case()
        outcomes = _race(case)

        assert not [o for o in outcomes.values() if isinstance(o, Exception)], outcomes
        assert outcomes["p"] in WON | LOSER, outcomes
        assert {outcomes["d1"] in WON, outcomes["d2"] in WON} == {True, False}, outcomes
        assert {outcomes["d1"], outcomes["d2"]} <= WON | LOSER, outcomes
        assert not case.exists()
