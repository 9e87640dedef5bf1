"""Evidence pages and exports, mounted under /evidence/ (namespace ``approvals``)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "approvals"
urlpatterns = [
    path("", views.evidence_index, name="evidence-index"),
    path("releases/<int:pk>/", views.release_evidence, name="evidence"),
    path("releases/<int:pk>.json", views.release_evidence_json, name="evidence-json"),
    path("releases/<int:pk>.csv", views.release_evidence_csv, name="evidence-csv"),
    path("audit.csv", views.audit_csv, name="audit-csv"),
    path("audit.json", views.audit_json, name="audit-json"),
]
