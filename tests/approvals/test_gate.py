"""Invariant 3: a release reaches approved only with every required sign-off present,
approving and fresh; the refusal names what is missing, rejecting or stale, on every path."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from approvals.models import AuditEvent, Decision
from releases import services
from releases.models import Release, ReleaseTransition

from .conftest import walk


@pytest.fixture
def testing(frozen, manager):
    def make(**fields) -> Release:
        return walk(frozen(**fields), manager, "testing")

    return make


def gate_message(release, manager) -> str:
    with pytest.raises(ValidationError) as error:
        walk(release, manager, "approved")
    return error.value.message_dict["to_state"][0]


def test_it_refuses_approval_naming_every_missing_sign_off(testing, manager, stored):
    release = testing()
    before, steps = stored(), ReleaseTransition.objects.count()
    message = gate_message(release, manager)
    assert message.startswith(f"{release.name} cannot move to Approved yet:")
    for role in ("Product", "Legal", "Security"):
        assert f"{role}: 0 of 1 approvals, missing" in message
    release.refresh_from_db()
    assert release.state == "testing"
    assert (stored(), ReleaseTransition.objects.count()) == (before, steps)  # nothing written


def test_it_names_only_what_is_still_missing(testing, manager, approvers, sign):
    release = testing()
    sign(approvers["product"], release, "product")
    sign(approvers["security"], release, "security", Decision.REJECT, comment="CVE open.")
    message = gate_message(release, manager)
    assert "Product" not in message
    assert "Legal: 0 of 1 approvals, missing" in message
    assert "Security: rejected by Sam Tester (“CVE open.”)" in message


def test_it_approves_when_every_sign_off_is_present_approving_and_fresh(testing, manager, sign_all):
    release = testing()
    sign_all(release)
    assert walk(release, manager, "approved").state == "approved"
    assert walk(release, manager, "deploying", "released").state == "released"


def test_deploying_is_gated_too_when_an_approved_release_changed(testing, manager, sign_all):
    release = testing()
    sign_all(release)
    walk(release, manager, "approved")
    services.release_update(actor=manager, release=release, strategy="canary")
    with pytest.raises(ValidationError) as error:
        walk(release, manager, "deploying")
    assert "cannot move to Deploying yet" in error.value.message_dict["to_state"][0]


def test_a_release_frozen_before_approvals_existed_gets_the_policy_at_the_gate(
    testing, manager, sign_all
):
    release = testing()
    release.approval_requirements.all().delete()  # as if frozen before this feature
    message = gate_message(release, manager)
    assert "Product: 0 of 1 approvals" in message
    assert not release.approval_requirements.exists()  # the refused transition rolled back


def test_the_api_transition_answers_400_naming_the_missing_sign_offs(api, testing, manager):
    release = testing()
    response = api.as_user(manager).post(
        f"/api/v1/releases/{release.pk}/transition/", {"to_state": "approved"}
    )
    assert response.status_code == 400
    assert "Legal: 0 of 1 approvals, missing" in response.data["to_state"][0]


def test_the_release_page_shows_the_refusal_on_the_transition_form(client, testing, manager):
    release = testing()
    client.force_login(manager)
    response = client.post(
        reverse("releases:transition", args=[release.pk]), {"to_state": "approved"}, follow=True
    )
    assert response.redirect_chain, "a refusal redirects to the release page"
    page = response.content.decode()
    banner = page[page.index('<ul class="messages">') :]
    assert "Security: 0 of 1 approvals, missing" in banner[: banner.index("</ul>")]
    form_errors = page[page.index('id="transition_to_state_error"') :]
    assert "Security: 0 of 1 approvals, missing" in form_errors[: form_errors.index("</ul>")]


def test_the_admin_action_reports_the_refusal(client, testing, manager):
    manager.is_staff = True
    manager.save()
    release = testing()
    client.force_login(manager)
    response = client.post(
        reverse("admin:releases_release_changelist"),
        {"action": "transition_to_approved", "_selected_action": [release.pk]},
        follow=True,
    )
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Product: 0 of 1 approvals, missing" in m for m in messages), messages
    release.refresh_from_db()
    assert release.state == "testing"
    assert not AuditEvent.objects.filter(action="release.transition", after__state="approved")
