"""A sign-off is bound to what it approved: any change to the fingerprinted content makes it
stale (kept, shown as stale, no longer counted, asked again), and the diff says what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from approvals import chain, selectors
from approvals import fingerprint as fp
from approvals.models import SignOff
from releases import services
from releases.models import Milestone, Release, ScopeItem

from .conftest import walk


def status_of(release: Release) -> selectors.ApprovalStatus:
    return selectors.approval_status(
        selectors.with_approval_data(Release.objects.all()).get(pk=release.pk)
    )


def reopen(release: Release, manager) -> Release:
    return walk(release, manager, "planned", reason="Late change")


def refreeze(release: Release, manager) -> Release:
    return walk(release, manager, "scope_frozen")


def add_scope(release, manager):
    reopen(release, manager)
    services.scope_item_create(actor=manager, release=release, title="Late fix", ticket_key="PAY-9")
    refreeze(release, manager)


def change_scope(release, manager):
    reopen(release, manager)
    item = ScopeItem.objects.get(release=release)
    services.scope_item_update(actor=manager, item=item, title="Saved cards v2")
    refreeze(release, manager)


def remove_scope(release, manager):
    reopen(release, manager)
    services.scope_item_delete(actor=manager, item=ScopeItem.objects.get(release=release))
    refreeze(release, manager)


def move_milestone(release, manager):
    milestone = Milestone.objects.get(release=release)
    services.milestone_update(
        actor=manager, milestone=milestone, date=milestone.date - timedelta(days=1)
    )


def move_window(release, manager):
    services.release_update(
        actor=manager, release=release, window_end=release.go_live + timedelta(hours=3)
    )


def change_strategy(release, manager):
    services.release_update(actor=manager, release=release, strategy="canary")


def change_rollback_plan(release, manager):
    services.release_update(actor=manager, release=release, rollback_plan="Flip the flag off.")


def change_description(release, manager):
    services.release_update(actor=manager, release=release, description="Now also refunds.")


def add_dependency(release, manager, make_release):
    services.dependency_create(actor=manager, release=release, depends_on=make_release())


CHANGES = {
    "scope item added": (add_scope, "Scope item added: PAY-9 Late fix"),
    "scope item changed": (change_scope, "Scope item changed: PAY-1 Saved cards v2 (title)"),
    "scope item removed": (remove_scope, "Scope item removed: PAY-1 Saved cards"),
    "milestone moved": (move_milestone, "Milestone moved: Code freeze"),
    "window changed": (move_window, "Deployment window:"),
    "strategy changed": (change_strategy, "Deployment strategy: “big_bang” → “canary”"),
    "rollback plan changed": (change_rollback_plan, "Rollback plan: “” → “Flip the flag off.”"),
    "description changed": (change_description, "Description changed, now: “Now also refunds.”"),
    "dependency added": (add_dependency, "Dependency added: needs payments"),
}


@pytest.mark.parametrize("kind", list(CHANGES), ids=list(CHANGES))
def test_a_change_makes_earlier_sign_offs_stale(kind, frozen, priya, sign, manager, make_release):
    change, described = CHANGES[kind]
    release = frozen()
    signoff = sign(priya, release, "product")
    assert status_of(release).role("product").satisfied

    if change is add_dependency:
        change(release, manager, make_release)
    else:
        change(release, manager)

    status = status_of(release)
    product = status.role("product")
    assert product.stale == [signoff]  # kept and shown...
    assert product.counted == []  # ...but no longer counted
    assert not product.satisfied
    assert "stale: Priya Tester signed an earlier version" in product.problems()[0]
    assert SignOff.objects.get().fingerprint == signoff.fingerprint  # never rewritten
    lines = fp.diff(signoff.snapshot, status.snapshot)
    assert any(line.startswith(described) for line in lines), lines
    # The approver is asked again, and may sign the new version.
    pending = selectors.pending_for(priya)
    assert [(p.release.pk, p.asked_again) for p in pending] == [(release.pk, True)]
    sign(priya, release, "product")
    assert status_of(release).role("product").satisfied


def test_changes_outside_the_fingerprint_keep_sign_offs_fresh(frozen, priya, sign, manager):
    release = frozen()
    sign(priya, release, "product")
    services.release_update(actor=manager, release=release, name="Payments (renamed)")
    services.milestone_update(
        actor=manager, milestone=Milestone.objects.get(release=release), done=True
    )
    assert status_of(release).role("product").satisfied


def test_the_gate_names_a_stale_sign_off(frozen, approvers, sign_all, manager):
    release = walk(frozen(), manager, "testing")
    sign_all(release)
    change_strategy(release, manager)
    with pytest.raises(ValidationError) as error:
        walk(release, manager, "approved")
    message = error.value.message_dict["to_state"][0]
    for role in ("Product", "Legal", "Security"):
        assert f"{role}: 0 of 1 approvals; stale:" in message
    release.refresh_from_db()
    assert release.state == "testing"


def test_the_snapshot_and_fingerprint_do_not_depend_on_row_order(frozen, manager):
    release = frozen()
    walk(release, manager, "planned", reason="more")
    services.scope_item_create(actor=manager, release=release, title="B", ticket_key="PAY-3")
    one = fp.load(release.pk)
    again = fp.current(Release.objects.get(pk=release.pk))  # unprefetched, other order
    assert one == again


@pytest.fixture
def sign_format_1(sign, monkeypatch):
    """``sign`` as a sign-off given before the description was signed (snapshot format 1)."""

    def do(user, release, role):
        current = fp.release_snapshot
        with monkeypatch.context() as patch:
            patch.setattr(fp, "release_snapshot", lambda r: fp.in_format(current(r), 1))
            signoff = sign(user, release, role)
        assert signoff.snapshot["format"] == 1 and "description" not in signoff.snapshot
        return signoff

    return do


def test_a_sign_off_on_the_older_format_stays_fresh_after_the_format_changed(
    frozen, priya, sign_format_1
):
    release = frozen()
    sign_format_1(priya, release, "product")
    assert status_of(release).role("product").satisfied


def test_a_sign_off_on_the_older_format_turns_stale_when_what_it_covered_changes(
    frozen, priya, sign_format_1, manager
):
    release = frozen()
    signoff = sign_format_1(priya, release, "product")
    change_strategy(release, manager)
    assert status_of(release).role("product").stale == [signoff]


def test_a_sign_off_on_the_older_format_did_not_sign_the_description(
    frozen, priya, sign_format_1, manager
):
    release = frozen()
    signoff = sign_format_1(priya, release, "product")
    change_description(release, manager)
    assert status_of(release).role("product").satisfied
    assert fp.diff(signoff.snapshot, status_of(release).snapshot) == []


def test_sign_offs_on_both_formats_verify_in_the_audit_trail(
    frozen, priya, leo, sign, sign_format_1
):
    release = frozen()
    sign_format_1(priya, release, "product")
    sign(leo, release, "legal")
    report = chain.verify()
    assert report.intact, report.signoff_problems
    assert report.signoffs == 2
