"""Reminder channels in the admin: team webhooks (managed through ``reminders.webhooks``, with a
"send a test message" action) and the delivery history (read-only, filterable, so that failures
are visible)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils.html import format_html

from relcal.admin.service_admin import (
    ReadOnlyAdmin,
    ServiceModelAdmin,
    ServiceModelForm,
    ServiceRefused,
)

from . import registry, webhooks
from .models import Delivery, Webhook


class WebhookForm(ServiceModelForm):
    kinds = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )
    rotate_secret = forms.BooleanField(
        required=False,
        help_text="Issue a new secret; the receiving end must be given it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(name, k.label) for name, k in registry.kinds().items()]


@admin.register(Webhook)
class WebhookAdmin(ServiceModelAdmin):
    form = WebhookForm
    list_display = ("name", "team", "format", "active", "kinds_label", "created_at")
    list_filter = ("active", "format", "team")
    search_fields = ("name", "url", "team__name")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)
    readonly_fields = ("secret_shown", "created_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["delete_selected", "send_test"]
    service_fields = webhooks.FIELDS

    def get_fieldsets(self, request, obj=None):
        fields = ["team", "name", "url", "format", "kinds", "active"]
        if obj is not None:
            fields += ["secret_shown", "rotate_secret", "created_at"]
        return ((None, {"fields": fields}),)

    @admin.display(description="kinds")
    def kinds_label(self, hook: Webhook) -> str:
        return ", ".join(hook.kinds) if hook.kinds else "every kind"

    @admin.display(description="secret")
    def secret_shown(self, hook: Webhook) -> str:
        return format_html(
            "<code>{}</code><div class='help'>JSON deliveries carry X-Relcal-Signature: "
            "sha256=HMAC-SHA256(secret, timestamp + '.' + body).</div>",
            hook.secret,
        )

    def save_model(self, request, obj, form, change) -> None:
        request._relcal_rotate = change and form.cleaned_data.get("rotate_secret", False)
        if request._relcal_rotate and not set(form.changed_data) & set(self.service_fields):
            # Only the secret changes: the generic save would see nothing to do.
            try:
                webhooks.webhook_update(actor=request.user, webhook=obj, rotate_secret=True)
            except (ValidationError, PermissionDenied) as error:
                raise ServiceRefused(None, error) from error
            obj.refresh_from_db()
            return
        super().save_model(request, obj, form, change)

    def service_create(self, request, data):
        return webhooks.webhook_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        webhooks.webhook_update(
            actor=request.user,
            webhook=obj,
            rotate_secret=getattr(request, "_relcal_rotate", False),
            **changes,
        )

    def service_delete(self, request, obj) -> None:
        webhooks.webhook_delete(actor=request.user, webhook=obj)

    @admin.action(description="Send a test message", permissions=["change"])
    def send_test(self, request, queryset) -> None:
        for hook in queryset.select_related("team"):
            problem = webhooks.webhook_test(actor=request.user, webhook=hook)
            if problem:
                self.message_user(request, f"{hook}: {problem}", messages.ERROR)
            else:
                self.message_user(request, f"{hook}: test message delivered.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery history: the scan and the workers write these rows, nobody else."""

    list_display = (
        "due",
        "kind",
        "to",
        "channel",
        "state",
        "attempts",
        "sent_at",
        "subject",
        "last_error",
    )
    list_filter = ("state", "kind", "channel")
    search_fields = ("recipient__username", "recipient__email", "subject", "last_error")
    date_hierarchy = "due"
    list_select_related = ("recipient", "webhook__team")
    ordering = ("-due", "-id")

    @admin.display(description="to")
    def to(self, delivery: Delivery) -> str:
        return str(delivery.recipient or delivery.webhook)
