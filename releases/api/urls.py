"""Routes of the release planning API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from relcal.api.routers import Router

from . import views

router = Router()
router.register("teams", views.TeamViewSet, basename="team")
router.register("releases", views.ReleaseViewSet, basename="release")
router.register("milestones", views.MilestoneViewSet, basename="milestone")
router.register("scope-items", views.ScopeItemViewSet, basename="scope-item")
router.register("dependencies", views.DependencyViewSet, basename="dependency")
router.register("freeze-windows", views.FreezeWindowViewSet, basename="freeze-window")
urlpatterns = router.urls
