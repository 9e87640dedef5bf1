"""Approvals in the admin: policies (through the services), sign-offs and the audit trail
(read-only), the approvers' pending list and sign-off page, and each release's requirements and
sign-off status on its admin page.

Approvers land on "My pending sign-offs": the admin index sends users whose only admin work is
signing there, and shows the list on top for everyone else who signs.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from relcal.admin.service_admin import ReadOnlyAdmin, ServiceInline, ServiceModelAdmin
from relcal.admin.sites import menu_app
from releases.models import Release

from . import admin_views, selectors, services
from .models import ApprovalPolicy, ApprovalRequirement, AuditEvent, SignOff


def _approvals_user(request) -> bool:
    user = request.user
    return (
        selectors.can_see_evidence(user)
        or bool(selectors.signing_group_ids(user))
        or services.can_manage_policies(user)
    )


class EvidenceAdmin(ReadOnlyAdmin):
    """History is never added, changed or deleted here (the database refuses it anyway)."""

    def has_module_permission(self, request) -> bool:
        return _approvals_user(request)


def _pretty(value) -> str:
    if value is None:
        return "—"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


# --- The audit trail ----------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(EvidenceAdmin):
    list_display = ("seq", "timestamp", "actor_name", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type", "timestamp")
    search_fields = ("object_repr", "actor_name", "action", "request_id", "=object_id")
    show_full_result_count = False  # counting a long trail on every page costs a full scan
    fields = (
        "seq",
        "timestamp",
        "actor_name",
        "actor_id",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "release_id",
        "before_json",
        "after_json",
        "request_id",
        "client_address",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        return selectors.can_see_evidence(request.user)

    @admin.display(description="before")
    def before_json(self, event: AuditEvent) -> str:
        return _pretty(event.before)

    @admin.display(description="after")
    def after_json(self, event: AuditEvent) -> str:
        return _pretty(event.after)


# --- Sign-offs ----------------------------------------------------------------------------------


@admin.register(SignOff)
class SignOffAdmin(EvidenceAdmin):
    list_display = ("release", "role", "decision", "meaning", "signer_name", "signed_at")
    list_filter = ("role", "decision", "meaning", "signed_at")
    search_fields = ("release__name", "signer_name", "fingerprint")
    list_select_related = ("release",)
    fields = (
        "release",
        "role",
        "signer",
        "signer_name",
        "decision",
        "meaning",
        "comment",
        "signed_at",
        "fingerprint",
        "snapshot_json",
    )
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        if selectors.can_see_evidence(request.user):
            return True
        # Approvers see their own signatures.
        signs = bool(selectors.signing_group_ids(request.user))
        return signs and (obj is None or obj.signer_id == request.user.pk)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if selectors.can_see_evidence(request.user):
            return queryset
        return queryset.filter(signer=request.user)

    @admin.display(description="snapshot")
    def snapshot_json(self, signoff: SignOff) -> str:
        return _pretty(signoff.snapshot)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "pending/",
                view(admin_views.pending_view),
                name="approvals_signoff_pending",
            ),
            path(
                "sign/<int:release_id>/",
                view(admin_views.sign_view),
                name="approvals_signoff_sign",
            ),
            *super().get_urls(),
        ]


# --- Policies -----------------------------------------------------------------------------------


class RequirementInline(ServiceInline):
    model = ApprovalRequirement
    fields = ("role", "group", "count", "segregation_of_duties")
    service_fields = services.REQUIREMENT_FIELDS
    extra = 0

    def can_edit(self, request, obj) -> bool:
        return services.can_manage_policies(request.user)

    def service_create(self, request, parent, data):
        return services.requirement_create(actor=request.user, policy=parent, **data)

    def service_update(self, request, obj, changes) -> None:
        services.requirement_update(actor=request.user, requirement=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.requirement_delete(actor=request.user, requirement=obj)


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ServiceModelAdmin):
    list_display = ("name", "team", "is_default", "roles")
    list_select_related = ("team",)
    fields = ("name", "team", "is_default", "description")
    service_fields = services.POLICY_FIELDS
    inlines = (RequirementInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("requirements")

    @admin.display(description="required sign-offs")
    def roles(self, policy: ApprovalPolicy) -> str:
        return ", ".join(str(r) for r in policy.requirements.all()) or "none"

    def has_module_permission(self, request) -> bool:
        return _approvals_user(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _approvals_user(request)

    def service_create(self, request, data):
        return services.policy_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.policy_update(actor=request.user, policy=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.policy_delete(actor=request.user, policy=obj)


# --- Each release's requirements and sign-offs, on its admin page ---------------------------------


@admin.display(description="required sign-offs")
def approval_status(release: Release) -> str:
    if release.pk is None:
        return "Taken from the approval policy when the scope freezes."
    release = selectors.with_approval_data(Release.objects.all()).get(pk=release.pk)
    if not release.approval_requirements.all():
        return "None yet: taken from the approval policy when the scope freezes."
    status = selectors.approval_status(release)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><strong>{}</strong></td>"
        "<td>{}</td></tr>",
        (
            (
                role.label,
                role.requirement.group_name,
                role.requirement.count,
                "yes" if role.requirement.segregation_of_duties else "no",
                role.state,
                "; ".join(role.problems()) or ", ".join(s.signer_name for s in role.counted),
            )
            for role in status.roles
        ),
    )
    evidence = reverse("approvals:evidence", args=[release.pk])
    return format_html(
        "<table><thead><tr><th>role</th><th>group</th><th>needed</th>"
        "<th>segregation of duties</th><th>state</th><th>who / why</th></tr></thead>"
        "<tbody>{}</tbody></table><p>Fingerprint now: <code>{}</code> · "
        '<a href="{}">evidence</a></p>',
        rows,
        status.fingerprint,
        evidence,
    )


admin.site.add_fieldset(
    Release,
    "Sign-offs",
    {"approval_status": approval_status},
    description="Required roles are taken from the team's approval policy when the scope freezes.",
)


# --- The admin index: approvers land on their pending sign-offs -----------------------------------


def _only_signs(user) -> bool:
    """Approvers whose only admin work is signing (superusers, release managers and auditors
    have more to do there)."""
    signs = bool(selectors.signing_group_ids(user))
    return signs and not (user.is_superuser or selectors.can_see_evidence(user))


def signers_land_on_pending(request) -> str | None:
    """Users whose only admin work is signing land on their pending sign-offs."""
    return reverse("admin:approvals_signoff_pending") if _only_signs(request.user) else None


def signers_menu(request) -> list[dict] | None:
    """What approvers who only sign use, instead of every model they may view: their pending
    sign-offs and the sign-offs they gave."""
    if not _only_signs(request.user):
        return None
    pending = reverse("admin:approvals_signoff_pending")
    links = [
        ("My pending sign-offs", pending),
        ("My sign-offs", reverse("admin:approvals_signoff_changelist")),
    ]
    return [menu_app("Sign-offs", "approvals", pending, links)]


PANEL_SHOWN = 5


def pending_panel(request) -> dict | None:
    """ "My pending sign-offs" on top of the index, for everyone else who signs."""
    if not selectors.signing_group_ids(request.user):
        return None
    # The first few only: the full list, a page at a time, is one click away.
    items, more = selectors.pending_page(request.user, size=PANEL_SHOWN)
    return {
        "pending_signoffs": items,
        "pending_more": more,
        "pending_url": reverse("admin:approvals_signoff_pending"),
    }


admin.site.add_landing(signers_land_on_pending)
admin.site.add_menu(signers_menu)
admin.site.add_index_panel("approvals/admin/_pending_panel.html", pending_panel, order=10)
