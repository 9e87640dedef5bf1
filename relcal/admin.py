"""Delivery history in the admin: read-only, filterable, so that failures are visible."""

from __future__ import annotations

from django.contrib import admin

from .models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("due", "kind", "recipient", "state", "attempts", "sent_at", "subject")
    list_filter = ("state", "kind", "channel")
    search_fields = ("recipient__username", "recipient__email", "subject", "last_error")
    date_hierarchy = "due"
    list_select_related = ("recipient",)
    ordering = ("-due", "-id")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the scan and the workers write these rows, nobody else

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
