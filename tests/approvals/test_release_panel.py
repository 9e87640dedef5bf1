"""The "Sign-offs" panel on the release page (Maya, steps 4-5): which sign-offs are missing,
approved, rejected or stale and why, with links only for those who may use them."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import Decision
from releases import services
from releases.models import Release

from .conftest import make_user, walk

pytestmark = pytest.mark.django_db


def page(user, release: Release, status: int = 200) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(release.get_absolute_url())
    assert response.status_code == status
    return response.content.decode()


def panel(text: str) -> str:
    match = re.search(r'<section id="signoffs".*?</section>', text, re.S)
    assert match, "no Sign-offs panel on the page"
    return match.group(0)


def role_item(text: str, role: str) -> str:
    match = re.search(
        rf'<li class="deps__item signoff" data-role="{role}".*?</li>\s*\n', text, re.S
    )
    assert match, f"no {role} row in the panel"
    return match.group(0)


def words(fragment: str) -> str:
    """The fragment as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def sign_url(release: Release, role: str) -> str:
    return reverse("admin:approvals_signoff_sign", args=[release.pk]) + f"?role={role}"


def test_before_the_scope_freezes_it_says_when_sign_offs_are_requested(make_release, manager):
    shown = words(panel(page(manager, make_release())))

    assert "Sign-offs are requested when the scope freezes: Product, Legal, Security" in shown


def test_a_frozen_release_shows_every_required_role_as_missing(frozen, manager):
    shown = panel(page(manager, frozen()))

    for role in ("product", "legal", "security"):
        item = role_item(shown, role)
        assert 'data-state="missing"' in item
        assert "Not signed yet" in words(item)


def test_it_shows_who_approved_when_and_with_what_meaning(frozen, manager, priya, sign):
    release = frozen()
    signoff = sign(priya, release, "product")

    item = words(role_item(panel(page(manager, release)), "product"))

    assert "approved" in item
    assert "Approved by Priya Tester" in item
    assert "Approved for release" in item
    assert signoff.signed_at.strftime("%-d %b %Y") in item


def test_it_shows_who_rejected_and_their_comment(frozen, manager, leo, sign):
    release = frozen()
    sign(leo, release, "legal", Decision.REJECT, comment="Privacy notice <missing> for EU")

    item = role_item(panel(page(manager, release)), "legal")

    assert 'data-state="rejected"' in item
    assert "Rejected by Leo Tester" in words(item)
    assert "Privacy notice &lt;missing&gt; for EU" in item  # escaped, not markup


def test_an_approval_turns_stale_and_says_what_changed_since(frozen, manager, priya, sign):
    release = frozen()
    sign(priya, release, "product")
    walk(release, manager, "planned", reason="Late fix")
    services.scope_item_create(actor=manager, release=release, title="Late fix", ticket_key="PAY-9")
    walk(release, manager, "scope_frozen")

    item = role_item(panel(page(manager, release)), "product")

    assert 'data-state="stale"' in item
    assert "Stale: Priya Tester approved an earlier version" in words(item)
    assert "Scope item added: PAY-9 Late fix" in words(item)


def test_a_moved_milestone_is_named_as_the_reason(frozen, manager, sam, sign):
    release = frozen()
    sign(sam, release, "security")
    milestone = release.milestones.get()
    services.milestone_update(actor=manager, milestone=milestone, title="Freeze the code")

    item = words(role_item(panel(page(manager, release)), "security"))

    assert "stale" in item
    assert "Milestone changed: Freeze the code" in item


def test_an_approver_gets_a_sign_link_only_for_their_own_role(frozen, priya):
    release = frozen()

    shown = panel(page(priya, release))

    assert f'href="{sign_url(release, "product")}"' in shown.replace("&amp;", "&")
    assert sign_url(release, "legal") not in shown.replace("&amp;", "&")
    assert sign_url(release, "security") not in shown.replace("&amp;", "&")


def test_nobody_gets_a_sign_link_once_the_release_no_longer_awaits_sign_off(
    frozen, manager, priya, sign_all
):
    release = walk(frozen(), manager, "testing")
    sign_all(release)
    walk(release, manager, "approved")

    shown = panel(page(priya, release))

    assert "/admin/" not in shown
    assert shown.count('data-state="approved"') == 3


def test_a_conflicted_approver_is_told_they_may_only_reject(frozen, manager, sign):
    # A product approver who owns a scope item: segregation of duties rules out approving.
    owner = make_user("olga", "Product approvers", is_staff=True)
    release = walk(frozen(), manager, "planned", reason="Add Olga's item")
    services.scope_item_create(actor=manager, release=release, title="Refunds", owner=owner)
    walk(release, manager, "scope_frozen")

    item = words(role_item(panel(page(owner, release)), "product"))

    assert "Sign off as Product in the admin" in item
    assert "You may only reject: segregation of duties." in item


def test_the_evidence_link_is_shown_to_auditors_and_managers_only(frozen, manager, quinn, alice):
    release = frozen()
    evidence = reverse("approvals:evidence", args=[release.pk])

    assert evidence in panel(page(quinn, release))
    assert evidence in panel(page(manager, release))
    assert evidence not in panel(page(alice, release))
    assert "/admin/" not in panel(page(alice, release))


def test_an_outsider_still_gets_404_for_a_private_teams_release(frozen, payments, outsider):
    payments.is_private = True
    payments.save()

    page(outsider, frozen(), status=404)


def test_a_refused_approval_names_what_is_missing_once_and_keeps_the_panel(
    frozen, manager, leo, priya, sign
):
    release = walk(frozen(), manager, "testing")
    sign(priya, release, "product")
    sign(leo, release, "legal", Decision.REJECT, comment="Not “ready” <yet>")
    client = Client()
    client.force_login(manager)

    response = client.post(
        reverse("releases:transition", args=[release.pk]), {"to_state": "approved"}, follow=True
    )

    assert response.redirect_chain, "a refusal redirects to the release page"
    body = response.content.decode()
    errors = re.findall(
        r'<ul class="field__errors" id="transition_to_state_error">(.*?)</ul>', body
    )
    assert len(errors) == 1
    message = words(errors[0])
    assert message.startswith(f"{release.name} cannot move to Approved yet: ")
    assert "Legal: rejected by Leo Tester (“Not “ready” <yet>”)" in message
    assert "Security: 0 of 1 approvals, missing" in message
    assert "Product" not in message  # approved, so not named
    assert "&lt;yet&gt;" in errors[0]  # escaped in the page
    assert 'data-state="rejected"' in panel(body)
    release.refresh_from_db()
    assert release.state == "testing"


def _release_with(count: int, *, make_release, manager, sign, frozen) -> Release:
    """A frozen release with ``count`` scope items and ``count`` sign-offs (a mix of approved,
    stale and rejected), signed by ``count`` approvers across the three roles."""
    release = frozen()
    walk(release, manager, "planned", reason="More scope")
    for number in range(count - 1):
        services.scope_item_create(
            actor=manager, release=release, title=f"Item {number}", ticket_key=f"PAY-{number + 10}"
        )
    walk(release, manager, "scope_frozen")
    groups = {"product": "Product approvers", "legal": "Legal approvers"}
    groups["security"] = "Security approvers"
    roles = list(groups)
    for number in range(count):
        role = roles[number % 3]
        signer = make_user(f"signer-{release.pk}-{number}", groups[role], is_staff=True)
        decision = Decision.REJECT if number == 4 else Decision.APPROVE
        sign(signer, release, role, decision)
    return release


def test_the_page_costs_the_same_queries_for_1_and_10_scope_items_and_sign_offs(
    make_release, manager, priya, sign, frozen
):
    small = _release_with(1, make_release=make_release, manager=manager, sign=sign, frozen=frozen)
    large = _release_with(10, make_release=make_release, manager=manager, sign=sign, frozen=frozen)
    assert large.scope_items.count() == 10 and large.signoffs.count() == 10
    assert small.scope_items.count() == 1 and small.signoffs.count() == 1
    page(priya, small)  # warm the per-process caches (content types, templates)

    counts = {}
    for label, release in (("small", small), ("large", large)):
        client = Client()
        client.force_login(priya)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(release.get_absolute_url()).status_code == 200
        counts[label] = len(ctx.captured_queries)

    assert counts["small"] == counts["large"], counts
