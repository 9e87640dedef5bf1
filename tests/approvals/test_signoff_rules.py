"""The sign-off rules, through the service every front end calls: who may sign, for what,
when, how often, with which password; and that a refusal writes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from approvals import selectors
from approvals import services as approvals
from approvals.models import ApprovalRequirement, Decision, Meaning, ReleaseRequirement, SignOff
from releases import roles, services

from .conftest import make_user, walk


def refused(call, error=ValidationError):
    with pytest.raises(error) as caught:
        call()
    return caught.value


def test_an_approver_signs_off_and_the_signature_records_who_what_and_when(frozen, priya, sign):
    release = frozen()
    signoff = sign(priya, release, "product", comment="Looks good.")

    stored = SignOff.objects.get()
    assert stored.signer == priya
    assert stored.signer_name == "Priya Tester"
    assert (stored.role, stored.decision, stored.meaning) == (
        "product",
        "approve",
        Meaning.APPROVED_FOR_RELEASE,
    )
    assert stored.comment == "Looks good."
    assert stored.signed_at.utcoffset().total_seconds() == 0
    status = selectors.approval_status(selectors.with_approval_data(type(release).objects).get())
    assert stored.fingerprint == status.fingerprint == signoff.fingerprint
    assert len(stored.fingerprint) == 64
    assert stored.snapshot["version"] == release.version
    assert [item["ticket_key"] for item in stored.snapshot["scope_items"]] == ["PAY-1"]


def test_it_refuses_a_signer_outside_the_roles_group(frozen, leo, outsider, sign, stored):
    release = frozen()
    before = stored()
    for user in (leo, outsider):
        error = refused(lambda user=user: sign(user, release, "product"), PermissionDenied)
        assert "Product approvers" in str(error)
    assert stored() == before


def test_a_superuser_outside_the_group_may_not_sign_either(frozen, admin, sign):
    release = frozen()
    refused(lambda: sign(admin, release, "product"), PermissionDenied)
    assert not SignOff.objects.exists()


def test_the_release_manager_cannot_approve_their_own_release(frozen, manager, sign, stored):
    manager.groups.add(Group.objects.get(name=roles.PRODUCT_APPROVERS))
    release = frozen()
    before = stored()
    error = refused(lambda: sign(manager, release, "product"), PermissionDenied)
    assert "release manager" in str(error)
    assert "segregation of duties" in str(error)
    assert stored() == before


def test_an_owner_of_a_scope_item_cannot_approve(frozen, alice, sign):
    alice.groups.add(Group.objects.get(name=roles.LEGAL_APPROVERS))
    release = frozen()  # Alice owns its scope item PAY-1
    error = refused(lambda: sign(alice, release, "legal"), PermissionDenied)
    assert "own some of its scope items" in str(error)


def test_segregation_of_duties_can_be_turned_off_per_role(frozen, alice, sign):
    alice.groups.add(Group.objects.get(name=roles.LEGAL_APPROVERS))
    ApprovalRequirement.objects.filter(role="legal").update(segregation_of_duties=False)
    release = frozen()
    sign(alice, release, "legal")
    assert SignOff.objects.get().signer == alice


def test_a_release_manager_may_still_reject_their_own_release(frozen, manager, sign):
    # Segregation of duties is about approving; a conflicted person may always say no.
    manager.groups.add(Group.objects.get(name=roles.PRODUCT_APPROVERS))
    release = frozen()
    sign(manager, release, "product", Decision.REJECT, comment="Found a blocker.")
    assert SignOff.objects.get().decision == "reject"


def test_it_refuses_signing_the_same_decision_twice(frozen, priya, sign, stored):
    release = frozen()
    sign(priya, release, "product")
    before = stored()
    error = refused(lambda: sign(priya, release, "product"))
    assert "already approved this version" in error.message_dict["decision"][0]
    assert stored() == before


def test_one_signer_counts_once_per_role(frozen, priya, manager, sign):
    ApprovalRequirement.objects.filter(role="product").update(count=2)
    release = frozen()
    sign(priya, release, "product")
    sign(priya, release, "product", Decision.REJECT, comment="Wait.")
    sign(priya, release, "product")  # back to approve: still one signer
    status = selectors.approval_status(
        selectors.with_approval_data(type(release).objects).get(pk=release.pk)
    )
    product = status.role("product")
    assert [s.signer for s in product.counted] == [priya]
    assert product.missing == 1
    assert "Product: 1 of 2 approvals" in product.problems()[0]


def test_two_signers_fill_a_role_that_needs_two(frozen, priya, sign):
    ApprovalRequirement.objects.filter(role="product").update(count=2)
    release = frozen()
    other = make_user("pat", roles.PRODUCT_APPROVERS)
    sign(priya, release, "product")
    sign(other, release, "product")
    status = selectors.approval_status(
        selectors.with_approval_data(type(release).objects).get(pk=release.pk)
    )
    assert status.role("product").satisfied


def test_a_reject_needs_a_comment(frozen, sam, sign, stored):
    release = frozen()
    before = stored()
    error = refused(lambda: sign(sam, release, "security", Decision.REJECT, comment="  "))
    assert "needs a comment" in error.message_dict["comment"][0]
    assert stored() == before


def test_a_reject_blocks_until_the_same_signer_decides_again(frozen, approvers, sign, manager):
    release = frozen()
    walk(release, manager, "testing")
    sign(approvers["product"], release, "product")
    sign(approvers["legal"], release, "legal")
    sign(approvers["security"], release, "security", Decision.REJECT, comment="Pen test open.")
    another = make_user("sue", roles.SECURITY_APPROVERS)
    sign(another, release, "security")  # another approval does not lift Sam's reject

    error = refused(lambda: walk(release, manager, "approved"))
    assert (
        "Security: rejected by Sam Tester (“Pen test open.”)" in error.message_dict["to_state"][0]
    )

    sign(approvers["security"], release, "security")  # Sam supersedes his own reject
    assert walk(release, manager, "approved").state == "approved"


def test_it_refuses_a_release_that_is_not_awaiting_sign_off(planned, priya, sign, stored):
    release = planned()
    before = stored()
    error = refused(lambda: sign(priya, release, "product"))
    assert "is not awaiting sign-off: it is Planned" in error.message_dict["release"][0]
    assert stored() == before


def test_it_signs_while_testing_too(frozen, priya, manager, sign):
    release = walk(frozen(), manager, "testing")
    sign(priya, release, "product")
    assert SignOff.objects.count() == 1


def test_it_refuses_a_role_the_release_does_not_need(frozen, priya, sign):
    release = frozen()
    priya.groups.add(Group.objects.create(name="CAB"))
    error = refused(lambda: sign(priya, release, "cab"))
    assert "needs no Change advisory board sign-off" in error.message_dict["role"][0]


def test_it_refuses_a_meaning_that_contradicts_the_decision(frozen, priya, sign):
    release = frozen()
    error = refused(lambda: sign(priya, release, "product", meaning=Meaning.NOT_APPROVED))
    assert "meaning" in error.message_dict
    error = refused(
        lambda: sign(
            priya, release, "product", Decision.REJECT, meaning=Meaning.APPROVED_FOR_RELEASE
        )
    )
    assert "meaning" in error.message_dict


def test_it_refuses_unknown_roles_decisions_and_meanings(frozen, priya, sign):
    release = frozen()
    error = refused(lambda: sign(priya, release, "ceo", "maybe", meaning="whatever"))
    assert set(error.message_dict) == {"role", "decision", "meaning"}


def test_a_wrong_password_is_refused_and_nothing_is_written(frozen, priya, sign, stored):
    release = frozen()
    before = stored()
    for password in ("wrong", "", "correct-horse-battery "):
        error = refused(
            lambda password=password: sign(priya, release, "product", password=password)
        )
        assert "Wrong password" in error.message_dict["password"][0]
    assert stored() == before


def test_the_password_is_asked_at_every_signing(frozen, priya, sign, stored):
    release = frozen()
    sign(priya, release, "product")
    before = stored()
    # Even right after a successful signature, a new decision needs the password again.
    refused(lambda: sign(priya, release, "product", Decision.REJECT, password="wrong"))
    assert stored() == before


def test_it_refuses_a_signature_on_a_version_the_signer_did_not_see(frozen, priya, sign):
    release = frozen()
    seen = selectors.approval_status(
        selectors.with_approval_data(type(release).objects).get(pk=release.pk)
    ).fingerprint
    services.release_update(actor=release.manager, release=release, rollback_plan="Revert")
    error = refused(lambda: sign(priya, release, "product", fingerprint=seen))
    assert "changed since you opened it" in error.message_dict["fingerprint"][0]
    assert not SignOff.objects.exists()


def test_a_release_frozen_again_from_planned_takes_its_requirements_anew(frozen, manager):
    release = frozen()
    assert set(release.approval_requirements.values_list("role", flat=True)) == {
        "product",
        "legal",
        "security",
    }
    ApprovalRequirement.objects.filter(role="legal").delete()
    walk(release, manager, "planned", "scope_frozen")
    assert set(ReleaseRequirement.objects.values_list("role", flat=True)) == {
        "product",
        "security",
    }


def test_a_team_policy_overrides_the_default(frozen, admin, payments):
    policy = approvals.policy_create(actor=admin, name="Payments", team=payments)
    approvals.requirement_create(
        actor=admin, policy=policy, role="qa", group=Group.objects.create(name="QA"), count=2
    )
    release = frozen()
    requirement = release.approval_requirements.get()
    assert (requirement.role, requirement.count, requirement.policy_name) == ("qa", 2, "Payments")


def test_sign_offs_are_never_updated_or_deleted_through_the_orm(frozen, priya, sign):
    from django.db import DatabaseError, transaction

    signoff = sign(priya, frozen(), "product")
    with pytest.raises(DatabaseError), transaction.atomic():
        SignOff.objects.filter(pk=signoff.pk).update(comment="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        SignOff.objects.filter(pk=signoff.pk).delete()
    assert SignOff.objects.get().comment == ""


def test_a_release_with_sign_offs_cannot_be_deleted_only_cancelled(frozen, priya, sign, manager):
    release = frozen()
    sign(priya, release, "product")
    walk(release, manager, "cancelled", reason="Dropped")
    error = refused(lambda: services.release_delete(actor=manager, release=release))
    assert "kept as evidence" in error.message_dict["state"][0]
    assert SignOff.objects.count() == 1
