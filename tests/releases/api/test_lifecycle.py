"""The release lifecycle through the API: valid steps, refusals naming the allowed states,
reasons for going back, and the history."""

from __future__ import annotations

import pytest

from releases.models import Release, ReleaseTransition
from tests.approvals.helpers import approve

HAPPY_PATH = ["planned", "scope_frozen", "testing", "approved", "deploying", "released"]


def transition(client, release, to_state, reason=None):
    if to_state == "approved":
        approve(release)
    body = {"to_state": to_state} if reason is None else {"to_state": to_state, "reason": reason}
    return client.post(f"/api/v1/releases/{release.pk}/transition/", body)


def test_it_moves_a_release_along_the_whole_happy_path(api, make_release, manager):
    release = make_release()
    client = api.as_user(manager)

    for previous, state in zip(["draft", *HAPPY_PATH[:-1]], HAPPY_PATH, strict=True):
        response = transition(client, release, state)
        assert response.status_code == 201, (state, response.data)
        assert response.data["from_state"] == previous
        assert response.data["to_state"] == state
        assert response.data["actor"] == "manager"

    release.refresh_from_db()
    assert release.state == "released"
    detail = client.get(f"/api/v1/releases/{release.pk}/")
    assert detail.data["allowed_transitions"] == ["rolled_back"]


def test_it_rolls_back_a_released_release_with_a_reason_and_replans_it(api, make_release, manager):
    release = make_release()
    client = api.as_user(manager)
    for state in HAPPY_PATH:
        transition(client, release, state)

    assert transition(client, release, "rolled_back", "Error rate 5%").status_code == 201
    assert transition(client, release, "planned").status_code == 201
    release.refresh_from_db()
    assert release.state == "planned"


@pytest.mark.parametrize(
    ("path", "to_state", "allowed"),
    [
        ([], "released", "Allowed next states: Planned, Cancelled."),
        ([], "approved", "Allowed next states: Planned, Cancelled."),
        (["planned"], "testing", "Allowed next states: Scope frozen, Draft, Cancelled."),
        (["planned", "scope_frozen"], "deploying", "Testing, Planned, Cancelled."),
        (HAPPY_PATH[:5], "cancelled", "Allowed next states: Released, Rolled back."),
        (HAPPY_PATH, "planned", "Allowed next states: Rolled back."),
    ],
)
def test_it_refuses_an_invalid_transition_naming_the_allowed_states(
    api, make_release, manager, stored, path, to_state, allowed
):
    release = make_release()
    client = api.as_user(manager)
    for state in path:
        assert transition(client, release, state).status_code == 201
    before = stored()

    response = transition(client, release, to_state, "because")

    assert response.status_code == 400
    assert allowed in response.data["to_state"][0]
    assert stored() == before


def test_it_refuses_any_move_out_of_cancelled_saying_it_is_final(
    api, make_release, manager, stored
):
    release = make_release()
    client = api.as_user(manager)
    transition(client, release, "cancelled", "Superseded")
    before = stored()

    response = transition(client, release, "planned")

    assert response.status_code == 400
    assert "none (it is final)" in response.data["to_state"][0]
    assert stored() == before


def test_it_refuses_an_unknown_state_naming_the_allowed_ones(api, make_release, manager):
    release = make_release()
    response = transition(api.as_user(manager), release, "shipped")
    assert response.status_code == 400
    assert "Allowed next states from Draft: Planned, Cancelled." in response.data["to_state"]


@pytest.mark.parametrize(
    ("path", "to_state"),
    [
        (["planned"], "draft"),
        (["planned", "scope_frozen"], "planned"),
        (["planned", "scope_frozen", "testing"], "scope_frozen"),
        (["planned"], "cancelled"),
        (HAPPY_PATH, "rolled_back"),
    ],
)
def test_it_requires_a_reason_to_go_back_cancel_or_roll_back(
    api, make_release, manager, stored, path, to_state
):
    release = make_release()
    client = api.as_user(manager)
    for state in path:
        transition(client, release, state)
    before = stored()

    refused = transition(client, release, to_state, "  ")

    assert refused.status_code == 400
    assert "needs a reason" in refused.data["reason"][0]
    assert stored() == before
    accepted = transition(client, release, to_state, "Scope grew; replanning.")
    assert accepted.status_code == 201, accepted.data
    assert accepted.data["reason"] == "Scope grew; replanning."


def test_it_shows_the_lifecycle_history_oldest_first(api, make_release, manager, outsider):
    release = make_release()
    client = api.as_user(manager)
    transition(client, release, "planned")
    transition(client, release, "draft", "Not ready")

    response = api.as_user(outsider).get(f"/api/v1/releases/{release.pk}/transitions/")

    assert response.status_code == 200
    assert [(t["from_state"], t["to_state"], t["reason"]) for t in response.data] == [
        ("draft", "draft", "Created"),
        ("draft", "planned", ""),
        ("planned", "draft", "Not ready"),
    ]
    assert response.data[-1]["actor"] == "manager"
    assert response.data[-1]["to_state_label"] == "Draft"


def test_it_lets_the_release_own_manager_move_it(api, make_release, alice):
    release = make_release(manager=alice)
    response = transition(api.as_user(alice), release, "planned")
    assert response.status_code == 201
    assert Release.objects.get(pk=release.pk).state == "planned"
    assert ReleaseTransition.objects.filter(release=release, actor=alice).count() == 1
