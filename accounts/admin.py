"""Identities (links to the provider's subject) in the admin, through the services, and an
"End sessions now" action on users."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from relcal.admin.service_admin import ServiceModelAdmin

from . import oidc, services
from .models import Identity

User = get_user_model()


class IdentityForm(forms.ModelForm):
    class Meta:
        model = Identity
        fields = ["user", "issuer", "subject"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        issuer = self.fields.get("issuer")
        if issuer is not None:  # absent on the view-only page of an existing link
            configured = oidc.config().issuer or "none configured"
            issuer.required = False
            issuer.help_text = f"Empty: the configured provider ({configured})."


@admin.register(Identity)
class IdentityAdmin(ServiceModelAdmin):
    form = IdentityForm
    list_display = ("user", "subject", "issuer", "created_at", "last_signin_at")
    search_fields = ("user__username", "user__email", "subject")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at", "last_signin_at")
    service_fields = ("user", "issuer", "subject")

    def has_change_permission(self, request, obj=None) -> bool:
        # A link is made or removed, never edited: relink by deleting and adding.
        return obj is None and super().has_change_permission(request, obj)

    def service_create(self, request, data):
        return services.identity_link(
            actor=request.user, user=data["user"], subject=data["subject"], issuer=data["issuer"]
        )

    def service_update(self, request, obj, changes) -> None:  # pragma: no cover - not editable
        raise NotImplementedError

    def service_delete(self, request, obj) -> None:
        services.identity_unlink(actor=request.user, identity=obj)


@admin.action(description="End sessions now (sign out everywhere; audited)")
def end_sessions(modeladmin, request, queryset) -> None:
    total = sum(services.sessions_end(actor=request.user, user=user) for user in queryset)
    modeladmin.message_user(
        request, f"Ended {total} session(s) of {queryset.count()} user(s).", messages.SUCCESS
    )


def install_user_action(site) -> None:
    """Add the action to whatever admin the user model has on ``site``."""
    try:
        user_admin = site.get_model_admin(User)
    except admin.sites.NotRegistered:
        return
    if end_sessions not in (user_admin.actions or []):
        user_admin.actions = [*(user_admin.actions or []), end_sessions]
