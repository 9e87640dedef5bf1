"""The approvers' admin: landing on "My pending sign-offs", the sign-off page (snapshot, what
changed since, password every time), policies through the services, and the read-only trail."""

from __future__ import annotations

from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat

from approvals import admin_views
from approvals.models import (
    ApprovalPolicy,
    ApprovalRequirement,
    AuditEvent,
    Decision,
    SignOff,
)
from releases import roles, services
from releases.models import Milestone, Team
from tests.conftest import PASSWORD

from .conftest import walk

PENDING = reverse("admin:approvals_signoff_pending")


def sign_url(release, role: str = "") -> str:
    url = reverse("admin:approvals_signoff_sign", args=[release.pk])
    return f"{url}?role={role}" if role else url


def form_data(response, **changes) -> dict:
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(changes)
    return data


def test_an_approver_lands_on_my_pending_sign_offs(client, priya, frozen):
    release = frozen()
    client.force_login(priya)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"] == PENDING
    page = client.get(PENDING)
    assert page.status_code == 200
    text = page.content.decode()
    assert "My pending sign-offs" in text
    assert release.name in text
    assert sign_url(release, "product") in text


def test_others_who_sign_see_the_list_on_top_of_the_admin_index(client, admin, frozen):
    admin.groups.add(Group.objects.get(name=roles.PRODUCT_APPROVERS))
    release = frozen()
    client.force_login(admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "My pending sign-offs (1)" in response.content.decode()
    assert release.name in response.content.decode()


def test_the_sign_page_shows_the_snapshot_and_its_fingerprint(client, priya, frozen):
    release = frozen()
    client.force_login(priya)
    response = client.get(sign_url(release, "product"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "What you are signing" in text
    assert "PAY-1" in text and "Saved cards" in text
    assert response.context["status"].fingerprint in text
    assert "Your password" in text
    assert "What changed since" not in text


def test_an_approver_signs_in_the_admin_with_the_password(client, priya, frozen):
    release = frozen()
    client.force_login(priya)
    page = client.get(sign_url(release, "product"))
    response = client.post(sign_url(release), form_data(page, password=PASSWORD))
    assert response.status_code == 302
    assert response["Location"] == PENDING
    signoff = SignOff.objects.get()
    assert (signoff.signer, signoff.role, signoff.decision) == (priya, "product", "approve")
    assert signoff.fingerprint == page.context["status"].fingerprint
    assert AuditEvent.objects.filter(action="signoff.create").count() == 1
    after = client.get(PENDING)
    assert "You approved" in after.content.decode()
    assert after.context["pending"] == []


def test_a_wrong_password_in_the_admin_is_refused_and_nothing_written(client, priya, frozen):
    release = frozen()
    client.force_login(priya)
    page = client.get(sign_url(release, "product"))
    events = AuditEvent.objects.count()
    response = client.post(sign_url(release), form_data(page, password="not-it"))
    assert response.status_code == 400
    assert "Wrong password" in response.content.decode()
    assert not SignOff.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_reject_without_a_comment_is_refused_in_the_admin(client, sam, frozen):
    release = frozen()
    client.force_login(sam)
    page = client.get(sign_url(release, "security"))
    data = form_data(
        page, password=PASSWORD, decision=Decision.REJECT, meaning="not_approved", comment=""
    )
    response = client.post(sign_url(release), data)
    assert response.status_code == 400
    assert "needs a comment" in response.content.decode()


def test_signing_a_version_that_changed_after_the_page_loaded_is_refused(
    client, priya, frozen, manager
):
    release = frozen()
    client.force_login(priya)
    page = client.get(sign_url(release, "product"))
    services.release_update(actor=manager, release=release, strategy="canary")
    response = client.post(sign_url(release), form_data(page, password=PASSWORD))
    assert response.status_code == 400
    assert "changed since you opened it" in response.content.decode()
    assert not SignOff.objects.exists()


def test_the_sign_page_shows_what_changed_since_the_approver_signed(
    client, priya, frozen, sign, manager
):
    release = frozen()
    sign(priya, release, "product")
    milestone = Milestone.objects.get(release=release)
    services.milestone_update(
        actor=manager, milestone=milestone, date=milestone.date.replace(day=1)
    )
    client.force_login(priya)
    assert "asked again" in client.get(reverse("admin:index") + "?all=1").content.decode()
    text = client.get(sign_url(release, "product")).content.decode()
    assert "What changed since you signed" in text
    assert "Milestone moved: Code freeze" in text
    assert "stale" in text


def test_the_release_manager_sees_the_segregation_refusal_as_a_form_error(client, manager, frozen):
    manager.groups.add(Group.objects.get(name=roles.PRODUCT_APPROVERS))
    manager.is_staff = True
    manager.save()
    release = frozen()
    client.force_login(manager)
    page = client.get(sign_url(release, "product"))
    response = client.post(sign_url(release), form_data(page, password=PASSWORD))
    assert response.status_code == 400
    assert "segregation of duties" in response.content.decode()
    assert not SignOff.objects.exists()


# Every approvals admin page as a request of ``client`` about ``w`` (release, signoff, event).
REFUSED_PAGES = {
    "pending": lambda client, w: client.get(PENDING),
    "sign-page": lambda client, w: client.get(sign_url(w.release)),
    "signoff-changelist": lambda client, w: client.get(
        reverse("admin:approvals_signoff_changelist")
    ),
    "signoff-change": lambda client, w: client.get(
        reverse("admin:approvals_signoff_change", args=[w.signoff.pk])
    ),
    "auditevent-changelist": lambda client, w: client.get(
        reverse("admin:approvals_auditevent_changelist")
    ),
    "auditevent-change": lambda client, w: client.get(
        reverse("admin:approvals_auditevent_change", args=[w.event.pk])
    ),
    "approvalpolicy-changelist": lambda client, w: client.get(
        reverse("admin:approvals_approvalpolicy_changelist")
    ),
    "sign-post": lambda client, w: client.post(sign_url(w.release), {"password": PASSWORD}),
}


@pytest.mark.parametrize("page", list(REFUSED_PAGES))
@pytest.mark.parametrize("persona", ["outsider", "alice"])
def test_outsiders_and_non_approvers_are_refused_every_approvals_admin_page(
    client, frozen, priya, sign, request, persona, page
):
    release = frozen()
    signoff = sign(priya, release, "product")
    w = SimpleNamespace(release=release, signoff=signoff, event=AuditEvent.objects.first())
    user = request.getfixturevalue(persona)
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert REFUSED_PAGES[page](client, w).status_code == 403, (user, page)
    assert SignOff.objects.count() == 1


def test_an_approver_may_not_open_the_sign_page_of_a_role_they_lack(client, leo, frozen):
    ApprovalRequirement.objects.filter(role="legal").delete()
    release = frozen()
    client.force_login(leo)
    assert client.get(sign_url(release)).status_code == 403


def test_the_trail_and_sign_offs_are_read_only_in_the_admin(client, admin, frozen, priya, sign):
    signoff = sign(priya, frozen(), "product")
    event = AuditEvent.objects.order_by("seq").first()
    client.force_login(admin)
    assert client.get(reverse("admin:approvals_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:approvals_auditevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert event.hash in page.content.decode()
    assert client.get(reverse("admin:approvals_auditevent_add")).status_code == 403
    assert client.get(reverse("admin:approvals_signoff_add")).status_code == 403
    deleting = client.post(
        reverse("admin:approvals_signoff_delete", args=[signoff.pk]), {"post": "yes"}
    )
    assert deleting.status_code == 403
    assert SignOff.objects.count() == 1


def test_an_approver_sees_only_their_own_sign_offs(client, priya, leo, frozen, sign):
    release = frozen()
    sign(priya, release, "product")
    theirs = sign(leo, release, "legal")
    client.force_login(priya)
    listing = client.get(reverse("admin:approvals_signoff_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == list(SignOff.objects.filter(signer=priya))
    url = reverse("admin:approvals_signoff_change", args=[theirs.pk])
    assert client.get(url).status_code in (302, 403, 404)


def test_an_administrator_changes_a_policy_in_the_admin_with_an_event(client, admin):
    policy = ApprovalPolicy.objects.get(is_default=True)
    requirement = policy.requirements.get(role="product")
    client.force_login(admin)
    url = reverse("admin:approvals_approvalpolicy_change", args=[policy.pk])
    assert client.get(url).status_code == 200
    prefix = "requirements"
    rows = list(policy.requirements.order_by("pk"))
    data = {
        "name": policy.name,
        "team": "",
        "is_default": "on",
        "description": policy.description,
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(len(rows)),
    }
    for index, row in enumerate(rows):
        data.update(
            {
                f"{prefix}-{index}-id": row.pk,
                f"{prefix}-{index}-policy": policy.pk,
                f"{prefix}-{index}-role": row.role,
                f"{prefix}-{index}-group": row.group_id,
                f"{prefix}-{index}-count": 2 if row == requirement else row.count,
                f"{prefix}-{index}-segregation_of_duties": "on",
            }
        )
    before = AuditEvent.objects.count()
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    requirement.refresh_from_db()
    assert requirement.count == 2
    [event] = AuditEvent.objects.filter(seq__gt=before)
    assert (event.action, event.before, event.after) == (
        "policy.requirement.update",
        {"count": 1},
        {"count": 2},
    )


def test_the_release_admin_page_shows_its_requirements_and_sign_offs(
    client, admin, frozen, priya, sign
):
    release = frozen()
    sign(priya, release, "product")
    client.force_login(admin)
    text = client.get(reverse("admin:releases_release_change", args=[release.pk])).content.decode()
    assert "Sign-offs" in text
    assert "Legal approvers" in text
    assert "approved by Priya Tester" in text or "Priya Tester" in text
    assert "Legal: 0 of 1 approvals, missing" in text


def test_the_pending_list_costs_the_same_queries_for_5_and_50_releases(client, priya, frozen):
    client.force_login(priya)
    counts = []
    for rows in (5, 50):
        while len(frozen.made) < rows:
            frozen()
        client.get(PENDING)  # warm the session
        with CaptureQueriesContext(connection) as queries:
            response = client.get(PENDING)
        assert len(response.context["pending"]) == rows
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_pending_list_shows_a_page_at_a_time(client, priya, frozen, monkeypatch):
    monkeypatch.setattr(admin_views, "PENDING_PAGE", 3)
    made = [frozen() for _ in range(7)]
    client.force_login(priya)
    first = client.get(PENDING)
    third = client.get(PENDING, {"page": 3})
    assert [item.release for item in first.context["pending"]] == made[:3]
    assert 'href="?page=2" rel="next"' in first.content.decode()
    assert [item.release for item in third.context["pending"]] == made[6:]
    assert 'rel="next"' not in third.content.decode()


def test_the_index_panel_shows_the_first_five_pending(client, priya, frozen):
    for _ in range(7):
        frozen()
    client.force_login(priya)
    text = client.get(reverse("admin:index"), {"all": 1}).content.decode()
    assert "My pending sign-offs (5+)" in text


def test_a_release_back_in_planning_is_no_longer_pending(client, priya, frozen, manager):
    release = frozen()
    walk(release, manager, "planned", reason="More scope")
    client.force_login(priya)
    assert release.name not in client.get(PENDING).content.decode()


# model: (the object whose change page to open, given the sign-off; the add page's status)
SUPERUSER_PAGES = {
    AuditEvent: (lambda signoff: AuditEvent.objects.order_by("seq").first(), 403),
    SignOff: (lambda signoff: signoff, 403),
    ApprovalPolicy: (lambda signoff: ApprovalPolicy.objects.first(), 200),
}


@pytest.mark.parametrize(
    "model", list(SUPERUSER_PAGES), ids=[model._meta.model_name for model in SUPERUSER_PAGES]
)
def test_every_approvals_admin_page_loads_for_a_superuser(
    client, admin, frozen, priya, sign, model
):
    signoff = sign(priya, frozen(), "product")
    client.force_login(admin)
    find, add_status = SUPERUSER_PAGES[model]
    obj = find(signoff)
    meta = model._meta
    prefix = f"admin:{meta.app_label}_{meta.model_name}"
    assert client.get(reverse(f"{prefix}_changelist")).status_code == 200, model
    assert client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200, model
    assert client.get(reverse(f"{prefix}_add")).status_code == add_status, model


# --- The sign-off page reads like the release page ------------------------------------------------


def berlin(moment) -> str:
    return dateformat.format(moment.astimezone(ZoneInfo("Europe/Berlin")), "D j M Y, H:i T")


@pytest.fixture
def in_berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


def test_the_sign_page_writes_times_in_the_readers_zone_and_names_it(
    client, priya, frozen, in_berlin
):
    release = frozen()
    client.force_login(priya)
    facts = client.get(sign_url(release, "product")).content.decode().split('id="release-facts"')[1]
    assert "go-live <time datetime=" in facts
    assert berlin(release.go_live) in facts.split("</p>")[0]
    assert berlin(release.go_live).endswith(("CET", "CEST"))


def test_the_signed_window_is_written_as_a_person_reads_it_not_iso(
    client, priya, frozen, in_berlin
):
    release = frozen()
    client.force_login(priya)
    response = client.get(sign_url(release, "product"))
    window = response.context["snapshot"]["window"]
    text = response.content.decode()
    assert berlin(release.go_live) in text.split('id="snapshot"')[1]
    assert window["start"] not in text and window["end"] not in text


def test_the_sign_page_names_the_team_and_dependencies_as_written(
    client, priya, frozen, make_release, search, manager
):
    release = frozen()
    prerequisite = make_release(team=search, name="Search Relevance 2.1", version="2.1")
    services.dependency_create(actor=manager, release=release, depends_on=prerequisite)
    client.force_login(priya)
    snapshot = client.get(sign_url(release, "product")).content.decode().split('id="snapshot"')[1]
    assert "<td>Payments</td>" in snapshot
    assert "Needs shipped first: Search Relevance 2.1" in snapshot
    assert "search 2.1" not in snapshot


def test_a_private_dependency_keeps_the_snapshots_words_not_its_name(
    client, priya, frozen, make_release, manager
):
    hidden = Team.objects.create(name="Skunkworks", slug="skunk", color="#222222", is_private=True)
    prerequisite = make_release(team=hidden, name="Project Nightjar", version="0.9")
    release = frozen()
    services.dependency_create(actor=manager, release=release, depends_on=prerequisite)
    client.force_login(priya)
    text = client.get(sign_url(release, "product")).content.decode()
    assert "Needs shipped first: skunk 0.9" in text
    assert "Nightjar" not in text


def test_the_description_is_shown_as_part_of_what_is_signed(client, priya, frozen, manager):
    release = frozen()
    services.release_update(actor=manager, release=release, description="Saved cards for EU.")
    client.force_login(priya)
    response = client.get(sign_url(release, "product"))
    snapshot = response.content.decode().split('id="snapshot"')[1].split("Fingerprint")[0]
    assert "Saved cards for EU." in snapshot
    assert response.context["snapshot"]["description"] == "Saved cards for EU."


def test_a_description_changed_after_signing_shows_as_changed_since_you_signed(
    client, priya, frozen, sign, manager
):
    release = frozen()
    sign(priya, release, "product")
    services.release_update(actor=manager, release=release, description="Now with refunds.")
    client.force_login(priya)
    text = client.get(sign_url(release, "product")).content.decode()
    assert "What changed since you signed" in text
    assert "Description changed, now: “Now with refunds.”" in text


def test_the_sign_page_costs_the_same_queries_for_1_and_4_dependencies(
    client, priya, frozen, make_release, search, manager
):
    release = frozen()
    client.force_login(priya)
    counts = []
    for wanted in (1, 4):
        while release.dependencies.count() < wanted:
            services.dependency_create(
                actor=manager, release=release, depends_on=make_release(team=search)
            )
        client.get(sign_url(release, "product"))  # warm the session
        with CaptureQueriesContext(connection) as queries:
            response = client.get(sign_url(release, "product"))
        assert len(response.context["snapshot"]["dependencies"]) == wanted
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- What the admin shows approvers who only sign -------------------------------------------------


def menu(response) -> list[str]:
    return [model["name"] for app in response.context["available_apps"] for model in app["models"]]


def test_an_approver_sees_only_their_sign_offs_in_the_admin_menu(client, priya, frozen):
    frozen()
    client.force_login(priya)
    response = client.get(reverse("admin:index"), {"all": 1})
    assert menu(response) == ["My pending sign-offs", "My sign-offs"]
    assert f'href="{PENDING}"' in response.content.decode()


def test_the_approvers_menu_links_open(client, priya, frozen):
    frozen()
    client.force_login(priya)
    links = [
        m["admin_url"] for a in client.get(PENDING).context["available_apps"] for m in a["models"]
    ]
    assert [client.get(link).status_code for link in links] == [200, 200]


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_superusers_and_release_managers_who_sign_keep_the_full_admin(db, client, request, persona):
    user = request.getfixturevalue(persona)
    user.groups.add(Group.objects.get(name=roles.PRODUCT_APPROVERS))
    user.is_staff = True
    user.save()
    client.force_login(user)
    names = menu(client.get(reverse("admin:index")))
    assert "Releases" in names and "My sign-offs" not in names


def test_an_outsider_in_the_admin_gets_no_sign_off_menu(client, outsider):
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "My pending sign-offs" not in menu(response)
    assert PENDING not in response.content.decode()
