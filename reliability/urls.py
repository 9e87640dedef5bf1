"""The reliability pages, mounted at /reliability/."""

from __future__ import annotations

from django.urls import path

from . import panels, views

app_name = "reliability"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.service_page, name="service"),
    # The SRE override form of the release page's Reliability panel.
    path(
        "releases/<int:pk>/budget-override/",
        panels.budget_override_view,
        name="budget-override",
    ),
]
