"""The release domain's rules, exercised through the services every front end calls."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from releases import services
from releases.models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    ScopeItem,
)
from tests.approvals.helpers import approve

S = ReleaseState


def _path_to(state: str) -> list[str]:
    """The shortest chain of valid transitions from draft to ``state``."""
    routes = {S.DRAFT: []}
    frontier = [S.DRAFT]
    while frontier:
        nxt = []
        for current in frontier:
            for target in services.TRANSITIONS[current]:
                if target not in routes:
                    routes[target] = [*routes[current], target]
                    nxt.append(target)
        frontier = nxt
    return routes[state]


def _walk(release, manager, state):
    for target in _path_to(state):
        if target == S.APPROVED:
            approve(release)
        services.release_transition(
            actor=manager, release=release, to_state=target, reason="walking the lifecycle"
        )
    release.refresh_from_db()
    return release


VALID = [(src, dst) for src, targets in services.TRANSITIONS.items() for dst in targets]


@pytest.mark.parametrize(("src", "dst"), VALID, ids=[f"{a}->{b}" for a, b in VALID])
def test_it_allows_every_valid_transition_and_records_it(make_release, manager, src, dst):
    release = _walk(make_release(), manager, src)
    if dst == S.APPROVED:
        approve(release)
    step = services.release_transition(
        actor=manager, release=release, to_state=dst, reason="because"
    )
    release.refresh_from_db()
    assert release.state == dst
    assert (step.from_state, step.to_state, step.actor, step.reason) == (
        src,
        dst,
        manager,
        "because",
    )


INVALID = [
    (S.DRAFT, S.RELEASED),
    (S.DRAFT, S.APPROVED),
    (S.PLANNED, S.DEPLOYING),
    (S.SCOPE_FROZEN, S.RELEASED),
    (S.RELEASED, S.PLANNED),
    (S.CANCELLED, S.PLANNED),
    (S.DEPLOYING, S.CANCELLED),
]


@pytest.mark.parametrize(("src", "dst"), INVALID, ids=[f"{a}->{b}" for a, b in INVALID])
def test_it_refuses_an_invalid_transition_naming_the_allowed_ones(make_release, manager, src, dst):
    release = _walk(make_release(), manager, src)
    history = release.transitions.count()
    with pytest.raises(ValidationError) as err:
        services.release_transition(actor=manager, release=release, to_state=dst, reason="x")
    message = err.value.message_dict["to_state"][0]
    allowed = services.TRANSITIONS[src]
    assert "Allowed next states" in message
    for state in allowed:
        assert S(state).label in message
    if not allowed:
        assert "none (it is final)" in message
    release.refresh_from_db()
    assert release.state == src
    assert release.transitions.count() == history


def test_it_needs_a_reason_to_move_back_or_cancel(make_release, manager):
    release = _walk(make_release(), manager, S.SCOPE_FROZEN)
    with pytest.raises(ValidationError) as err:
        services.release_transition(actor=manager, release=release, to_state=S.PLANNED)
    assert "reason" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.release_transition(actor=manager, release=release, to_state=S.CANCELLED)
    services.release_transition(
        actor=manager, release=release, to_state=S.PLANNED, reason="Add the late fix"
    )
    release.refresh_from_db()
    assert release.state == S.PLANNED


def test_only_managers_move_a_release(make_release, alice, outsider):
    release = make_release()
    for user in (alice, outsider):
        with pytest.raises(PermissionDenied):
            services.release_transition(actor=user, release=release, to_state=S.PLANNED)
    assert Release.objects.get().state == S.DRAFT


def test_the_release_manager_of_a_release_may_move_it_without_the_role(make_release, alice):
    release = make_release(manager=alice)
    services.release_transition(actor=alice, release=release, to_state=S.PLANNED)
    assert Release.objects.get().state == S.PLANNED


# --- scope --------------------------------------------------------------------------------


def test_scope_is_read_only_once_frozen_until_moved_back(make_release, manager, alice):
    release = make_release()
    item = services.scope_item_create(actor=alice, release=release, title="Card vault")
    _walk(release, manager, S.SCOPE_FROZEN)
    with pytest.raises(ValidationError) as err:
        services.scope_item_create(actor=manager, release=release, title="Late feature")
    assert "frozen" in err.value.message_dict["release"][0]
    with pytest.raises(ValidationError):
        services.scope_item_delete(actor=manager, item=item)
    with pytest.raises(ValidationError):
        services.scope_item_update(actor=manager, item=item, title="Renamed")
    assert list(ScopeItem.objects.values_list("title", flat=True)) == ["Card vault"]

    services.release_transition(
        actor=manager, release=release, to_state=S.PLANNED, reason="Late regulatory fix"
    )
    services.scope_item_create(actor=manager, release=release, title="Late feature")
    assert ScopeItem.objects.count() == 2


def test_an_engineer_of_another_team_cannot_change_scope(make_release, bob):
    with pytest.raises(PermissionDenied):
        services.scope_item_create(actor=bob, release=make_release(), title="Sneaky")
    assert not ScopeItem.objects.exists()


# --- milestones ---------------------------------------------------------------------------


def test_it_refuses_a_milestone_after_go_live(make_release, manager, soon):
    release = make_release(go_live=soon)
    with pytest.raises(ValidationError) as err:
        services.milestone_create(
            actor=manager, release=release, kind="code_freeze", at=soon + timedelta(minutes=1)
        )
    assert "after the go-live" in err.value.message_dict["at"][0]
    with pytest.raises(ValidationError) as err:
        services.milestone_create(
            actor=manager, release=release, kind="code_freeze", date=(soon + timedelta(days=1))
        )
    assert "date" in err.value.message_dict
    assert not Milestone.objects.exists()


def test_a_milestone_on_the_go_live_day_or_moment_is_fine(make_release, manager, soon):
    release = make_release(go_live=soon)
    services.milestone_create(actor=manager, release=release, kind="go_live", at=soon)
    services.milestone_create(actor=manager, release=release, kind="go_no_go", date=soon.date())
    assert Milestone.objects.count() == 2


@pytest.mark.parametrize("editor_zone", ["Pacific/Auckland", "America/Sao_Paulo"])
def test_an_all_day_milestone_is_judged_in_the_planning_zone_whoever_edits(
    make_release, manager, settings, editor_zone
):
    settings.TIME_ZONE = "Europe/Berlin"
    # 23:30 on 9 March in Berlin: 10 March in Auckland, still 9 March in São Paulo.
    go_live = datetime(2030, 3, 9, 22, 30, tzinfo=UTC)
    release = make_release(go_live=go_live)
    with timezone.override(ZoneInfo(editor_zone)), pytest.raises(ValidationError) as err:
        services.milestone_create(
            actor=manager, release=release, kind="code_freeze", date=date(2030, 3, 10)
        )
    assert "date" in err.value.message_dict
    with timezone.override(ZoneInfo(editor_zone)):
        services.milestone_create(
            actor=manager, release=release, kind="code_freeze", date=date(2030, 3, 9)
        )
    assert Milestone.objects.filter(release=release).count() == 1


def test_it_refuses_a_milestone_with_both_or_neither_date_and_time(make_release, manager, soon):
    release = make_release()
    with pytest.raises(ValidationError):
        services.milestone_create(actor=manager, release=release, kind="code_freeze")
    with pytest.raises(ValidationError):
        services.milestone_create(
            actor=manager,
            release=release,
            kind="code_freeze",
            date=soon.date() - timedelta(days=3),
            at=soon - timedelta(days=3),
        )
    assert not Milestone.objects.exists()


def test_it_refuses_to_move_go_live_before_an_existing_milestone(make_release, manager, soon):
    release = make_release(go_live=soon)
    services.milestone_create(
        actor=manager, release=release, kind="code_freeze", at=soon - timedelta(days=2)
    )
    with pytest.raises(ValidationError) as err:
        services.release_update(actor=manager, release=release, go_live=soon - timedelta(days=5))
    assert "Code freeze" in err.value.message_dict["go_live"][0]
    release.refresh_from_db()
    assert release.go_live == soon


def test_it_refuses_naive_datetimes(make_release, manager, payments, soon):
    with pytest.raises(ValidationError) as err:
        services.release_create(
            actor=manager, team=payments, name="N", version="9", go_live=soon.replace(tzinfo=None)
        )
    assert "go_live" in err.value.message_dict
    assert not Release.objects.exists()


def test_it_refuses_a_window_ending_before_it_starts(make_release, soon):
    with pytest.raises(ValidationError) as err:
        make_release(go_live=soon, window_end=soon - timedelta(hours=1))
    assert "window_end" in err.value.message_dict
    assert not Release.objects.exists()


# --- dependencies -------------------------------------------------------------------------


def test_it_refuses_a_dependency_on_itself(make_release, manager):
    release = make_release()
    with pytest.raises(ValidationError) as err:
        services.dependency_create(actor=manager, release=release, depends_on=release)
    assert "itself" in err.value.message_dict["depends_on"][0]


def test_it_names_the_whole_cycle(make_release, manager):
    payments = make_release(name="Payments 4.3")
    search = make_release(name="Search 2.1")
    services.dependency_create(actor=manager, release=payments, depends_on=search)
    with pytest.raises(ValidationError) as err:
        services.dependency_create(actor=manager, release=payments, depends_on=search)
    assert "already depends on" in err.value.message_dict["depends_on"][0]
    with pytest.raises(ValidationError) as err:
        services.dependency_create(actor=manager, release=search, depends_on=payments)
    assert (
        "This would make the cycle Payments 4.3 → Search 2.1 → Payments 4.3"
        in err.value.message_dict["depends_on"][0]
    )

    third = make_release(name="Mobile 7.0")
    services.dependency_create(actor=manager, release=search, depends_on=third)
    with pytest.raises(ValidationError) as err:
        services.dependency_create(actor=manager, release=third, depends_on=payments)
    assert (
        "This would make the cycle Payments 4.3 → Search 2.1 → Mobile 7.0 → Payments 4.3"
        in err.value.message_dict["depends_on"][0]
    )
    assert ReleaseDependency.objects.count() == 2


def test_it_finds_a_long_cycle(make_release, manager):
    chain = [make_release(name=f"R{i}") for i in range(40)]
    for a, b in itertools.pairwise(chain):
        services.dependency_create(actor=manager, release=a, depends_on=b, kind="together")
    with pytest.raises(ValidationError) as err:
        services.dependency_create(actor=manager, release=chain[-1], depends_on=chain[0])
    expected = " → ".join([*[f"R{i}" for i in range(40)], "R0"])
    assert expected in err.value.message_dict["depends_on"][0]
    assert ReleaseDependency.objects.count() == 39


def test_a_diamond_is_not_a_cycle(make_release, manager):
    a, b, c, d = (make_release(name=n) for n in "ABCD")
    for x, y in [(a, b), (a, c), (b, d), (c, d)]:
        services.dependency_create(actor=manager, release=x, depends_on=y)
    assert ReleaseDependency.objects.count() == 4


# --- freeze windows -----------------------------------------------------------------------


@pytest.fixture
def year_end(manager, soon):
    return services.freeze_window_create(
        actor=manager,
        name="Year-end freeze",
        start=soon - timedelta(days=2),
        end=soon + timedelta(days=2),
    )


def test_it_refuses_a_go_live_in_a_freeze_naming_it(year_end, make_release, soon):
    with pytest.raises(ValidationError) as err:
        make_release(go_live=soon)
    message = err.value.message_dict["go_live"][0]
    assert "“Year-end freeze”" in message
    assert "all teams" in message
    assert not Release.objects.exists()


def test_a_team_freeze_only_binds_that_team(manager, search, make_release, soon):
    services.freeze_window_create(
        actor=manager, name="Search reindex", team=search, start=soon, end=soon + timedelta(1)
    )
    make_release(go_live=soon)  # Payments is not frozen
    with pytest.raises(ValidationError):
        make_release(team=search, go_live=soon)
    assert Release.objects.count() == 1


def test_a_deployment_window_running_into_a_freeze_is_refused(year_end, make_release, soon):
    with pytest.raises(ValidationError):
        make_release(
            go_live=year_end.start - timedelta(hours=1),
            window_end=year_end.start + timedelta(hours=1),
        )
    make_release(go_live=year_end.start - timedelta(hours=1), window_end=year_end.start)
    assert Release.objects.count() == 1


def test_the_override_permission_with_a_reason_lets_a_go_live_into_a_freeze(
    year_end, make_release, manager, soon
):
    manager.user_permissions.add(Permission.objects.get(codename="override_freeze"))
    manager = type(manager).objects.get(pk=manager.pk)  # drop the permission cache
    with pytest.raises(ValidationError) as err:
        make_release(actor=manager, go_live=soon)
    assert "freeze_override_reason" in err.value.message_dict
    release = make_release(
        actor=manager, go_live=soon, freeze_override_reason="Regulator deadline on the 31st"
    )
    assert release.freeze_override_reason == "Regulator deadline on the 31st"


def test_a_freeze_window_must_end_after_it_starts(manager, soon):
    with pytest.raises(ValidationError) as err:
        services.freeze_window_create(actor=manager, name="Oops", start=soon, end=soon)
    assert "end" in err.value.message_dict
    assert not FreezeWindow.objects.exists()


def test_only_release_managers_set_freezes(alice, soon):
    with pytest.raises(PermissionDenied):
        services.freeze_window_create(actor=alice, name="Mine", start=soon, end=soon + timedelta(1))


def test_a_failed_transition_leaves_no_history(make_release, outsider):
    release = make_release()
    with pytest.raises(PermissionDenied):
        services.release_transition(actor=outsider, release=release, to_state=S.PLANNED)
    assert ReleaseTransition.objects.filter(release=release).count() == 1  # the creation


def test_it_refuses_a_go_live_at_the_end_of_time(make_release, soon):
    with pytest.raises(ValidationError) as err:
        make_release(go_live=soon.replace(year=9999, month=12, day=31, hour=23))
    assert "go_live" in err.value.message_dict
    assert not Release.objects.exists()


def test_a_release_let_into_a_freeze_can_still_be_edited_without_the_override(
    year_end, make_release, manager, admin, soon
):
    release = make_release(actor=admin, go_live=soon, freeze_override_reason="Regulator")
    services.release_update(actor=manager, release=release, description="Runbook linked")
    with pytest.raises(ValidationError) as err:
        services.release_update(actor=manager, release=release, go_live=soon + timedelta(hours=1))
    assert "Year-end freeze" in err.value.message_dict["go_live"][0]
    release.refresh_from_db()
    assert (release.description, release.go_live) == ("Runbook linked", soon)
