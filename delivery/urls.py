"""The delivery pages, mounted at /delivery/."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "delivery"
urlpatterns = [
    path("", views.metrics, name="metrics"),
    path("series.csv", views.series_csv, name="csv"),
]
