"""Filters shared by the approvals API and pages: sign-offs and the audit trail."""

from __future__ import annotations

from django_filters import rest_framework as filters

from .models import AuditEvent, SignOff


class SignOffFilter(filters.FilterSet):
    signer = filters.CharFilter(field_name="signer__username")

    class Meta:
        model = SignOff
        fields = ["release", "role", "decision", "signer"]


class AuditEventFilter(filters.FilterSet):
    seq_after = filters.NumberFilter(field_name="seq", lookup_expr="gt")
    since = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["release_id", "action", "object_type", "object_id"]
