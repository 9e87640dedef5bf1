"""Routes of the approvals API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from relcal.api.routers import Router

from . import views

router = Router()
router.register("signoffs", views.SignOffViewSet, basename="signoff")
router.register("approval-status", views.ApprovalStatusViewSet, basename="approval-status")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
router.register(
    r"releases/(?P<release_pk>[0-9]+)/candidates",
    views.ReleaseCandidateViewSet,
    basename="release-candidate",
)
router.register("candidates", views.CandidateViewSet, basename="candidate")
router.register("waivers", views.WaiverViewSet, basename="waiver")
urlpatterns = router.urls
