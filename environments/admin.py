"""Environments in the admin. There is no environments service yet, so this is a plain admin;
bookings (and their service) arrive with the Environments issue."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from .models import Environment


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "owner_team", "bookable", "url")
    list_filter = ("kind", "bookable", "owner_team")
    search_fields = ("name", "slug", "description")
    list_select_related = ("owner_team",)
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner_team",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = ("name", "slug", "kind", "owner_team", "url", "bookable", "description")
