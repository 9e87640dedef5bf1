"""Readiness pages that approvals serves, mounted at /readiness/ (namespace ``readiness``)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "readiness"
urlpatterns = [
    path("waive/<int:candidate_pk>/", views.waive, name="waive"),
]
